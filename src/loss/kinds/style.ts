/**
 * The style kind: the distance between Gram matrices of prediction and target activations at one
 * layer (Gatys et al.; Johnson et al.'s style reconstruction loss).
 *
 * @module
 */
import { oneOf } from "../../_internal/decode.ts";
import { gramMatrix } from "../_kernels.ts";
import { defineTermKind, type TermKindDef } from "../define_kind.ts";
import { LayerField, NumberField, registerTermKind } from "../kind.ts";
import type { Loss } from "../loss.ts";
import {
  GRAM_NORMALISATIONS,
  NUMBER_RULES,
  type StyleOptions,
  type StyleTerm,
  TERM_DEFAULTS,
} from "../term.ts";
import { checkLayerArgument, scaledTap } from "./feature.ts";

/**
 * The `style` kind. Default distance `l2`, normalisation `chw`; `scale` divides the activations
 * before the Gram matrix (so the Gram by its square).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { styleKind } from "@perceptual/loss/loss";
 * assert.equal(styleKind.term({ layer: "relu3_3" }).normalisation, "chw");
 * ```
 */
export const styleKind: TermKindDef<StyleTerm<string>> = registerTermKind(
  defineTermKind<StyleTerm<string>>({
    name: "style",
    fields: {
      layer: { codec: new LayerField() },
      normalisation: {
        codec: oneOf(GRAM_NORMALISATIONS),
        default: TERM_DEFAULTS.normalisation,
      },
      scale: { codec: new NumberField(NUMBER_RULES.scale), default: TERM_DEFAULTS.scale },
    },
    distance: "l2",
    compares: "Gram matrix",
    calibration: "scale",
    taps: (t) => [t.layer],
    represent: (t, side) =>
      side.memo(
        `gram|${t.layer}|${t.normalisation}|${t.scale}`,
        () => gramMatrix(scaledTap(side, t.layer, t.scale), t.normalisation),
      ),
  }),
);

/**
 * A style term: the distance between the Gram matrices of prediction and target activations at
 * `layer` (per image: G = FᵀF / normalisation). Default distance `l2`, normalisation `chw`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { style } from "@perceptual/loss/loss";
 * const s = style("block3_conv3", { normalisation: "hw" });
 * assert.equal(s.terms[0]!.kind, "style");
 * ```
 */
export function style<L extends string>(
  layer: L,
  options: StyleOptions = {},
): Loss<L, StyleTerm<L>> {
  checkLayerArgument("style", layer);
  return styleKind.loss({ ...options, layer }) as Loss<L, StyleTerm<L>>;
}
