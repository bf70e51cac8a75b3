/**
 * The forward op of a frozen VGG conv layer: fused conv + bias + ReLU, whose gradient is taken
 * with respect to the input only.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";

/** A frozen 3×3 'same' conv + bias + ReLU: `x` → `relu(conv(x, kernel) + bias)`. */
export type FrozenConv = (x: tf.Tensor4D) => tf.Tensor4D;

/**
 * Build the op for one frozen conv layer.
 *
 * The forward is `tf.fused.conv2d` with `activation: "relu"` (one kernel where the backend fuses
 * it). tfjs' own gradient of a fused conv always computes the filter gradient as well, which a
 * frozen loss network never needs and which costs as much as the input gradient (and on wasm
 * needs a kernel tfjs lacks); so the op carries its own gradient: dy·1[y>0] through the
 * transposed convolution, nothing for the weights.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as tf from "@tensorflow/tfjs-core";
 * import { initBackend } from "../backend/mod.ts";
 * import { frozenConvRelu } from "./_conv.ts";
 * await initBackend("cpu");
 * const conv = frozenConvRelu(tf.ones([3, 3, 1, 2]), tf.tensor1d([0, -100]));
 * const y = conv(tf.ones([1, 4, 4, 1]));
 * assert.deepEqual(y.shape, [1, 4, 4, 2]);
 * assert.equal(y.dataSync()[0], 4);
 * assert.equal(y.dataSync()[1], 0);
 * ```
 */
export function frozenConvRelu(kernel: tf.Tensor4D, bias: tf.Tensor1D): FrozenConv {
  const op = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const x = args[0] as tf.Tensor4D;
    const save = args[1] as tf.GradSaveFunc;
    const y = tf.fused.conv2d({
      x,
      filter: kernel,
      bias,
      strides: 1,
      pad: "same",
      activation: "relu",
    });
    save([y]);
    return {
      value: y,
      // Tidied: tfjs runs a custom gradient outside any scope of its own, so the step mask and
      // the masked gradient would otherwise live until the whole gradient call ends.
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) =>
        tf.tidy(() => {
          const dyRelu = tf.mul(dy, tf.step(saved[0]!));
          return tf.conv2dTranspose(dyRelu as tf.Tensor4D, kernel, x.shape, 1, "same");
        }),
    };
  });
  return (x: tf.Tensor4D) => op(x) as tf.Tensor4D;
}
