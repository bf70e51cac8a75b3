/**
 * The total-variation kind: a smoothness penalty on the prediction alone.
 *
 * @module
 */
import type * as tf from "@tensorflow/tfjs-core";
import { totalVariationOf } from "../_kernels.ts";
import { defineTermKind, type TermKindDef } from "../define_kind.ts";
import { registerTermKind } from "../kind.ts";
import type { Loss } from "../loss.ts";
import type { TermOptions, TvTerm } from "../term.ts";

/**
 * The `tv` kind (default distance `l1`, anisotropic); needs no target.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { tvKind } from "@perceptual/loss/loss";
 * assert.equal(tvKind.needsTarget, false);
 * ```
 */
export const tvKind: TermKindDef<TvTerm> = registerTermKind(
  defineTermKind<TvTerm>({
    name: "tv",
    distance: "l1",
    needsTarget: false,
    compares: "nothing (total variation needs no target)",
    compare: (t, p) => totalVariationOf(p as tf.Tensor4D, t, t.reduction),
  }),
);

/**
 * A total-variation term on the prediction: penalty(horizontal neighbour differences) +
 * penalty(vertical ones), each reduced on its own. Default distance `l1` (anisotropic TV); `l2`
 * with `sum` is Johnson et al.'s regulariser. Needs no target.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { totalVariation } from "@perceptual/loss/loss";
 * assert.equal(
 *   totalVariation({ weight: 1e-6, distance: "l2", reduction: "sum" }).terms[0]!.kind,
 *   "tv",
 * );
 * ```
 */
export function totalVariation(options: TermOptions = {}): Loss<never, TvTerm> {
  return tvKind.loss(options) as Loss<never, TvTerm>;
}
