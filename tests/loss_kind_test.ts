// Kinds of term defined OUTSIDE src/ through the public API: an element-wise one (AdaIN-style
// channel mean and standard deviation) and a joint one (cosine distance of whole feature maps),
// each run through evaluate, precomputeTarget, calibrate, the trainer and a JSON round trip, with
// values checked against hand computations. Also: several networks in one loss (passes counted)
// and options checked at run time.
import assert from "node:assert/strict";
import * as E from "fp-ts/lib/Either.js";
import * as tf from "@tensorflow/tfjs-core";
import * as tfl from "@tensorflow/tfjs-layers";
import { initBackend } from "../src/backend/mod.ts";
import { assertNoLeak } from "../src/lifetime/mod.ts";
import {
  calibrate,
  concatLoss,
  decodeLossSpec,
  defineTermKind,
  encodeLossSpec,
  evaluate,
  feature,
  LayerField,
  type Loss,
  NUMBER_RULES,
  NumberField,
  pixel,
  precomputeTarget,
  registerTermKind,
  style,
  type TermBase,
  type TermCommon,
  termNames,
  UnknownTermOptionError,
} from "../src/loss/mod.ts";
import type { LossNetwork } from "../src/network/loss_network.ts";
import { constant, trainer } from "../src/train/mod.ts";
import { tinyNet } from "./loss_support.ts";

await initBackend("cpu");

// ---- the two kinds, as a researcher writes them ------------------------------------------

interface MeanStdTerm extends TermBase {
  readonly kind: "mean_std";
  readonly layer: string;
  readonly scale: number;
}

/** Per-channel mean and standard deviation of one layer, compared element-wise (L2 default). */
const meanStd = defineTermKind<MeanStdTerm>({
  name: "mean_std",
  fields: {
    layer: { codec: new LayerField() },
    scale: { codec: new NumberField(NUMBER_RULES.scale), default: 1 },
  },
  distance: "l2",
  calibration: "scale",
  compares: "channel moments",
  taps: (term) => [term.layer],
  represent: (term, side) => {
    const f = tf.div(side.tap(term.layer), term.scale);
    const { mean, variance } = tf.moments(f, [1, 2]);
    return tf.concat([mean, tf.sqrt(variance)], 1);
  },
});

interface CosineTerm extends TermCommon {
  readonly kind: "cosine";
  readonly layer: string;
}

/** 1 − cos(φ(pred), φ(target)) of whole feature maps, averaged over the batch: a joint compare. */
const cosine = defineTermKind<CosineTerm>({
  name: "cosine",
  fields: { layer: { codec: new LayerField() } },
  taps: (term) => [term.layer],
  compare: (_term, p, q) =>
    tf.tidy(() => {
      const a = tf.reshape(p as tf.Tensor, [(p as tf.Tensor).shape[0]!, -1]);
      const b = tf.reshape(q as tf.Tensor, [(q as tf.Tensor).shape[0]!, -1]);
      const dot = tf.sum(tf.mul(a, b), 1);
      const norms = tf.mul(tf.norm(a, 2, 1), tf.norm(b, 2, 1));
      return tf.mean(tf.sub(1, tf.div(dot, norms))) as tf.Scalar;
    }),
});

/** A network whose one layer `id` is the image itself (hand computations stay simple). */
function identityNet(key?: string): LossNetwork<"id"> & { passes: number } {
  const net = {
    name: key ?? "identity",
    ...(key === undefined ? {} : { key }),
    layers: ["id"] as const,
    inputConvention: { preprocessing: "none", range: "[0,1]" } as const,
    passes: 0,
    depthOf: () => 0,
    extract<K extends "id">(x: tf.Tensor4D, layers: readonly K[]) {
      net.passes++;
      return Object.fromEntries(layers.map((l) => [l, tf.clone(x)])) as Record<K, tf.Tensor4D>;
    },
    dispose() {},
    [Symbol.dispose]() {},
  };
  return net;
}

const value = (x: tf.Scalar) => x.dataSync()[0]!;

// ---- evaluate --------------------------------------------------------------------------------

