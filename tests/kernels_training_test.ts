// Training convolutions on wasm with the project's kernels: tf.grad, fused conv+bias+ReLU,
// a tfjs-layers model with an optimizer, and no leaks (engine tensors and backend buffers).
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs-core";
import * as tfl from "@tensorflow/tfjs-layers";
import {
  initBackend,
  installTrainingKernels,
  uninstallTrainingKernels,
} from "../src/backend/mod.ts";
import { clearDerivedCache, KernelIo } from "../src/backend/_kernels/mod.ts";

/** Run `fn` on the cpu backend with its stock kernels only: the independent reference. */
async function onStockCpu<T>(fn: () => T | Promise<T>): Promise<T> {
  await initBackend("cpu");
  uninstallTrainingKernels("cpu");
  try {
    return await fn();
  } finally {
    installTrainingKernels("cpu");
  }
}

function values(seed: number, n: number): Float32Array {
  const out = new Float32Array(n);
  let s = seed;
  for (let i = 0; i < n; i++) {
    s = (s * 1103515245 + 12345) % 2147483648;
    out[i] = s / 1073741824 - 1;
  }
  return out;
}

function maxRelative(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let d = 0;
  let m = 0;
  for (let i = 0; i < b.length; i++) {
    d = Math.max(d, Math.abs(a[i]! - b[i]!));
    m = Math.max(m, Math.abs(b[i]!));
  }
  return d / (m || 1);
}

/** Gradients of a two-conv stack (stride 2 then fused conv+bias+ReLU) w.r.t. all inputs. */
function stackGradients(): Float32Array[] {
  return tf.tidy(() => {
    const x = tf.tensor4d(values(1, 2 * 9 * 7 * 3), [2, 9, 7, 3]);
    const w1 = tf.tensor4d(values(2, 3 * 3 * 3 * 4), [3, 3, 3, 4]);
    const w2 = tf.tensor4d(values(3, 3 * 3 * 4 * 5), [3, 3, 4, 5]);
    const b2 = tf.tensor1d(values(4, 5));
    const f = (xx: tf.Tensor, a: tf.Tensor, b: tf.Tensor, bias: tf.Tensor) => {
      const h = tf.conv2d(xx as tf.Tensor4D, a as tf.Tensor4D, 2, "same");
      const y = tf.fused.conv2d({
        x: h,
        filter: b as tf.Tensor4D,
        strides: 1,
        pad: "valid",
        bias,
        activation: "relu",
      });
      return tf.sum(tf.square(y));
    };
    const grads = tf.grads(f)([x, w1, w2, b2]);
    return grads.map((g) => g.dataSync() as Float32Array);
  });
}

Deno.test("tf.grad through conv2d and fused conv2d (bias + ReLU) on wasm matches cpu", async () => {
  const reference = await onStockCpu(stackGradients);
  await initBackend("wasm");
  try {
    const got = stackGradients();
    for (let i = 0; i < got.length; i++) {
      const e = maxRelative(got[i]!, reference[i]!);
      assert.ok(e <= 1e-5, `gradient ${i}: relative error ${e}`);
    }
  } finally {
    await initBackend("cpu");
  }
});

/** A small conv net trained a few SGD steps with tfjs-layers; returns the losses and weights. */
async function trainLayers(): Promise<{ losses: number[]; weights: Float32Array[] }> {
  const model = tfl.sequential({
    layers: [
      tfl.layers.conv2d({
        inputShape: [8, 10, 2],
        filters: 4,
        kernelSize: 3,
        padding: "same",
        activation: "relu",
      }),
      tfl.layers.conv2d({ filters: 3, kernelSize: 3, strides: 2, padding: "valid" }),
    ],
  });
  model.setWeights(model.getWeights().map((w, i) => tf.tensor(values(10 + i, w.size), w.shape)));
  model.compile({ optimizer: tf.train.sgd(0.05), loss: "meanSquaredError" });
  const x = tf.tensor4d(values(20, 3 * 8 * 10 * 2), [3, 8, 10, 2]);
  const y = tf.tensor4d(values(21, 3 * 3 * 4 * 3), [3, 3, 4, 3]);
  const losses: number[] = [];
  for (let i = 0; i < 4; i++) losses.push(await model.trainOnBatch(x, y) as number);
  const weights = model.getWeights().map((w) => w.dataSync() as Float32Array);
  model.dispose();
  tf.dispose([x, y]);
  return { losses, weights };
}

Deno.test("a tfjs-layers conv model trains on wasm like on cpu (same losses and weights)", async () => {
  const reference = await onStockCpu(trainLayers);
  await initBackend("wasm");
  try {
    const got = await trainLayers();
    assert.ok(got.losses[3]! < got.losses[0]!, `loss should fall: ${got.losses}`);
    for (let i = 0; i < 4; i++) {
      assert.ok(
        Math.abs(got.losses[i]! - reference.losses[i]!) <= 1e-5 * Math.abs(reference.losses[i]!),
        `step ${i}: wasm loss ${got.losses[i]} vs cpu ${reference.losses[i]}`,
      );
    }
    got.weights.forEach((w, i) => {
      const e = maxRelative(w, reference.weights[i]!);
      assert.ok(e <= 1e-5, `weight ${i} after training: relative error ${e}`);
    });
  } finally {
    await initBackend("cpu");
  }
});

Deno.test("conv gradients on wasm leak neither tensors nor backend buffers", async () => {
  await initBackend("wasm");
  try {
    const backend = tf.backend();
    // Flips cached by earlier tests would be swept during this one: start from an empty cache.
    clearDerivedCache(new KernelIo(backend, "wasm"));
    const baseline = backend.numDataIds();
    const x = tf.tensor4d(values(5, 2 * 12 * 10 * 3), [2, 12, 10, 3]);
    const w = tf.tensor4d(values(6, 3 * 3 * 3 * 4), [3, 3, 3, 4]);
    const wd = tf.tensor4d(values(7, 3 * 3 * 3 * 2), [3, 3, 3, 2]);
    const step = () =>
      tf.tidy(() => {
        const f = (a: tf.Tensor, b: tf.Tensor, c: tf.Tensor) => {
          const h = tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, 2, "same");
          const d = tf.depthwiseConv2d(a as tf.Tensor4D, c as tf.Tensor4D, 1, "valid");
          return tf.add(tf.sum(tf.square(h)), tf.sum(d));
        };
        const gs = tf.grads(f)([x, w, wd]);
        return tf.addN(gs.map((g) => tf.sum(g)));
      });
    step().dispose();
    const tensors = tf.memory().numTensors;
    const buffers = backend.numDataIds();
    for (let i = 0; i < 5; i++) step().dispose();
    assert.equal(tf.memory().numTensors, tensors, "engine tensors grew");
    assert.equal(backend.numDataIds(), buffers, "backend buffers grew (a kernel intermediate)");
    tf.dispose([x, w, wd]);
    // The flipped filters cached for live weights go once their weights are gone.
    const dx = () =>
      tf.tidy(() =>
        tf.grad((a: tf.Tensor) =>
          tf.sum(tf.conv2d(a as tf.Tensor4D, tf.ones([3, 3, 2, 2]), 1, "same"))
        )(
          tf.ones([1, 5, 5, 2]),
        )
      );
    dx().dispose();
    assert.equal(backend.numDataIds() - baseline, 1, `only the last filter's flip stays cached`);
    clearDerivedCache(new KernelIo(backend, "wasm"));
    assert.equal(backend.numDataIds(), baseline);
  } finally {
    await initBackend("cpu");
  }
});
