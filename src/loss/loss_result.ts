/**
 * What evaluating a loss gives: the scalar to minimise and its named terms.
 *
 * @module
 */
import type * as tf from "@tensorflow/tfjs-core";

/**
 * The total loss and each named term (`pixel`, `feature:block2_conv2`, `style:block3_conv3`, `tv`),
 * each already weighted, so `total` is the sum of `terms`. The caller owns the tensors.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as tf from "@tensorflow/tfjs-core";
 * import { initBackend } from "@perceptual/loss/backend";
 * import type { LossResult } from "@perceptual/loss/loss";
 * await initBackend("cpu");
 * const pixel = tf.scalar(0.5);
 * const tv = tf.scalar(0.25);
 * const result: LossResult = { total: tf.add(pixel, tv), terms: { pixel, tv } };
 * assert.ok(Math.abs(result.total.dataSync()[0] - 0.75) < 1e-6); // the sum of the (already weighted) terms
 * tf.dispose([result.total, result.terms]);
 * ```
 */
export interface LossResult {
  /** The weighted sum of all terms. */
  readonly total: tf.Scalar;
  /** Every term by its readable name, weighted. */
  readonly terms: Readonly<Record<string, tf.Scalar>>;
}

/**
 * A loss ready to use in training: prediction and target (NHWC, same shape) → {@linkcode LossResult}.
 * Gradients flow to `pred`; the target side is computed without a tape.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as tf from "@tensorflow/tfjs-core";
 * import { initBackend } from "@perceptual/loss/backend";
 * import type { LossFn } from "@perceptual/loss/loss";
 * const l1: LossFn = (pred, target) => {
 *   const pixel = tf.mean(tf.abs(tf.sub(pred, target))) as tf.Scalar;
 *   return { total: tf.clone(pixel), terms: { pixel } };
 * };
 * await initBackend("cpu");
 * const r = l1(tf.fill([1, 2, 2, 3], 0.75) as tf.Tensor4D, tf.fill([1, 2, 2, 3], 0.25) as tf.Tensor4D);
 * assert.equal(r.total.dataSync()[0], 0.5);
 * assert.deepEqual(Object.keys(r.terms), ["pixel"]);
 * ```
 */
export interface LossFn {
  /** The loss of `pred` against `target`. */
  (pred: tf.Tensor4D, target: tf.Tensor4D): LossResult;
  /** Set by `evaluate`: what the loss feeds the prediction into (the trainer checks it). */
  readonly network?: NetworkUse;
}

/**
 * What a loss feeds the prediction into: a loss network with a declared input range, and the
 * terms computed from its activations. A trainer uses it to tell a diverging model (its output
 * leaving that range) from bad input images.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { initBackend } from "@perceptual/loss/backend";
 * import { vgg16 } from "@perceptual/loss/vgg";
 * import { evaluate, concatLoss, feature, pixel, type NetworkUse } from "@perceptual/loss/loss";
 * await initBackend("cpu");
 * using net = await vgg16({ weights: { random: 0 }, upTo: "relu1_2" });
 * const lossFn = evaluate(concatLoss(pixel(), feature("relu1_2")), net);
 * const use: NetworkUse | undefined = lossFn.network;
 * assert.equal(use?.range, "[0,1]");
 * assert.deepEqual(use?.terms, ["feature:relu1_2"]); // pixel needs no network
 * ```
 */
export interface NetworkUse {
  /** The network's name, e.g. `vgg16(imagenet)`. */
  readonly name: string;
  /** The range the network was told its inputs are in, e.g. `[0,1]`. */
  readonly range: string;
  /** Its lower and upper bound. */
  readonly bounds: readonly [number, number];
  /** The names of the terms computed from its activations. */
  readonly terms: readonly string[];
}
