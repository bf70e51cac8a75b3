import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs-core";
import { pipe } from "fp-ts/lib/function.js";
import { initBackend } from "../src/backend/mod.ts";
import { assertNoLeak, DisposedError, scope } from "../src/lifetime/mod.ts";
import {
  assertFiniteLoss,
  type Distance,
  evaluate,
  feature,
  InvalidWeightError,
  type Loss,
  LossInputError,
  NonFiniteLossError,
  pixel,
  plus,
  precomputeTarget,
  type Reduction,
  style,
  totalVariation,
} from "../src/loss/mod.ts";
import { withoutTape } from "../src/loss/_no_tape.ts";
import { UnknownLayerError } from "../src/network/mod.ts";
import { randomImage, relErr, tinyNet } from "./loss_support.ts";

await initBackend("cpu");

// ---------------------------------------------------------------- independent references (plain JS)

function rho(d: number, dist: Distance, delta = 1, eps = 1e-3): number {
  const a = Math.abs(d);
  switch (dist) {
    case "l1":
      return a;
    case "l2":
      return d * d;
    case "huber":
      return a < delta ? 0.5 * d * d : delta * (a - 0.5 * delta);
    case "charbonnier":
      return Math.sqrt(d * d + eps * eps);
  }
}

function refDistance(
  a: ArrayLike<number>,
  b: ArrayLike<number>,
  dist: Distance,
  red: Reduction,
): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += rho(a[i]! - b[i]!, dist);
  return red === "mean" ? s / a.length : s;
}

/** Gram matrices [n][c][c] of NHWC data, by loops. */
function refGram(x: tf.Tensor4D, by: number): Float64Array {
  const [n, h, w, c] = x.shape;
  const v = x.dataSync();
  const g = new Float64Array(n * c * c);
  for (let b = 0; b < n; b++) {
    for (let i = 0; i < c; i++) {
      for (let j = 0; j < c; j++) {
        let s = 0;
        for (let p = 0; p < h * w; p++) {
          s += v[(b * h * w + p) * c + i]! * v[(b * h * w + p) * c + j]!;
        }
        g[(b * c + i) * c + j] = s / by;
      }
    }
  }
  return g;
}

function refTv(x: tf.Tensor4D, dist: Distance, red: Reduction): number {
  const [n, h, w, c] = x.shape;
  const v = x.dataSync();
  const at = (b: number, i: number, j: number, k: number) => v[((b * h + i) * w + j) * c + k]!;
  let sx = 0, sy = 0;
  for (let b = 0; b < n; b++) {
    for (let i = 0; i < h; i++) {
      for (let j = 0; j < w; j++) {
        for (let k = 0; k < c; k++) {
          if (j + 1 < w) sx += rho(at(b, i, j + 1, k) - at(b, i, j, k), dist);
          if (i + 1 < h) sy += rho(at(b, i + 1, j, k) - at(b, i, j, k), dist);
        }
      }
    }
  }
  if (red === "sum") return sx + sy;
  return sx / (n * h * (w - 1) * c) + sy / (n * (h - 1) * w * c);
}

function value(x: tf.Tensor): number {
  return x.dataSync()[0]!;
}

function close(actual: number, expected: number, rel = 2e-5, what = ""): void {
  assert.ok(
    Math.abs(actual - expected) <= rel * Math.max(Math.abs(expected), 1e-6),
    `${what}: ${actual} vs reference ${expected}`,
  );
}

const DISTS: Distance[] = ["l1", "l2", "huber", "charbonnier"];

// ---------------------------------------------------------------------------------------- values

