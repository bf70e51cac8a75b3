/**
 * The terms a loss is made of, as plain data: what is compared, how, and with what weight.
 *
 * @module
 */
import { InvalidWeightError } from "./errors.ts";

/**
 * How two tensors are compared, element by element (`d = pred − target`):
 * - `l1`: |d| (gradient 0 where d = 0, as in PyTorch; tfjs' own `abs` gives −1 there);
 * - `l2`: d² (squared L2; with `mean` reduction this is PyTorch's `mse_loss`);
 * - `huber`: ½d² where |d| < δ, else δ(|d| − ½δ) (PyTorch's `huber_loss`, δ = `delta`);
 * - `charbonnier`: √(d² + ε²) (LapSRN/ESRGAN's smooth L1, ε = `epsilon`).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { pixel, type Distance } from "@perceptual/loss/loss";
 * const robust: Distance = "charbonnier"; // √(d² + ε²): L1 away from 0, smooth at 0
 * const term = pixel({ distance: robust, epsilon: 1e-3 }).terms[0]!;
 * assert.equal(term.distance, "charbonnier");
 * assert.equal(term.epsilon, 0.001);
 * ```
 */
export type Distance = "l1" | "l2" | "huber" | "charbonnier";

/** Every {@linkcode Distance}, for validation and messages. */
export const DISTANCES: readonly Distance[] = ["l1", "l2", "huber", "charbonnier"];

/**
 * What a Gram matrix G = FᵀF (F: features as an (H·W) × C matrix) is divided by:
 * `chw` by C·H·W (Johnson et al., fastai), `hw` by H·W (pystiche), `none` by 1 (piq).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { style, type GramNormalisation } from "@perceptual/loss/loss";
 * const pystiche: GramNormalisation = "hw"; // G / (H·W): weights tuned in pystiche carry over
 * const term = style("relu2_2", { normalisation: pystiche }).terms[0]!;
 * assert.equal(term.kind === "style" && term.normalisation, "hw");
 * ```
 */
export type GramNormalisation = "chw" | "hw" | "none";

/** Every {@linkcode GramNormalisation}. */
export const GRAM_NORMALISATIONS: readonly GramNormalisation[] = ["chw", "hw", "none"];

/**
 * How the per-element penalties are reduced to a scalar: `mean` over every element (batch
 * included), or their `sum`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { totalVariation, type Reduction } from "@perceptual/loss/loss";
 * const johnson: Reduction = "sum"; // Johnson et al.'s TV sums over pixels; "mean" averages
 * const tv = totalVariation({ distance: "l2", reduction: johnson }).terms[0]!;
 * assert.equal(tv.distance, "l2");
 * assert.equal(tv.reduction, "sum");
 * ```
 */
export type Reduction = "mean" | "sum";

/** Every {@linkcode Reduction}. */
export const REDUCTIONS: readonly Reduction[] = ["mean", "sum"];

/**
 * The names of the built-in kinds. Kinds of your own (see `defineTermKind`) have any other name.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import {
 *   concatLoss,
 *   feature,
 *   pixel,
 *   totalVariation,
 *   type TermKind,
 * } from "@perceptual/loss/loss";
 * const loss = concatLoss(concatLoss(pixel(), feature("relu2_2")), totalVariation());
 * const kinds = loss.terms.map((t) => t.kind) as TermKind[];
 * assert.deepEqual(kinds, ["pixel", "feature", "tv"]);
 * ```
 */
export type TermKind = "feature" | "style" | "pixel" | "tv";

/**
 * What every term of every kind has: its kind's name, a weight, and optionally a name and the key
 * of the network it reads.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { pixel, type TermCommon } from "@perceptual/loss/loss";
 * const common: TermCommon = pixel({ weight: 2 }).terms[0]!;
 * assert.equal(common.kind, "pixel");
 * assert.equal(common.weight, 2);
 * ```
 */
