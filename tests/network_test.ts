// The loss-network contract module: selectors, layer membership, and the one unknown-layer error.
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs-core";
import { initBackend } from "../src/backend/mod.ts";
import { PerceptualError } from "../src/errors/mod.ts";
import { evaluate, feature } from "../src/loss/mod.ts";
import {
  assertInputRange,
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
