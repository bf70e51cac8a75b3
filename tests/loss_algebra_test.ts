import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs-core";
import fc from "fast-check";
import { pipe } from "fp-ts/lib/function.js";
import { concatAll } from "fp-ts/lib/Monoid.js";
import { initBackend } from "../src/backend/mod.ts";
import {
  emptyLoss,
  evaluate,
  feature,
  InvalidTermOptionError,
  InvalidWeightError,
  type Loss,
  LossMonoid,
  LossSemigroup,
  pixel,
  plus,
  style,
  termNames,
  totalVariation,
  weighted,
} from "../src/loss/mod.ts";
import { getLossMonoid } from "../src/loss/loss.ts";
import type { BuiltinTerm } from "../src/loss/mod.ts";
import { randomImage, type TinyLayer, tinyNet } from "./loss_support.ts";

await initBackend("cpu");

const net = tinyNet({ channels: [3, 4, 5] });

// ------------------------------------------------------------------------------ random losses

const layerArb = fc.constantFrom<TinyLayer>("c1", "c2", "c4");
const commonArb = fc.record({
  distance: fc.constantFrom("l1", "l2", "huber", "charbonnier" as const),
  reduction: fc.constantFrom("mean", "sum" as const),
  // 0, or a weight float32 represents (subnormal weights are rejected by design)
  weight: fc.oneof(fc.constant(0), fc.double({ min: 1e-30, max: 10, noNaN: true })),
});
const termArb: fc.Arbitrary<Loss<TinyLayer>> = fc.oneof(
  fc.tuple(layerArb, commonArb, fc.double({ min: 0.1, max: 10, noNaN: true })).map(
    ([l, o, scale]) => feature(l, { ...o, scale }),
  ),
  fc.tuple(layerArb, commonArb, fc.constantFrom("chw", "hw", "none" as const)).map(
    ([l, o, normalisation]) => style(l, { ...o, normalisation }),
  ),
  commonArb.map((o) => pixel(o)),
  commonArb.map((o) => totalVariation(o)),
);
const M = getLossMonoid<TinyLayer>();
const lossArb: fc.Arbitrary<Loss<TinyLayer>> = fc.array(termArb, { maxLength: 3 }).map(
  (ls) => concatAll(M)(ls),
);
const imagesArb = fc.tuple(
  fc.integer({ min: 1, max: 2 }),
  fc.integer({ min: 2, max: 6 }),
  fc.integer({ min: 2, max: 6 }),
  fc.nat(),
);

/** Evaluated terms (name → value) and total. */
function run(loss: Loss<TinyLayer>, [n, h, w, seed]: [number, number, number, number]) {
  const pred = randomImage(seed, [n, 2 * h, 2 * w, 3]);
  const target = randomImage(seed + 1, [n, 2 * h, 2 * w, 3]);
  const r = evaluate(loss, net)(pred, target);
  const terms = Object.fromEntries(Object.entries(r.terms).map(([k, v]) => [k, v.dataSync()[0]!]));
  const total = r.total.dataSync()[0]!;
  tf.dispose([pred, target, r.total, ...Object.values(r.terms)]);
  return { terms, total };
}

function approx(a: number, b: number): boolean {
  return Math.abs(a - b) <= 1e-5 * Math.max(Math.abs(a), Math.abs(b), 1e-3);
}

function sameResult(x: ReturnType<typeof run>, y: ReturnType<typeof run>): boolean {
  const kx = Object.keys(x.terms);
  const ky = Object.keys(y.terms);
  return JSON.stringify(kx) === JSON.stringify(ky) &&
    kx.every((k) => approx(x.terms[k]!, y.terms[k]!)) &&
    approx(x.total, y.total);
}

// ------------------------------------------------------------------------------- monoid laws

Deno.test("LossMonoid: associativity, up to float rounding, on random losses and tensors", () => {
  fc.assert(
    fc.property(lossArb, lossArb, lossArb, imagesArb, (a, b, c, img) => {
      const left = LossMonoid.concat(LossMonoid.concat(a, b), c);
      const right = LossMonoid.concat(a, LossMonoid.concat(b, c));
      assert.deepEqual(left, right);
      return sameResult(run(left, img), run(right, img));
    }),
    { numRuns: 25, seed: 42 },
  );
});

Deno.test("LossMonoid: left and right identity", () => {
  fc.assert(
    fc.property(lossArb, imagesArb, (a, img) => {
      const ref = run(a, img);
      return sameResult(run(LossMonoid.concat(LossMonoid.empty, a), img), ref) &&
        sameResult(run(LossMonoid.concat(a, LossMonoid.empty), img), ref);
    }),
    { numRuns: 25, seed: 7 },
  );
});

