// InstanceNorm against PyTorch's InstanceNorm2d(affine=True), in U-Nets, saved and tiled.
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs-core";
import { initBackend } from "../src/backend/mod.ts";
import { assertNoLeak } from "../src/lifetime/mod.ts";
import { decodeUNetConfig, loadModel, predictImage, saveModel, unet } from "../src/unet/mod.ts";
import { InstanceNorm } from "../src/unet/instance_norm.ts";
import { noise } from "./unet_test_helpers.ts";

await initBackend("cpu");

// x = noise(36, 5) and r = noise(36, 9) as NHWC [2, 3, 3, 2], γ = [1.5, −0.5], β = [0.1, 0.2]:
// y = InstanceNorm2d(2, affine=True)(x), and the gradients of sum(y·r), from PyTorch 1.13.
const Y = [
  -0.507974,
  -0.114948,
  -0.472909,
  -0.341110,
  2.801064,
  0.580631,
  1.296668,
  0.841781,
  -1.799016,
  -0.371220,
  -1.702180,
  0.952509,
  1.291300,
  0.049498,
  -1.127882,
  -0.326660,
  1.120930,
  0.529518,
  1.111447,
  0.998271,
  1.647457,
  0.316259,
  0.460750,
  -0.298358,
  -0.327937,
  0.024430,
  1.646965,
  0.090543,
  -0.831249,
  0.650039,
  -1.978697,
  -0.770743,
  -2.464736,
  0.185986,
  1.636000,
  0.603574,
];
const DX = [
  -1.052845,
  0.380294,
  4.089835,
  0.368066,
  0.684220,
  0.478626,
  -0.757974,
  -0.304013,
  -2.406066,
  0.160005,
  3.108142,
  -0.240947,
  0.503278,
  -0.150303,
  -2.423606,
  -0.945866,
  -1.744982,
  0.254139,
  -1.929903,
  0.290613,
  1.466442,
  0.116837,
  0.059505,
  -0.782857,
  -1.684099,
  0.921836,
  -0.437557,
  0.268688,
  1.895228,
  0.021918,
  1.528853,
  0.231866,
  -1.448661,
  -0.483964,
  0.550193,
  -0.584937,
];
const DGAMMA = [0.047154, -5.173160];
const DBETA = [-3.953982, 1.393905];

function maxAbsDiff(a: ArrayLike<number>, b: readonly number[]): number {
  assert.equal(a.length, b.length);
  return Math.max(...b.map((v, i) => Math.abs(a[i]! - v)));
}

Deno.test("InstanceNorm matches PyTorch's InstanceNorm2d(affine=True): values and gradients", () => {
  const layer = new InstanceNorm({ name: "in" });
  const x = tf.tensor4d(noise(36, 5), [2, 3, 3, 2]);
  const r = tf.tensor4d(noise(36, 9), [2, 3, 3, 2]);
  // Built with γ = 1, β = 0: the reference's output with its affine undone.
  const y = layer.apply(x) as tf.Tensor;
  const plain = Y.map((v, i) => i % 2 === 0 ? (v - 0.1) / 1.5 : (v - 0.2) / -0.5);
  assert.ok(maxAbsDiff(y.dataSync(), plain) < 5e-5, "γ = 1, β = 0");
  const affine = [tf.tensor1d([1.5, -0.5]), tf.tensor1d([0.1, 0.2])];
  layer.setWeights(affine);
  tf.dispose(affine);
  const [gamma, beta] = layer.trainableWeights.map((w) => w.read() as tf.Variable);
  const y2 = layer.apply(x) as tf.Tensor;
  assert.ok(maxAbsDiff(y2.dataSync(), Y) < 2e-5, "γ, β set: the reference's affine");
  const f = (input: tf.Tensor) => tf.sum(tf.mul(layer.apply(input) as tf.Tensor, r)) as tf.Scalar;
  const dx = tf.grad(f)(x);
  assert.ok(maxAbsDiff(dx.dataSync(), DX) < 1e-4, "dL/dx");
  const { value, grads } = tf.variableGrads(() => f(x), [gamma!, beta!]);
  assert.ok(maxAbsDiff(grads[gamma!.name]!.dataSync(), DGAMMA) < 1e-4, "dL/dγ");
  assert.ok(maxAbsDiff(grads[beta!.name]!.dataSync(), DBETA) < 1e-4, "dL/dβ");
  tf.dispose([x, r, y, y2, dx, value, grads]);
  layer.dispose();
});

