/**
 * The feature (content) kind: the distance between prediction and target activations at one
 * layer (Johnson et al.'s feature reconstruction loss).
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
import { show } from "../../_internal/show.ts";
import { defineTermKind, type TermKindDef } from "../define_kind.ts";
import { LayerField, NumberField, registerTermKind } from "../kind.ts";
import type { Loss } from "../loss.ts";
import { type FeatureOptions, type FeatureTerm, NUMBER_RULES, TERM_DEFAULTS } from "../term.ts";

/**
 * The activation at `layer` divided by `scale`, made once per side (feature and style terms on
 * one layer and scale share it).
 */
export function scaledTap(
  side: { tap(l: string): tf.Tensor4D; memo<T extends tf.Tensor>(k: string, f: () => T): T },
  layer: string,
  scale: number,
): tf.Tensor4D {
  return side.memo(`scaled|${layer}|${scale}`, () => {
    const a = side.tap(layer);
    return scale === 1 ? a : tf.div(a, scale) as tf.Tensor4D;
  });
}

/**
 * The `feature` kind. Default distance `l2`; `scale` divides the activations (see `calibrate`).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { featureKind } from "@perceptual/loss/loss";
 * assert.equal(featureKind.term({ layer: "relu2_2", scale: 108 }).scale, 108);
 * ```
 */
export const featureKind: TermKindDef<FeatureTerm<string>> = registerTermKind(
  defineTermKind<FeatureTerm<string>>({
    name: "feature",
    fields: {
      layer: { codec: new LayerField() },
      scale: { codec: new NumberField(NUMBER_RULES.scale), default: TERM_DEFAULTS.scale },
    },
    distance: "l2",
    compares: "activations",
    calibration: "scale",
    taps: (t) => [t.layer],
    represent: (t, side) => scaledTap(side, t.layer, t.scale),
  }),
);

/**
 * A feature (content) term: the distance between prediction and target activations at `layer`.
 * Default distance `l2` (Johnson et al.'s feature reconstruction loss, ‖φ(ŷ) − φ(y)‖²/(C·H·W)
 * per image with `mean`).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { feature } from "@perceptual/loss/loss";
 * const content = feature("block2_conv2", { distance: "l1", weight: 15 });
 * assert.equal(content.terms[0]!.weight, 15);
 * ```
 */
export function feature<L extends string>(
  layer: L,
  options: FeatureOptions = {},
): Loss<L, FeatureTerm<L>> {
  checkLayerArgument("feature", layer);
  return featureKind.loss({ ...options, layer }) as Loss<L, FeatureTerm<L>>;
}

/** A positional layer argument must be a name: a TypeError (the caller passed the wrong thing). */
export function checkLayerArgument(where: string, layer: unknown): void {
  if (typeof layer !== "string" || layer === "") {
    throw new TypeError(`${where}: the layer must be a non-empty layer name, got ${show(layer)}`);
  }
}
