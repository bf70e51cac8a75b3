// The loss-network contract module: selectors, layer membership, and the one unknown-layer error.
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs-core";
import { initBackend } from "../src/backend/mod.ts";
import { PerceptualError } from "../src/errors/mod.ts";
import { evaluate, feature } from "../src/loss/mod.ts";
import * as tfl from "@tensorflow/tfjs-layers";
import type { SymbolicTensor } from "@tensorflow/tfjs-layers";
import {
  assertInputRange,
  checkInputConvention,
  fromLayersModel,
  layersBeforePools,
  type LossNetwork,
  NetworkInputError,
  UnknownLayerError,
} from "../src/network/mod.ts";
import { networkHasLayer } from "../src/network/loss_network.ts";
import { vgg16 } from "../src/vgg/mod.ts";

await initBackend("cpu");

Deno.test("layersBeforePools picks the layer before each pool, skipping pool runs", () => {
  const layers = ["c1", "c2", "pool1", "pool1b", "c3", "pool2", "c4"];
  assert.deepEqual(layersBeforePools({ layers }), ["c2", "c3"]);
  assert.deepEqual(layersBeforePools({ layers: ["pool0", "c1"] }), []);
});

Deno.test("a truncated VGG knows deeper names but does not have them", async () => {
  using net = await vgg16({ weights: { random: 1 }, upTo: "block2_conv2" });
  assert.equal(networkHasLayer(net, "relu2_2"), true); // alias of block2_conv2
  assert.equal(networkHasLayer(net, "block3_conv1"), false);
  assert.equal(networkHasLayer(net, "block9_conv1"), false);
});

Deno.test("networks and losses throw the same UnknownLayerError for an unknown layer", async () => {
  using net = await vgg16({ weights: { random: 1 }, upTo: "block2_conv2" });
  const x = tf.zeros([1, 8, 8, 3]) as tf.Tensor4D;
  assert.throws(
    () => net.extract(x, ["block2_cov2" as never]),
    (e) =>
      e instanceof UnknownLayerError && e instanceof PerceptualError &&
      e.layer === "block2_cov2" && /did you mean "block2_conv2"/.test(e.message),
  );
  x.dispose();
  const toy: LossNetwork<"a"> = {
    name: "toy",
    layers: ["a"],
    inputConvention: { preprocessing: "none", range: "[0,1]" },
    depthOf: (l) => ["a"].indexOf(l),
    extract: () => ({}) as never,
    dispose() {},
    [Symbol.dispose]() {},
  };
  assert.throws(
    // @ts-expect-error: "b" is not a layer of the toy network
    () => evaluate(feature("b"), toy),
    (e) =>
      e instanceof UnknownLayerError && /^feature:b: "b" is not a layer of toy/.test(e.message),
  );
});

Deno.test("assertInputRange reads back asynchronously and names the likely mistake", async () => {
  using net = await vgg16({ weights: { random: 1 }, upTo: "block1_conv1" });
  const before = tf.memory().numTensors;
  const x255 = tf.fill([1, 4, 4, 3], 200);
  await assert.rejects(
    () => assertInputRange(net, x255),
    (e) => e instanceof NetworkInputError && /\[200, 200\].*"\[0,255\]"/.test(e.message),
  );
  const nan = tf.fill([1, 4, 4, 3], NaN);
  await assert.rejects(() => assertInputRange(net, nan), /NaN or infinite/);
  const over = tf.fill([1, 4, 4, 3], 1.3); // an untrained generator's overshoot is fine
  await assertInputRange(net, over);
  tf.dispose([x255, nan, over]);
  assert.equal(tf.memory().numTensors, before);
});

Deno.test("fromLayersModel: a custom mean/std convention and a custom range", () => {
  // a 1×1 identity convolution: its activation IS the preprocessed input
  const input = tfl.input({ shape: [2, 2, 3] });
  const conv = tfl.layers.conv2d({ filters: 3, kernelSize: 1, useBias: false, name: "id" });
  const model = tfl.model({ inputs: input, outputs: conv.apply(input) as SymbolicTensor });
  conv.setWeights([tf.reshape(tf.eye(3), [1, 1, 3, 3])]);
  const mean = [0.5, 0.25, 0.125] as const;
  const std = [0.5, 0.25, 2] as const;
  using net = fromLayersModel(model, ["id"], {
    inputConvention: { preprocessing: { mean, std }, range: [0, 4095] },
  });
  // a 12-bit image: 4095 is white; (x/4095 − mean) / std per channel
  const x = tf.fill([1, 2, 2, 3], 4095 / 2) as tf.Tensor4D;
  const out = net.extract(x, ["id"]);
  const got = Array.from(out.id.dataSync().slice(0, 3));
  const want = [0, 1, 2].map((c) => (0.5 - mean[c]!) / std[c]!);
  got.forEach((g, c) =>
    assert.ok(Math.abs(g - want[c]!) < 1e-5, `channel ${c}: ${g} vs ${want[c]}`)
  );
  tf.dispose([x, out]);
  // the loss knows the range: a trainer's divergence check uses its bounds
  const fn = evaluate(feature("id"), net);
  assert.deepEqual(fn.network?.bounds, [0, 4095]);
  assert.equal(fn.network?.range, "[0,4095]");
  // bad conventions are named
  assert.throws(
    () => checkInputConvention({ preprocessing: { mean, std: [1, 0, 1] }, range: "[0,1]" }),
    /std > 0/,
  );
  assert.throws(
    () => checkInputConvention({ preprocessing: "none", range: [1, 0] }),
    /lo < hi/,
  );
});
