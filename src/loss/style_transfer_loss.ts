/**
 * A style-transfer loss to tune: Johnson et al.'s content and total-variation terms, one Gram
 * term per style layer with a weight of its own, and optionally the sliced-Wasserstein colour
 * term ({@linkcode colourDistribution}).
 *
 * @module
 */
import type { LossNetwork } from "../network/mod.ts";
import { colourDistribution } from "./kinds/colour.ts";
import { style } from "./kinds/style.ts";
import { concatLoss, type Loss } from "./loss.ts";
import { johnson2016StyleTransfer } from "./presets.ts";
import { LossInputError } from "./errors.ts";
import { checkWeight } from "./term.ts";

/** Options of {@linkcode styleTransferLoss}. */
export interface StyleTransferLossOptions<L extends string> {
  /** The content layer (squared-L2 feature term). */
  readonly contentLayer: L;
  /** The style layers (squared-L2 Gram terms, Grams normalised by C·H·W). */
  readonly styleLayers: readonly L[];
  /** One weight per style layer, multiplying `styleWeight` (default 1 each). */
  readonly styleLayerWeights?: readonly number[];
  /** Content weight (default 1). */
  readonly contentWeight?: number;
  /** Style weight (default 5, Johnson's). */
  readonly styleWeight?: number;
  /** Johnson's total-variation strength on 0–255 images (default 1e-6). */
  readonly tvStrength?: number;
  /** Weight of the colour term (default 0: none). */
  readonly colourWeight?: number;
  /** Random RGB directions of the colour term (default 32). */
  readonly colourDirections?: number;
}

/**
 * The terms in this order: content feature, total variation (see `johnson2016StyleTransfer`),
 * a Gram term per style layer weighted `styleWeight × styleLayerWeights[i]`, then the colour
 * term when `colourWeight` > 0. Precompute the style image's side once with
 * `precomputeTarget(loss, net, styleImage, { kinds: ["style", "colour"] })`. Throws a
 * `LossInputError` when `styleLayerWeights` has not one weight per layer.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import type { LossNetwork } from "@perceptual/loss/network";
 * import { styleTransferLoss } from "@perceptual/loss/loss";
 * const net = {
 *   name: "vgg19", depthOf: () => 0, inputConvention: { preprocessing: "caffe", range: "[0,1]" },
 *   layers: ["block1_conv1", "block2_conv1", "block3_conv2"],
 * } as unknown as LossNetwork<string>;
 * const loss = styleTransferLoss(net, {
 *   contentLayer: "block3_conv2", styleLayers: ["block1_conv1", "block2_conv1"],
 *   styleLayerWeights: [50, 1], styleWeight: 20, colourWeight: 2e8,
 * });
 * assert.deepEqual(loss.terms.map((t) => t.kind), ["feature", "tv", "style", "style", "colour"]);
 * assert.deepEqual(loss.terms.filter((t) => t.kind === "style").map((t) => t.weight), [1000, 20]);
 * ```
 */
export function styleTransferLoss<L extends string>(
  net: LossNetwork<L>,
  options: StyleTransferLossOptions<NoInfer<L>>,
): Loss<L> {
  const layers = options.styleLayers;
  const weights = options.styleLayerWeights ?? layers.map(() => 1);
  if (weights.length !== layers.length) {
    throw new LossInputError(
      `styleTransferLoss: styleLayerWeights has ${weights.length} values for ${layers.length} ` +
        `style layers (${layers.join(", ")}); give one per layer`,
    );
  }
  const sw = options.styleWeight ?? 5;
  let loss: Loss<L> = johnson2016StyleTransfer(net, {
    contentLayer: options.contentLayer,
    styleLayers: [],
    contentWeight: options.contentWeight ?? 1,
    tvStrength: options.tvStrength ?? 1e-6,
  });
  layers.forEach((layer, i) => {
    const weight = checkWeight(`styleTransferLoss ${layer}`, sw * weights[i]!);
    loss = concatLoss(loss, style(layer, { distance: "l2", normalisation: "chw", weight }));
  });
  const colourWeight = options.colourWeight ?? 0;
  if (colourWeight > 0) {
    const colour = colourDistribution({
      directions: options.colourDirections ?? 32,
      weight: colourWeight,
    });
    loss = concatLoss(loss, colour);
  }
  return loss;
}
