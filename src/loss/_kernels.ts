/**
 * The tensor maths of the terms: penalties, reductions, Gram matrices, total variation.
 * Everything here is differentiable (custom gradients where tfjs' generic ones are slow or use
 * another convention) and makes no tensors it does not return (callers run it inside a scope).
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
import type { Distance, GramNormalisation, Reduction } from "./term.ts";

/** The parameters of a distance. */
export interface PenaltyOptions {
  /** Which penalty. */
  readonly distance: Distance;
  /** Huber's δ. */
  readonly delta: number;
  /** Charbonnier's ε. */
  readonly epsilon: number;
}

/**
 * sign(d), 0 at 0. `tf.sign` is about 5× slower than an element-wise multiply on wasm; this is
 * exact for |d| ≥ 1e-30 (and ±Inf saturates to ±1).
 */
function fastSign(d: tf.Tensor): tf.Tensor {
  return tf.clipByValue(tf.mul(d, 1e30), -1, 1);
}

/** ρ(d), without gradient bookkeeping (callers attach the gradient themselves). */
function penaltyValue(d: tf.Tensor, o: PenaltyOptions): tf.Tensor {
  switch (o.distance) {
    case "l1":
      return tf.abs(d);
    case "l2":
      return tf.square(d);
    case "huber": {
      const a = tf.abs(d);
      return tf.where(
        tf.less(a, o.delta),
        tf.mul(tf.square(d), 0.5),
        tf.mul(tf.sub(a, 0.5 * o.delta), o.delta),
      );
    }
    case "charbonnier":
      return tf.sqrt(tf.add(tf.square(d), o.epsilon * o.epsilon));
  }
}

/**
 * ρ'(d). For `l1` it is sign(d) with 0 at 0, as in PyTorch: tfjs' own `abs` has gradient −1 at 0,
 * which would push a prediction that already equals its target (a saturated pixel, a dead ReLU)
 * away from it.
 */
function penaltyGrad(d: tf.Tensor, o: PenaltyOptions): tf.Tensor {
  switch (o.distance) {
    case "l1":
      return fastSign(d);
    case "l2":
      return tf.mul(d, 2);
    case "huber":
      return tf.clipByValue(d, -o.delta, o.delta);
    case "charbonnier":
      return tf.div(d, tf.sqrt(tf.add(tf.square(d), o.epsilon * o.epsilon)));
  }
}

/**
 * The element-wise penalty ρ(d) of a distance (see `Distance`), differentiable in `d` (with the
 * PyTorch convention ρ'(0) = 0 for `l1`).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as tf from "@tensorflow/tfjs-core";
 * import { initBackend } from "@perceptual/loss/backend";
 * import { penalty } from "./_kernels.ts";
 * await initBackend("cpu");
 * const p = penalty(tf.tensor1d([-2, 0.5]), { distance: "huber", delta: 1, epsilon: 1e-3 });
 * assert.deepEqual(Array.from(p.dataSync()), [1.5, 0.125]);
 * ```
 */
export function penalty(d: tf.Tensor, options: PenaltyOptions): tf.Tensor {
  const op = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const x = args[0] as tf.Tensor;
    (args[1] as tf.GradSaveFunc)([x]);
    return {
      value: penaltyValue(x, options),
      // Tidied: tfjs runs a custom gradient outside any scope of its own, so its intermediates
      // would otherwise live until the whole gradient call ends.
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) =>
        tf.tidy(() => tf.mul(dy, penaltyGrad(saved[0]!, options))),
    };
  });
  return op(d) as tf.Tensor;
}

/**
 * Mean or sum of all elements.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as tf from "@tensorflow/tfjs-core";
 * import { initBackend } from "@perceptual/loss/backend";
 * import { reduce } from "./_kernels.ts";
 * await initBackend("cpu");
 * assert.equal(reduce(tf.tensor1d([1, 2, 3]), "mean").dataSync()[0], 2);
 * ```
 */
export function reduce(x: tf.Tensor, reduction: Reduction): tf.Scalar {
  return (reduction === "mean" ? tf.mean(x) : tf.sum(x)) as tf.Scalar;
}

/**
 * reduce(ρ(a − b)), differentiable in `a` only: `b` is a constant (a target), so no gradient is
 * ever computed or recorded for it. `b` may broadcast over `a` (a target of batch 1 against a
 * batch of predictions); the result equals comparing with the tiled target.
 *
 * One fused custom-gradient op: the backward pass is ρ'(a − b)·dy/n, one or two element-wise
 * kernels, where the generic chain (sub, penalty, mean) costs about twice as many full-size
 * tensors.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as tf from "@tensorflow/tfjs-core";
 * import { initBackend } from "@perceptual/loss/backend";
 * import { distance } from "./_kernels.ts";
 * await initBackend("cpu");
 * const d = distance(tf.tensor1d([1, 2]), tf.tensor1d([0, 0]), { distance: "l2", delta: 1, epsilon: 1e-3 }, "mean");
 * assert.ok(Math.abs(d.dataSync()[0] - 2.5) < 1e-6);
 * ```
 */