Deno.test("evaluation is a monoid homomorphism: total(a ⊕ b) = total(a) + total(b); empty is 0", () => {
  fc.assert(
    fc.property(lossArb, lossArb, imagesArb, (a, b, img) => {
      const ab = run(LossSemigroup.concat(a, b), img).total;
      return approx(ab, run(a, img).total + run(b, img).total);
    }),
    { numRuns: 25, seed: 3 },
  );
  const r = run(emptyLoss, [1, 2, 2, 0]);
  assert.equal(r.total, 0);
  assert.deepEqual(r.terms, {});
});

// ------------------------------------------------------------------------------ combinators

Deno.test("plus, concatAll(LossMonoid) and LossSemigroup build the same loss; layers are unique", () => {
  const a = feature("c2", { distance: "l1" });
  const b = style("c4");
  const c = pixel();
  const piped = pipe(a, plus(b), plus(c));
  const all = concatAll(LossMonoid)([a, b, c]);
  const sg = LossSemigroup.concat(LossSemigroup.concat(a, b), c);
  assert.deepEqual(piped, all);
  assert.deepEqual(piped, sg);
  assert.deepEqual(piped.layers, ["c2", "c4"]);
  assert.deepEqual(pipe(a, plus(style("c2"))).layers, ["c2"]);
  assert.deepEqual(LossMonoid.empty.layers, []);
  assert.deepEqual(termNames(piped), ["feature:c2", "style:c4", "pixel"]);
});

Deno.test("duplicate names get #2, #3; explicit names are kept and never collide", () => {
  const l = pipe(
    feature("c2"),
    plus(feature("c2", { distance: "l1" })),
    plus(pixel({ name: "feature:c2#2" })),
    plus(feature("c2", { weight: 3 })),
    plus(totalVariation()),
  );
  assert.deepEqual(termNames(l), [
    "feature:c2",
    "feature:c2#3",
    "feature:c2#2",
    "feature:c2#4",
    "tv",
  ]);
  const pred = randomImage(1, [1, 4, 4, 3]);
  const r = evaluate(l, net)(pred, pred);
  assert.deepEqual(Object.keys(r.terms), termNames(l));
  tf.dispose([pred, r.total, ...Object.values(r.terms)]);
});

Deno.test("weighted multiplies every weight, in both call forms; bad weights are named errors", () => {
  const l = pipe(feature("c2", { weight: 2 }), plus(pixel()));
  assert.deepEqual(weighted(3, l).terms.map((t) => t.weight), [6, 3]);
  assert.deepEqual(pipe(l, weighted(0.5)).terms.map((t) => t.weight), [1, 0.5]);
  assert.throws(
    () => weighted(-1, l),
    (e: Error) => e instanceof InvalidWeightError && /weighted/.test(e.message),
  );
  assert.throws(() => weighted(Infinity, l), InvalidWeightError);
  assert.throws(
    () => style("c2", { weight: -0.1 }),
    (e: Error) =>
      e instanceof InvalidWeightError && /style:c2/.test(e.message) && /-0.1/.test(e.message),
  );
  assert.throws(() => pixel({ delta: 0 }), InvalidTermOptionError);
  assert.throws(() => feature("c2", { scale: -2 }), InvalidTermOptionError);
  // @ts-expect-error: not a distance
  assert.throws(() => pixel({ distance: "l3" }), (e: Error) => /"l1", "l2"/.test(e.message));
  // @ts-expect-error: not a normalisation
  assert.throws(() => style("c2", { normalisation: "cwh" }), InvalidTermOptionError);
});

Deno.test("defaults: feature/style l2, pixel/tv l1, chw Gram, mean, weight 1", () => {
  const l = pipe(feature("c1"), plus(style("c1")), plus(pixel()), plus(totalVariation()));
  const terms = l.terms as BuiltinTerm<"c1">[];
  assert.deepEqual(terms.map((t) => t.distance), ["l2", "l2", "l1", "l1"]);
  assert.deepEqual(terms.map((t) => t.reduction), ["mean", "mean", "mean", "mean"]);
  assert.equal((l.terms[1] as { normalisation: string }).normalisation, "chw");
  assert.ok(Object.isFrozen(l) && Object.isFrozen(l.terms));
});

// ------------------------------------------------------------------------ static layer typing

Deno.test("layer names are checked by the type checker (see @ts-expect-error lines)", () => {
  const typed: Loss<"c2" | "c4"> = pipe(feature("c2"), plus(style("c4")), plus(pixel()));
  evaluate(typed, net);
  const viaMonoid = concatAll(getLossMonoid<TinyLayer>())([feature("c2"), style("c6")]);
  evaluate(viaMonoid, net);
  // LossMonoid's layer type is open; evaluate checks the names at run time instead
  evaluate(concatAll(LossMonoid)([feature("c2"), pixel()]), net);
  assert.throws(() => evaluate(concatAll(LossMonoid)([feature("c7")]), net), /"c7"/);
  // @ts-expect-error: "c7" is not a layer of the tiny network
  assert.throws(() => evaluate(feature("c7"), net));
  // @ts-expect-error: a Loss over "x" is not a Loss over the tiny network's layers
  const wrong: Loss<TinyLayer> = feature("x");
  void wrong;
});
