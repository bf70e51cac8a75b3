/**
 * A table method's prediction (shared by the metric and loss tables).
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
import type * as tfl from "@tensorflow/tfjs-layers";
import { withWinograd } from "../backend/mod.ts";

/**
 * A method scored by the table: the model, or a baseline (input → prediction, caller-owned).
 * Predictions are clipped to [0, 1], except an `{ unclipped }` baseline's, scored as it is
 * (bicubic's overshoot, say, as a table computed before clipping existed had it).
 */
export type Method =
  | tfl.LayersModel
  | ((input: tf.Tensor4D) => tf.Tensor4D)
  | { readonly unclipped: (input: tf.Tensor4D) => tf.Tensor4D };

/**
 * One method's prediction, clipped to [0, 1] unless the method says `unclipped` (with Winograd
 * convolutions on native: evaluation).
 */
export function predictWith(method: Method, input: tf.Tensor4D): tf.Tensor4D {
  return withWinograd(() =>
    tf.tidy(() => {
      if (typeof method === "object" && "unclipped" in method) return method.unclipped(input);
      const raw = typeof method === "function"
        ? method(input)
        : method.predict(input) as tf.Tensor4D;
      return tf.clipByValue(raw, 0, 1) as tf.Tensor4D;
    })
  );
}
