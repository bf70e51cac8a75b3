/**
 * The one batch type: data produces it, the trainer consumes it.
 *
 * @module
 */
import type * as tf from "@tensorflow/tfjs-core";

/**
 * A batch of (input, target) pairs, e.g. low-res crops and their high-res originals. Whoever
 * receives it owns the tensors and must dispose them (`tf.dispose(batch)`: a type alias, so it is
 * a `tf.TensorContainer`).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as tf from "@tensorflow/tfjs-core";
 * import { initBackend } from "@perceptual/loss/backend";
 * import type { Batch } from "@perceptual/loss/data";
 * await initBackend("cpu");
 * const target = tf.randomUniform([2, 8, 8, 3]) as tf.Tensor4D; // clean crops
 * const batch: Batch = { input: tf.mean(target, 3, true) as tf.Tensor4D, target }; // grey inputs
 * assert.deepEqual(batch.input.shape, [2, 8, 8, 1]);
 * assert.deepEqual(batch.target.shape, [2, 8, 8, 3]);
 * tf.dispose(batch); // a TensorContainer: disposes both
 * ```
 */
export type Batch = {
  /** What the network sees, `[batch, h', w', c']` (degraded or low-res crops). */
  readonly input: tf.Tensor4D;
  /** What it should produce, `[batch, h, w, c]` (the clean crops). */
  readonly target: tf.Tensor4D;
};
