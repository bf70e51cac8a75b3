/**
 * Published perceptual losses as `Loss` values: fastai's feature loss (course-v3 lesson 7) and
 * Johnson et al. 2016 (super-resolution, style transfer).
 *
 * Each preset states the feature scale its weights assume. fastai's were tuned on torchvision's
 * `vgg16_bn` (batch-normalised activations of order 1) with ImageNet-normalised images: with
 * Keras 'caffe' VGG weights pass `scales` from `featureScales` (or `calibrate` the result) to
 * bring activations to that order. Johnson et al. used the Caffe VGG-16 that Keras' weights are
 * converted from, on 0–255 images: their weights fit Keras 'caffe' VGG-16 as they are.
 *
 * @module
 */
import type { LossNetwork } from "../network/loss_network.ts";
import { rangeBounds } from "../network/preprocess.ts";
import { layersBeforePools } from "../network/selectors.ts";
import { canonicalVggLayer, johnsonStyle } from "../vgg/layers.ts";
import { InvalidTermOptionError, LossInputError } from "./errors.ts";
import { planOf } from "./_sides.ts";
import { concatLoss, type Loss } from "./loss.ts";
import { feature, pixel, style, totalVariation } from "./kinds/mod.ts";
import { withFeatureScales } from "./scale.ts";
import {
  checkWeight,
  type FeatureTerm,
  type PixelTerm,
  type StyleTerm,
  type TvTerm,
} from "./term.ts";

/**
 * Options of {@linkcode fastaiFeatureLoss}.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { initBackend } from "@perceptual/loss/backend";
 * import { vgg16 } from "@perceptual/loss/vgg";
 * import { fastaiFeatureLoss, type FastaiFeatureLossOptions } from "@perceptual/loss/loss";
 * await initBackend("cpu");
 * using net = await vgg16({ weights: { random: 0 }, upTo: "block2_conv2" });
 * const options: FastaiFeatureLossOptions<"block1_conv2" | "block2_conv2"> = {
 *   layers: ["block1_conv2", "block2_conv2"],
 *   layerWeights: [5, 15],
 *   gramWeight: 10,
 *   pixelWeight: 0,
 * };
 * const loss = fastaiFeatureLoss(net, options); // pixel, then features, then Grams (10·w²)
 * assert.deepEqual(loss.terms.map((t) => t.weight), [0, 5, 15, 250, 2250]);
 * ```
 */
export interface FastaiFeatureLossOptions<L extends string> {
  /** The layers (default: those just before pools 3, 4 and 5 of `net`). */
  readonly layers?: readonly L[];
  /** One weight per layer (default [5, 15, 2]). */
  readonly layerWeights?: readonly number[];
  /** Style terms weigh `gramWeight · w²` (default 5e3). */
  readonly gramWeight?: number;
  /** Weight of the pixel L1 term (default 1). */
  readonly pixelWeight?: number;
  /** Per-layer activation divisors (see `featureScales`); default none (raw activations). */
  readonly scales?: Partial<Record<L, number>>;
}

/**
 * fastai's feature loss (course-v3 lesson 7, `FeatureLoss`): pixel L1 (weight 1) + for each of
 * the layers before pools 3, 4, 5 with weight w ∈ [5, 15, 2]: feature L1 · w and Gram L1 ·
 * 5e3·w², Gram = FᵀF/(C·H·W). Term order and meaning match fastai's metrics `pixel`, `feat_i`,
 * `gram_i`. fastai computed the pixel term on ImageNet-normalised images (about 4.4× larger than
 * on [0,1] images) and the others on `vgg16_bn`; see the module doc for the feature scale.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import type { LossNetwork } from "@perceptual/loss/network";
 * import { fastaiFeatureLoss } from "@perceptual/loss/loss";
 * const net = {
 *   name: "vgg-like", depthOf: (l: string) => net.layers.indexOf(l),
 *   layers: ["b1", "pool1", "b2", "pool2", "b3", "pool3", "b4", "pool4", "b5", "pool5"],
 * } as unknown as LossNetwork<string>;
 * const loss = fastaiFeatureLoss(net);
 * assert.deepEqual(loss.layers, ["b3","b4","b5"]);
 * assert.deepEqual(loss.terms.map((t) => t.weight), [1, 5, 15, 2, 125000, 1125000, 20000]);
 * ```
 */