export interface TermCommon {
  /** The kind's name (`feature`, `style`, `pixel`, `tv`, or a kind of your own). */
  readonly kind: string;
  /** Multiplies the term; finite and ≥ 0. */
  readonly weight: number;
  /** A name chosen by the user; absent means the kind's default (`feature:block2_conv2`, …). */
  readonly name?: string;
  /**
   * The key of the loss network the term reads (`LossNetwork.key`, e.g. `lpips-alex`); absent
   * means the main network passed to `evaluate`.
   */
  readonly network?: string;
}

/**
 * What every term has.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { pixel, type TermBase } from "@perceptual/loss/loss";
 * const base: TermBase = pixel({ distance: "huber", delta: 0.1, weight: 2 }).terms[0]!;
 * assert.equal(base.weight, 2);
 * assert.equal(base.distance, "huber");
 * assert.equal(base.delta, 0.1);
 * assert.equal(base.reduction, "mean"); // the default
 * assert.equal(base.epsilon, 0.001); // the default
 * ```
 */
export interface TermBase extends Omit<TermCommon, "kind"> {
  /** The element-wise penalty. */
  readonly distance: Distance;
  /** How penalties become a scalar. */
  readonly reduction: Reduction;
  /** Huber's δ (only used by `huber`). */
  readonly delta: number;
  /** Charbonnier's ε (only used by `charbonnier`). */
  readonly epsilon: number;
}

/**
 * Distance between prediction and target activations at one layer.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { termName, type FeatureTerm } from "@perceptual/loss/loss";
 * const content: FeatureTerm<"block2_conv2"> = {
 *   kind: "feature", layer: "block2_conv2", scale: 1, // compare raw activations
 *   weight: 1, distance: "l2", reduction: "mean", delta: 1, epsilon: 1e-3,
 * };
 * assert.equal(termName(content), "feature:block2_conv2");
 * ```
 */
export interface FeatureTerm<L extends string> extends TermBase {
  /** Discriminant. */
  readonly kind: "feature";
  /** The loss-network layer compared. */
  readonly layer: L;
  /** Activations are divided by this before comparing (see `calibrate`); 1 = raw. */
  readonly scale: number;
}

/**
 * Distance between the Gram matrices of prediction and target activations at one layer.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { style, type BuiltinTerm, type StyleTerm } from "@perceptual/loss/loss";
 * const term: BuiltinTerm<"relu3_3"> = style("relu3_3", { normalisation: "hw" }).terms[0]!;
 * if (term.kind === "style") {
 *   const s: StyleTerm<"relu3_3"> = term;
 *   assert.equal(s.layer, "relu3_3");
 *   assert.equal(s.normalisation, "hw");
 *   assert.equal(s.scale, 1);
 * }
 * ```
 */
export interface StyleTerm<L extends string> extends TermBase {
  /** Discriminant. */
  readonly kind: "style";
  /** The loss-network layer whose Gram matrix is compared. */
  readonly layer: L;
  /** What the Gram matrix is divided by. */
  readonly normalisation: GramNormalisation;
  /** Activations are divided by this before the Gram matrix (so the Gram by its square). */
  readonly scale: number;
}

/**
 * Distance between prediction and target pixels.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { lossOf, termNames, type PixelTerm } from "@perceptual/loss/loss";
 * const mse: PixelTerm = {
 *   kind: "pixel", name: "mse", // PyTorch's mse_loss
 *   distance: "l2", reduction: "mean", weight: 1, delta: 1, epsilon: 1e-3,
 * };
 * assert.deepEqual(termNames(lossOf([mse])), ["mse"]);
 * ```
 */
export interface PixelTerm extends TermBase {
  /** Discriminant. */
  readonly kind: "pixel";
}

