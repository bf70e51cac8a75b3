// VggNetwork.extract: one truncated pass, aliases, input conventions, input errors, gradients,
// and tensor lifetimes. References are independent: a plain (unfused, unfolded) tfjs forward
// written here from the seeded weights, hand-written preprocessing, and kernel counts.
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs-core";
import { initBackend } from "../src/backend/mod.ts";
import { assertNoLeak, DisposedError, scope } from "../src/lifetime/mod.ts";
import { NetworkInputError, UnknownLayerError } from "../src/network/mod.ts";
import { beforePools, johnsonStyle, LayerNotLoadedError, vgg16 } from "../src/vgg/mod.ts";
import { type VggConvSpec, vggOps } from "../src/vgg/_architecture.ts";
import { heConv } from "../src/vgg/_random_weights.ts";

await initBackend("cpu");

const SEED = 5;

function maxRel(a: tf.Tensor, b: tf.Tensor): number {
  return tf.tidy(() => tf.div(tf.norm(tf.sub(a, b)), tf.norm(b)).dataSync()[0]!);
}

/** The caffe forward written out plainly: RGB→BGR, ×255, −mean, conv2d + bias + relu, max pool. */
function plainForward(x: tf.Tensor4D, upTo: string): Record<string, tf.Tensor4D> {
  return tf.tidy(() => {
    let h = tf.reverse(tf.mul(x, 255), -1);
    h = tf.sub(h, tf.tensor1d([103.939, 116.779, 123.68]));
    const out: Record<string, tf.Tensor4D> = {};
    for (const op of vggOps("vgg16")) {
      if (op.kind === "conv") {
        const w = heConv(SEED, op as VggConvSpec);
        const k = tf.tensor4d(w.kernel, [3, 3, op.inChannels, op.outChannels]);
        h = tf.relu(tf.add(tf.conv2d(h as tf.Tensor4D, k, 1, "same"), tf.tensor1d(w.bias)));
      } else {
        h = tf.maxPool(h as tf.Tensor4D, 2, 2, "valid");
      }
      out[op.name] = h as tf.Tensor4D;
      if (op.name === upTo) break;
    }
    return out;
  });
}

function kernelCounts(f: () => tf.TensorContainer): Promise<Record<string, number>> {
  return tf.profile(f).then((info) => {
    tf.dispose(info.result as tf.TensorContainer);
    const counts: Record<string, number> = {};
    for (const k of info.kernels) counts[k.name] = (counts[k.name] ?? 0) + 1;
    return counts;
  });
}

Deno.test("extract equals a plain forward, and is truncated at the deepest requested layer", async () => {
  using net = await vgg16({ weights: { random: SEED }, upTo: "block3_conv1" });
  const x = tf.randomUniform([2, 20, 28, 3], 0, 1, "float32", 1) as tf.Tensor4D;
  const ref = plainForward(x, "block3_conv1");
  const got = net.extract(x, ["block1_conv1", "relu1_2", "pool1", "block2_conv2", "block3_conv1"]);
  assert.ok(maxRel(got.block1_conv1, ref.block1_conv1!) < 1e-5);
  assert.ok(maxRel(got.relu1_2, ref.block1_conv2!) < 1e-5);
  assert.ok(maxRel(got.pool1, ref.block1_pool!) < 1e-5);
  assert.ok(maxRel(got.block2_conv2, ref.block2_conv2!) < 1e-5);
  assert.ok(maxRel(got.block3_conv1, ref.block3_conv1!) < 1e-5);
  assert.deepEqual(got.block3_conv1.shape, [2, 5, 7, 256]);
  tf.dispose([got, ref]);

  // Kernel counts prove truncation and the single pass: asking for relu1_1 + relu2_2 runs the
  // same four fused convs as relu2_2 alone, and none of block 3.
  const shallow = await kernelCounts(() => net.extract(x, ["relu1_1", "relu2_2"]));
  assert.equal(shallow["FusedConv2D"], 4);
  assert.equal(shallow["MaxPool"], 1);
  assert.equal(shallow["Conv2D"] ?? 0, 0);
  const deeper = await kernelCounts(() => net.extract(x, ["block3_conv1"]));
  assert.equal(deeper["FusedConv2D"], 5);
  const none = await kernelCounts(() => net.extract(x, []));
  assert.equal(Object.keys(none).length, 0);
  x.dispose();
});

Deno.test("a full VGG-16 runs 13 fused convs for block5_conv3 and 4 for block2_conv2", async () => {
  await initBackend("wasm"); // the fast forward: this test runs all 13 convs thrice
  try {
    using net = await vgg16({ weights: { random: SEED } });
    const x = tf.zeros([1, 32, 32, 3]) as tf.Tensor4D;
    assert.equal((await kernelCounts(() => net.extract(x, ["block5_conv3"])))["FusedConv2D"], 13);
    assert.equal((await kernelCounts(() => net.extract(x, ["block2_conv2"])))["FusedConv2D"], 4);
    // fastai's and Johnson's selectors name layers this network has.
    const f = net.extract(x, [...beforePools(net), ...johnsonStyle]);
    assert.deepEqual(Object.keys(f).sort(), [
      "block1_conv2",
      "block2_conv2",
      "block3_conv3",
      "block4_conv3",
      "block5_conv3",
      "relu1_2",
      "relu2_2",
      "relu3_3",
      "relu4_3",
    ]);
    assert.deepEqual(f.relu4_3.shape, [1, 4, 4, 512]);
    assert.equal(maxRel(f.relu4_3, f.block4_conv3), 0);
    tf.dispose(f);
    x.dispose();
  } finally {
    await initBackend("cpu");
  }
});

