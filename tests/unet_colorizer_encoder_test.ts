// A colouriser on a frozen pretrained encoder: the encoder inside the model computes exactly the
// VGG network's own features (checked against `extract`, a separate code path), scaled by the
// skip scales; only the decoder trains; a zero head returns the grey input; the model survives
// save and load; the errors say what was wrong.
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs-core";
import * as tfl from "@tensorflow/tfjs-layers";
import { initBackend } from "../src/backend/mod.ts";
import { assertNoLeak, DisposedError } from "../src/lifetime/mod.ts";
import { type FrozenEncoder, UnknownLayerError } from "../src/network/mod.ts";
import { colorizer, loadModel, saveModel } from "../src/unet/mod.ts";
import { LayerNotLoadedError, vgg16, vgg19 } from "../src/vgg/mod.ts";

await initBackend("wasm");

function maxAbs(a: tf.Tensor, b: tf.Tensor): number {
  return tf.tidy(() => tf.max(tf.abs(tf.sub(a, b))).dataSync()[0]!);
}

Deno.test("the encoder inside a colouriser computes the VGG network's features, scaled", async () => {
  using net = await vgg19({ weights: { random: 4 }, upTo: "block3_conv4" });
  const grey = tf.randomUniform([2, 16, 24, 1], 0, 1, "float32", 9) as tf.Tensor4D;
  const enc = await net.encoder("block3_conv4", grey);
  assert.deepEqual(enc.stages.map((s) => s.map((c) => c.name)), [
    ["block1_conv1", "block1_conv2"],
    ["block2_conv1", "block2_conv2"],
    ["block3_conv1", "block3_conv2", "block3_conv3", "block3_conv4"],
  ]);
  // caffe convention from [0, 1]: 255·x − the ImageNet mean (R 123.68, G 116.779, B 103.939).
  assert.deepEqual(enc.inputScale, [255, 255, 255]);
  assert.deepEqual(enc.inputOffset.map((v) => Math.round(v * 1000) / 1000), [
    -123.68,
    -116.779,
    -103.939,
  ]);
  const model = colorizer({ baseFilters: 4, seed: 2, norm: "none" }, { encoder: enc });
  const names = ["block1_conv2", "block2_conv2", "block3_conv4"] as const;
  const ref = net.extract(grey, names);
  const sub = tfl.model({
    inputs: model.inputs,
    outputs: names.map((l) => model.getLayer(`encoder_${l}`).output as tfl.SymbolicTensor),
  });
  const got = sub.predict(grey) as tf.Tensor[];
  names.forEach((l, i) => {
    assert.deepEqual(got[i]!.shape, ref[l].shape, l);
    // Skip scale = 1 / mean activation on the calibration images, so the skip's mean is 1.
    const mean = tf.tidy(() => tf.mean(ref[l]).dataSync()[0]!);
    assert.ok(Math.abs(enc.skipScales[i]! - 1 / mean) < 1e-6 / mean, `${l} scale`);
    const want = tf.mul(ref[l], enc.skipScales[i]!);
    assert.ok(maxAbs(got[i]!, want) < 1e-4, `${l}: ${maxAbs(got[i]!, want)}`);
    want.dispose();
  });
  tf.dispose([...got, ...Object.values(ref), grey]);
  // Only the decoder and head train; the encoder's 16 kernels and biases (+ the input map) do not.
  const frozen = model.nonTrainableWeights.map((w) => w.originalName);
  assert.equal(frozen.length, 2 * (1 + 8));
  assert.ok(frozen.every((n) => n.startsWith("encoder_")), frozen.join());
  assert.ok(model.trainableWeights.every((w) => !w.originalName.startsWith("encoder_")));
  assert.ok(model.trainableWeights.some((w) => w.originalName.startsWith("head")));
  model.dispose();
});

Deno.test("an encoder colouriser with a zero head returns the grey input; it saves and loads", async () => {
  using net = await vgg16({ weights: { random: 1 }, upTo: "block2_conv2" });
  const enc = await net.encoder("relu2_2"); // aliases name the same layer
  assert.deepEqual(enc.skipScales, [1, 1]); // no calibration images
  const model = colorizer({ baseFilters: 4, seed: 5 }, { encoder: enc });
  const grey = tf.randomUniform([1, 12, 10, 1], 0, 1, "float32", 2) as tf.Tensor4D;
  const g = Array.from(grey.dataSync()).flatMap((v) => [v, v, v]);
  // A seeded head adds some colour; zeroed, the output is the input in all channels, bit for bit.
  const before = model.predict(grey) as tf.Tensor;
  assert.notDeepEqual(Array.from(before.dataSync()), g);
  const head = model.getLayer("head");
  const zeros = head.getWeights().map((w) => tf.zerosLike(w));
  head.setWeights(zeros);
  const out = model.predict(grey) as tf.Tensor;
  assert.deepEqual(Array.from(out.dataSync()), g);
  // Non-zero head again, then a save/load round trip: same output, encoder still frozen.
  head.setWeights(head.getWeights().map((w) => tf.onesLike(w)));
  const coloured = model.predict(grey) as tf.Tensor;
  const dir = await Deno.makeTempDir();
  await saveModel(model, dir);
  const loaded = await loadModel(dir);
  const again = loaded.predict(grey) as tf.Tensor;
  assert.ok(maxAbs(again, coloured) < 1e-6);
  assert.equal(loaded.getLayer("encoder_block1_conv1").trainable, false);
  assert.equal(loaded.nonTrainableWeights.length, model.nonTrainableWeights.length);
  // An input the encoder's pools cannot halve evenly is refused with the size it needs.
  assert.throws(() => loaded.predict(tf.zeros([1, 9, 10, 1])), /multiple|divis/i);
  tf.dispose([...zeros, grey, before, out, coloured, again]);
  loaded.dispose();
  model.dispose();
  await Deno.remove(dir, { recursive: true });
});

Deno.test("encoder() and the encoder colouriser refuse what they cannot build", async () => {
  using net = await vgg16({ weights: { random: 1 }, upTo: "block2_conv1" });
  await assert.rejects(() => net.encoder("block2_conv2"), LayerNotLoadedError);
  await assert.rejects(() => net.encoder("block1_pool"), /pooling layer.*block1_conv2/);
  await assert.rejects(() => net.encoder("block1_conv3" as never), UnknownLayerError);
  // A stage may end inside a block: block 2 is its first conv only.
  const partial = await net.encoder("block2_conv1");
  assert.deepEqual(partial.stages.map((s) => s.length), [2, 1]);
  const enc: FrozenEncoder = await net.encoder("block1_conv2");
  assert.throws(
    () => colorizer({}, { encoder: { ...enc, skipScales: [1, 1] } }),
    /one positive skip scale per stage/,
  );
  assert.throws(() => colorizer({}, { encoder: { ...enc, skipScales: [0] } }), RangeError);
  const other = await vgg16({ weights: { random: 1 }, upTo: "block1_conv2" });
  other.dispose();
  await assert.rejects(() => other.encoder("block1_conv2"), DisposedError);
});

Deno.test("encoder() and an encoder colouriser leak no tensors", async () => {
  using net = await vgg16({ weights: { random: 1 }, upTo: "block2_conv2" });
  await assertNoLeak(async () => {
    const grey = tf.ones([1, 8, 8, 1]) as tf.Tensor4D;
    const model = colorizer({ baseFilters: 4 }, {
      encoder: await net.encoder("block2_conv2", grey),
    });
    const y = model.predict(grey) as tf.Tensor;
    tf.dispose([grey, y]);
    model.dispose();
  });
});
