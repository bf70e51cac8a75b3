/**
 * The training combinator: model + loss + optimizer + schedule → `step` and `fit`.
 *
 * @module
 */
import type * as tf from "@tensorflow/tfjs-core";
import type * as tfl from "@tensorflow/tfjs-layers";
import type { Owner } from "../lifetime/mod.ts";
import { type Batch, checkBatch, type TrainingData } from "./batch.ts";
import type { StepMetrics } from "./callbacks.ts";
import type { Checkpoint, CheckpointState, NamedArray } from "./checkpoint.ts";
import type { FitOptions, FitResult } from "./fit.ts";
import { fitLoop } from "./_fit_loop.ts";
import type { Schedule } from "./schedule.ts";
import type { Forward } from "./trainable.ts";

import type { TrainerOptions, TrainerState } from "./trainer_options.ts";
import {
  coreOf,
  ensureLive,
  fitHostOf,
  guardedStep,
  restoreCore,
  snapshotCore,
} from "./_trainer_core.ts";

export type { TrainerOptions, TrainerState } from "./trainer_options.ts";

/**
 * A trainer: see {@linkcode trainer}.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as tf from "@tensorflow/tfjs-core";
 * import { initBackend } from "@perceptual/loss/backend";
 * import { type Trainer, trainer } from "@perceptual/loss/train";
 * async function train10(t: Trainer, batch: Parameters<Trainer["step"]>[0]): Promise<number> {
 *   let last = NaN;
 *   for (let i = 0; i < 10; i++) last = (await t.step(batch)).total;
 *   return last;
 * }
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
 * const input = tf.zeros([1, 2, 2, 3]) as tf.Tensor4D;
 * const target = tf.ones([1, 2, 2, 3]) as tf.Tensor4D;
 * const last = await train10(t, { input, target });
 * assert.equal(t.state.step, 10);
 * assert.ok(last < 1); // Adam moved the offset towards the target
 * ```
 */
export interface Trainer extends Owner {
  /** The model being trained, when it trains a tfjs-layers model. */
  readonly model: tfl.LayersModel | undefined;
  /** The forward pass being trained. */
  readonly forward: Forward;
  /** The optimizer in use. */
  readonly optimizer: tf.Optimizer;
  /** The schedule in use. */
  readonly schedule: Schedule;
  /** Progress so far. */
  readonly state: TrainerState;
  /**
   * One optimisation step on `batch` (the caller keeps ownership of its tensors). Throws
   * `NonFiniteStepError` / `NonFiniteGradientError` without updating the weights, and leaks
   * nothing when anything throws.
   */
  step(batch: Batch): Promise<StepMetrics>;
  /** Train over `data`: see {@linkcode FitOptions}. Disposes every batch it takes. */
  fit(data: TrainingData, options?: FitOptions): Promise<FitResult>;
  /** Load a checkpoint directory (weights, optimizer state, step, data position) into a fresh trainer. */
  restore(checkpointDir: string): Promise<Checkpoint>;
  /** The state a checkpoint records, read out of the engine now. */
  snapshot(): Promise<{ state: CheckpointState; model: NamedArray[]; optimizer: NamedArray[] }>;
}

/**
 * Build a trainer: `step(batch)` runs forward, loss, gradients (`tf.variableGrads` over the
 * model's trainable weights, inside `scope()`), checks the loss and gradients are finite, then
 * applies the optimizer with the schedule's learning rate (and β1). `fit(data, options)` loops
 * over batches with validation, progress, metrics CSV, sample images, checkpoints and resume.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as tf from "@tensorflow/tfjs-core";
 * import * as tfl from "@tensorflow/tfjs-layers";
 * import { initBackend } from "@perceptual/loss/backend";
 * import { trainer } from "@perceptual/loss/train";
 * await initBackend("cpu");
 * const model = tfl.sequential({
 *   layers: [tfl.layers.conv2d({ filters: 3, kernelSize: 3, padding: "same", inputShape: [8, 8, 3] })],
 * });
 * using t = trainer({
 *   model,
 *   loss: (pred, target) => {
 *     const pixel = tf.mean(tf.abs(tf.sub(pred, target))) as tf.Scalar;
 *     return { total: tf.clone(pixel), terms: { pixel } };
 *   },
 * });
 * const input = tf.randomUniform([2, 8, 8, 3]) as tf.Tensor4D;
 * const m = await t.step({ input, target: input });
 * assert.equal(m.step, 1);
 * assert.deepEqual(Object.keys(m.terms), ["pixel"]);
 * input.dispose();
 * ```
 */
export function trainer(options: TrainerOptions): Trainer {
  const c = coreOf(options);
  const snapshot = () => snapshotCore(c);
  const restore = (dirOrCheckpoint: string | Checkpoint) => restoreCore(c, dirOrCheckpoint);
  const host = fitHostOf(c.p, c.trainable, c.loss, c.schedule, {
    seedGiven: options.seed !== undefined,
    config: c.config,
    step: (batch) => guardedStep(c, batch),
    restore,
    snapshot,
  });
  const self: Trainer = {
    model: c.trainable.model,
    forward: c.trainable.forward,
    optimizer: c.optimizer,
    schedule: c.schedule,
    get state(): TrainerState {
      return { ...c.p };
    },
    step: async (batch: Batch) => {
      ensureLive(c);
      return await guardedStep(c, checkBatch(batch));
    },
    fit(data: TrainingData, fitOptions: FitOptions = {}): Promise<FitResult> {
      ensureLive(c);
      return fitLoop(host, data, fitOptions);
    },
    restore: (dir: string) => restore(dir),
    snapshot,
    dispose(): void {
      if (c.disposed) return;
      c.disposed = true;
      c.average?.dispose();
      if (c.ownsOptimizer) c.optimizer.dispose();
    },
    [Symbol.dispose](): void {
      self.dispose();
    },
  };
  return self;
}