Deno.test("every term kind × distance × reduction equals a plain-JS reference", () => {
  const net = tinyNet();
  const pred = randomImage(1, [2, 8, 10, 3]);
  const target = randomImage(2, [2, 8, 10, 3]);
  const acts = net.extract(pred, ["c2", "c4"]);
  const tacts = net.extract(target, ["c2", "c4"]);
  for (const dist of DISTS) {
    for (const red of ["mean", "sum"] as Reduction[]) {
      const o = { distance: dist, reduction: red };
      const loss = pipe(
        pixel(o),
        plus(feature("c2", o)),
        plus(feature("c4", { ...o, scale: 2.5 })),
        plus(style("c4", { ...o, normalisation: "chw" })),
        plus(style("c2", { ...o, normalisation: "hw" })),
        plus(style("c2", { ...o, normalisation: "none", name: "gram-none" })),
        plus(totalVariation(o)),
      );
      const r = evaluate(loss, net)(pred, target);
      const tag = `${dist}/${red}`;
      close(
        value(r.terms["pixel"]!),
        refDistance(pred.dataSync(), target.dataSync(), dist, red),
        2e-5,
        `pixel ${tag}`,
      );
      close(
        value(r.terms["feature:c2"]!),
        refDistance(acts.c2.dataSync(), tacts.c2.dataSync(), dist, red),
        2e-5,
        `feature c2 ${tag}`,
      );
      const s = (x: tf.TypedArray) => Array.from(x, (v) => v / 2.5);
      close(
        value(r.terms["feature:c4"]!),
        refDistance(s(acts.c4.dataSync()), s(tacts.c4.dataSync()), dist, red),
        2e-5,
        `feature c4 ${tag}`,
      );
      const [, h4, w4, c4] = acts.c4.shape;
      const [, h2, w2] = acts.c2.shape;
      close(
        value(r.terms["style:c4"]!),
        refDistance(refGram(acts.c4, c4 * h4 * w4), refGram(tacts.c4, c4 * h4 * w4), dist, red),
        5e-5,
        `style chw ${tag}`,
      );
      close(
        value(r.terms["style:c2"]!),
        refDistance(refGram(acts.c2, h2 * w2), refGram(tacts.c2, h2 * w2), dist, red),
        5e-5,
        `style hw ${tag}`,
      );
      close(
        value(r.terms["gram-none"]!),
        refDistance(refGram(acts.c2, 1), refGram(tacts.c2, 1), dist, red),
        5e-5,
        `style none ${tag}`,
      );
      close(value(r.terms["tv"]!), refTv(pred, dist, red), 2e-5, `tv ${tag}`);
      const sum = Object.values(r.terms).reduce((a, t) => a + value(t), 0);
      close(value(r.total), sum, 1e-5, `total ${tag}`);
      tf.dispose(r as unknown as tf.TensorContainer);
    }
  }
  tf.dispose([pred, target, acts, tacts] as unknown as tf.TensorContainer);
  net.dispose();
});

Deno.test("weights multiply terms; huber delta and charbonnier epsilon are used", () => {
  const net = tinyNet();
  const pred = randomImage(3, [1, 4, 4, 3], -2, 2);
  const target = randomImage(4, [1, 4, 4, 3], -2, 2);
  const loss = pipe(
    pixel({ distance: "huber", delta: 0.3, weight: 3 }),
    plus(pixel({ distance: "charbonnier", epsilon: 0.5, weight: 0.5 })),
  );
  const r = evaluate(loss, net)(pred, target);
  const p = pred.dataSync(), t = target.dataSync();
  let h = 0, c = 0;
  for (let i = 0; i < p.length; i++) {
    h += rho(p[i]! - t[i]!, "huber", 0.3);
    c += rho(p[i]! - t[i]!, "charbonnier", 1, 0.5);
  }
  close(value(r.terms["pixel"]!), 3 * h / p.length, 2e-5, "huber");
  close(value(r.terms["pixel#2"]!), 0.5 * c / p.length, 2e-5, "charbonnier");
  tf.dispose([pred, target]);
  tf.dispose(r as unknown as tf.TensorContainer);
  net.dispose();
});

Deno.test("l1 has gradient 0 where prediction equals target (tfjs abs gives -1 there)", () => {
  const net = tinyNet();
  const x = tf.tensor4d([0.5, 0.2, 0.9, 0.4], [1, 2, 2, 1]);
  const y = tf.tensor4d([0.5, 0.3, 0.9, 0.1], [1, 2, 2, 1]);
  const fn = evaluate(pixel({ distance: "l1", reduction: "sum" }), net);
  const g = tf.grad((p: tf.Tensor) => fn(p as tf.Tensor4D, y).total)(x);
  assert.deepEqual(Array.from(g.dataSync()), [0, -1, 0, 1]);
  tf.dispose([x, y, g]);
  net.dispose();
});

// -------------------------------------------------------------------------------- one pass each

Deno.test("6 terms over 3 layers cost exactly one prediction pass and one target pass", () => {
  const net = tinyNet();
  const loss = pipe(
    feature("c2"),
    plus(feature("c4", { distance: "l1" })),
    plus(style("c6")),
    plus(style("c2", { normalisation: "hw" })),
    plus(feature("c6", { distance: "huber" })),
    plus(style("c4", { distance: "l1" })),
  );
  assert.equal(loss.terms.length, 6);
  assert.deepEqual(loss.layers, ["c2", "c4", "c6"]);
  const pred = randomImage(5, [2, 16, 16, 3]);
  const target = randomImage(6, [2, 16, 16, 3]);
  const fn = evaluate(loss, net);
  const r = fn(pred, target);
  assert.equal(net.calls.length, 2);
  assert.equal(net.calls[0]!.input, pred);
  assert.equal(net.calls[1]!.input, target);
  for (const c of net.calls) {
    assert.deepEqual([...c.layers].sort(), ["c2", "c4", "c6"]);
    assert.equal(c.ran, 8, "the pass stops at c6, the deepest layer asked for");
  }
  tf.dispose(r as unknown as tf.TensorContainer);
  // pixel and tv need no network pass at all
  net.calls.length = 0;
  tf.dispose(
    evaluate(pipe(pixel(), plus(totalVariation())), net)(
      pred,
      target,
    ) as unknown as tf.TensorContainer,
  );
  assert.equal(net.calls.length, 0);
  tf.dispose([pred, target]);
  net.dispose();
});