/**
 * Total variation of the prediction: the penalty of horizontal neighbour differences plus that of
 * vertical ones, each reduced separately. Needs no target.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { totalVariation, type TvTerm } from "@perceptual/loss/loss";
 * const tv = totalVariation({ weight: 1e-5 }).terms[0] as TvTerm; // anisotropic TV by default
 * assert.equal(tv.kind, "tv");
 * assert.equal(tv.distance, "l1");
 * assert.equal(tv.weight, 1e-5);
 * ```
 */
export interface TvTerm extends TermBase {
  /** Discriminant. */
  readonly kind: "tv";
}

/**
 * One term of a loss: of a built-in kind, or of any kind of your own (`TermCommon` with its own
 * fields). Losses made by constructors carry their precise term types (`Loss<L, T>`), so
 * `t.kind === "feature"` narrows them; for a `Term<L>` of unknown origin, narrow with a kind's
 * `is` (`featureKind.is(t)`).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import {
 *   concatLoss,
 *   feature,
 *   pixel,
 *   featureKind,
 *   styleKind,
 *   type Term,
 * } from "@perceptual/loss/loss";
 * const where = (t: Term<string>): string =>
 *   featureKind.is(t) || styleKind.is(t) ? `${t.kind} at ${t.layer}` : t.kind;
 * const loss = concatLoss(pixel(), feature("relu2_2"));
 * assert.deepEqual(loss.terms.map(where), ["pixel", "feature at relu2_2"]);
 * ```
 */
export type Term<L extends string> = BuiltinTerm<L> | TermCommon;

/**
 * A term of one of the built-in kinds (a union discriminated by `kind`).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { type BuiltinTerm, feature } from "@perceptual/loss/loss";
 * const t = feature("relu2_2").terms[0] as BuiltinTerm<"relu2_2">;
 * assert.equal(t.kind === "feature" ? t.layer : "-", "relu2_2");
 * ```
 */
export type BuiltinTerm<L extends string> = FeatureTerm<L> | StyleTerm<L> | PixelTerm | TvTerm;

/**
 * Options every term accepts.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { pixel, type TermOptions } from "@perceptual/loss/loss";
 * const smoothL1: TermOptions = { distance: "huber", delta: 0.01, weight: 10, name: "smooth-l1" };
 * const term = pixel(smoothL1).terms[0]!;
 * assert.equal(term.name, "smooth-l1");
 * assert.equal(term.distance, "huber");
 * assert.equal(term.delta, 0.01);
 * assert.equal(term.reduction, "mean");
 * ```
 */
export interface TermOptions {
  /** Multiplier: 0, or a normal float32 from 1.2e-38 to 3.4e38 (default 1). */
  readonly weight?: number;
  /** Element-wise penalty; defaults are given by each constructor. */
  readonly distance?: Distance;
  /** `mean` (default) or `sum`. */
  readonly reduction?: Reduction;
  /** Huber's δ, from 1e-6 to 1e19 (default 1; see {@linkcode MIN_SMOOTHING}). */
  readonly delta?: number;
  /** Charbonnier's ε, from 1e-6 to 1e19 (default 1e-3). */
  readonly epsilon?: number;
  /** Name of the term in the result (default `feature:<layer>`, `style:<layer>`, `pixel`, `tv`). */
  readonly name?: string;
  /** Key of the network the term reads (default: the main network given to `evaluate`). */
  readonly network?: string;
}

/**
 * Options of feature terms.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { feature, type FeatureOptions } from "@perceptual/loss/loss";
 * // Keras 'caffe' VGG: mean |activation| ≈ 108 at block2_conv2; divide to bring it near 1
 * const options: FeatureOptions = { distance: "l1", weight: 15, scale: 108 };
 * const term = feature("block2_conv2", options).terms[0]!;
 * assert.equal(term.kind === "feature" && term.scale, 108);
 * assert.equal(term.weight, 15);
 * ```
 */
export interface FeatureOptions extends TermOptions {
  /** Divide activations by this before comparing (default 1); see `calibrate`. */
  readonly scale?: number;
}

