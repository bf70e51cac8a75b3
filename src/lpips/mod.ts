/**
 * LPIPS v0.1 (Zhang et al., "The Unreasonable Effectiveness of Deep Features as a Perceptual
 * Metric", CVPR 2018) on AlexNet and SqueezeNet 1.1, with the published weights embedded
 * (converted by `tools/convert_lpips.py`, SHA-256 checked on load): a metric, a differentiable
 * distance, and a {@linkcode LpipsNetwork} for perceptual loss terms.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as tf from "@tensorflow/tfjs-core";
 * import { initBackend } from "@perceptual/loss/backend";
 * import { lpips } from "@perceptual/loss/lpips";
 * await initBackend("cpu");
 * using metric = await lpips({ net: "alex" });
 * const a = tf.fill([1, 32, 32, 3], 0.2) as tf.Tensor4D;
 * const b = tf.fill([1, 32, 32, 3], 0.8) as tf.Tensor4D;
 * assert.ok((await metric.scores(a, b))[0]! > 0);
 * tf.dispose([a, b]);
 * ```
 *
 * @module
 */
export { type DistanceOptions, type Lpips, lpips, type LpipsOptions } from "./lpips.ts";
export { type LpipsTarget, lpipsTarget } from "./lpips_target.ts";
export {
  checkLpipsOptions,
  LPIPS_TAPS,
  type LpipsNet,
  LpipsNetwork,
  lpipsNetwork,
  type LpipsNetworkOptions,
  type LpipsNetworkParts,
  type LpipsTap,
} from "./lpips_network.ts";
export { LpipsInputTooSmallError, LpipsShapeMismatchError } from "./errors.ts";
export { lpipsKind, type LpipsTerm, lpipsTerm, type LpipsTermOptions } from "./lpips_term.ts";
