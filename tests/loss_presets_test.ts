import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs-core";
import { initBackend } from "../src/backend/mod.ts";
import { assertNoLeak } from "../src/lifetime/mod.ts";
import {
  calibrate,
  evaluate,
  fastaiFeatureLoss,
  feature,
  featureScales,
  InvalidTermOptionError,
  johnson2016StyleTransfer,
  johnson2016SuperResolution,
  LossInputError,
  pixel,
  plus,
  precomputeTarget,
  style,
  type StyleTerm,
  termNames,
  withFeatureScales,
} from "../src/loss/mod.ts";
import { layersBeforePools, UnknownLayerError } from "../src/network/mod.ts";
import type { InputRange, LossNetwork } from "../src/network/loss_network.ts";
import { VGG16_LAYERS, VGG19_LAYERS } from "../src/vgg/mod.ts";
import { pipe } from "fp-ts/lib/function.js";
import { randomImage, type TinyLayer, tinyNet } from "./loss_support.ts";
import type { BuiltinTerm, Loss } from "../src/loss/mod.ts";

const builtin = <L extends string>(loss: Loss<L>) => loss.terms as BuiltinTerm<L>[];

await initBackend("cpu");

/** A network that only has names (presets never run it). */
function namesOnly<L extends string>(
  layers: readonly L[],
  range: InputRange = "[0,1]",
): LossNetwork<L> {
  return {
    name: "names-only",
    layers,
    inputConvention: { preprocessing: "caffe", range },
    depthOf: (l) => layers.indexOf(l),
    extract: () => {
      throw new Error("presets must not run the network");
    },
    dispose() {},
    [Symbol.dispose]() {},
  };
}

Deno.test("fastaiFeatureLoss: fastai's lesson-7 terms on VGG-16 (layers before pools 3-5)", () => {
  const loss = fastaiFeatureLoss(namesOnly(VGG16_LAYERS));
  assert.deepEqual(loss.layers, ["block3_conv3", "block4_conv3", "block5_conv3"]);
  assert.deepEqual(termNames(loss), [
    "pixel",
    "feature:block3_conv3",
    "feature:block4_conv3",
    "feature:block5_conv3",
    "style:block3_conv3",
    "style:block4_conv3",
    "style:block5_conv3",
  ]);
  // fastai: base_loss*w for features, base_loss(gram)*w**2*5e3 for Grams, base_loss = L1
  assert.deepEqual(loss.terms.map((t) => t.weight), [1, 5, 15, 2, 5e3 * 25, 5e3 * 225, 5e3 * 4]);
  assert.ok(builtin(loss).every((t) => t.distance === "l1" && t.reduction === "mean"));
  assert.ok(
    loss.terms.filter((t) => t.kind === "style").every((t) =>
      (t as StyleTerm<string>).normalisation === "chw"
    ),
  );
  const v19 = fastaiFeatureLoss(namesOnly(VGG19_LAYERS));
  assert.deepEqual(v19.layers, ["block3_conv4", "block4_conv4", "block5_conv4"]);
  assert.deepEqual(layersBeforePools(namesOnly(VGG19_LAYERS)), [
    "block1_conv2",
    "block2_conv2",
    "block3_conv4",
    "block4_conv4",
    "block5_conv4",
  ]);
});

Deno.test("fastaiFeatureLoss: options, truncated networks and bad weights are named", () => {
  const truncated = namesOnly(VGG19_LAYERS.slice(0, 10));
  assert.throws(
    () => fastaiFeatureLoss(truncated),
    (e: Error) =>
      e instanceof LossInputError && /pools 3, 4 and 5/.test(e.message) &&
      /`layers`/.test(e.message),
  );
  const custom = fastaiFeatureLoss(truncated, {
    layers: ["block1_conv2", "block2_conv2", "block3_conv4"],
    scales: { block3_conv4: 700 },
  });
  assert.deepEqual(custom.layers, ["block1_conv2", "block2_conv2", "block3_conv4"]);
  assert.deepEqual(custom.terms.map((t) => "scale" in t ? t.scale : 1), [1, 1, 1, 700, 1, 1, 700]);
  assert.throws(
    () => fastaiFeatureLoss(truncated, { layers: ["block1_conv2"] }),
    InvalidTermOptionError,
  );
  assert.throws(
    // block4_conv1 is a VGG-19 layer, but this network was truncated after block 3
    () =>
      fastaiFeatureLoss(truncated, { layers: ["block4_conv1", "block1_conv2", "block2_conv2"] }),
    UnknownLayerError,
  );
});

