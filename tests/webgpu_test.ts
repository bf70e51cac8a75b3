/**
 * The webgpu backend against the cpu backend: a VGG block's forward pass and gradients, and one
 * U-Net training step, agree within 1e-4 (relative to the largest reference value).
 *
 * Runs on any WebGPU adapter, the software one (mesa's llvmpipe via Vulkan) included; without an
 * adapter the tests are ignored and the reason is printed. Tensors are never shared between the
 * backends: each side builds its own from the same seeded Float32Arrays.
 */
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs-core";
import { initBackend } from "../src/backend/mod.ts";
import { guardWebgpuSyncReads, WebGpuSyncReadError } from "../src/backend/webgpu_sync_read.ts";
import { mulberry32 } from "../src/data/rng.ts";
import { unet, type UNetConfig } from "../src/unet/mod.ts";
import { vgg16 } from "../src/vgg/mod.ts";
import { concatLoss, evaluate, feature, pixel } from "../src/loss/mod.ts";
import { trainer } from "../src/train/mod.ts";

const TOLERANCE = 1e-4;

/** Why the WebGPU tests cannot run here, or undefined when an adapter exists. Decided at load. */
async function webgpuMissing(): Promise<string | undefined> {
  const gpu = (globalThis.navigator as { gpu?: GPU } | undefined)?.gpu;
  if (gpu === undefined) return "navigator.gpu is absent in this runtime";
  try {
    const adapter = await gpu.requestAdapter();
    if (adapter === null) {
      return "no WebGPU adapter (no Vulkan driver: install mesa-vulkan-drivers for a software one)";
    }
  } catch (e) {
    return `navigator.gpu.requestAdapter() failed: ${e instanceof Error ? e.message : e}`;
  }
  return undefined;
}

const missing = await webgpuMissing();
if (missing !== undefined) console.log(`webgpu tests ignored: ${missing}`);

/** Seeded values, uniform in [-scale, scale). */
function seeded(seed: number, n: number, scale: number): Float32Array {
  const rng = mulberry32(seed);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = (rng.next() * 2 - 1) * scale;
  return out;
}

/** Reads a tensor's values; async because webgpu has no synchronous read under Deno. */
async function read(x: tf.Tensor): Promise<Float32Array> {
  return new Float32Array(await x.data());
}

/** max |a - b| / max |reference|: the error relative to the reference's scale. */
function relativeError(actual: Float32Array, reference: Float32Array): number {
  assert.equal(actual.length, reference.length);
  let diff = 0, scale = 0;
  for (let i = 0; i < reference.length; i++) {
    diff = Math.max(diff, Math.abs(actual[i]! - reference[i]!));
    scale = Math.max(scale, Math.abs(reference[i]!));
  }
  assert.ok(scale > 0, "the reference is all zeros: the comparison would prove nothing");
  return diff / scale;
}

function assertClose(
  label: string,
  actual: Record<string, Float32Array>,
  reference: Record<string, Float32Array>,
): void {
  assert.deepEqual(Object.keys(actual).sort(), Object.keys(reference).sort());
  let worst = { key: "", err: -1 };
  for (const key of Object.keys(reference)) {
    const err = relativeError(actual[key]!, reference[key]!);
    assert.ok(
      err <= TOLERANCE,
      `${label} ${key}: webgpu differs from cpu by ${err.toExponential(2)}`,
    );
    if (err > worst.err) worst = { key, err };
  }
  console.log(
    `${label}: ${Object.keys(reference).length} arrays, worst relative error ` +
      `${worst.err.toExponential(1)} (${worst.key})`,
  );
}

// ---- a VGG block: (conv3x3 + bias + ReLU) x 2, then 2x2 max pool ----------------------------

const X_SHAPE = [1, 16, 16, 3] as const;
const W1_SHAPE = [3, 3, 3, 8] as const;
const W2_SHAPE = [3, 3, 8, 8] as const;
const OUT_SHAPE = [1, 8, 8, 8] as const;
const size = (s: readonly number[]) => s.reduce((a, b) => a * b, 1);

const vggValues = {
  x: seeded(1, size(X_SHAPE), 1),
  w1: seeded(2, size(W1_SHAPE), Math.sqrt(6 / 27)),
  b1: seeded(3, 8, 0.1),
  w2: seeded(4, size(W2_SHAPE), Math.sqrt(6 / 72)),
  b2: seeded(5, 8, 0.1),
  // A fixed random cotangent, so every output element's gradient path counts.
  r: seeded(6, size(OUT_SHAPE), 1),
};