Deno.test("user kinds: evaluate gives the hand-computed values, named by kind and tap", () => {
  const net = identityNet();
  // pred [1,3]: mean 2, std 1; target [2,6]: mean 4, std 2 → L2 mean ((2−4)² + (1−2)²)/2 = 2.5
  const pred = tf.tensor4d([1, 3], [1, 1, 2, 1]);
  const target = tf.tensor4d([2, 6], [1, 1, 2, 1]);
  // cosine: [1,3]·[2,6] / (|[1,3]| |[2,6]|) = 20 / 20 = 1 → 0
  const loss = concatLoss(meanStd.loss({ layer: "id", weight: 2 }), cosine.loss({ layer: "id" }));
  const r = evaluate(loss, net)(pred, target);
  assert.deepEqual(Object.keys(r.terms), ["mean_std:id", "cosine:id"]);
  assert.ok(Math.abs(value(r.terms["mean_std:id"]!) - 5) < 1e-5);
  assert.ok(Math.abs(value(r.terms["cosine:id"]!)) < 1e-6);
  assert.ok(Math.abs(value(r.total) - 5) < 1e-5);
  assert.equal(net.passes, 2, "one pass per side for both terms");
  // cosine of [3,4] and [4,3] = 24/25 → 0.04
  const c = evaluate(cosine.loss({ layer: "id" }), net)(
    tf.tensor4d([3, 4], [1, 1, 2, 1]),
    tf.tensor4d([4, 3], [1, 1, 2, 1]),
  );
  assert.ok(Math.abs(value(c.total) - 0.04) < 1e-6);
  tf.dispose([pred, target, r.total, r.terms, c.total, c.terms]);
});

Deno.test("user kinds: gradients flow to the prediction (finite differences)", () => {
  const net = identityNet();
  const loss = concatLoss(meanStd.loss({ layer: "id" }), cosine.loss({ layer: "id" }));
  const fn = evaluate(loss, net);
  const target = tf.tensor4d([0.2, 0.9, 0.4, 0.1], [1, 2, 2, 1]);
  const p0 = [0.5, 0.3, 0.8, 0.6];
  const f = (p: number[]) => {
    const x = tf.tensor4d(p, [1, 2, 2, 1]);
    const r = fn(x, target);
    const v = value(r.total);
    tf.dispose([x, r.total, r.terms]);
    return v;
  };
  const g = tf.tidy(() =>
    tf.grad((x: tf.Tensor) => fn(x as tf.Tensor4D, target).total)(tf.tensor4d(p0, [1, 2, 2, 1]))
      .dataSync()
  );
  const h = 1e-3;
  p0.forEach((_, i) => {
    const up = [...p0], down = [...p0];
    up[i]! += h;
    down[i]! -= h;
    const fd = (f(up) - f(down)) / (2 * h);
    assert.ok(Math.abs(fd - g[i]!) < 2e-3, `∂/∂p${i}: autodiff ${g[i]} vs fd ${fd}`);
  });
  target.dispose();
});

Deno.test("user kinds: a precomputed target gives the same values and broadcasts batch 1", () => {
  const net = identityNet();
  const loss = concatLoss(meanStd.loss({ layer: "id" }), cosine.loss({ layer: "id" }));
  const style1 = tf.tensor4d([2, 6, 1, 5], [1, 2, 2, 1]);
  const preds = tf.tensor4d([1, 3, 0, 2, 4, 4, 1, 0], [2, 2, 2, 1]);
  const both = tf.concat([style1, style1]) as tf.Tensor4D;
  const direct = evaluate(loss, net)(preds, both);
  using fixed = precomputeTarget(loss, net, style1);
  assert.deepEqual([...fixed.terms], [0, 1]);
  const passes = net.passes;
  const viaFixed = evaluate(loss, net, { target: fixed })(preds);
  assert.equal(net.passes, passes + 1, "only the prediction's pass");
  for (const name of termNames(loss)) {
    assert.ok(
      Math.abs(value(direct.terms[name]!) - value(viaFixed.terms[name]!)) < 1e-6,
      name,
    );
  }
  // only one kind fixed: the other still compares with the per-call target
  using onlyCos = precomputeTarget(loss, net, style1, { kinds: ["cosine"] });
  assert.deepEqual([...onlyCos.terms], [1]);
  const mixed = evaluate(loss, net, { target: onlyCos })(preds, both);
  assert.ok(Math.abs(value(mixed.total) - value(direct.total)) < 1e-6);
  tf.dispose([style1, preds, both, direct, viaFixed, mixed] as never);
});