Deno.test("the target pass is not on the gradient tape; gradients flow to pred only", () => {
  const net = tinyNet();
  const loss = pipe(
    feature("c4", { distance: "l1" }),
    plus(style("c2")),
    plus(pixel()),
    plus(totalVariation()),
  );
  const fn = evaluate(loss, net);
  const pred = randomImage(7, [1, 8, 8, 3]);
  const target = randomImage(8, [1, 8, 8, 3]);
  const engine = tf.engine() as unknown as {
    state: { activeTape: { kernelName: string; inputs: Record<string, tf.Tensor> }[] };
  };
  let conv2dNodes = -1;
  let touchesTarget = true;
  const g = tf.grad((p: tf.Tensor) => {
    const r = fn(p as tf.Tensor4D, target);
    const tape = engine.state.activeTape;
    conv2dNodes = tape.filter((n) => n.kernelName === "Conv2D").length;
    touchesTarget = tape.some((n) => Object.values(n.inputs).some((x) => x.id === target.id));
    return r.total;
  })(pred);
  assert.equal(conv2dNodes, 4, "only the prediction's 4 convs (c1..c4) are recorded");
  assert.equal(touchesTarget, false);
  assert.equal(relErr(g.shape, pred.shape), 0);
  assert.ok(tf.tidy(() => tf.sum(tf.abs(g))).dataSync()[0]! > 0);
  // Asking for a gradient w.r.t. the target fails: it is not connected to the tape.
  assert.throws(
    () =>
      tf.grads((p: tf.Tensor, t: tf.Tensor) => fn(p as tf.Tensor4D, t as tf.Tensor4D).total)([
        pred,
        target,
      ]),
    /Cannot compute gradient/,
  );
  tf.dispose([pred, target, g]);
  net.dispose();
});

Deno.test("withoutTape stops gradients like a stop_gradient", () => {
  const x = tf.scalar(3);
  const g = tf.grad((v: tf.Tensor) => tf.mul(v, withoutTape(() => tf.mul(v, 1))))(x);
  assert.equal(value(g), 3);
  tf.dispose([x, g]);
});

// ------------------------------------------------------------------- finite-difference gradients

/** Directional derivative check: ∇f·v against (f(x+εv) − f(x−εv)) / 2ε. */
function fdCheck(loss: Loss<"c2">, label: string, nearTarget = false): void {
  const net = tinyNet({ activation: "tanh", seed: 3 });
  const fn = evaluate(loss, net);
  const target = randomImage(12, [2, 6, 6, 3]);
  // For pixel terms, pred − target is at least 0.05 everywhere, so no |d| kink is crossed; for the
  // others an unrelated image keeps activation differences away from 0.
  const pred = !nearTarget ? randomImage(11, [2, 6, 6, 3]) : tf.tidy(() => {
    const offset = randomImage(13, [2, 6, 6, 3], 0.05, 0.3);
    const sign = tf.sign(tf.sub(randomImage(14, [2, 6, 6, 3]), 0.5));
    return tf.add(target, tf.mul(offset, sign)) as tf.Tensor4D;
  });
  const f = (p: tf.Tensor4D) => scope(() => value(fn(p as tf.Tensor4D, target).total));
  const g = tf.grad((p: tf.Tensor) => fn(p as tf.Tensor4D, target).total)(pred);
  for (let k = 0; k < 3; k++) {
    const v = randomImage(100 + k, [2, 6, 6, 3], -1, 1);
    const eps = 1e-3; // small enough that few |d| kinks (l1, charbonnier) are crossed
    const fd = (f(tf.tidy(() => tf.add(pred, tf.mul(v, eps)))) -
      f(tf.tidy(() => tf.sub(pred, tf.mul(v, eps))))) / (2 * eps);
    const an = value(tf.tidy(() => tf.sum(tf.mul(g, v))));
    assert.ok(
      Math.abs(fd - an) <= 2e-2 * Math.abs(an) + 1e-6,
      `${label}, direction ${k}: analytic ${an} vs finite difference ${fd}`,
    );
    v.dispose();
  }
  tf.dispose([pred, target, g]);
  net.dispose();
}