Deno.test("johnson2016SuperResolution: relu2_2 feature, squared L2 / CHW", () => {
  const loss = johnson2016SuperResolution(namesOnly(VGG16_LAYERS));
  assert.deepEqual(loss, feature("block2_conv2", { distance: "l2", reduction: "mean" }));
  assert.throws(() => johnson2016SuperResolution(namesOnly(["c1", "c2"])), UnknownLayerError);
});

Deno.test("johnson2016StyleTransfer: train.lua defaults; TV strength converted to the input range", () => {
  const loss = johnson2016StyleTransfer(namesOnly(VGG16_LAYERS));
  assert.deepEqual(termNames(loss), [
    "feature:block3_conv3",
    "style:block1_conv2",
    "style:block2_conv2",
    "style:block3_conv3",
    "style:block4_conv3",
    "tv",
  ]);
  assert.deepEqual(builtin(loss).slice(0, 5).map((t) => [t.distance, t.weight]), [
    ["l2", 1],
    ["l2", 5],
    ["l2", 5],
    ["l2", 5],
    ["l2", 5],
  ]);
  const tv = builtin(loss)[5]!;
  assert.equal(tv.distance, "l2");
  assert.equal(tv.reduction, "sum");
  // Johnson: energy (1e-6 / 2)·Σ(Δ²) on 0-255 images = (1e-6 / 2)·255²·Σ(Δ²) on [0,1] images
  assert.ok(Math.abs(tv.weight - 0.5e-6 * 255 * 255) < 1e-12);
  const on255 = johnson2016StyleTransfer(namesOnly(VGG16_LAYERS, "[0,255]"));
  assert.ok(Math.abs(on255.terms[5]!.weight - 0.5e-6) < 1e-15);
});

/** `net` with every activation multiplied by a per-layer factor (another "weight source"). */
function rescaled<L extends string>(net: LossNetwork<L>, factor: (l: L) => number): LossNetwork<L> {
  return {
    ...net,
    name: `${net.name} rescaled`,
    extract<K extends L>(x: tf.Tensor4D, layers: readonly K[]): Record<K, tf.Tensor4D> {
      return tf.tidy(() => {
        const acts = net.extract(x, layers);
        return Object.fromEntries(layers.map((l) => [l, tf.mul(acts[l], factor(l))])) as Record<
          K,
          tf.Tensor4D
        >;
      });
    },
  };
}

Deno.test("featureScales: mean |activation| per layer, from one tape-free pass", async () => {
  const net = tinyNet();
  const imgs = randomImage(1, [2, 8, 8, 3]);
  net.calls.length = 0;
  const s = await featureScales(net, ["c2", "c4", "c2"], imgs);
  assert.equal(net.calls.length, 1);
  const acts = net.extract(imgs, ["c2", "c4"]);
  const mean = (x: tf.Tensor) =>
    Array.from(x.dataSync()).reduce((a, v) => a + Math.abs(v), 0) / x.size;
  assert.ok(Math.abs(s.c2 - mean(acts.c2)) < 1e-5 * mean(acts.c2));
  assert.ok(Math.abs(s.c4 - mean(acts.c4)) < 1e-5 * mean(acts.c4));
  const half = await featureScales(net, ["c2"], imgs, { reference: 0.5 });
  assert.ok(Math.abs(half.c2 - 2 * s.c2) < 1e-6);
  const nan = tf.fill([1, 4, 4, 3], NaN) as tf.Tensor4D;
  await assert.rejects(() => featureScales(net, ["c2"], nan), /mean activation NaN/);
  nan.dispose();
  tf.dispose([imgs, acts.c2, acts.c4]);
  net.dispose();
});

Deno.test("featureScales with a reference, and calibrate, read back asynchronously and leak nothing", async () => {
  const net = tinyNet();
  const imgs = randomImage(5, [2, 8, 8, 3]);
  const acts = net.extract(imgs, ["c2", "c4"]);
  const mean = (x: tf.Tensor) =>
    Array.from(x.dataSync()).reduce((a, v) => a + Math.abs(v), 0) / x.size;
  const before = tf.memory().numTensors;
  net.calls.length = 0;
  const s = await featureScales(net, ["c2", "c4"], imgs, { reference: 2 });
  assert.equal(net.calls.length, 1);
  assert.ok(Math.abs(s.c2 - mean(acts.c2) / 2) < 1e-5 * mean(acts.c2));
  assert.ok(Math.abs(s.c4 - mean(acts.c4) / 2) < 1e-5 * mean(acts.c4));
  const loss = await calibrate(
    fastaiFeatureLoss(net, { layers: ["c2", "c4", "c4"] }),
    net,
    imgs,
  );
  const scales = loss.terms.flatMap((t) => ("scale" in t ? [[t.layer, t.scale] as const] : []));
  for (const [layer, scale] of scales) {
    const want = mean(acts[layer as "c2" | "c4"]);
    assert.ok(Math.abs(scale - want) < 1e-5 * want, `${layer}: ${scale} vs ${want}`);
  }
  const nan = tf.fill([1, 4, 4, 3], NaN) as tf.Tensor4D;
  await assert.rejects(() => featureScales(net, ["c2"], nan), /mean activation NaN/);
  nan.dispose();
  assert.equal(tf.memory().numTensors, before);
  tf.dispose([imgs, acts.c2, acts.c4]);
  net.dispose();
});

