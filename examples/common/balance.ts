/**
 * Loss balancing, an example policy: weigh the perceptual terms so that they start at a chosen
 * multiple of the pixel term.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
import { scope } from "../../src/lifetime/mod.ts";
import { concatLoss, evaluate, type Loss, lossOf, weighted } from "../../src/loss/mod.ts";
import type { LossNetwork } from "../../src/network/mod.ts";

/** The pixel terms of `loss`. */
function pixelTerms(loss: Loss<string>): Loss<string> {
  return lossOf(loss.terms.filter((t) => t.kind === "pixel"));
}

/** Every term of `loss` but the pixel ones: what the loss network computes. */
function perceptualTerms(loss: Loss<string>): Loss<string> {
  return lossOf(loss.terms.filter((t) => t.kind !== "pixel"));
}

/**
 * `loss` with its perceptual terms weighted so that, on `start` against `target` (where an
 * untrained model starts, e.g. the bicubic upscale for a residual SR U-Net), they sum to `ratio`
 * × the pixel terms; and that weight (1 when either side is absent or zero). fastai's weights
 * balance the terms for torchvision vgg16_bn features; with other weights (Keras 'caffe', random)
 * even calibrated Gram terms come out orders of magnitude larger, and the pixel term (which PSNR
 * measures) would vanish in the total.
 */
export async function balancePerceptual(
  loss: Loss<string>,
  net: LossNetwork<string>,
  start: tf.Tensor4D,
  target: tf.Tensor4D,
  ratio: number,
): Promise<{ loss: Loss<string>; weight: number }> {
  const perceptual = perceptualTerms(loss);
  const pixels = pixelTerms(loss);
  if (perceptual.terms.length === 0 || pixels.terms.length === 0) return { loss, weight: 1 };
  const both = scope(() =>
    tf.stack([
      evaluate(perceptual, net)(start, target).total,
      evaluate(pixels, net)(start, target).total,
    ])
  );
  // Asynchronous read: webgpu under Deno has no synchronous one.
  const [p, q] = await both.data();
  both.dispose();
  const weight = p! > 0 && q! > 0 ? (ratio * q!) / p! : 1;
  return { loss: concatLoss(pixels, weighted(weight, perceptual)), weight };
}
