/**
 * The `Loss<L>` value, its constructors and its monoid: feature ⊕ style ⊕ pixel ⊕ tv.
 *
 * @module
 */
import type { Monoid } from "fp-ts/lib/Monoid.js";
import type { Semigroup } from "fp-ts/lib/Semigroup.js";
import { defaultTermName, KINDS, layerOf } from "./_kinds.ts";
import { show } from "../_internal/show.ts";
import {
  baseOf,
  checkNormalisation,
  checkScale,
  checkWeight,
  type FeatureOptions,
  type StyleOptions,
  type Term,
  type TermOptions,
} from "./term.ts";

/**
 * A perceptual loss as a value: the terms to compute, and the loss-network layers they need.
 *
 * `L` is the union of layer names the loss reads, so `evaluate(loss, net)` fails to type-check
 * when `net` lacks one of them. `layers` lists each needed layer once, in first-use order; the
 * network is run once for the prediction and once for the target, up to the deepest of them.
 * Losses are immutable; combine them with {@linkcode plus}, {@linkcode LossMonoid} or
 * {@linkcode weighted}.
 *
 * @example
 * ```ts
 * import { feature, pixel, plus, type Loss } from "./loss.ts";
 * import { pipe } from "fp-ts/lib/function.js";
 * const loss: Loss<"block2_conv2"> = pipe(pixel(), plus(feature("block2_conv2")));
 * console.log(loss.layers); // ["block2_conv2"]
 * ```
 */
export interface Loss<L extends string> {
  /** The layers the terms read, each once, in first-use order. */
  readonly layers: readonly L[];
  /** The terms, in order; their names are given by `termNames`. */
  readonly terms: readonly Term<L>[];
}

/**
 * A loss from a list of terms (layers are derived from them).
 *
 * @example
 * ```ts
 * import { lossOf } from "./loss.ts";
 * const l = lossOf([{ kind: "tv", weight: 1, distance: "l1", reduction: "mean", delta: 1, epsilon: 1e-3 }]);
 * console.log(l.layers.length); // 0
 * ```
 */
export function lossOf<L extends string>(terms: readonly Term<L>[]): Loss<L> {
  const layers: L[] = [];
  for (const t of terms) {
    const layer = layerOf(t) as L | undefined;
    if (layer !== undefined && !layers.includes(layer)) layers.push(layer);
  }
  return Object.freeze({ layers: Object.freeze(layers), terms: Object.freeze([...terms]) });
}

function checkLayer(where: string, layer: string): void {
  if (typeof layer !== "string" || layer === "") {
    throw new TypeError(`${where}: the layer must be a non-empty layer name, got ${show(layer)}`);
  }
}

/**
 * A feature (content) term: the distance between prediction and target activations at `layer`.
 * Default distance `l2` (Johnson et al.'s feature reconstruction loss, ‖φ(ŷ) − φ(y)‖²/(C·H·W)
 * per image with `mean`).
 *
 * @example
 * ```ts
 * import { feature } from "./loss.ts";
 * const content = feature("block2_conv2", { distance: "l1", weight: 15 });
 * console.log(content.terms[0]!.weight); // 15
 * ```
 */
export function feature<L extends string>(layer: L, options: FeatureOptions = {}): Loss<L> {
  const where = `feature:${layer}`;
  checkLayer("feature", layer);
  return lossOf<L>([{
    kind: "feature",
    layer,
    scale: checkScale(where, options.scale),
    ...baseOf(where, options, KINDS.feature.defaultDistance),
  }]);
}

/**
 * A style term: the distance between the Gram matrices of prediction and target activations at
 * `layer` (per image: G = FᵀF / normalisation). Default distance `l2`, normalisation `chw`.
 *
 * @example
 * ```ts
 * import { style } from "./loss.ts";
 * const s = style("block3_conv3", { normalisation: "hw" });
 * console.log(s.terms[0]!.kind); // "style"
 * ```
 */
export function style<L extends string>(layer: L, options: StyleOptions = {}): Loss<L> {
  const where = `style:${layer}`;
  checkLayer("style", layer);
  return lossOf<L>([{
    kind: "style",
    layer,
    normalisation: checkNormalisation(where, options.normalisation),
    scale: checkScale(where, options.scale),
    ...baseOf(where, options, KINDS.style.defaultDistance),
  }]);
}