Deno.test("user kinds: calibrate scales the 'scale' kind and skips the others", async () => {
  const net = identityNet();
  const images = tf.fill([1, 2, 2, 3], 0.5) as tf.Tensor4D;
  let loss: Loss<"id"> = concatLoss(
    meanStd.loss({ layer: "id" }),
    concatLoss(cosine.loss({ layer: "id" }), feature("id")),
  );
  loss = await calibrate(loss, net, images); // assignable back: calibrate keeps the loss's type
  const [ms, cos, feat] = loss.terms as unknown as [MeanStdTerm, CosineTerm, { scale: number }];
  assert.equal(ms.scale, 0.5, "mean |a| of the calibration images");
  assert.equal(feat.scale, 0.5);
  assert.equal("scale" in cos, false, "cosine has no scale: skipped");
  // the calibrated term still evaluates (its kind stays attached)
  const r = evaluate(loss, net)(images, images);
  assert.equal(value(r.total), 0);
  tf.dispose([images, r.total, r.terms]);
});

Deno.test("user kinds: the trainer steps on them, with the evaluate values, leak-free", async () => {
  const net = identityNet();
  const inp = tfl.input({ shape: [4, 4, 3] });
  const out = tfl.layers.conv2d({ filters: 3, kernelSize: 1, activation: "sigmoid" }).apply(inp);
  const model = tfl.model({ inputs: inp, outputs: out as tfl.SymbolicTensor });
  const loss = concatLoss(
    concatLoss(meanStd.loss({ layer: "id" }), cosine.loss({ layer: "id" })),
    pixel(),
  );
  const lossFn = evaluate(loss, net);
  const x = tf.randomUniform([2, 4, 4, 3], 0, 1, "float32", 3) as tf.Tensor4D;
  const y = tf.randomUniform([2, 4, 4, 3], 0, 1, "float32", 4) as tf.Tensor4D;
  const expected = tf.tidy(() => {
    const r = lossFn(model.predict(x) as tf.Tensor4D, y);
    return Object.fromEntries(Object.entries(r.terms).map(([k, v]) => [k, v.dataSync()[0]!]));
  });
  using tr = trainer({
    model,
    loss: lossFn,
    optimizer: tf.train.adam(1e-2),
    schedule: constant(1e-2),
  });
  const m = await tr.step({ input: x, target: y });
  for (const [k, v] of Object.entries(expected)) {
    assert.ok(Math.abs(m.terms[k]! - v) < 1e-5, `${k}: ${m.terms[k]} vs ${v}`);
  }
  const before = tf.memory().numTensors;
  await tr.step({ input: x, target: y });
  assert.equal(tf.memory().numTensors, before, "a step leaks nothing");
  tf.dispose([x, y]);
  model.dispose();
});

// ---- JSON ---------------------------------------------------------------------------------

Deno.test("user kinds: JSON round trip once registered; unregistered kinds say how", () => {
  const loss = concatLoss(
    meanStd.loss({ layer: "relu2_2", weight: 3, scale: 7 }),
    cosine.loss({ layer: "relu3_3", name: "cos" }),
  );
  const json = JSON.parse(JSON.stringify(encodeLossSpec(loss)));
  assert.deepEqual(json.terms[0], {
    kind: "mean_std",
    layer: "relu2_2",
    distance: "l2",
    weight: 3,
    scale: 7,
  });
  assert.deepEqual(json.terms[1], { kind: "cosine", layer: "relu3_3", weight: 1, name: "cos" });
  const unknown = decodeLossSpec(json);
  assert.ok(E.isLeft(unknown));
  const msgs = unknown.left.issues.map((i) => `${i.path}: ${i.message}`);
  assert.ok(
    msgs.some((m) => /terms\[1\]\.kind: "cosine" is not a valid kind.*registerTermKind/.test(m)),
    msgs.join("\n"),
  );
  registerTermKind(meanStd);
  registerTermKind(meanStd); // twice: harmless
  const withOption = decodeLossSpec(json, { kinds: [cosine] });
  assert.ok(E.isRight(withOption), E.isLeft(withOption) ? withOption.left.message : "");
  assert.deepEqual(
    JSON.parse(JSON.stringify(withOption.right.terms)),
    JSON.parse(JSON.stringify(loss.terms)),
  );
  // field checks come from the kind's codecs, with paths
  const bad = decodeLossSpec({
    terms: [{ kind: "mean_std", layer: "relu2_2", scale: -1, wieght: 2 }],
  });
  assert.ok(E.isLeft(bad));
  const byPath = new Map(bad.left.issues.map((i) => [i.path, i.message]));
  assert.match(
    byPath.get("terms[0].scale")!,
    /-1 is not allowed; it must be a number from 1.2e-38/,
  );
  assert.match(byPath.get("terms[0].wieght")!, /did you mean "weight"\?/);
  // another kind under a taken name is refused
  assert.throws(
    () =>
      registerTermKind(
        defineTermKind<CosineTerm>({
          ...{ name: "mean_std" as never },
          compare: () => tf.scalar(0),
        }),
      ),
    /a different term kind named "mean_std" is already registered/,
  );
});

