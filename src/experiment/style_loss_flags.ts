/**
 * The command-line layer of a style-transfer loss: flags for `styleTransferLoss`'s layers and
 * weights (Gatys' layers within VGG blocks 1–3 by default, which every VGG and the embedded VGG-19
 * blocks have), and the loss they describe, with bad values as usage errors naming the flag.
 *
 * @module
 */
import type { LossNetwork } from "../network/mod.ts";
import { type Loss, styleTransferLoss } from "../loss/mod.ts";
import { UsageError } from "./errors.ts";
import { count, type Flag, type FlagValues, list, text, weight } from "./flag_table.ts";

/** The default content layer: relu3_2. */
export const STYLE_CONTENT_LAYER = "block3_conv2";
/** The default style layers: relu1_1, relu2_1, relu3_1. */
export const STYLE_LAYERS: readonly string[] = ["block1_conv1", "block2_conv1", "block3_conv1"];
/**
 * The default style layers' weights, times `--style-weight`: relu1_1's Gram (where the colours
 * are) is about 100× smaller than the others' on The Starry Night.
 */
export const STYLE_LAYER_WEIGHTS: readonly number[] = [50, 1, 1];

/** The flags of {@linkcode styleLossFlags}. */
export type StyleLossFlags = {
  readonly "content-weight": Flag<number>;
  readonly "style-weight": Flag<number>;
  readonly "tv-weight": Flag<number>;
  readonly "colour-weight": Flag<number>;
  readonly "colour-directions": Flag<number>;
  readonly "style-layer-weights": Flag<string[]>;
  readonly "content-layer": Flag<string>;
  readonly "style-layers": Flag<string[]>;
};

/**
 * Flags for {@linkcode styleLossOf}, with these defaults: content weight 3, style weight 20 (times
 * [50, 1, 1] on the default layers), TV strength 1e-6, colour weight 2e8 on 16 directions.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { command, styleLossFlags } from "@perceptual/loss/experiment";
 * const cli = command("mine.ts", "Mine.", styleLossFlags(), async () => {});
 * const o = cli.parse(["--style-weight", "5"]);
 * assert.ok(o !== "help" && o["style-weight"] === 5 && o["colour-weight"] === 2e8);
 * ```
 */
export function styleLossFlags(): StyleLossFlags {
  return {
    "content-weight": weight("3", "content (feature) loss weight (Johnson: 1)"),
    "style-weight": weight("20", "weight of each style (Gram) layer (Johnson: 5)"),
    "tv-weight": weight("1e-6", "total-variation strength on 0-255 images (Johnson: 1e-6)"),
    "colour-weight": weight("2e8", "weight of the sliced-Wasserstein colour term (0: none)"),
    "colour-directions": count("16", "random RGB directions of the colour term", 1024),
    "style-layer-weights": list("W1,W2", "style layers' weights, times --style-weight [50,1,1]"),
    "content-layer": text("", "L", `content layer [${STYLE_CONTENT_LAYER} (relu3_2)]`),
    "style-layers": list("L1,L2", `style layers [${STYLE_LAYERS} (relu1_1,relu2_1,relu3_1)]`),
  };
}

/** The layers and weights the flags ask for: what `openSession` must load and the weights. */
export function styleLayersOf(
  o: FlagValues<StyleLossFlags>,
): { content: string; layers: readonly string[]; weights: readonly number[] } {
  const own = o["style-layers"];
  const layers = own.length > 0 ? own : STYLE_LAYERS;
  const given = o["style-layer-weights"];
  const weights = given.length > 0
    ? given.map(Number)
    : own.length > 0
    ? layers.map(() => 1)
    : STYLE_LAYER_WEIGHTS;
  if (weights.some((v) => !(v >= 0 && isFinite(v)))) {
    throw new UsageError(`--style-layer-weights ${given.join(",")}: give numbers >= 0`);
  }
  if (weights.length !== layers.length) {
    throw new UsageError(
      `--style-layer-weights has ${weights.length} values for ${layers.length} style layers ` +
        `(${layers.join(", ")}); give one per layer`,
    );
  }
  return { content: o["content-layer"] || STYLE_CONTENT_LAYER, layers, weights };
}

/**
 * `styleTransferLoss` on `net` as the flags of {@linkcode styleLossFlags} describe it (throws a
 * `UsageError` for style layer weights that are not numbers >= 0, one per layer).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import type { LossNetwork } from "@perceptual/loss/network";
 * import { command, styleLossFlags, styleLossOf } from "@perceptual/loss/experiment";
 * const net = {
 *   name: "vgg19", depthOf: () => 0, inputConvention: { preprocessing: "caffe", range: "[0,1]" },
 *   layers: ["block1_conv1", "block2_conv1", "block3_conv1", "block3_conv2"],
 * } as unknown as LossNetwork<string>;
 * const o = command("mine.ts", "Mine.", styleLossFlags(), async () => {}).parse([]);
 * assert.ok(o !== "help");
 * const loss = styleLossOf(net, o);
 * assert.deepEqual(loss.terms.map((t) => t.kind), ["feature", "tv", "style", "style", "style", "colour"]);
 * assert.deepEqual(loss.terms.filter((t) => t.kind === "style").map((t) => t.weight), [1000, 20, 20]);
 * ```
 */
export function styleLossOf(net: LossNetwork<string>, o: FlagValues<StyleLossFlags>): Loss<string> {
  const { content, layers, weights } = styleLayersOf(o);
  return styleTransferLoss(net, {
    contentLayer: content,
    styleLayers: layers,
    styleLayerWeights: weights,
    contentWeight: o["content-weight"],
    styleWeight: o["style-weight"],
    tvStrength: o["tv-weight"],
    colourWeight: o["colour-weight"],
    colourDirections: o["colour-directions"],
  });
}