Deno.test("calibrate makes a preset's value independent of the network's activation scale", async () => {
  const net = tinyNet();
  // a "caffe-like" source: same features, 40x larger at c2 and 700x at c4
  const big = rescaled(net, (l: TinyLayer) => (l === "c2" ? 40 : 700));
  const calibration = randomImage(2, [2, 8, 8, 3]);
  const pred = randomImage(3, [2, 8, 8, 3]);
  const target = randomImage(4, [2, 8, 8, 3]);
  const preset = fastaiFeatureLoss(net, { layers: ["c2", "c4", "c4"] });
  const a = await calibrate(preset, net, calibration);
  const b = await calibrate(preset, big, calibration);
  const va = evaluate(a, net)(pred, target);
  const vb = evaluate(b, big)(pred, target);
  for (const k of Object.keys(va.terms)) {
    const x = va.terms[k]!.dataSync()[0]!, y = vb.terms[k]!.dataSync()[0]!;
    assert.ok(Math.abs(x - y) <= 1e-4 * Math.abs(x), `${k}: ${x} vs ${y}`);
  }
  // uncalibrated, the Gram terms differ by factor², the feature terms by factor
  const ra = evaluate(preset, net)(pred, target), rb = evaluate(preset, big)(pred, target);
  const ratio = (k: string) => rb.terms[k]!.dataSync()[0]! / ra.terms[k]!.dataSync()[0]!;
  assert.ok(Math.abs(ratio("feature:c2") / 40 - 1) < 1e-4);
  assert.ok(Math.abs(ratio("style:c4") / 700 ** 2 - 1) < 1e-3);
  tf.dispose([va, vb, ra, rb] as unknown as tf.TensorContainer);
  await assertNoLeak(() => calibrate(preset, net, calibration), { label: "calibrate" });
  tf.dispose([calibration, pred, target]);
  net.dispose();
});

Deno.test("withFeatureScales only touches the named layers' feature and style terms", () => {
  const l = withFeatureScales(
    pipe(pixel(), plus(feature("c2")), plus(style("c2")), plus(feature("c4"))),
    { c2: 3 },
  );
  assert.deepEqual(l.terms.map((t) => "scale" in t ? t.scale : undefined), [undefined, 3, 3, 1]);
  assert.throws(() => withFeatureScales(feature("c2"), { c2: 0 }), InvalidTermOptionError);
});

Deno.test("presets type-check and run on the vgg module's networks (Johnson style transfer flow)", async () => {
  const { vgg16 } = await import("../src/vgg/mod.ts");
  using net = await vgg16({ weights: { random: 3 }, upTo: "block4_conv3" });
  const loss = johnson2016StyleTransfer(net);
  const styleImg = randomImage(5, [1, 24, 24, 3]);
  const content = randomImage(6, [2, 16, 16, 3]);
  const out = randomImage(7, [2, 16, 16, 3]);
  using fixed = precomputeTarget(loss, net, styleImg, { kinds: ["style"] });
  const fn = evaluate(loss, net, { target: fixed });
  const before = tf.memory().numTensors;
  const g = tf.grad((p: tf.Tensor) => fn(p as tf.Tensor4D, content).total)(out);
  assert.deepEqual(g.shape, [2, 16, 16, 3]);
  const size = tf.tidy(() => tf.sum(tf.abs(g)));
  assert.ok(Number.isFinite(size.dataSync()[0]!) && size.dataSync()[0]! > 0);
  size.dispose();
  g.dispose();
  assert.equal(tf.memory().numTensors, before);
  // fastai's default layers need block5, which this network was not built with
  assert.throws(() => fastaiFeatureLoss(net), LossInputError);
  tf.dispose([styleImg, content, out]);
});
