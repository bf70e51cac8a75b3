/**
 * The `Loss<L>` value and its monoid: terms of any kinds, summed. The constructors of the
 * built-in kinds (`feature`, `style`, `pixel`, `totalVariation`) live in `kinds/`.
 *
 * @module
 */
import type { Monoid } from "fp-ts/lib/Monoid.js";
import type { Semigroup } from "fp-ts/lib/Semigroup.js";
import { kindOf, termWith } from "./kind.ts";
import { checkWeight, type Term, type TermCommon } from "./term.ts";

/**
 * A perceptual loss as a value: the terms to compute, and the loss-network layers they need.
 *
 * `L` is the union of layer names the loss reads on its main network, so `evaluate(loss, net)`
 * fails to type-check when `net` lacks one of them. `layers` lists each needed layer of the main
 * network once, in first-use order; `networks` the keys of any other networks its terms read
 * (LPIPS, say). Each network is run once for the prediction and once for the target, up to the
 * deepest layer needed. Losses are immutable; combine them with {@linkcode plus},
 * {@linkcode LossMonoid} or {@linkcode weighted}.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { feature, pixel, plus, type Loss } from "@perceptual/loss/loss";
 * import { pipe } from "fp-ts/lib/function.js";
 * const loss: Loss<"block2_conv2"> = pipe(pixel(), plus(feature("block2_conv2")));
 * assert.deepEqual(loss.layers, ["block2_conv2"]);
 * assert.deepEqual(loss.networks, []);
 * ```
 */
export interface Loss<L extends string, T extends TermCommon = Term<L>> {
  /** The layers the terms read on the main network, each once, in first-use order. */
  readonly layers: readonly L[];
  /** The keys of the other networks the terms read, each once, in first-use order. */
  readonly networks: readonly string[];
  /**
   * The terms, in order; their names are given by `termNames`. `T` is their type: a union of the
   * kinds' term types for losses built from constructors, so `t.kind === "style"` narrows.
   */
  readonly terms: readonly T[];
}

/**
 * The key of the network `term` reads: its own `network`, else its kind's default; undefined
 * means the main network.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { feature, networkOf } from "@perceptual/loss/loss";
 * assert.equal(networkOf(feature("relu2_2", { network: "vgg19-b" }).terms[0]!), "vgg19-b");
 * ```
 */
export function networkOf(term: TermCommon): string | undefined {
  return term.network ?? kindOf(term).network(term);
}

/**
 * The layers `term` reads on its network.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { style, tapsOf } from "@perceptual/loss/loss";
 * assert.deepEqual(tapsOf(style("relu3_3").terms[0]!), ["relu3_3"]);
 * ```
 */
export function tapsOf(term: TermCommon): readonly string[] {
  return kindOf(term).taps(term);
}

/**
 * A loss from a list of terms (layers and networks are derived from them). Every term must have
 * a kind: made by a kind's constructor, or of a registered kind's name.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { lossOf } from "@perceptual/loss/loss";
 * const l = lossOf([{ kind: "tv", weight: 1, distance: "l1", reduction: "mean", delta: 1, epsilon: 1e-3 }]);
 * assert.equal(l.layers.length, 0);
 * ```
 */
export function lossOf<L extends string, T extends TermCommon = Term<L>>(
  terms: readonly T[],
): Loss<L, T> {
  const layers: L[] = [];
  const networks: string[] = [];
  for (const t of terms) {
    const key = networkOf(t);
    if (key !== undefined) {
      if (!networks.includes(key)) networks.push(key);
      continue;
    }
    for (const layer of tapsOf(t) as L[]) if (!layers.includes(layer)) layers.push(layer);
  }
  return Object.freeze({
    layers: Object.freeze(layers),
    networks: Object.freeze(networks),
    terms: Object.freeze([...terms]),
  });
}

/** Curried form of {@linkcode weighted}, for `pipe`. */
export function weighted(
  w: number,
): <L extends string, T extends TermCommon>(loss: Loss<L, T>) => Loss<L, T>;
/**
 * Multiply every term's weight by `w` (finite, ≥ 0).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { feature, weighted } from "@perceptual/loss/loss";
 * assert.equal(weighted(2, feature("block1_conv2", { weight: 3 })).terms[0]!.weight, 6);
 * ```
 */
export function weighted<L extends string, T extends TermCommon>(
  w: number,
  loss: Loss<L, T>,
): Loss<L, T>;
export function weighted<L extends string, T extends TermCommon>(
  w: number,
  loss?: Loss<L, T>,
): Loss<L, T> | (<K extends string, U extends TermCommon>(loss: Loss<K, U>) => Loss<K, U>) {
  checkWeight("weighted", w);
  const apply = <K extends string, U extends TermCommon>(l: Loss<K, U>): Loss<K, U> =>
    lossOf<K, U>(
      l.terms.map((t) => termWith(t, { weight: checkWeight("weighted", t.weight * w) })),
    );
  return loss === undefined ? apply : apply(loss);
}

