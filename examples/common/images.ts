/**
 * Image helpers shared by the examples.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
import { scope } from "../../src/lifetime/mod.ts";

/** Rows `input | model | truth`, one row per sample, as one [rows*h, 3*w, 3] image (caller owns it). */
export function sideBySide(
  input: tf.Tensor4D,
  prediction: tf.Tensor4D,
  target: tf.Tensor4D,
): tf.Tensor3D {
  return scope(() => {
    const rgb = input.shape[3] === 1 ? tf.tile(input, [1, 1, 1, 3]) : input;
    const clip = (x: tf.Tensor4D) => tf.clipByValue(x, 0, 1);
    const rows = tf.concat([clip(rgb), clip(prediction), clip(target)], 2);
    const [n, h, w, c] = rows.shape;
    return tf.reshape(rows, [n * h, w, c]) as tf.Tensor3D;
  });
}
