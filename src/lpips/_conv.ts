/**
 * Frozen conv + bias + ReLU ops for the LPIPS trunks (any kernel size and stride), whose gradient
 * is taken with respect to the input only, and PyTorch's max-pools. Internal.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
import type { LpipsConvOp } from "./_architecture.ts";

/**
 * A frozen op on NHWC activations.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as tf from "@tensorflow/tfjs-core";
 * import { initBackend } from "../backend/mod.ts";
 * import type { FrozenOp } from "./_conv.ts";
 * const identity: FrozenOp = (x) => x;
 * await initBackend("cpu");
 * const x = tf.zeros([1, 2, 2, 3]) as tf.Tensor4D;
 * assert.equal(identity(x), x);
 * ```
 */
export type FrozenOp = (x: tf.Tensor4D) => tf.Tensor4D;

/**
 * `relu(conv(x, kernel, stride) + bias)` with PyTorch's symmetric zero padding `pad`: `same` where
 * that is what it is (odd kernel, stride 1, pad (k − 1) / 2), otherwise an explicit `tf.pad` and a
 * `valid` conv. The forward is `tf.fused.conv2d`; the gradient is dy·1[y > 0] through the
 * transposed conv, nothing for the weights (a loss network is frozen; tfjs' own fused-conv
 * gradient would also compute the filter gradient).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as tf from "@tensorflow/tfjs-core";
 * import { initBackend } from "../backend/mod.ts";
 * import { frozenConvRelu } from "./_conv.ts";
 * await initBackend("cpu");
 * const conv1 = frozenConvRelu(tf.ones([11, 11, 3, 64]), tf.zeros([64]), { size: 11, stride: 4, pad: 2 });
 * assert.deepEqual(conv1(tf.zeros([1, 64, 64, 3])).shape, [1, 15, 15, 64]); // as AlexNet's conv1
 * ```
 */
export function frozenConvRelu(
  kernel: tf.Tensor4D,
  bias: tf.Tensor1D,
  op: Pick<LpipsConvOp, "size" | "stride" | "pad">,
): FrozenOp {
  const same = op.stride === 1 && op.size % 2 === 1 && op.pad === (op.size - 1) / 2;
  const pad = same ? "same" : "valid";
  const conv = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const x = args[0] as tf.Tensor4D;
    const save = args[1] as tf.GradSaveFunc;
    const y = tf.fused.conv2d({
      x,
      filter: kernel,
      bias,
      strides: op.stride,
      pad,
      activation: "relu",
    });
    save([y]);
    return {
      value: y,
      // Tidied: the step mask and masked gradient would otherwise live until the gradient ends.
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) =>
        tf.tidy(() =>
          tf.conv2dTranspose(
            tf.mul(dy, tf.step(saved[0]!)) as tf.Tensor4D,
            kernel,
            x.shape,
            op.stride,
            pad,
          )
        ),
    };
  });
  if (same || op.pad === 0) return (x) => conv(x) as tf.Tensor4D;
  const p = op.pad;
  return (x) => conv(tf.pad(x, [[0, 0], [p, p], [p, p], [0, 0]])) as tf.Tensor4D;
}

/**
 * PyTorch's `MaxPool2d(3, 2, ceil_mode)` on NHWC. Ceil mode lets the last window hang over the
 * bottom/right edge: the input is padded there by what that window lacks (0 or 1) with zeros, then
 * pooled `valid`. The pools of both trunks read ReLU outputs (≥ 0), so a zero never beats a real
 * value; on a tie the first maximum (the real cell, which lies before the padding) wins, as in
 * PyTorch.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as tf from "@tensorflow/tfjs-core";
 * import { initBackend } from "../backend/mod.ts";
 * import { maxPool3s2 } from "./_conv.ts";
 * await initBackend("cpu");
 * const x = tf.zeros([1, 30, 30, 1]) as tf.Tensor4D;
 * assert.deepEqual(maxPool3s2(x, true).shape, [1, 15, 15, 1]);
 * assert.deepEqual(maxPool3s2(x, false).shape, [1, 14, 14, 1]);
 * ```
 */
export function maxPool3s2(x: tf.Tensor4D, ceil: boolean): tf.Tensor4D {
  if (!ceil) return tf.maxPool(x, 3, 2, "valid");
  const extra = (n: number): number => {
    const out = Math.ceil((n - 3) / 2) + 1;
    return Math.max(0, (out - 1) * 2 + 3 - n);
  };
  const [, h, w] = x.shape;
  const ph = extra(h), pw = extra(w);
  const padded = ph + pw === 0 ? x : tf.pad(x, [[0, 0], [0, ph], [0, pw], [0, 0]]);
  return tf.maxPool(padded, 3, 2, "valid");
}