for (const dist of ["l2", "huber", "charbonnier", "l1"] as Distance[]) {
  Deno.test(`finite differences match the gradient of every term kind (${dist})`, () => {
    // c2 is before the first pool: max-pool switches make finite differences of deeper layers noisy
    fdCheck(feature("c2", { distance: dist, scale: 0.5 }), `feature ${dist}`);
    fdCheck(style("c2", { distance: dist, normalisation: "hw" }), `style ${dist}`);
    fdCheck(pixel({ distance: dist }), `pixel ${dist}`, true);
    fdCheck(totalVariation({ distance: dist }), `tv ${dist}`);
  });
}

// ---------------------------------------------------------------------------- precomputed targets

Deno.test("a precomputed batch-1 target broadcasts like the tiled target", () => {
  const net = tinyNet();
  const loss = pipe(pixel(), plus(feature("c2", { distance: "l1" })), plus(style("c4")));
  const styleImg = randomImage(21, [1, 8, 8, 3]);
  const preds = randomImage(22, [3, 8, 8, 3]);
  const fixed = precomputeTarget(loss, net, styleImg);
  net.calls.length = 0;
  const r = evaluate(loss, net, { target: fixed })(preds);
  assert.equal(net.calls.length, 1, "only the prediction pass");
  const tiled = tf.tile(styleImg, [3, 1, 1, 1]);
  const ref = evaluate(loss, net)(preds, tiled);
  for (const k of Object.keys(ref.terms)) {
    close(value(r.terms[k]!), value(ref.terms[k]!), 1e-5, k);
  }
  tf.dispose([r, ref] as unknown as tf.TensorContainer);
  tf.dispose([styleImg, preds, tiled]);
  fixed.dispose();
  net.dispose();
});

Deno.test("style-only precompute: content still compared per call, in one target pass", () => {
  const net = tinyNet();
  const loss = pipe(feature("c4"), plus(style("c2")), plus(style("c6")));
  const styleImg = randomImage(31, [1, 12, 12, 3]); // Grams do not depend on the image size
  const content = randomImage(32, [2, 8, 8, 3]);
  const preds = randomImage(33, [2, 8, 8, 3]);
  using fixed = precomputeTarget(loss, net, styleImg, { kinds: ["style"] });
  net.calls.length = 0;
  const fn = evaluate(loss, net, { target: fixed });
  const r = fn(preds, content);
  assert.equal(net.calls.length, 2);
  assert.deepEqual(net.calls[1]!.layers, ["c4"], "the target pass only covers the content layer");
  assert.equal(net.calls[1]!.ran, 5);
  const ref = evaluate(feature("c4"), net)(preds, content);
  close(value(r.terms["feature:c4"]!), value(ref.total), 1e-6, "content");
  assert.throws(
    () => fn(preds),
    (e: Error) => e instanceof LossInputError && /feature:c4/.test(e.message),
  );
  tf.dispose([r, ref] as unknown as tf.TensorContainer);
  tf.dispose([styleImg, content, preds]);
  net.dispose();
});

Deno.test("precomputeTarget: no leak, dispose frees everything, use after dispose is named", async () => {
  const net = tinyNet();
  const loss = pipe(pixel(), plus(feature("c2")), plus(style("c2")), plus(style("c4")));
  const img = randomImage(41, [1, 8, 8, 3]);
  const preds = randomImage(42, [2, 8, 8, 3]);
  await assertNoLeak(() => precomputeTarget(loss, net, img), { label: "precomputeTarget" });
  const before = tf.memory().numTensors;
  const fixed = precomputeTarget(loss, net, img);
  const fn = evaluate(loss, net, { target: fixed });
  await assertNoLeak(() => fn(preds), { label: "evaluateWithTarget" });
  // inside a tidy, the owner's tensors survive
  tf.tidy(() => {
    const inner = precomputeTarget(loss, net, img);
    inner.dispose();
  });
  fixed.dispose();
  assert.equal(tf.memory().numTensors, before);
  assert.throws(() => fn(preds), DisposedError);
  tf.dispose([img, preds]);
  net.dispose();
});

// ------------------------------------------------------------------------------- leaks and errors