/** Forward and gradients of `sum(block(x) * r)` with respect to x and all weights, on `backend`. */
async function vggBlock(
  backend: "cpu" | "webgpu",
  fused: boolean,
): Promise<Record<string, Float32Array>> {
  await initBackend(backend);
  assert.equal(tf.getBackend(), backend);
  const v = vggValues;
  const x = tf.tensor4d(v.x, [...X_SHAPE]);
  const w1 = tf.tensor4d(v.w1, [...W1_SHAPE]);
  const b1 = tf.tensor1d(v.b1);
  const w2 = tf.tensor4d(v.w2, [...W2_SHAPE]);
  const b2 = tf.tensor1d(v.b2);
  const r = tf.tensor4d(v.r, [...OUT_SHAPE]);
  const convRelu = (h: tf.Tensor4D, w: tf.Tensor4D, b: tf.Tensor1D): tf.Tensor4D =>
    fused
      ? tf.fused.conv2d({ x: h, filter: w, bias: b, strides: 1, pad: "same", activation: "relu" })
      : tf.relu(tf.add(tf.conv2d(h, w, 1, "same"), b));
  const block = (
    x: tf.Tensor4D,
    w1: tf.Tensor4D,
    b1: tf.Tensor1D,
    w2: tf.Tensor4D,
    b2: tf.Tensor1D,
  ) => tf.maxPool(convRelu(convRelu(x, w1, b1), w2, b2), 2, 2, "valid");
  const out = tf.tidy(() => block(x, w1, b1, w2, b2));
  const grads = tf.grads((x, w1, b1, w2, b2) =>
    tf.sum(
      tf.mul(
        block(
          x as tf.Tensor4D,
          w1 as tf.Tensor4D,
          b1 as tf.Tensor1D,
          w2 as tf.Tensor4D,
          b2 as tf.Tensor1D,
        ),
        r,
      ),
    )
  )([x, w1, b1, w2, b2]);
  const names = ["dx", "dw1", "db1", "dw2", "db2"] as const;
  const result: Record<string, Float32Array> = { out: await read(out) };
  for (let i = 0; i < names.length; i++) result[names[i]!] = await read(grads[i]!);
  tf.dispose([x, w1, b1, w2, b2, r, out, ...grads]);
  return result;
}

Deno.test({
  name: "webgpu: VGG block forward and gradients (input and weights) match cpu within 1e-4",
  ignore: missing !== undefined,
  async fn() {
    for (const fused of [false, true]) {
      const reference = await vggBlock("cpu", fused);
      const actual = await vggBlock("webgpu", fused);
      // A sanity check of the reference itself: ReLU and the pool let some gradient through.
      assert.ok(reference.dx!.some((g) => g !== 0));
      assertClose(fused ? "fused conv" : "conv+add+relu", actual, reference);
    }
    await initBackend("cpu");
  },
});

// ---- one training step of a small U-Net ------------------------------------------------------

/** Two of the project's U-Nets in miniature: colourisation (1 → 3, scale 1) and ×2 super-resolution. */
const UNETS: readonly {
  label: string;
  config: Partial<UNetConfig>;
  inChannels: number;
  scale: number;
}[] = [
  {
    label: "colorize U-Net (1→3, bilinear up)",
    config: {
      inChannels: 1,
      outChannels: 3,
      depth: 2,
      baseFilters: 4,
      upsample: "bilinear",
      outputRange: [0, 1],
      seed: 11,
    },
    inChannels: 1,
    scale: 1,
  },
  {
    label: "superres U-Net (×2, pixel shuffle, bicubic residual)",
    config: { depth: 1, baseFilters: 4, scale: 2, seed: 12 },
    inChannels: 3,
    scale: 2,
  },
];

const BATCH = 2, SIDE = 8;

/**
 * Builds the model on `backend` with the given weights (the cpu model's, read out as arrays), takes
 * one Adam step on an L1 loss in training mode (batch statistics), and returns the loss, the
 * gradients and the updated trainable weights.
 */
async function unetStep(
  backend: "cpu" | "webgpu",
  spec: (typeof UNETS)[number],
  weights: Float32Array[] | undefined,
): Promise<{ result: Record<string, Float32Array>; weights: Float32Array[] }> {
  await initBackend(backend);
  assert.equal(tf.getBackend(), backend);
  const model = unet(spec.config);
  if (weights !== undefined) {
    model.setWeights(model.weights.map((w, i) => tf.tensor(weights[i]!, w.shape as number[])));
  }
  const initial = await Promise.all(model.weights.map((w) => read(w.read())));
  const xShape = [BATCH, SIDE, SIDE, spec.inChannels];
  const yShape = [BATCH, SIDE * spec.scale, SIDE * spec.scale, 3];
  const x = tf.tensor(seeded(7, size(xShape), 0.5).map((v) => v + 0.5), xShape);
  const y = tf.tensor(seeded(8, size(yShape), 0.5).map((v) => v + 0.5), yShape);
  const variables = model.trainableWeights.map((w) => w.read() as tf.Variable);
  const lossOf = () =>
    tf.mean(tf.abs(tf.sub(model.apply(x, { training: true }) as tf.Tensor, y))) as tf.Scalar;
  const { value, grads } = tf.variableGrads(lossOf, variables);
  // Layer names get a per-process counter, so weights are labelled by position and kind.
  const labels = model.trainableWeights.map((w, i) => `${i}:${w.originalName.split("/").pop()}`);
  const result: Record<string, Float32Array> = { loss: await read(value) };
  for (const [i, v] of variables.entries()) {
    result[`grad ${labels[i]}`] = await read(grads[v.name]!);
  }
  const optimizer = tf.train.adam(1e-2);
  optimizer.applyGradients(grads as tf.NamedTensorMap as Record<string, tf.Variable>);
  for (const [i, v] of variables.entries()) result[`updated ${labels[i]}`] = await read(v);
  tf.dispose([value, x, y, ...Object.values(grads)]);
  optimizer.dispose();
  model.dispose();
  return { result, weights: initial };
}