Deno.test("InstanceNorm: each image and channel normalised alone; a constant image gives β", () => {
  const layer = new InstanceNorm({ name: "in" });
  // Image 0 at scale 1, image 1 the same ×100 + 7: the same normalised output.
  const a = tf.tensor4d(noise(2 * 4 * 4 * 3, 3), [2, 4, 4, 3]);
  const b = tf.add(tf.mul(a, 100), 7);
  const ya = layer.apply(a) as tf.Tensor;
  const yb = layer.apply(b) as tf.Tensor;
  assert.ok(maxAbsDiff(yb.dataSync(), Array.from(ya.dataSync())) < 1e-4);
  const mean = tf.mean(ya, [1, 2]);
  assert.ok(Math.max(...Array.from(mean.dataSync(), Math.abs)) < 1e-5);
  const flat = layer.apply(tf.fill([1, 4, 4, 3], 5)) as tf.Tensor;
  assert.deepEqual(Array.from(flat.dataSync()), new Array(48).fill(0));
  tf.dispose([a, b, ya, yb, mean, flat]);
  layer.dispose();
  assert.throws(() => new InstanceNorm({ epsilon: 0 }), /epsilon must be > 0/);
});

Deno.test("unet({ norm: 'instance' }): no biases before the norms; saved and loaded, same output", async () => {
  assert.ok(decodeUNetConfig({ norm: "instance" })._tag === "Right");
  const model = unet({ depth: 2, baseFilters: 4, norm: "instance", outputRange: [0, 1], seed: 3 });
  const norms = model.layers.filter((l) => l.getClassName() === "PerceptualInstanceNorm");
  assert.equal(norms.length, 10, "two per conv block: 2 encoder, bottom, 2 decoder");
  for (const l of model.layers.filter((l) => /_conv\d$/.test(l.name))) {
    assert.equal(l.getConfig().useBias, false, l.name);
  }
  const dir = await Deno.makeTempDir();
  try {
    await saveModel(model, dir);
    const loaded = await loadModel(dir);
    const x = tf.randomUniform([1, 16, 16, 3], 0, 1, "float32", 1);
    const a = model.predict(x) as tf.Tensor;
    const b = loaded.predict(x) as tf.Tensor;
    assert.ok(maxAbsDiff(b.dataSync(), Array.from(a.dataSync())) < 1e-6);
    tf.dispose([x, a, b]);
    loaded.dispose();
  } finally {
    model.dispose();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("predictImage: an instance-norm model is predicted whole; tiles need an explicit overlap", () => {
  const model = unet({ depth: 2, baseFilters: 4, norm: "instance", outputRange: [0, 1], seed: 4 });
  const image = tf.randomUniform([1, 40, 48, 3], 0, 1, "float32", 2) as tf.Tensor4D;
  const whole = model.predict(image) as tf.Tensor;
  // A budget that would tile a model without per-image statistics.
  const out = predictImage(model, image, { maxElements: 2000 });
  assert.ok(maxAbsDiff(out.dataSync(), Array.from(whole.dataSync())) < 1e-6);
  assert.throws(() => predictImage(model, image, { tileSize: 16 }), /instance norm.*overlap/s);
  const tiled = predictImage(model, image, { tileSize: 32, overlap: 8 });
  assert.deepEqual(tiled.shape, whole.shape);
  assert.ok(
    maxAbsDiff(tiled.dataSync(), Array.from(whole.dataSync())) > 1e-4,
    "tiles normalised on their own statistics do differ (so tiling is not silently exact)",
  );
  tf.dispose([image, whole, out, tiled]);
  model.dispose();
});

Deno.test("InstanceNorm and an instance-norm U-Net leak no tensors", async () => {
  const model = unet({ depth: 1, baseFilters: 4, norm: "instance", seed: 5 });
  const x = tf.randomUniform([2, 8, 8, 3], 0, 1, "float32", 6);
  const vars = model.trainableWeights.map((w) => w.read() as tf.Variable);
  await assertNoLeak(() => {
    const y = predictImage(model, x as tf.Tensor4D);
    const { value, grads } = tf.variableGrads(
      () => tf.mean(model.apply(x, { training: true }) as tf.Tensor) as tf.Scalar,
      vars,
    );
    tf.dispose([y, value, grads]);
  });
  tf.dispose(x);
  model.dispose();
});