/**
 * A pixel term: the distance between prediction and target images. Default distance `l1`.
 *
 * @example
 * ```ts
 * import { pixel } from "./loss.ts";
 * console.log(pixel().terms[0]!.distance); // "l1"
 * ```
 */
export function pixel(options: TermOptions = {}): Loss<never> {
  return lossOf<never>([{
    kind: "pixel",
    ...baseOf("pixel", options, KINDS.pixel.defaultDistance),
  }]);
}

/**
 * A total-variation term on the prediction: penalty(horizontal neighbour differences) +
 * penalty(vertical ones), each reduced on its own. Default distance `l1` (anisotropic TV); `l2`
 * with `sum` is Johnson et al.'s regulariser. Needs no target.
 *
 * @example
 * ```ts
 * import { totalVariation } from "./loss.ts";
 * console.log(totalVariation({ weight: 1e-6, distance: "l2", reduction: "sum" }).terms[0]!.kind); // "tv"
 * ```
 */
export function totalVariation(options: TermOptions = {}): Loss<never> {
  return lossOf<never>([{ kind: "tv", ...baseOf("tv", options, KINDS.tv.defaultDistance) }]);
}

/** Curried form of {@linkcode weighted}, for `pipe`. */
export function weighted(w: number): <L extends string>(loss: Loss<L>) => Loss<L>;
/**
 * Multiply every term's weight by `w` (finite, ≥ 0).
 *
 * @example
 * ```ts
 * import { feature, weighted } from "./loss.ts";
 * console.log(weighted(2, feature("block1_conv2", { weight: 3 })).terms[0]!.weight); // 6
 * ```
 */
export function weighted<L extends string>(w: number, loss: Loss<L>): Loss<L>;
export function weighted<L extends string>(
  w: number,
  loss?: Loss<L>,
): Loss<L> | (<K extends string>(loss: Loss<K>) => Loss<K>) {
  checkWeight("weighted", w);
  const apply = <K extends string>(l: Loss<K>): Loss<K> =>
    lossOf<K>(l.terms.map((t) => ({ ...t, weight: t.weight * w })));
  return loss === undefined ? apply : apply(loss);
}

/**
 * The sum of two losses: all terms of `a`, then all terms of `b`; layers are the union.
 *
 * @example
 * ```ts
 * import { concatLoss, feature, style } from "./loss.ts";
 * const l = concatLoss(feature("block1_conv2"), style("block1_conv2"));
 * console.log(l.layers); // ["block1_conv2"]
 * ```
 */
export function concatLoss<A extends string, B extends string>(
  a: Loss<A>,
  b: Loss<B>,
): Loss<A | B> {
  if (a.terms.length === 0) return b;
  if (b.terms.length === 0) return a;
  return lossOf<A | B>([...a.terms, ...b.terms]);
}

/**
 * `pipe(a, plus(b))` is `a ⊕ b`.
 *
 * @example
 * ```ts
 * import { feature, pixel, plus, style } from "./loss.ts";
 * import { pipe } from "fp-ts/lib/function.js";
 * const l = pipe(pixel(), plus(feature("block2_conv2")), plus(style("block3_conv3")));
 * console.log(l.terms.length); // 3
 * ```
 */
export function plus<B extends string>(b: Loss<B>): <A extends string>(a: Loss<A>) => Loss<A | B> {
  return (a) => concatLoss(a, b);
}

/**
 * The loss with no terms and no layers: evaluates to 0 and costs no network pass.
 *
 * @example
 * ```ts
 * import { emptyLoss } from "./loss.ts";
 * console.log(emptyLoss.terms.length); // 0
 * ```
 */
export const emptyLoss: Loss<never> = lossOf<never>([]);

/**
 * The semigroup of losses over layers `L` (concatenation of terms), typed for one network.
 *
 * @example
 * ```ts
 * import { feature, getLossSemigroup } from "./loss.ts";
 * const S = getLossSemigroup<"a" | "b">();
 * console.log(S.concat(feature("a"), feature("b")).layers); // ["a", "b"]
 * ```
 */
export function getLossSemigroup<L extends string>(): Semigroup<Loss<L>> {
  return { concat: (a, b) => concatLoss(a, b) };
}