export function fastaiFeatureLoss<L extends string>(
  net: LossNetwork<L>,
  options: FastaiFeatureLossOptions<NoInfer<L>> = {},
): Loss<L, PixelTerm | FeatureTerm<L> | StyleTerm<L>> {
  let layers = options.layers;
  if (layers === undefined) {
    const before = layersBeforePools(net);
    if (before.length < 5) {
      throw new LossInputError(
        `fastaiFeatureLoss needs the layers just before pools 3, 4 and 5, but ${net.name} has ` +
          `${before.length} pooling layer(s) (a truncated network?); pass \`layers\` to choose others`,
      );
    }
    layers = before.slice(2, 5);
  }
  const ws = options.layerWeights ?? [5, 15, 2];
  if (ws.length !== layers.length) {
    throw new InvalidTermOptionError(
      "fastaiFeatureLoss",
      "layerWeights",
      ws,
      `one weight per layer (${layers.length} layers: ${layers.join(", ")})`,
    );
  }
  ws.forEach((w) => checkWeight("fastaiFeatureLoss layerWeights", w));
  const gram = checkWeight("fastaiFeatureLoss gramWeight", options.gramWeight ?? 5e3);
  let loss: Loss<L, PixelTerm | FeatureTerm<L> | StyleTerm<L>> = pixel({
    distance: "l1",
    weight: options.pixelWeight ?? 1,
  });
  layers.forEach((l, i) => {
    loss = concatLoss(loss, feature(l, { distance: "l1", weight: ws[i]! }));
  });
  layers.forEach((l, i) => {
    loss = concatLoss(
      loss,
      style(l, { distance: "l1", normalisation: "chw", weight: gram * ws[i]! ** 2 }),
    );
  });
  planOf(loss, net as unknown as LossNetwork<string>);
  return options.scales === undefined ? loss : withFeatureScales(loss, options.scales);
}

/** `chosen`, or the default layer name once `net` is known to have it. */
function pick<L extends string>(net: LossNetwork<L>, chosen: L | undefined, dflt: string): L {
  const layer = chosen ?? dflt;
  planOf(feature(layer), net as unknown as LossNetwork<string>);
  return layer as L;
}

/**
 * Options of {@linkcode johnson2016SuperResolution}.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { initBackend } from "@perceptual/loss/backend";
 * import { vgg16 } from "@perceptual/loss/vgg";
 * import {
 *   johnson2016SuperResolution,
 *   type JohnsonSuperResolutionOptions,
 * } from "@perceptual/loss/loss";
 * await initBackend("cpu");
 * using net = await vgg16({ weights: { random: 0 }, upTo: "relu2_2" });
 * const options: JohnsonSuperResolutionOptions<"relu1_2"> = { layer: "relu1_2", weight: 0.5 };
 * const loss = johnson2016SuperResolution(net, options);
 * assert.deepEqual(loss.layers, ["relu1_2"]);
 * assert.equal(loss.terms[0]!.weight, 0.5);
 * ```
 */
export interface JohnsonSuperResolutionOptions<L extends string> {
  /** The feature layer (default `block2_conv2`, Johnson's relu2_2). */
  readonly layer?: L;
  /** Its weight (default 1). */
  readonly weight?: number;
}

/**
 * Johnson et al. 2016, super-resolution: the feature reconstruction loss at relu2_2 of VGG-16,
 * ‖φ(ŷ) − φ(y)‖²₂ / (C·H·W) per image (`l2`, `mean`), weight 1.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import type { LossNetwork } from "@perceptual/loss/network";
 * import { johnson2016SuperResolution } from "@perceptual/loss/loss";
 * const net = { name: "vgg", layers: ["block2_conv2"], depthOf: () => 0 } as unknown as LossNetwork<string>;
 * assert.equal(johnson2016SuperResolution(net).terms[0]!.distance, "l2");
 * ```
 */
export function johnson2016SuperResolution<L extends string>(
  net: LossNetwork<L>,
  options: JohnsonSuperResolutionOptions<NoInfer<L>> = {},
): Loss<L, FeatureTerm<L>> {
  const layer = pick(net, options.layer, "block2_conv2");
  return feature(layer, { distance: "l2", reduction: "mean", weight: options.weight ?? 1 });
}

/**
 * Options of {@linkcode johnson2016StyleTransfer}.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { initBackend } from "@perceptual/loss/backend";
 * import { vgg16 } from "@perceptual/loss/vgg";
 * import {
 *   johnson2016StyleTransfer,
 *   type JohnsonStyleTransferOptions,
 * } from "@perceptual/loss/loss";
 * await initBackend("cpu");
 * using net = await vgg16({ weights: { random: 0 }, upTo: "relu2_2" });
 * const options: JohnsonStyleTransferOptions<"relu1_2" | "relu2_2"> = {
 *   contentLayer: "relu2_2", styleLayers: ["relu1_2", "relu2_2"], styleWeight: 10, tvStrength: 0,
 * };
 * const loss = johnson2016StyleTransfer(net, options);
 * assert.deepEqual(loss.terms.map((t) => `${t.kind}:${t.weight}`), [
 *   "feature:1", "style:10", "style:10", "tv:0",
 * ]);
 * ```
 */