Deno.test("evaluating and differentiating 100 times leaves numTensors unchanged", async () => {
  const net = tinyNet();
  const loss = pipe(
    pixel(),
    plus(feature("c2", { distance: "l1" })),
    plus(style("c4")),
    plus(totalVariation()),
  );
  const fn = evaluate(loss, net);
  const pred = randomImage(51, [2, 8, 8, 3]);
  const target = randomImage(52, [2, 8, 8, 3]);
  await assertNoLeak(() => fn(pred, target), { label: "evaluate" });
  const before = tf.memory().numTensors;
  const variable = tf.variable(pred);
  const before2 = tf.memory().numTensors;
  for (let i = 0; i < 100; i++) {
    const { value: v, grads } = tf.variableGrads(() => fn(variable as tf.Tensor4D, target).total);
    tf.dispose([v, grads] as unknown as tf.TensorContainer);
    const g = tf.grad((p: tf.Tensor) => fn(p as tf.Tensor4D, target).total)(pred);
    g.dispose();
  }
  assert.equal(tf.memory().numTensors, before2);
  variable.dispose();
  assert.equal(tf.memory().numTensors, before);
  tf.dispose([pred, target]);
  net.dispose();
});

async function throwsWithoutLeak(fn: () => unknown, check: (e: Error) => boolean, label: string) {
  const before = tf.memory().numTensors;
  assert.throws(fn, (e: Error) => {
    assert.ok(check(e), `${label}: unexpected ${e.name}: ${e.message}`);
    return true;
  });
  assert.equal(tf.memory().numTensors, before, `${label} leaked`);
  await Promise.resolve();
}

Deno.test("bad inputs give named errors and leak nothing", async () => {
  const net = tinyNet();
  const loss = pipe(pixel(), plus(feature("c2")), plus(style("c4", { name: "texture" })));
  const fn = evaluate(loss, net);
  const a = randomImage(61, [2, 8, 8, 3]);
  const b = randomImage(62, [2, 8, 10, 3]);
  await throwsWithoutLeak(
    () => fn(a, b),
    (e) => e instanceof LossInputError && /\[2,8,8,3\].*\[2,8,10,3\]/.test(e.message),
    "shape mismatch",
  );
  const rank3 = tf.reshape(a, [16, 8, 3]) as unknown as tf.Tensor4D;
  await throwsWithoutLeak(
    () => fn(a, rank3),
    (e) => e instanceof LossInputError && /rank/.test(e.message),
    "rank",
  );
  const nan = tf.tidy(() => tf.where(tf.greater(a, 0.5), tf.fill(a.shape, NaN), a)) as tf.Tensor4D;
  // evaluate reads nothing back: a NaN prediction gives NaN terms, and assertFiniteLoss names them
  const before = tf.memory().numTensors;
  const r = fn(nan, a);
  await assert.rejects(
    () => assertFiniteLoss(r, nan, a),
    (e: Error) =>
      e instanceof NonFiniteLossError && e.terms.includes("pixel") && e.terms.includes("texture") &&
      /pred holds NaN/.test(e.message),
  );
  tf.dispose(r as unknown as tf.TensorContainer);
  assert.equal(tf.memory().numTensors, before, "assertFiniteLoss leaked");
  const ok = fn(a, a);
  await assertFiniteLoss(ok, a, a);
  tf.dispose(ok as unknown as tf.TensorContainer);
  assert.throws(() => feature("c2", { weight: -1 }), InvalidWeightError);
  assert.throws(() => pixel({ weight: NaN }), InvalidWeightError);
  assert.throws(
    // @ts-expect-error: "c9" is not a layer of the tiny network
    () => evaluate(feature("c9"), net),
    (e: Error) =>
      e instanceof UnknownLayerError &&
      /"c9".*did you mean "c1"|"c9".*did you mean/.test(e.message),
  );
  const fixed = precomputeTarget(loss, net, randomImage(63, [3, 8, 8, 3]));
  const withFixed = evaluate(loss, net, { target: fixed });
  await throwsWithoutLeak(
    () => withFixed(a),
    (e) =>
      e instanceof LossInputError && /"pixel"|"texture"/.test(e.message) &&
      /batch 3/.test(e.message),
    "batch cannot broadcast",
  );
  fixed.dispose();
  const styleOnly = style("c4", { name: "texture" });
  const fixedStyle = precomputeTarget(styleOnly, net, randomImage(64, [3, 12, 12, 3]));
  await throwsWithoutLeak(
    () => evaluate(styleOnly, net, { target: fixedStyle })(a),
    (e) =>
      e instanceof LossInputError &&
      /Gram matrix of "texture" has batch 3, which cannot broadcast over the prediction's batch 2/
        .test(e.message),
    "style target batch cannot broadcast",
  );
  fixedStyle.dispose();
  tf.dispose([a, b, nan, rank3]);
  net.dispose();
});
