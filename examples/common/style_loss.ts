/**
 * The style_transfer example's loss: Johnson's content and total-variation terms, one Gram
 * term per style layer, each with its own weight, and a colour term of the example's own kind.
 *
 * @module
 */
import type { LossNetwork } from "../../src/network/mod.ts";
import {
  johnson2016StyleTransfer,
  type Loss,
  plus,
  style as styleTerm,
} from "../../src/loss/mod.ts";
import { UsageError } from "../../src/experiment/mod.ts";
import { colourKind } from "./style_colour.ts";

/** What {@linkcode styleTransferLoss} needs from the command line. */
export interface StyleLossOptions {
  /** The content layer. */
  readonly contentLayer: string;
  /** The style layers. */
  readonly styleLayers: readonly string[];
  /** `--style-layer-weights` as given (empty: `defaults`). */
  readonly layerWeights: readonly string[];
  /** The weights when none are given, one per style layer. */
  readonly defaults: readonly number[];
  /** `--style-weight`, multiplying every layer's weight. */
  readonly styleWeight: number;
  /** `--content-weight`. */
  readonly contentWeight: number;
  /** `--tv-weight` (Johnson's total-variation strength on 0-255 images). */
  readonly tvStrength: number;
  /** `--colour-weight`: the sliced-Wasserstein colour term's weight (0: no colour term). */
  readonly colourWeight: number;
  /** `--colour-directions`: its number of random RGB directions. */
  readonly colourDirections: number;
}

/**
 * Johnson's content and total-variation terms, then one Gram term per style layer (his own
 * form: squared L2, Grams normalised by C·H·W) weighted `styleWeight × layerWeights[i]`, then
 * the sliced-Wasserstein colour term (`style_colour.ts`) when `colourWeight` > 0. Throws
 * a `UsageError` when the weights are not numbers >= 0 or not one per layer.
 */
export function styleTransferLoss(net: LossNetwork<string>, o: StyleLossOptions): Loss<string> {
  const weights = o.layerWeights.length > 0 ? o.layerWeights.map(Number) : o.defaults;
  if (weights.some((w) => !(w >= 0 && isFinite(w)))) {
    throw new UsageError(`--style-layer-weights ${o.layerWeights.join(",")}: give numbers >= 0`);
  }
  if (weights.length !== o.styleLayers.length) {
    throw new UsageError(
      `--style-layer-weights has ${weights.length} values for ${o.styleLayers.length} style ` +
        `layers (${o.styleLayers.join(", ")}); give one per layer`,
    );
  }
  let loss: Loss<string> = johnson2016StyleTransfer(net, {
    contentLayer: o.contentLayer,
    styleLayers: [],
    contentWeight: o.contentWeight,
    tvStrength: o.tvStrength,
  });
  o.styleLayers.forEach((layer, i) => {
    const weight = o.styleWeight * weights[i]!;
    loss = plus(styleTerm(layer, { distance: "l2", normalisation: "chw", weight }))(loss);
  });
  if (o.colourWeight > 0) {
    loss = plus(colourKind.loss({ directions: o.colourDirections, weight: o.colourWeight }))(loss);
  }
  return loss;
}
