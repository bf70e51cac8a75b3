// LPIPS as a loss term built on the public term-kind API: it equals lpips().distance (values and
// gradients), composes with VGG terms in one loss where each network runs once per side, works
// with precomputed targets, calibrate (skipped), the trainer and JSON.
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
  encodeLossSpec,
  evaluate,
  feature,
  LossInputError,
  pixel,
  precomputeTarget,
  style,
} from "../src/loss/mod.ts";
import type { LossNetwork } from "../src/network/loss_network.ts";
import { lpips, lpipsNetwork, lpipsTerm } from "../src/lpips/mod.ts";
import { constant, trainer } from "../src/train/mod.ts";
import { vgg16 } from "../src/vgg/mod.ts";

await initBackend("cpu");

const image = (seed: number, n = 2, size = 40) =>
  tf.randomUniform([n, size, size, 3], 0, 1, "float32", seed) as tf.Tensor4D;

/** Counts the passes of `net.extract`. */
// deno-lint-ignore no-explicit-any
function counted<N extends LossNetwork<any>>(net: N): N & { passes: () => number } {
  let n = 0;
  const extract = net.extract.bind(net);
  (net as { extract: unknown }).extract = (x: tf.Tensor4D, layers: readonly string[]) => {
    n++;
    return extract(x, layers as never);
  };
  return Object.assign(net, { passes: () => n });
}

for (const net of ["alex", "squeeze"] as const) {
  Deno.test(`lpips term (${net}) equals lpips().distance, values and gradients`, () => {
    return (async () => {
      using metric = await lpips({ net });
      const [x, y] = [image(1), image(2)];
      const lossFn = evaluate(lpipsTerm({ net }), metric.network);
      const r = lossFn(x, y);
      const d = metric.distance(x, y);
      const want = tf.mean(d).dataSync()[0]!;
      assert.ok(Math.abs(r.total.dataSync()[0]! - want) < 1e-6 * Math.max(1, want));
      assert.deepEqual(Object.keys(r.terms), [`lpips:${net}`]);
      const gTerm = tf.grad((p: tf.Tensor) => lossFn(p as tf.Tensor4D, y).total)(x);
      const gDist = tf.grad((p: tf.Tensor) => tf.mean(metric.distance(p as tf.Tensor4D, y)))(x);
      const a = gTerm.dataSync(), b = gDist.dataSync();
      let worst = 0, scale = 0;
      for (let i = 0; i < a.length; i++) {
        worst = Math.max(worst, Math.abs(a[i]! - b[i]!));
        scale = Math.max(scale, Math.abs(b[i]!));
      }
      assert.ok(worst <= 1e-5 * scale, `gradient max |diff| ${worst} (max |g| ${scale})`);
      tf.dispose([x, y, r.total, r.terms, d, gTerm, gDist]);
    })();
  });
}

Deno.test("VGG and LPIPS terms in one loss: each network runs once per side", async () => {
  using vgg = counted(await vgg16({ weights: { random: 0 }, upTo: "relu2_2" }));
  using alex = counted(await lpipsNetwork({ net: "alex" }));
  const loss = concatLoss(
    concatLoss(feature("relu1_2"), style("relu2_2")),
    concatLoss(lpipsTerm({ weight: 2 }), pixel()),
  );
  assert.deepEqual(loss.networks, ["lpips-alex"]);
  const fn = evaluate(loss, vgg, { networks: [alex] });
  const [x, y] = [image(3), image(4)];
  const r = fn(x, y);
  assert.equal(vgg.passes(), 2, "VGG: one pass for the prediction, one for the target");
  assert.equal(alex.passes(), 2, "LPIPS: one pass for the prediction, one for the target");
  assert.deepEqual(Object.keys(r.terms), [
    "feature:relu1_2",
    "style:relu2_2",
    "lpips:alex",
    "pixel",
  ]);
  // the LPIPS part is 2 × the metric's batch mean
  using metric = await lpips({ net: "alex" });
  const d = metric.distance(x, y);
  const want = 2 * tf.mean(d).dataSync()[0]!;
  assert.ok(Math.abs(r.terms["lpips:alex"]!.dataSync()[0]! - want) < 1e-5);
  // the trainer's range check sees both networks' ranges
  assert.deepEqual(fn.network?.bounds, [0, 1]);
  assert.match(fn.network!.name, /vgg16.* and lpips-alex/);
  // without the LPIPS network, the error says how to pass it
  assert.throws(() => evaluate(loss, vgg), /reads the network "lpips-alex", which was not given/);
  // another network under the LPIPS key is refused by the term with the fix
  const taps = ["relu1", "relu2", "relu3", "relu4", "relu5"];
  const impostor: LossNetwork<string> = {
    name: "impostor",
    key: "lpips-alex",
    layers: taps,
    inputConvention: { preprocessing: "none", range: "[0,1]" },
    depthOf: (l) => taps.indexOf(l),
    extract: (x, layers) => Object.fromEntries(layers.map((l) => [l, tf.clone(x)])) as never,
    dispose() {},
    [Symbol.dispose]() {},
  };
  assert.throws(
    () => evaluate(lpipsTerm(), impostor)(x, y),
    (e) => e instanceof LossInputError && /needs an LpipsNetwork/.test(e.message),
  );
  tf.dispose([x, y, r.total, r.terms, d]);
});

