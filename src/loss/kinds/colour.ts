/**
 * The colour kind: the sliced Wasserstein distance between the pixel-colour distributions of
 * the prediction and of the target (Rabin et al. 2011; as a style loss, Heitz et al. 2021).
 * Every RGB pixel is projected on `directions` fixed random unit vectors; each image's
 * projections are sorted (its quantile functions along those directions) and averaged over
 * `quantiles` equal bins of probability, and the term is the mean squared difference of the two
 * sides' bin means. Gram matrices only match second moments of features, and left The Starry
 * Night's near-black navy and saturated yellow under-represented in stylised photos; this matches
 * the whole colour distribution, wherever the pixels are.
 *
 * Each side's representation is its binned quantile functions ([B, directions, quantiles],
 * whatever the image size), so a style image's is precomputed once (`precomputeTarget(loss,
 * net, painting, { kinds: ["style", "colour"] })`) and compared with crops of another size.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
import * as t from "io-ts";
import {
  colourDirections,
  quantileMeans,
  slicedDistance,
  sortedProjections,
} from "../_sliced_wasserstein.ts";
import { defineTermKind, type KindOptions, type TermKindDef } from "../define_kind.ts";
import { NumberField, registerTermKind, type Representation } from "../kind.ts";
import type { Loss } from "../loss.ts";
import type { TermCommon } from "../term.ts";

/** A sliced-Wasserstein colour term: `directions` random RGB directions drawn from `seed`. */
export interface ColourTerm extends TermCommon {
  /** The kind: `colour`. */
  readonly kind: "colour";
  /** How many random directions of RGB space the pixels are projected on. */
  readonly directions: number;
  /** The seed of the directions (the same seed gives the same directions on both sides). */
  readonly seed: number;
  /** Bins of probability each projected distribution is averaged over. */
  readonly quantiles: number;
}

const integer = (max: number) =>
  new NumberField({
    ok: (v) => Number.isInteger(v) && v >= 1 && v <= max,
    want: `an integer from 1 to ${max}`,
  });

/**
 * The sliced-Wasserstein colour kind (`colour`): options `directions` (32, at most 1024),
 * `seed` (0) and `quantiles` (256), plus `weight` and `name`. It reads the images only (no
 * network taps); RGB images only (else a `LossInputError`). Registered, so JSON specs may name it.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { colourKind } from "@perceptual/loss/loss";
 * const term = colourKind.term({ directions: 16 });
 * assert.deepEqual([term.kind, term.directions, term.seed, term.quantiles], ["colour", 16, 0, 256]);
 * ```
 */
export const colourKind: TermKindDef<ColourTerm> = registerTermKind(
  defineTermKind<ColourTerm>({
    name: "colour",
    fields: {
      directions: { codec: integer(1024), default: 32 },
      seed: { codec: t.number, default: 0 },
      quantiles: { codec: integer(65536), default: 256 },
    },
    compares: "sorted colour projections",
    represent: (term, side) =>
      tf.tidy(() => {
        const dirs = tf.tensor2d(colourDirections(term.directions, term.seed), [
          3,
          term.directions,
        ]);
        return quantileMeans(sortedProjections(side.image, dirs), term.quantiles);
      }),
    compare: (_term, pred: Representation, target: Representation | undefined) =>
      slicedDistance(pred as tf.Tensor3D, (target ?? pred) as tf.Tensor3D),
  }),
);

/**
 * A loss of one colour term: how far the prediction's distribution of pixel colours is from the
 * target's (sliced Wasserstein, see {@linkcode colourKind}), wherever the pixels are. Images
 * of different sizes compare, so one style image's colours can be the target of every crop.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as tf from "@tensorflow/tfjs-core";
 * import { initBackend } from "@perceptual/loss/backend";
 * import { colourDistribution, evaluate } from "@perceptual/loss/loss";
 * import type { LossNetwork } from "@perceptual/loss/network";
 * await initBackend("cpu");
 * const loss = colourDistribution({ directions: 16, weight: 10 });
 * const net = { name: "none", layers: [], inputConvention: { preprocessing: "none", range: "[0,1]" },
 *   depthOf: () => 0, extract: () => ({}), dispose() {}, [Symbol.dispose]() {} } as unknown as LossNetwork<string>;
 * // The same colours, the second image with its pixels moved around: distance 0.
 * const a = tf.tensor4d([0.1, 0.2, 0.3, 0.9, 0.5, 0.1], [1, 1, 2, 3]);
 * const b = tf.tensor4d([0.9, 0.5, 0.1, 0.1, 0.2, 0.3], [1, 1, 2, 3]);
 * const r = evaluate(loss, net)(a, b);
 * assert.ok(Math.abs(r.total.dataSync()[0]!) < 1e-12);
 * const c = tf.fill([1, 1, 2, 3], 0.5) as tf.Tensor4D; // a grey image: far from a's colours
 * const far = evaluate(loss, net)(c, a);
 * assert.ok(far.total.dataSync()[0]! > 0.01);
 * tf.dispose([a, b, c, r.total, far.total, ...Object.values(r.terms), ...Object.values(far.terms)]);
 * ```
 */
export function colourDistribution(
  options: KindOptions<ColourTerm> = {},
): Loss<never, ColourTerm> {
  return colourKind.loss(options) as Loss<never, ColourTerm>;
}
