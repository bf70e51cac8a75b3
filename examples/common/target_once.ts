/**
 * A loss function that computes the loss network's side of its target once per target image:
 * the super-resolution table scores bicubic and the model against the same truth, and the truth's
 * VGG pass was half of the feature column's work on whole images.
 *
 * @module
 */
import type * as tf from "@tensorflow/tfjs-core";
import {
  evaluate,
  type Loss,
  type LossFn,
  type LossResult,
  type PrecomputedTarget,
  precomputeTarget,
} from "../../src/loss/mod.ts";
import type { LossNetwork } from "../../src/network/mod.ts";

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
 * import { initBackend } from "../../src/backend/mod.ts";
 * import { feature } from "../../src/loss/mod.ts";
 * import type { LossNetwork } from "../../src/network/mod.ts";
 * import { targetOnce } from "./target_once.ts";
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
 * console.log(fn(tf.ones([1, 2, 2, 3]), target).total.dataSync()[0]); // 1
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
