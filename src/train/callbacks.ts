/**
 * The callback protocol of `fit`, and the metrics a step reports.
 *
 * @module
 */
import type * as tfl from "@tensorflow/tfjs-layers";
import type { Batch } from "./batch.ts";
import type { Forward } from "./trainable.ts";

/**
 * What one training step reports, as plain numbers.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as tf from "@tensorflow/tfjs-core";
 * import { initBackend } from "@perceptual/loss/backend";
 * import { trainer, type StepMetrics } from "@perceptual/loss/train";
 * await initBackend("cpu");
 * const image = tf.variable(tf.zeros([1, 4, 4, 3])); // what is trained: one small image
 * const loss = (p: tf.Tensor4D, y: tf.Tensor4D) => {
 *   const pixel = tf.mean(tf.abs(tf.sub(p, y))) as tf.Scalar;
 *   return { total: tf.clone(pixel), terms: { pixel } };
 * };
 * using t = trainer({ params: [image], forward: () => tf.add(image, 0), loss });
 * const grey = (v: number) => tf.fill([1, 4, 4, 3], v) as tf.Tensor4D;
 * const batch = () => ({ input: grey(0), target: grey(0.5) }); // learn to output grey 0.5
 * const b = batch();
 * const m: StepMetrics = await t.step(b); // the trainer's numbers for one step
 * assert.equal(m.step, 1);
 * assert.equal(m.lr, 0.001); // Adam's default
 * assert.equal(m.total, 0.5);
 * assert.deepEqual(m.terms, { pixel: 0.5 });
 * assert.ok(Math.abs(m.gradNorm - Math.sqrt(48) / 48) < 1e-6); // 48 pixels, each ∂ = 1/48
 * tf.dispose([b, image]);
 * ```
 */
export interface StepMetrics {
  /** The 1-based number of the step just taken (the trainer's total, across resumes). */
  readonly step: number;
  /** The learning rate it used. */
  readonly lr: number;
  /** Adam's β1 it used, when the schedule sets momentum. */
  readonly momentum?: number;
  /** The total loss. */
  readonly total: number;
  /** Every named loss term. */
  readonly terms: Readonly<Record<string, number>>;
  /** The global L2 norm of the gradients of all trainable weights. */
  readonly gradNorm: number;
}

/**
 * Given to {@linkcode Callback.onFitStart}.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as tf from "@tensorflow/tfjs-core";
 * import { initBackend } from "@perceptual/loss/backend";
 * import { trainer, type FitStartEvent } from "@perceptual/loss/train";
 * await initBackend("cpu");
 * const image = tf.variable(tf.zeros([1, 4, 4, 3])); // what is trained: one small image
 * const loss = (p: tf.Tensor4D, y: tf.Tensor4D) => {
 *   const pixel = tf.mean(tf.abs(tf.sub(p, y))) as tf.Scalar;
 *   return { total: tf.clone(pixel), terms: { pixel } };
 * };
 * using t = trainer({ params: [image], forward: () => tf.add(image, 0), loss });
 * const grey = (v: number) => tf.fill([1, 4, 4, 3], v) as tf.Tensor4D;
 * const batch = () => ({ input: grey(0), target: grey(0.5) }); // learn to output grey 0.5
 * const data = () => [batch(), batch()]; // 2 batches an epoch, made afresh
 * const onFitStart = (e: FitStartEvent) => {
 *   assert.equal(e.startStep, 0); // a new run of 3 steps
 *   assert.equal(e.totalSteps, 3);
 *   assert.equal(e.resumedFrom, undefined);
 * };
 * await t.fit(data, { steps: 3, quiet: true, callbacks: [{ onFitStart }] });
 * image.dispose();
 * ```
 */
export interface FitStartEvent {
  /** Steps already completed (0 for a new run; the checkpoint's step after a resume). */
  readonly startStep: number;
  /** The run length, when known. */
  readonly totalSteps: number | undefined;
  /** The number of epochs asked for, if any. */
  readonly epochs: number | undefined;
  /** The run directory, if any. */
  readonly runDir: string | undefined;
  /** The checkpoint directory training resumed from, if any. */
  readonly resumedFrom: string | undefined;
  /** The schedule's description, if it has one. */
  readonly schedule: string | undefined;
  /** Things worth telling the user: skipped incomplete checkpoints, backups made on resume. */
  readonly notes: readonly string[];
}

/**
 * Given to {@linkcode Callback.onStepEnd} after each step (and its validation, if due).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as tf from "@tensorflow/tfjs-core";
 * import { initBackend } from "@perceptual/loss/backend";
 * import { trainer, type StepEndEvent } from "@perceptual/loss/train";
 * await initBackend("cpu");
 * const image = tf.variable(tf.zeros([1, 4, 4, 3])); // what is trained: one small image
 * const loss = (p: tf.Tensor4D, y: tf.Tensor4D) => {
 *   const pixel = tf.mean(tf.abs(tf.sub(p, y))) as tf.Scalar;
 *   return { total: tf.clone(pixel), terms: { pixel } };
 * };
 * using t = trainer({ params: [image], forward: () => tf.add(image, 0), loss });
 * const grey = (v: number) => tf.fill([1, 4, 4, 3], v) as tf.Tensor4D;
 * const batch = () => ({ input: grey(0), target: grey(0.5) }); // learn to output grey 0.5
 * const data = () => [batch(), batch()]; // 2 batches an epoch, made afresh
 * const seen: string[] = [];
 * const onStepEnd = (e: StepEndEvent) => void seen.push(`${e.metrics.step}@${e.epoch}`);
 * await t.fit(data, { steps: 3, quiet: true, callbacks: [{ onStepEnd }] });
 * assert.deepEqual(seen, ["1@0", "2@0", "3@1"]); // step 3 took the first batch of epoch 1
 * image.dispose();
 * ```
 */