/**
 * Options of style terms.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { style, type StyleOptions } from "@perceptual/loss/loss";
 * const piq: StyleOptions = { normalisation: "none", distance: "l2", weight: 1e-3 }; // G = FᵀF
 * const term = style("relu4_3", piq).terms[0]!;
 * assert.equal(term.kind === "style" && term.normalisation, "none");
 * assert.equal(term.weight, 0.001);
 * ```
 */
export interface StyleOptions extends FeatureOptions {
  /** Gram normalisation (default `chw`). */
  readonly normalisation?: GramNormalisation;
}

/** The defaults every constructor (and so every decoded spec) uses for absent options. */
export const TERM_DEFAULTS: {
  readonly weight: 1;
  readonly reduction: "mean";
  readonly delta: 1;
  readonly epsilon: 1e-3;
  readonly scale: 1;
  readonly normalisation: "chw";
} = { weight: 1, reduction: "mean", delta: 1, epsilon: 1e-3, scale: 1, normalisation: "chw" };

/** A numeric option's rule: the test and how messages state it. */
export interface NumberRule {
  /** Whether `v` is allowed. */
  readonly ok: (v: number) => boolean;
  /** What is allowed, read after "it must be". */
  readonly want: string;
}

/** The largest finite float32. */
export const FLOAT32_MAX = 3.4028234663852886e38;
/** The smallest normal float32: smaller magnitudes lose precision or flush to 0 on some backends. */
export const FLOAT32_MIN_NORMAL = 1.1754943508222875e-38;

/**
 * The smallest Huber δ and Charbonnier ε. Losses are computed in float32: √(d² + ε²) differs
 * from |d| by less than float32's relative resolution (2⁻²⁴) once |d| > ~2900·ε, and Huber's
 * quadratic zone is |d| < δ. At 1e-6 the smoothed zone is already below one 8-bit grey level
 * (1/255 ≈ 3.9e-3); anything smaller is L1 in all but name, and δ below ~1e-38 became 0 in
 * float32 and silently zeroed the term.
 */
export const MIN_SMOOTHING = 1e-6;
/** The largest δ and ε: ε² (and δ·|d| terms) must stay finite in float32 (√FLOAT32_MAX ≈ 1.8e19). */
export const MAX_SMOOTHING = 1e19;

const isNormalFloat32 = (v: number): boolean =>
  Number.isFinite(v) && v >= FLOAT32_MIN_NORMAL && v <= FLOAT32_MAX;

const smoothingRule: NumberRule = {
  ok: (v) => Number.isFinite(v) && v >= MIN_SMOOTHING && v <= MAX_SMOOTHING,
  want: "a number from 1e-6 to 1e19 (losses are computed in float32: " +
    "a smaller value smooths nothing float32 can resolve, a larger one overflows when squared)",
};

/** The rules of the numeric options, shared by the constructors and the spec decoder. */
export const NUMBER_RULES: {
  readonly weight: NumberRule;
  readonly scale: NumberRule;
  readonly delta: NumberRule;
  readonly epsilon: NumberRule;
} = {
  weight: {
    ok: (v) => v === 0 || isNormalFloat32(v),
    want: "0 (switches the term off) or a number from 1.2e-38 to 3.4e38 (losses are computed " +
      "in float32; outside that range a weight overflows or underflows to 0)",
  },
  scale: {
    ok: isNormalFloat32,
    want: "a number from 1.2e-38 to 3.4e38 (a float32 divisor of activations, > 0)",
  },
  delta: smoothingRule,
  epsilon: smoothingRule,
};

/** Throws {@linkcode InvalidWeightError} unless `w` passes `NUMBER_RULES.weight`. */
export function checkWeight(where: string, w: number): number {
  if (typeof w !== "number" || !NUMBER_RULES.weight.ok(w)) throw new InvalidWeightError(where, w);
  return w;
}