export function distance(
  a: tf.Tensor,
  b: tf.Tensor,
  options: PenaltyOptions,
  reduction: Reduction,
): tf.Scalar {
  const op = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const x = args[0] as tf.Tensor;
    const d = tf.sub(x, b);
    if (d.size !== x.size) {
      throw new RangeError(
        `distance: the target [${b.shape}] must broadcast to the prediction [${x.shape}], not widen it`,
      );
    }
    (args[1] as tf.GradSaveFunc)([d]);
    return {
      value: reduce(penaltyValue(d, options), reduction),
      // Tidied, as penalty's: the sign and scaled tensors are activation-sized.
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) =>
        tf.tidy(() => {
          const dd = saved[0]!;
          const scale = reduction === "mean" ? tf.div(dy, dd.size) : dy;
          return tf.reshape(tf.mul(penaltyGrad(dd, options), scale), x.shape);
        }),
    };
  });
  return op(a) as tf.Scalar;
}

/**
 * Gram matrices of NHWC activations: for each image, G = FᵀF / n with F the (H·W) × C matrix of
 * activations and n = C·H·W (`chw`), H·W (`hw`) or 1 (`none`). Returns [N, C, C].
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as tf from "@tensorflow/tfjs-core";
 * import { initBackend } from "@perceptual/loss/backend";
 * import { gramMatrix } from "./_kernels.ts";
 * await initBackend("cpu");
 * const g = gramMatrix(tf.ones([1, 2, 2, 3]) as tf.Tensor4D, "hw");
 * assert.deepEqual(g.shape, [1, 3, 3]);
 * assert.equal(g.dataSync()[0], 1);
 * ```
 */
export function gramMatrix(features: tf.Tensor4D, normalisation: GramNormalisation): tf.Tensor3D {
  const [n, h, w, c] = features.shape;
  const by = normalisation === "chw" ? c * h * w : normalisation === "hw" ? h * w : 1;
  // G = FᵀF is symmetric, so dF = F·(dG + dGᵀ): one matmul instead of tfjs' generic two.
  const op = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const flat = args[0] as tf.Tensor3D;
    (args[1] as tf.GradSaveFunc)([flat]);
    const g = tf.matMul(flat, flat, true, false);
    return {
      value: by === 1 ? g : tf.div(g, by),
      // Tidied, as penalty's: F·(dG + dGᵀ) before its division is activation-sized.
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) =>
        tf.tidy(() => {
          const sym = tf.add(dy, tf.transpose(dy, [0, 2, 1])) as tf.Tensor3D;
          const df = tf.matMul(saved[0]! as tf.Tensor3D, sym);
          return by === 1 ? df : tf.div(df, by);
        }),
    };
  });
  return op(tf.reshape(features, [n, h * w, c])) as tf.Tensor3D;
}

/**
 * Total variation of NHWC images: reduce(ρ(horizontal differences)) + reduce(ρ(vertical ones)).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as tf from "@tensorflow/tfjs-core";
 * import { initBackend } from "@perceptual/loss/backend";
 * import { totalVariationOf } from "./_kernels.ts";
 * await initBackend("cpu");
 * const x = tf.tensor4d([0, 1, 0, 1], [1, 2, 2, 1]);
 * assert.equal(
 *   totalVariationOf(x, { distance: "l1", delta: 1, epsilon: 1e-3 }, "sum").dataSync()[0],
 *   2,
 * );
 * ```
 */
export function totalVariationOf(
  x: tf.Tensor4D,
  options: PenaltyOptions,
  reduction: Reduction,
): tf.Scalar {
  const [n, h, w, c] = x.shape;
  const parts: tf.Scalar[] = [];
  if (w > 1) {
    const dx = tf.sub(
      tf.slice(x, [0, 0, 1, 0], [n, h, w - 1, c]),
      tf.slice(x, [0, 0, 0, 0], [n, h, w - 1, c]),
    );
    parts.push(reduce(penalty(dx, options), reduction));
  }
  if (h > 1) {
    const dy = tf.sub(
      tf.slice(x, [0, 1, 0, 0], [n, h - 1, w, c]),
      tf.slice(x, [0, 0, 0, 0], [n, h - 1, w, c]),
    );
    parts.push(reduce(penalty(dy, options), reduction));
  }
  if (parts.length === 0) return tf.scalar(0);
  return parts.length === 1 ? parts[0]! : tf.add(parts[0]!, parts[1]!) as tf.Scalar;
}