Deno.test("aliases and Keras names give separate tensors with equal values", async () => {
  using net = await vgg16({ weights: { random: SEED }, upTo: "relu2_2" });
  assert.equal(net.depthOf("relu2_2"), net.depthOf("block2_conv2"));
  assert.equal(net.depthOf("pool1"), 2);
  assert.ok(net.depthOf("block5_pool") > net.depthOf("block5_conv3"));
  const x = tf.randomUniform([1, 8, 8, 3], 0, 1, "float32", 2) as tf.Tensor4D;
  const f = net.extract(x, ["relu2_2", "block2_conv2", "relu2_2"]);
  assert.deepEqual(Object.keys(f).sort(), ["block2_conv2", "relu2_2"]);
  assert.notEqual(f.relu2_2, f.block2_conv2);
  f.relu2_2.dispose();
  assert.ok(tf.sum(f.block2_conv2).dataSync()[0]! > 0); // still usable
  f.block2_conv2.dispose();
  x.dispose();
});

Deno.test("input conventions: ranges, grey inputs, caffe and torch preprocessing", async () => {
  const x = tf.randomUniform([1, 10, 12, 3], 0, 1, "float32", 3) as tf.Tensor4D;
  const upTo = "relu2_1" as const;
  using n01 = await vgg16({ weights: { random: SEED }, upTo });
  using n255 = await vgg16({ weights: { random: SEED }, upTo, inputRange: "[0,255]" });
  using nm11 = await vgg16({ weights: { random: SEED }, upTo, inputRange: "[-1,1]" });
  using none = await vgg16({
    weights: { random: SEED },
    upTo,
    preprocessing: "none",
    checkRange: false,
  });
  using torch = await vgg16({ weights: { random: SEED }, upTo, preprocessing: "torch" });
  assert.deepEqual(n255.inputConvention, { preprocessing: "caffe", range: "[0,255]" });
  const a = n01.extract(x, [upTo])[upTo];
  const x255 = tf.mul(x, 255) as tf.Tensor4D;
  const xm11 = tf.sub(tf.mul(x, 2), 1) as tf.Tensor4D;
  const b = n255.extract(x255, [upTo])[upTo];
  const c = nm11.extract(xm11, [upTo])[upTo];
  assert.ok(maxRel(b, a) < 1e-5 && maxRel(c, a) < 1e-5);
  // caffe by hand: BGR order, 0–255, minus Keras' mean [103.939, 116.779, 123.68].
  const caffe = tf.sub(tf.reverse(x255, -1), tf.tensor1d([103.939, 116.779, 123.68]));
  const d = none.extract(caffe as tf.Tensor4D, [upTo])[upTo];
  assert.ok(maxRel(d, a) < 1e-5);
  // torch by hand: (x − mean) / std, RGB.
  const tx = tf.div(
    tf.sub(x, tf.tensor1d([0.485, 0.456, 0.406])),
    tf.tensor1d([0.229, 0.224, 0.225]),
  );
  const e = none.extract(tx as tf.Tensor4D, [upTo])[upTo];
  const f = torch.extract(x, [upTo])[upTo];
  assert.ok(maxRel(f, e) < 1e-5);
  // Grey: one channel is repeated to three.
  const grey = tf.slice(x, [0, 0, 0, 1], [-1, -1, -1, 1]) as tf.Tensor4D;
  const g = n01.extract(grey, [upTo])[upTo];
  const h = n01.extract(tf.tile(grey, [1, 1, 1, 3]) as tf.Tensor4D, [upTo])[upTo];
  assert.ok(maxRel(g, h) < 1e-6);
  tf.dispose([x, a, x255, xm11, b, c, caffe, d, tx, e, f, grey, g, h]);
});