export interface StepEndEvent {
  /** The step's metrics. */
  readonly metrics: StepMetrics;
  /** Validation results of this step, when validation ran (names without the `val_` prefix). */
  readonly validation: Readonly<Record<string, number>> | undefined;
  /** The 0-based epoch the step's batch came from. */
  readonly epoch: number;
  /** The run length, when known. */
  readonly totalSteps: number | undefined;
  /** Milliseconds since this `fit` call started. */
  readonly elapsedMs: number;
  /** The step's batch; its tensors are disposed right after the callbacks return. */
  readonly batch: Batch;
  /** The model being trained, when the trainer trains a tfjs-layers model. */
  readonly model: tfl.LayersModel | undefined;
  /** The forward pass being trained (`forward(input, false)` for inference). */
  readonly forward: Forward;
  /** The run directory, if any. */
  readonly runDir: string | undefined;
  /** The checkpoint written after this step, if one was. */
  readonly checkpoint: string | undefined;
}

/**
 * Given to {@linkcode Callback.onFitEnd}, also when training failed.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as tf from "@tensorflow/tfjs-core";
 * import { initBackend } from "@perceptual/loss/backend";
 * import { trainer, type FitEndEvent } from "@perceptual/loss/train";
 * await initBackend("cpu");
 * const image = tf.variable(tf.zeros([1, 4, 4, 3])); // what is trained: one small image
 * const loss = (p: tf.Tensor4D, y: tf.Tensor4D) => {
 *   const pixel = tf.mean(tf.abs(tf.sub(p, y))) as tf.Scalar;
 *   return { total: tf.clone(pixel), terms: { pixel } };
 * };
 * using t = trainer({ params: [image], forward: () => tf.add(image, 0), loss });
 * const grey = (v: number) => tf.fill([1, 4, 4, 3], v) as tf.Tensor4D;
 * const batch = () => ({ input: grey(0), target: grey(0.5) }); // learn to output grey 0.5
 * const data = () => [batch(), batch()]; // 2 batches an epoch, made afresh
 * const stop = new AbortController();
 * await t.fit(data, { steps: 10, quiet: true, signal: stop.signal, callbacks: [{
 *   onStepEnd: (e) => e.metrics.step === 2 ? stop.abort() : undefined,
 *   onFitEnd: (e: FitEndEvent) => assert.deepEqual([e.reason, e.step], ["stopped", 2]),
 * }] });
 * image.dispose();
 * ```
 */
export interface FitEndEvent {
  /** Steps completed. */
  readonly step: number;
  /** `done` (reached steps/epochs), `stopped` (the abort signal fired) or `error`. */
  readonly reason: "done" | "stopped" | "error";
  /** The error, when `reason` is `error`. */
  readonly error?: unknown;
  /** Milliseconds since this `fit` call started. */
  readonly elapsedMs: number;
  /** The last checkpoint written, if any. */
  readonly checkpoint: string | undefined;
}

/**
 * Hooks into `fit`. Every method is optional and may be async; `fit` awaits each in order. A
 * callback that throws stops training (after `onFitEnd` has been called on all callbacks).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as tf from "@tensorflow/tfjs-core";
 * import { initBackend } from "@perceptual/loss/backend";
 * import { type Callback, trainer } from "@perceptual/loss/train";
 * const losses: number[] = [];
 * const record: Callback = { onStepEnd: ({ metrics }) => void losses.push(metrics.total) };
 * await initBackend("cpu");
 * const w = tf.variable(tf.zeros([1, 1, 1, 3]));
 * using t = trainer({
 *   params: [w],
 *   forward: (x) => tf.add(x, w),
 *   loss: (p, q) => {
 *     const pixel = tf.mean(tf.abs(tf.sub(p, q))) as tf.Scalar;
 *     return { total: tf.clone(pixel), terms: { pixel } };
 *   },
 * });
 * const data = function* () {
 *   for (;;) yield { input: tf.zeros([1, 2, 2, 3]) as tf.Tensor4D, target: tf.ones([1, 2, 2, 3]) as tf.Tensor4D };
 * };
 * await t.fit(data, { steps: 3, callbacks: [record], progress: false });
 * assert.equal(losses.length, 3);
 * assert.equal(losses[0], 1); // |0 − 1| before the first update
 * ```
 */
export interface Callback {
  /** Before the first step of this `fit` call. */
  onFitStart?(event: FitStartEvent): void | Promise<void>;
  /** After every step. */
  onStepEnd?(event: StepEndEvent): void | Promise<void>;
  /** After the last step, or when training stopped or failed. */
  onFitEnd?(event: FitEndEvent): void | Promise<void>;
}