export interface JohnsonStyleTransferOptions<L extends string> {
  /** Content layer (default `block3_conv3`, relu3_3). */
  readonly contentLayer?: L;
  /** Style layers (default relu1_2, relu2_2, relu3_3, relu4_3 as Keras names). */
  readonly styleLayers?: readonly L[];
  /** Content weight (default 1.0, `train.lua -content_weights`). */
  readonly contentWeight?: number;
  /** Weight of each style layer (default 5.0, `-style_weights`). */
  readonly styleWeight?: number;
  /** Johnson's `-tv_strength` (default 1e-6), on 0–255 images; converted, see below. */
  readonly tvStrength?: number;
}

/**
 * Johnson et al. 2016, style transfer (defaults of `train.lua` in jcjohnson/fast-neural-style):
 * content = squared-L2 feature loss at relu3_3, weight 1; style = squared-L2 (`mean`) between
 * Gram matrices normalised by C·H·W at relu1_2, relu2_2, relu3_3, relu4_3, weight 5 each; total
 * variation with strength 1e-6. Johnson's TV acts on 0–255 images with energy
 * (s/2)·Σ(Δx² + Δy²); here it is `l2`/`sum` with weight s/2·(255/range)² for the network's input
 * range (0.0325 for [0,1] images), which equals it up to the last row and column. Precompute the
 * style image's Grams with `precomputeTarget(loss, net, styleImage, { kinds: ["style"] })`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import type { LossNetwork } from "@perceptual/loss/network";
 * import { johnson2016StyleTransfer } from "@perceptual/loss/loss";
 * const net = {
 *   name: "vgg16", depthOf: () => 0, inputConvention: { preprocessing: "caffe", range: "[0,1]" },
 *   layers: ["block1_conv2", "block2_conv2", "block3_conv3", "block4_conv3"],
 * } as unknown as LossNetwork<string>;
 * assert.equal(johnson2016StyleTransfer(net).terms.length, 6);
 * ```
 */
export function johnson2016StyleTransfer<L extends string>(
  net: LossNetwork<L>,
  options: JohnsonStyleTransferOptions<NoInfer<L>> = {},
): Loss<L, FeatureTerm<L> | StyleTerm<L> | TvTerm> {
  const content = pick(net, options.contentLayer, "block3_conv3");
  const styles = options.styleLayers ??
    johnsonStyle.map((alias) => pick(net, undefined, canonicalVggLayer("vgg16", alias)!));
  const sw = options.styleWeight ?? 5;
  const [lo, hi] = rangeBounds(net.inputConvention.range);
  const width = hi - lo;
  const tv = checkWeight("johnson2016StyleTransfer tvStrength", options.tvStrength ?? 1e-6);
  let loss: Loss<L, FeatureTerm<L> | StyleTerm<L> | TvTerm> = feature(content, {
    distance: "l2",
    weight: options.contentWeight ?? 1,
  });
  for (const s of styles) {
    loss = concatLoss(loss, style(s, { distance: "l2", normalisation: "chw", weight: sw }));
  }
  loss = concatLoss(
    loss,
    totalVariation({ distance: "l2", reduction: "sum", weight: 0.5 * tv * (255 / width) ** 2 }),
  );
  planOf(loss, net as unknown as LossNetwork<string>);
  return loss;
}

/**
 * Johnson et al. 2016's two losses under one name, as papers cite them:
 * `johnson2016.superResolution(net)` and `johnson2016.styleTransfer(net)`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import type { LossNetwork } from "@perceptual/loss/network";
 * import { johnson2016 } from "@perceptual/loss/loss";
 * const net = { name: "vgg", layers: ["block2_conv2"], depthOf: () => 0 } as unknown as LossNetwork<string>;
 * assert.equal(johnson2016.superResolution(net).terms[0]!.distance, "l2");
 * ```
 */
export const johnson2016: {
  /** See {@linkcode johnson2016SuperResolution}. */
  readonly superResolution: typeof johnson2016SuperResolution;
  /** See {@linkcode johnson2016StyleTransfer}. */
  readonly styleTransfer: typeof johnson2016StyleTransfer;
} = {
  superResolution: johnson2016SuperResolution,
  styleTransfer: johnson2016StyleTransfer,
};
