/**
 * One table per term kind: its constructor default, the spec fields it owns, the layer it reads,
 * what it compares and how. Constructors, spec decoding, `evaluate` and `precomputeTarget` all
 * read this table, so a new kind (LPIPS, say) is one new entry.
 *
 * @module
 */
import type * as tf from "@tensorflow/tfjs-core";
import { distance, gramMatrix, totalVariationOf } from "./_kernels.ts";
import type {
  Distance,
  FeatureTerm,
  PixelTerm,
  StyleTerm,
  Term,
  TermKind,
  TvTerm,
} from "./term.ts";

/** One side (prediction or target) of an evaluation: its image and its activations. */
export interface Side {
  /** The NHWC image. */
  readonly image: tf.Tensor4D;
  /** The activation at `layer` (divided by `scale`), made once per evaluation. */
  feature(layer: string, scale: number): tf.Tensor4D;
  /** A tensor made once per evaluation and side under `key`. */
  memo<T extends tf.Tensor>(key: string, make: () => T): T;
}

/** Everything the library knows about one kind of term. */
export interface KindRule<T extends Term<string>> {
  /** The distance its constructor uses when none is given. */
  readonly defaultDistance: Distance;
  /** Spec fields only this kind (and others listing them) accepts, besides the common ones. */
  readonly fields: readonly KindField[];
  /** The network layer it reads, if any. */
  layerOf(term: T): string | undefined;
  /**
   * What it compares with a target, named for messages ("activations", "Gram matrix", "image");
   * undefined when it needs no target (total variation).
   */
  readonly compares: string | undefined;
  /** The compared tensor of one side (the target side can be precomputed from it). */
  sideOf(term: T, side: Side): tf.Tensor;
  /** The unweighted value from the prediction side and the target side (absent when none). */
  value(term: T, pred: tf.Tensor, target: tf.Tensor | undefined): tf.Scalar;
}

/** The spec fields some kinds own. */
export type KindField = "layer" | "scale" | "normalisation";

const compare = (t: Term<string>, p: tf.Tensor, q: tf.Tensor | undefined): tf.Scalar =>
  distance(p, q!, t, t.reduction);

const FEATURE: KindRule<FeatureTerm<string>> = {
  defaultDistance: "l2",
  fields: ["layer", "scale"],
  layerOf: (t) => t.layer,
  compares: "activations",
  sideOf: (t, s) => s.feature(t.layer, t.scale),
  value: compare,
};

const STYLE: KindRule<StyleTerm<string>> = {
  defaultDistance: "l2",
  fields: ["layer", "scale", "normalisation"],
  layerOf: (t) => t.layer,
  compares: "Gram matrix",
  sideOf: (t, s) =>
    s.memo(
      `gram|${t.layer}|${t.normalisation}|${t.scale}`,
      () => gramMatrix(s.feature(t.layer, t.scale), t.normalisation),
    ),
  value: compare,
};

const PIXEL: KindRule<PixelTerm> = {
  defaultDistance: "l1",
  fields: [],
  layerOf: () => undefined,
  compares: "image",
  sideOf: (_, s) => s.image,
  value: compare,
};

const TV: KindRule<TvTerm> = {
  defaultDistance: "l1",
  fields: [],
  layerOf: () => undefined,
  compares: undefined,
  sideOf: (_, s) => s.image,
  value: (t, p) => totalVariationOf(p as tf.Tensor4D, t, t.reduction),
};

/** The table itself. */
export const KINDS: {
  readonly feature: KindRule<FeatureTerm<string>>;
  readonly style: KindRule<StyleTerm<string>>;
  readonly pixel: KindRule<PixelTerm>;
  readonly tv: KindRule<TvTerm>;
} = { feature: FEATURE, style: STYLE, pixel: PIXEL, tv: TV };

/** The rule of `term`'s kind. */
export function ruleOf(term: Term<string>): KindRule<Term<string>> {
  return KINDS[term.kind] as KindRule<Term<string>>;
}

/** The rule of a kind name (for specs, before a term exists). */
export function ruleOfKind(kind: TermKind): KindRule<Term<string>> {
  return KINDS[kind] as KindRule<Term<string>>;
}

/** The network layer `term` reads, if any. */
export function layerOf(term: Term<string>): string | undefined {
  return ruleOf(term).layerOf(term);
}

/** Whether `term` compares with a target (every kind but total variation). */
export function needsTarget(term: Term<string>): boolean {
  return ruleOf(term).compares !== undefined;
}

/** The default name of a term (`feature:block2_conv2`, `pixel`), before duplicates are told apart. */
export function defaultTermName(term: Term<string>): string {
  const layer = layerOf(term);
  return layer === undefined ? term.kind : `${term.kind}:${layer}`;
}
