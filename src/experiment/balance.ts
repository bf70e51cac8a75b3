/**
 * Loss balancing, an example policy: weigh each family of perceptual terms (all feature terms,
 * all Gram/style terms, …) so that it starts at a chosen multiple of the pixel term.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
import { scope } from "../lifetime/mod.ts";
import { concatAll } from "fp-ts/lib/Monoid.js";
import { evaluate, type Loss, LossMonoid, lossOf, weighted } from "../loss/mod.ts";
import type { LossNetwork } from "../network/mod.ts";

/**
 * `loss` with each kind of perceptual term (`feature`, `style`, …) weighted as a family, so that
 * on `start` against `target` (where an untrained model starts, e.g. the bicubic upscale for a
 * residual SR U-Net) each family sums to `ratio` × the pixel terms; the per-layer ratios inside a
 * family stay as the preset set them. Returns the weight of each family (1 when it or the pixel
 * side is absent or zero).
 *
 * Why per family: fastai's weights balance its terms for torchvision vgg16_bn features. With
 * other weights (Keras 'caffe' ImageNet, random) even calibrated features leave the Gram terms
 * hundreds of times larger than the feature terms (a Gram is quadratic in the features), so one
 * common weight would leave the feature terms at ~0% of the total: a loss of pixels and Grams.
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs-core";
 * import { initBackend } from "@perceptual/loss/backend";
 * import { balancePerceptual } from "@perceptual/loss/experiment";
 * import { concatLoss, feature, pixel } from "@perceptual/loss/loss";
 * import { vgg16 } from "@perceptual/loss/vgg";
 * import assert from "node:assert/strict";
 *
 * await initBackend("cpu");
 * using net = await vgg16({ weights: { random: 1 }, upTo: "block1_conv2" });
 * const loss = concatLoss(pixel(), feature("block1_conv2"));
 * const start = tf.fill([1, 16, 16, 3], 0.25) as tf.Tensor4D;
 * const target = tf.fill([1, 16, 16, 3], 0.75) as tf.Tensor4D;
 * const { weights } = await balancePerceptual(loss, net, start, target, 0.5);
 * assert.ok(weights.feature! > 0 && Number.isFinite(weights.feature!));
 * tf.dispose([start, target]);
 * ```
 */
export async function balancePerceptual(
  loss: Loss<string>,
  net: LossNetwork<string>,
  start: tf.Tensor4D,
  target: tf.Tensor4D,
  ratio: number,
): Promise<{ loss: Loss<string>; weights: Record<string, number> }> {
  const pixels = lossOf(loss.terms.filter((t) => t.kind === "pixel"));
  const kinds = [...new Set(loss.terms.filter((t) => t.kind !== "pixel").map((t) => t.kind))];
  const families = kinds.map((k) => lossOf(loss.terms.filter((t) => t.kind === k)));
  if (families.length === 0 || pixels.terms.length === 0) {
    return { loss, weights: Object.fromEntries(kinds.map((k) => [k, 1])) };
  }
  const totals = scope(() =>
    tf.stack([pixels, ...families].map((part) => evaluate(part, net)(start, target).total))
  );
  // Asynchronous read: webgpu under Deno has no synchronous one.
  const [q, ...p] = await totals.data();
  totals.dispose();
  const weights: Record<string, number> = {};
  const parts = families.map((f, i) => {
    const w = p[i]! > 0 && q! > 0 ? (ratio * q!) / p[i]! : 1;
    weights[kinds[i]!] = w;
    return weighted(w, f);
  });
  return { loss: concatAll(LossMonoid)([pixels, ...parts]), weights };
}