Deno.test("lpips term: precomputed target, calibrate skips it, JSON round trip, no leaks", async () => {
  using vgg = await vgg16({ weights: { random: 0 }, upTo: "relu1_2" });
  using alex = await lpipsNetwork({ net: "alex" });
  const loss = concatLoss(feature("relu1_2"), lpipsTerm({ name: "lp" }));
  const opts = { networks: [alex] };
  const painting = image(5, 1);
  const preds = image(6, 2);
  const twice = tf.concat([painting, painting]) as tf.Tensor4D;
  const direct = evaluate(loss, vgg, opts)(preds, twice);
  {
    using fixed = precomputeTarget(loss, vgg, painting, opts);
    const viaFixed = evaluate(loss, vgg, { ...opts, target: fixed })(preds);
    assert.ok(Math.abs(viaFixed.terms.lp!.dataSync()[0]! - direct.terms.lp!.dataSync()[0]!) < 1e-6);
    tf.dispose([viaFixed.total, viaFixed.terms]);
  }
  const calibrated = await calibrate(loss, vgg, preds, opts);
  assert.notEqual((calibrated.terms[0] as { scale: number }).scale, 1, "feature term scaled");
  assert.deepEqual(calibrated.terms[1], loss.terms[1], "lpips term unchanged");
  const json = JSON.parse(JSON.stringify(encodeLossSpec(loss)));
  assert.deepEqual(json.terms[1], { kind: "lpips", weight: 1, name: "lp" });
  const back = decodeLossSpec(json);
  assert.ok(E.isRight(back));
  assert.deepEqual(back.right.terms, loss.terms);
  const bad = decodeLossSpec({ terms: [{ kind: "lpips", net: "vgg" }] });
  assert.ok(E.isLeft(bad));
  assert.match(
    bad.left.issues[0]!.message,
    /"vgg" is not a valid net; use one of "alex", "squeeze"/,
  );
  await assertNoLeak(() => {
    const r = evaluate(loss, vgg, opts)(preds, twice);
    tf.dispose([r.total, r.terms]);
  });
  tf.dispose([painting, preds, twice, direct.total, direct.terms]);
});

Deno.test("lpips term in the trainer: a step gives the evaluate values and leaks nothing", async () => {
  using alex = await lpipsNetwork({ net: "squeeze" });
  const inp = tfl.input({ shape: [24, 24, 3] });
  const out = tfl.layers.conv2d({
    filters: 3,
    kernelSize: 3,
    padding: "same",
    activation: "sigmoid",
  })
    .apply(inp) as tfl.SymbolicTensor;
  const model = tfl.model({ inputs: inp, outputs: out });
  const lossFn = evaluate(concatLoss(pixel(), lpipsTerm({ net: "squeeze" })), alex);
  const [x, y] = [image(7, 2, 24), image(8, 2, 24)];
  const want = tf.tidy(() => lossFn(model.predict(x) as tf.Tensor4D, y).total.dataSync()[0]!);
  using t = trainer({
    model,
    loss: lossFn,
    optimizer: tf.train.adam(1e-3),
    schedule: constant(1e-3),
  });
  const m = await t.step({ input: x, target: y });
  assert.ok(Math.abs(m.total - want) < 1e-5, `${m.total} vs ${want}`);
  const before = tf.memory().numTensors;
  await t.step({ input: x, target: y });
  assert.equal(tf.memory().numTensors, before);
  tf.dispose([x, y]);
  model.dispose();
});