/**
 * The sum of two losses: all terms of `a`, then all terms of `b`; layers are the union.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { concatLoss, feature, style } from "@perceptual/loss/loss";
 * const l = concatLoss(feature("block1_conv2"), style("block1_conv2"));
 * assert.deepEqual(l.layers, ["block1_conv2"]);
 * ```
 */
export function concatLoss<
  A extends string,
  B extends string,
  TA extends TermCommon = Term<A>,
  TB extends TermCommon = Term<B>,
>(a: Loss<A, TA>, b: Loss<B, TB>): Loss<A | B, TA | TB> {
  if (a.terms.length === 0) return b;
  if (b.terms.length === 0) return a;
  return lossOf<A | B, TA | TB>([...a.terms, ...b.terms]);
}

/**
 * `pipe(a, plus(b))` is `a ⊕ b`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { feature, pixel, plus, style } from "@perceptual/loss/loss";
 * import { pipe } from "fp-ts/lib/function.js";
 * const l = pipe(pixel(), plus(feature("block2_conv2")), plus(style("block3_conv3")));
 * assert.equal(l.terms.length, 3);
 * ```
 */
export function plus<B extends string, TB extends TermCommon = Term<B>>(
  b: Loss<B, TB>,
): <A extends string, TA extends TermCommon = Term<A>>(a: Loss<A, TA>) => Loss<A | B, TA | TB> {
  return (a) => concatLoss(a, b);
}

/**
 * The loss with no terms and no layers: evaluates to 0 and costs no network pass.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { emptyLoss } from "@perceptual/loss/loss";
 * assert.equal(emptyLoss.terms.length, 0);
 * ```
 */
export const emptyLoss: Loss<never, never> = lossOf<never, never>([]);

/**
 * The semigroup of losses over layers `L` (concatenation of terms), typed for one network.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { feature, getLossSemigroup } from "@perceptual/loss/loss";
 * const S = getLossSemigroup<"a" | "b">();
 * assert.deepEqual(S.concat(feature("a"), feature("b")).layers, ["a", "b"]);
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
 * import assert from "node:assert/strict";
 * import { concatAll } from "fp-ts/lib/Monoid.js";
 * import { feature, getLossMonoid, pixel } from "@perceptual/loss/loss";
 * const l = concatAll(getLossMonoid<"block1_conv2">())([pixel(), feature("block1_conv2")]);
 * assert.equal(l.terms.length, 2);
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
 * import assert from "node:assert/strict";
 * import { concatAll } from "fp-ts/lib/Monoid.js";
 * import { type AnyLayer, feature, type Loss, LossMonoid } from "@perceptual/loss/loss";
 * const layers: string[] = JSON.parse('["block1_conv2", "block2_conv2"]'); // known at run time
 * const loss: Loss<AnyLayer> = concatAll(LossMonoid)(layers.map((l) => feature(l)));
 * // evaluate checks them on the net
 * assert.deepEqual(
 *   loss.layers,
 *   ["block1_conv2", "block2_conv2"],
 * );
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
 * import assert from "node:assert/strict";
 * import { feature, LossSemigroup, pixel } from "@perceptual/loss/loss";
 * assert.equal(LossSemigroup.concat(pixel(), feature("block1_conv2")).terms.length, 2);
 * ```
 */
export const LossSemigroup: Semigroup<Loss<AnyLayer>> = getLossSemigroup<AnyLayer>();

/**
 * The monoid of losses: `empty` has no terms and no layers; `concat` sums. With it,
 * `concatAll(LossMonoid)([pixel(), feature("block2_conv2")])` works.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { concatAll } from "fp-ts/lib/Monoid.js";
 * import { feature, LossMonoid, pixel, style } from "@perceptual/loss/loss";
 * const l = concatAll(LossMonoid)([pixel(), feature("block2_conv2"), style("block3_conv3")]);
 * assert.deepEqual(l.layers, ["block2_conv2", "block3_conv3"]);
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
 * import assert from "node:assert/strict";
 * import { feature, plus, termNames } from "@perceptual/loss/loss";
 * import { pipe } from "fp-ts/lib/function.js";
 * const l = pipe(feature("b"), plus(feature("b", { distance: "l1" })));
 * assert.deepEqual(termNames(l), ["feature:b", "feature:b#2"]);
 * ```
 */
export function termNames(loss: { readonly terms: readonly TermCommon[] }): string[] {
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
 * import assert from "node:assert/strict";
 * import { pixel, termName } from "@perceptual/loss/loss";
 * assert.equal(termName(pixel().terms[0]!), "pixel");
 * ```
 */
export function termName(term: TermCommon): string {
  return term.name ?? kindOf(term).label(term);
}
