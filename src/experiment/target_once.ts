/**
 * A loss function that computes the loss network's side of its target once per target image:
 * a table that scores a baseline and the model against the same truth runs the truth's VGG pass
 * once (half of a feature column's work on whole images).
 *
 * @module
 */
import type * as tf from "@tensorflow/tfjs-core";
import { concatAll } from "fp-ts/lib/Monoid.js";
import {
  calibrate,
  evaluate,
  feature,
  type Loss,
  type LossFn,
  LossMonoid,
  type LossResult,
  type PrecomputedTarget,
  precomputeTarget,
} from "../loss/mod.ts";
import type { LossNetwork } from "../network/mod.ts";

/** A {@linkcode LossFn} that reuses the target's representations after `prepare(target)`. */
export interface TargetOnceFn extends LossFn, Disposable {
  /**
   * Compute `target`'s side now (outside any `tf.tidy`/`scope`, which would dispose it) and keep
   * it for calls with this same tensor; a different target replaces it.
   */
  prepare(target: tf.Tensor4D): void;
  /** Free the kept target representations. */
  dispose(): void;
}

/**
 * `evaluate(loss, net)` with a one-target cache: after `prepare(t)`, calls `fn(pred, t)` with the
 * same tensor `t` read its precomputed representations (same values as computing them again);
 * other calls evaluate as usual.
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs-core";
 * import { initBackend } from "@perceptual/loss/backend";
 * import { targetOnce } from "@perceptual/loss/experiment";
 * import { feature } from "@perceptual/loss/loss";
 * import type { LossNetwork } from "@perceptual/loss/network";
 * import assert from "node:assert/strict";
 *
 * await initBackend("cpu");
 * const net: LossNetwork<"id"> = {
 *   name: "identity", layers: ["id"], inputConvention: { preprocessing: "none", range: "[0,1]" },
 *   depthOf: () => 0,
 *   extract: (x, layers) => Object.fromEntries(layers.map((l) => [l, tf.clone(x)])) as never,
 *   dispose() {}, [Symbol.dispose]() {},
 * };
 * using fn = targetOnce(feature("id", { distance: "l1" }), net);
 * const target = tf.zeros([1, 2, 2, 3]) as tf.Tensor4D;
 * fn.prepare(target);
 * assert.equal(tf.tidy(() => fn(tf.ones([1, 2, 2, 3]), target).total.dataSync()[0]), 1);
 * target.dispose();
 * ```
 */
export function targetOnce<L extends string>(loss: Loss<L>, net: LossNetwork<L>): TargetOnceFn {
  const plain = evaluate(loss, net);
  let kept:
    | { id: number; fixed: PrecomputedTarget<L>; fn: (p: tf.Tensor4D) => LossResult }
    | undefined;
  const drop = () => {
    kept?.fixed.dispose();
    kept = undefined;
  };
  const fn =
    ((pred: tf.Tensor4D, target: tf.Tensor4D): LossResult =>
      kept !== undefined && kept.id === target.id && !target.isDisposed
        ? kept.fn(pred)
        : plain(pred, target)) as TargetOnceFn;
  Object.assign(fn, {
    network: plain.network,
    prepare(target: tf.Tensor4D): void {
      if (kept !== undefined && kept.id === target.id && !target.isDisposed) return;
      drop();
      const fixed = precomputeTarget(loss, net, target);
      const withTarget = evaluate(loss, net, { target: fixed });
      kept = { id: target.id, fixed, fn: (p) => withTarget(p) };
    },
    dispose: drop,
    [Symbol.dispose]: drop,
  });
  return fn;
}

/**
 * A results table's feature distance: L1 of features calibrated on `calibration` (mean
 * |activation| = 1 at each layer), averaged over `layers`, with the target's side computed once
 * per target (see {@linkcode targetOnce}). Dispose it.
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs-core";
 * import { initBackend } from "@perceptual/loss/backend";
 * import { featureDistance } from "@perceptual/loss/experiment";
 * import { vgg16 } from "@perceptual/loss/vgg";
 * import assert from "node:assert/strict";
 *
 * await initBackend("cpu");
 * using net = await vgg16({ weights: { random: 0 }, upTo: "block1_conv2" });
 * const x = tf.randomUniform([1, 8, 8, 3], 0, 1, "float32", 1) as tf.Tensor4D;
 * using fn = await featureDistance(net, ["block1_conv1", "block1_conv2"], x);
 * assert.equal(tf.tidy(() => fn(x, x).total.dataSync()[0]), 0);
 * x.dispose();
 * ```
 */
export async function featureDistance<L extends string>(
  net: LossNetwork<L>,
  layers: readonly L[],
  calibration: tf.Tensor4D,
): Promise<TargetOnceFn> {
  const terms = layers.map((l) => feature(l, { distance: "l1", weight: 1 / layers.length }));
  return targetOnce(await calibrate(concatAll(LossMonoid)(terms), net, calibration), net);
}