/**
 * The monoid of losses over layers `L`: `concatAll(getLossMonoid<L>())(losses)` keeps `L`.
 *
 * @example
 * ```ts
 * import { concatAll } from "fp-ts/lib/Monoid.js";
 * import { feature, getLossMonoid, pixel } from "./loss.ts";
 * const l = concatAll(getLossMonoid<"block1_conv2">())([pixel(), feature("block1_conv2")]);
 * console.log(l.terms.length); // 2
 * ```
 */
export function getLossMonoid<L extends string>(): Monoid<Loss<L>> {
  return { concat: (a, b) => concatLoss(a, b), empty: emptyLoss };
}

/**
 * The layer type of a loss whose layer names are not known statically (a sum through
 * {@linkcode LossMonoid}, a decoded JSON spec): any name is accepted by the type checker, and
 * `evaluate` checks the names against the network when it is called.
 *
 * @example
 * ```ts
 * import { concatAll } from "fp-ts/lib/Monoid.js";
 * import { type AnyLayer, feature, type Loss, LossMonoid } from "./loss.ts";
 * const layers: string[] = JSON.parse('["block1_conv2", "block2_conv2"]'); // known at run time
 * const loss: Loss<AnyLayer> = concatAll(LossMonoid)(layers.map((l) => feature(l)));
 * console.log(loss.layers); // ["block1_conv2", "block2_conv2"]; evaluate checks them on the net
 * ```
 */
// deno-lint-ignore no-explicit-any -- an open layer type is `any` by definition; evaluate checks names at run time
export type AnyLayer = any;

/**
 * The semigroup of losses for any layers. The result's layer type is open (checked when
 * `evaluate` is called); use `plus` or `getLossSemigroup<L>()` to keep it static.
 *
 * @example
 * ```ts
 * import { feature, LossSemigroup, pixel } from "./loss.ts";
 * console.log(LossSemigroup.concat(pixel(), feature("block1_conv2")).terms.length); // 2
 * ```
 */
export const LossSemigroup: Semigroup<Loss<AnyLayer>> = getLossSemigroup<AnyLayer>();

/**
 * The monoid of losses: `empty` has no terms and no layers; `concat` sums. With it,
 * `concatAll(LossMonoid)([pixel(), feature("block2_conv2")])` works.
 *
 * @example
 * ```ts
 * import { concatAll } from "fp-ts/lib/Monoid.js";
 * import { feature, LossMonoid, pixel, style } from "./loss.ts";
 * const l = concatAll(LossMonoid)([pixel(), feature("block2_conv2"), style("block3_conv3")]);
 * console.log(l.layers); // ["block2_conv2", "block3_conv3"]
 * ```
 */
export const LossMonoid: Monoid<Loss<AnyLayer>> = getLossMonoid<AnyLayer>();

/**
 * The names the terms get in a `LossResult`, in term order. A name used by more than one term
 * gets `#2`, `#3`, … on its second, third, … use (`feature:block2_conv2`,
 * `feature:block2_conv2#2`), so a sum of losses never loses a term; give terms a `name` to
 * choose your own.
 *
 * @example
 * ```ts
 * import { feature, plus, termNames } from "./loss.ts";
 * import { pipe } from "fp-ts/lib/function.js";
 * const l = pipe(feature("b"), plus(feature("b", { distance: "l1" })));
 * console.log(termNames(l)); // ["feature:b", "feature:b#2"]
 * ```
 */
export function termNames(loss: Loss<string>): string[] {
  const seen = new Map<string, number>();
  const taken = new Set(loss.terms.map(termName));
  return loss.terms.map((t) => {
    const base = termName(t);
    const n = (seen.get(base) ?? 0) + 1;
    seen.set(base, n);
    if (n === 1) return base;
    let k = n;
    // a user could have named a term "x#2" explicitly; skip suffixes already taken
    while (taken.has(`${base}#${k}`)) k++;
    const name = `${base}#${k}`;
    taken.add(name);
    return name;
  });
}

/**
 * The name a term carries in a `LossResult`: its own `name` or the default
 * (`feature:<layer>`, `style:<layer>`, `pixel`, `tv`).
 *
 * @example
 * ```ts
 * import { pixel, termName } from "./loss.ts";
 * console.log(termName(pixel().terms[0]!)); // "pixel"
 * ```
 */
export function termName(term: Term<string>): string {
  return term.name ?? defaultTermName(term);
}