Deno.test("bad inputs are NetworkInputErrors that say what is wrong", async () => {
  using net = await vgg16({ weights: { random: SEED }, upTo: "block4_pool", checkRange: true });
  const is = (re: RegExp) => (e: Error) => e instanceof NetworkInputError && re.test(e.message);
  const t = (shape: number[], v = 0.5) => tf.fill(shape, v);
  const cases: [tf.Tensor, "relu1_1" | "pool4", RegExp][] = [
    [t([16, 16, 3]), "relu1_1", /rank 3.*NHWC/],
    [t([1, 16, 16, 4]), "relu1_1", /4 channels/],
    [tf.zeros([1, 16, 16, 3], "int32"), "relu1_1", /int32/],
    [t([1, 16, 16, 3], 200), "relu1_1", /\[0,255\]/],
    [t([1, 16, 16, 3], -1), "relu1_1", /\[-1,1\]/],
    [t([1, 16, 16, 3], NaN), "relu1_1", /NaN/],
    [t([1, 8, 40, 3]), "pool4", /8×40.*16×16/],
  ];
  for (const [x, layer, re] of cases) {
    await assertNoLeak(() => assert.throws(() => net.extract(x as tf.Tensor4D, [layer]), is(re)));
    x.dispose();
  }
  // Slight overshoot (an untrained generator's output) is fine; the check is off by default.
  const over = t([1, 16, 16, 3], 1.3) as tf.Tensor4D;
  tf.dispose(net.extract(over, ["relu1_1"]));
  using lax = await vgg16({ weights: { random: SEED }, upTo: "relu1_1" });
  const big = t([1, 4, 4, 3], 255) as tf.Tensor4D;
  tf.dispose(lax.extract(big, ["relu1_1"]));
  tf.dispose([over, big]);
});

Deno.test("unknown and unloaded layers are typed errors naming the layer", async () => {
  using net = await vgg16({ weights: { random: SEED }, upTo: "pool2" });
  const x = tf.zeros([1, 8, 8, 3]) as tf.Tensor4D;
  assert.throws(
    () => net.extract(x, ["block2_cov2" as "relu2_2"]),
    (e: Error) => e instanceof UnknownLayerError && /did you mean "block2_conv2"/.test(e.message),
  );
  assert.throws(
    () => net.extract(x, ["relu3_4" as "relu3_3"]),
    (e: Error) => e instanceof UnknownLayerError && /relu3_4/.test(e.message),
  );
  assert.throws(
    () => net.extract(x, ["relu3_1"]),
    (e: Error) =>
      e instanceof LayerNotLoadedError && /relu3_1/.test(e.message) && /upTo/.test(e.message),
  );
  await assert.rejects(
    () => vgg16({ weights: { random: 1 }, upTo: "block9_conv1" as "relu1_1" }),
    (e: Error) => e instanceof UnknownLayerError,
  );
  assert.deepEqual(net.layers, [
    "block1_conv1",
    "block1_conv2",
    "block1_pool",
    "block2_conv1",
    "block2_conv2",
    "block2_pool",
  ]);
  assert.equal(net.name, "vgg16(random:5, to block2_pool)");
  x.dispose();
});

for (const backend of ["cpu", "wasm"] as const) {
  Deno.test(`gradients to the input equal stock conv gradients, without filter gradients (${backend})`, async () => {
    await initBackend(backend);
    try {
      using net = await vgg16({ weights: { random: SEED }, upTo: "block2_conv1" });
      const x = tf.randomUniform([2, 8, 6, 3], 0, 1, "float32", 4) as tf.Tensor4D;
      const probe = tf.randomNormal([2, 4, 3, 128], 0, 1, "float32", 5);
      const ours = (v: tf.Tensor) =>
        tf.sum(tf.mul(net.extract(v as tf.Tensor4D, ["block2_conv1"]).block2_conv1, probe));
      const plain = (v: tf.Tensor) =>
        tf.sum(tf.mul(plainForward(v as tf.Tensor4D, "block2_conv1").block2_conv1!, probe));
      const g1 = scope(() => tf.grad(ours)(x));
      const g2 = scope(() => tf.grad(plain)(x));
      assert.ok(maxRel(g1, g2) < 1e-4, `rel ${maxRel(g1, g2)}`);
      const counts = await kernelCounts(() => tf.grad(ours)(x));
      assert.equal(counts["Conv2DBackpropFilter"] ?? 0, 0);
      await assertNoLeak(() => scope(() => tf.grad(ours)(x)), { warmup: 1 });
      tf.dispose([x, probe, g1, g2]);
    } finally {
      await initBackend("cpu");
    }
  });
}

Deno.test("extract leaks nothing; dispose returns the tensor count to its baseline", async () => {
  const before = tf.memory().numTensors;
  const net = await vgg16({ weights: { random: SEED }, upTo: "pool2" });
  assert.ok(tf.memory().numTensors > before);
  const x = tf.fill([1, 12, 12, 1], 0.25) as tf.Tensor4D;
  await assertNoLeak(() => net.extract(x, ["relu1_1", "pool1", "pool2", "relu2_2"]));
  await assertNoLeak(() => net.extract(x, []));
  x.dispose();
  net.dispose();
  net.dispose();
  assert.equal(tf.memory().numTensors, before);
  assert.throws(() => net.extract(x, ["relu1_1"]), (e: Error) => e instanceof DisposedError);
  // Loading leaks nothing either, also when it fails.
  await assertNoLeak(() => vgg16({ weights: { random: 1 }, upTo: "relu1_2" }));
  await assertNoLeak(() =>
    vgg16({ weights: "tests/fixtures/vgg_block1/tfjs", upTo: "relu2_1" }).catch((e) => e)
  );
});