// ---- options checked at run time ------------------------------------------------------------

Deno.test("misspelt options are errors with a did-you-mean, not silently ignored", () => {
  assert.throws(
    () => style("relu2_2", { normalization: "hw" } as never),
    (e: unknown) =>
      e instanceof UnknownTermOptionError &&
      /style:relu2_2: unknown option "normalization"; did you mean "normalisation"\?/.test(
        e.message,
      ),
  );
  assert.throws(() => style("relu2_2", { weigth: 5 } as never), /did you mean "weight"\?/);
  assert.throws(() => pixel({ scale: 2 } as never), UnknownTermOptionError);
  assert.throws(
    () => cosine.loss({ layer: "x", distance: "l1" } as never),
    /unknown option "distance"/,
  );
  assert.throws(() => cosine.loss({}), /layer undefined is not allowed; it must be given/);
});

// ---- several networks ---------------------------------------------------------------------

Deno.test("two networks in one loss: each runs once per side, to its deepest tap", () => {
  const vgg = tinyNet();
  const other = identityNet("second");
  const loss = concatLoss(
    concatLoss(feature("c2"), style("c4")),
    concatLoss(cosine.loss({ layer: "id", network: "second" }), pixel()),
  );
  assert.deepEqual(loss.layers, ["c2", "c4"]);
  assert.deepEqual(loss.networks, ["second"]);
  const pred = tf.randomUniform([1, 8, 8, 3], 0, 1, "float32", 1) as tf.Tensor4D;
  const target = tf.randomUniform([1, 8, 8, 3], 0, 1, "float32", 2) as tf.Tensor4D;
  const fn = evaluate(loss, vgg, { networks: [other] });
  assert.match(fn.network!.name, /tiny.* and second/);
  const r = fn(pred, target);
  assert.equal(vgg.calls.length, 2, "main network: one pass per side");
  assert.deepEqual(vgg.calls.map((c) => c.ran), [5, 5], "up to c4 only");
  assert.equal(other.passes, 2, "second network: one pass per side");
  // its value equals the same term evaluated alone on that network
  const alone = evaluate(cosine.loss({ layer: "id" }), other)(pred, target);
  assert.ok(Math.abs(value(r.terms["cosine:id"]!) - value(alone.total)) < 1e-6);
  // a network not given is named, with the fix
  assert.throws(() => evaluate(loss, vgg), /reads the network "second", which was not given/);
  tf.dispose([pred, target, r.total, r.terms, alone.total, alone.terms]);
  vgg.dispose();
});

Deno.test("user kinds: evaluate, precomputeTarget and calibrate leak nothing", async () => {
  const net = identityNet();
  const loss = concatLoss(meanStd.loss({ layer: "id" }), cosine.loss({ layer: "id" }));
  const x = tf.randomUniform([2, 4, 4, 3], 0, 1, "float32", 5) as tf.Tensor4D;
  const y = tf.randomUniform([2, 4, 4, 3], 0, 1, "float32", 6) as tf.Tensor4D;
  await assertNoLeak(() => {
    const r = evaluate(loss, net)(x, y);
    tf.dispose([r.total, r.terms]);
  });
  await assertNoLeak(() => {
    using fixed = precomputeTarget(loss, net, y);
    const r = evaluate(loss, net, { target: fixed })(x);
    tf.dispose([r.total, r.terms]);
  });
  await assertNoLeak(async () => {
    await calibrate(loss, net, x);
  });
  tf.dispose([x, y]);
});

Deno.test("evaluate, precomputeTarget, calibrate and decodeLossSpec refuse unknown options", async () => {
  const { UnknownOptionError } = await import("../src/errors/mod.ts");
  const net = identityNet();
  const loss = feature("id");
  const x = tf.zeros([1, 2, 2, 3]) as tf.Tensor4D;
  const isUnknown = (re: RegExp) => (e: unknown) =>
    e instanceof UnknownOptionError && re.test(String(e));
  assert.throws(
    () => evaluate(loss, net, { targt: 1 } as never),
    isUnknown(/did you mean "target"/),
  );
  assert.throws(() => precomputeTarget(loss, net, x, { kind: [] } as never), isUnknown(/"kinds"/));
  await assert.rejects(calibrate(loss, net, x, { refrence: 2 } as never), isUnknown(/"reference"/));
  assert.throws(() => decodeLossSpec({ terms: [] }, { kind: [] } as never), isUnknown(/"kinds"/));
  x.dispose();
});
