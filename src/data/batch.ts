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
 */
export type Batch = {
  /** What the network sees, `[batch, h', w', c']` (degraded or low-res crops). */
  readonly input: tf.Tensor4D;
  /** What it should produce, `[batch, h, w, c]` (the clean crops). */
  readonly target: tf.Tensor4D;
};
