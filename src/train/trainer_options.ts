/**
 * What {@linkcode trainer} takes ({@linkcode TrainerOptions}) and what it reports of its progress
 * ({@linkcode TrainerState}).
 *
 * @module
 */
import type * as tf from "@tensorflow/tfjs-core";
import type * as tfl from "@tensorflow/tfjs-layers";
import type { LossFn } from "../loss/loss_result.ts";
import type { StepMetrics } from "./callbacks.ts";
import type { Schedule } from "./schedule.ts";
import type { Forward } from "./trainable.ts";
import type { WeightAverageOptions } from "./weight_average.ts";

/**
 * Options of {@linkcode trainer}. What is trained is either `model` (a tfjs-layers model) or
 * `params` with `forward` (bare variables, e.g. an image optimised pixel by pixel).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as tf from "@tensorflow/tfjs-core";
 * import { initBackend } from "@perceptual/loss/backend";
 * import { constant, trainer, type TrainerOptions } from "@perceptual/loss/train";
 * await initBackend("cpu");
 * const image = tf.variable(tf.zeros([1, 2, 2, 1])); // optimised pixel by pixel
 * const options: TrainerOptions = {
 *   params: [image],
 *   forward: () => tf.add(image, 0),
 *   project: () => image.assign(tf.clipByValue(image, 0, 1)), // keep it a valid image
 *   loss: (p, y) => ({ total: tf.mean(tf.square(tf.sub(p, y))) as tf.Scalar, terms: {} }),
 *   schedule: constant(5), // a large step (Adam: about 5 per element)
 * };
 * using t = trainer(options);
 * const target = tf.fill([1, 2, 2, 1], 2) as tf.Tensor4D; // out of range on purpose
 * await t.step({ input: target, target });
 * assert.equal(image.dataSync()[0], 1); // projected back into [0, 1]
 * tf.dispose([target, image]);
 * ```
 */
export interface TrainerOptions {
  /** The model to train (tfjs-layers). The caller keeps ownership: `dispose()` leaves it alone. */
  readonly model?: tfl.LayersModel;
  /** Instead of `model`: the variables to optimise (the caller keeps ownership). */
  readonly params?: readonly tf.Variable[];
  /** With `params`: the forward pass, `(input, training) → prediction`. */
  readonly forward?: Forward;
  /**
   * With `params`: called after each update (inside a scope) to put the variables back in range,
   * e.g. `() => image.assign(tf.clipByValue(image, 0, 1))`.
   */
  readonly project?: () => void;
  /** The loss: `(prediction, target) → { total, terms }`. */
  readonly loss: LossFn;
  /** Any tfjs optimizer. Default: `tf.train.adam` (β1 0.9, β2 0.999), owned by the trainer. */
  readonly optimizer?: tf.Optimizer;
  /** The learning-rate schedule. Default `constant(1e-3)`. */
  readonly schedule?: Schedule;
  /** Handed to resumable data sources and stored in checkpoints. Default 0. */
  readonly seed?: number;
  /** The run length, for schedules that need it when `step` is used without `fit`. */
  readonly totalSteps?: number;
  /**
   * Per-step leak check (default true): from the second step on, a step that leaves tensors
   * behind throws `TensorLeakError` naming the step and the count. It counts only tensors made
   * by the step itself, so a data source that prefetches while a step runs cannot trip it.
   */
  readonly leakCheck?: boolean;
  /** Anything JSON-serialisable to store in checkpoints (CLI flags, model config, …). */
  readonly config?: unknown;
  /**
   * Memory check (default true): before the first step of each batch shape, on a backend with a
   * known ceiling (wasm, native: 4 GiB; or `setMemoryLimit`), estimate the step's peak memory
   * from two small probe steps and throw `StepMemoryError` (how much it needs, what the backend
   * holds, which batch or crop fits) instead of running a step that cannot fit.
   */
  readonly memoryCheck?: boolean;
  /**
   * Keep an exponential moving average of every weight (batch-norm statistics included; see
   * `weightAverage`), updated after each step. Between steps — for validation, samples, callbacks,
   * after `fit` and after `dispose()` — the model holds the averaged weights; each step trains
   * the trained weights, and checkpoints keep both, so a resumed run continues exactly. Default:
   * none (the model holds the trained weights).
   */
  readonly average?: WeightAverageOptions;
}

/**
 * The trainer's progress, as plain numbers.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as tf from "@tensorflow/tfjs-core";
 * import { initBackend } from "@perceptual/loss/backend";
 * import { trainer, type TrainerState } from "@perceptual/loss/train";
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
 * await t.fit(data, { steps: 3, quiet: true });
 * const state: TrainerState = t.state;
 * assert.deepEqual([state.step, state.epoch, state.batchInEpoch, state.last?.step], [3, 1, 1, 3]);
 * image.dispose();
 * ```
 */
export interface TrainerState {
  /** Steps completed. */
  readonly step: number;
  /** The 0-based epoch of the next batch (maintained by `fit`). */
  readonly epoch: number;
  /** Batches of that epoch already consumed (maintained by `fit`). */
  readonly batchInEpoch: number;
  /** The seed handed to data factories. */
  readonly seed: number;
  /** The run length the schedule follows, when known. */
  readonly totalSteps: number | undefined;
  /** The metrics of the last step, if any. */
  readonly last: StepMetrics | undefined;
}