Deno.test({
  name: "webgpu: one U-Net training step gives the same loss, gradients and weights as cpu",
  ignore: missing !== undefined,
  async fn() {
    for (const spec of UNETS) {
      const reference = await unetStep("cpu", spec, undefined);
      const actual = await unetStep("webgpu", spec, reference.weights);
      assertClose(spec.label, actual.result, reference.result);
    }
    await initBackend("cpu");
  },
});

// ---- synchronous reads ------------------------------------------------------------------------

Deno.test({
  name: "webgpu: a failed synchronous read is a WebGpuSyncReadError; async reads work",
  ignore: missing !== undefined,
  async fn() {
    await initBackend("webgpu");
    assert.equal(guardWebgpuSyncReads(), true);
    assert.equal(guardWebgpuSyncReads(), true, "idempotent");
    // Large enough that webgpu runs the op on the GPU (tiny ones are forwarded to the CPU).
    const x = tf.range(0, 4096);
    const y = tf.mul(x, 2);
    try {
      // Values made on the GPU: Deno has no 2D canvas to read them synchronously through.
      const canvas = new OffscreenCanvas(1, 1).getContext("2d") !== null;
      if (!canvas) {
        assert.throws(() => y.dataSync(), (e: unknown) => {
          assert.ok(e instanceof WebGpuSyncReadError, String(e));
          assert.match(e.message, /await tensor\.data\(\)/);
          return true;
        });
      }
      assert.deepEqual(Array.from((await y.data()).slice(0, 3)), [0, 2, 4]);
      // Once read asynchronously the values are cached on the CPU, so dataSync works.
      assert.equal(y.dataSync()[4095], 8190);
    } finally {
      tf.dispose([x, y]);
      await initBackend("cpu");
    }
    assert.equal(guardWebgpuSyncReads(), true, "still registered after switching away");
  },
});

// ---- the library's own training step: U-Net + VGG feature loss + trainer ----------------------

/** One `trainer.step` of a small colouriser with a pixel + VGG feature loss, on `backend`. */
async function trainerStep(
  backend: "cpu" | "webgpu",
  weights: Float32Array[] | undefined,
): Promise<{ result: Record<string, Float32Array>; weights: Float32Array[] }> {
  await initBackend(backend);
  const model = unet({ inChannels: 1, outChannels: 3, depth: 1, baseFilters: 4, seed: 21 });
  if (weights !== undefined) {
    model.setWeights(model.weights.map((w, i) => tf.tensor(weights[i]!, w.shape as number[])));
  }
  const initial = await Promise.all(model.weights.map((w) => read(w.read())));
  // No range check: it reads values back synchronously, which webgpu cannot do under Deno.
  const net = await vgg16({ weights: { random: 3 }, upTo: "block2_conv2", checkRange: false });
  const loss = concatLoss(pixel(), feature("block2_conv2", { distance: "l1", weight: 0.1 }));
  const t = trainer({ model, loss: evaluate(loss, net), leakCheck: false });
  const input = tf.tensor4d(seeded(31, 2 * 16 * 16, 0.5).map((v) => v + 0.5), [2, 16, 16, 1]);
  const target = tf.tensor4d(seeded(32, 2 * 16 * 16 * 3, 0.5).map((v) => v + 0.5), [2, 16, 16, 3]);
  try {
    const m = await t.step({ input, target });
    const result: Record<string, Float32Array> = {
      loss: new Float32Array([m.total, ...Object.values(m.terms)]),
      gradNorm: new Float32Array([m.gradNorm]),
    };
    for (const [i, w] of model.trainableWeights.entries()) {
      result[`updated ${i}`] = await read(w.read());
    }
    return { result, weights: initial };
  } finally {
    tf.dispose([input, target]);
    t.dispose();
    net.dispose();
    model.dispose();
  }
}

Deno.test({
  name: "webgpu: a trainer step with a VGG feature loss gives the same loss and weights as cpu",
  ignore: missing !== undefined,
  async fn() {
    const reference = await trainerStep("cpu", undefined);
    const actual = await trainerStep("webgpu", reference.weights);
    assertClose("trainer step (U-Net + VGG feature loss)", actual.result, reference.result);
    await initBackend("cpu");
  },
});
