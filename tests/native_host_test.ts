/**
 * The `native-host` backend (oneDNN kernels on tensors in host memory): its element-wise oneDNN
 * kernels against the cpu backend's stock kernels, its convolution and matrix kernels and a few
 * training steps against `native` (the same primitives on the wasm heap), no leaks, and the
 * memory limit it reports. Skipped, saying why, without libdnnl.
 */
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs-core";
import {
  BACKEND_ENV_VAR,
  backendMemoryLimit,
  initBackend,
  installTrainingKernels,
  uninstallTrainingKernels,
} from "../src/backend/mod.ts";
import { nativeProfile, setNativeProfiling } from "../src/backend/native/mod.ts";
import { skipWithoutNative } from "./_native.ts";

const ignore = skipWithoutNative("native_host_test");

/** mulberry32: a seeded generator in [-1, 1). */
function rng(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return 2 * ((t ^ (t >>> 14)) >>> 0) / 4294967296 - 1;
  };
}

interface Input {
  readonly values: Float32Array | Uint8Array;
  readonly shape: number[];
  readonly dtype?: "float32" | "bool";
}

/** One kernel call by name. */
interface Call {
  readonly label: string;
  readonly kernel: string;
  readonly inputs: Record<string, Input>;
  readonly attrs?: Record<string, unknown>;
}

const random = rng(11);
const floats = (shape: number[], positive = false): Input => {
  const values = Float32Array.from(
    { length: shape.reduce((a, b) => a * b, 1) },
    () => positive ? Math.abs(random()) + 0.01 : random(),
  );
  return { values, shape };
};
const mask = (shape: number[]): Input => ({
  values: Uint8Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => random() > 0 ? 1 : 0),
  shape,
  dtype: "bool",
});

function run(call: Call): { values: number[]; shape: number[]; dtype: string } {
  return tf.tidy(() => {
    const inputs: tf.NamedTensorMap = {};
    for (const [k, v] of Object.entries(call.inputs)) {
      inputs[k] = tf.tensor(v.values, v.shape, v.dtype ?? "float32");
    }
    const y = tf.engine().runKernel(call.kernel, inputs, (call.attrs ?? {}) as tf.NamedAttrMap);
    const t = y as tf.Tensor;
    return { values: Array.from(t.dataSync()), shape: t.shape, dtype: t.dtype };
  });
}

/** Max |a − b| over max(1, |b|), per call; shapes and dtypes must agree. */
function assertClose(
  got: ReturnType<typeof run>[],
  want: ReturnType<typeof run>[],
  calls: readonly Call[],
  tol: number,
): void {
  calls.forEach((call, i) => {
    assert.deepEqual(got[i]!.shape, want[i]!.shape, `${call.label}: shape`);
    assert.equal(got[i]!.dtype, want[i]!.dtype, `${call.label}: dtype`);
    let worst = 0;
    want[i]!.values.forEach((w, j) => {
      worst = Math.max(worst, Math.abs(got[i]!.values[j]! - w) / Math.max(1, Math.abs(w)));
    });
    assert.ok(worst <= tol, `${call.label}: max relative diff ${worst} > ${tol}`);
  });
}

/** Run `calls` on native-host (checking no tensor is left) and on `reference`. */
async function onBoth(calls: readonly Call[], reference: "cpu" | "native", tol: number) {
  await initBackend("native-host");
  const before = tf.memory().numTensors;
  const got = calls.map(run);
  assert.equal(tf.memory().numTensors, before, "native-host kernels leaked tensors");
  await initBackend(reference);
  // The cpu reference is the stock kernels, not this project's replacements.
  if (reference === "cpu") uninstallTrainingKernels("cpu");
  try {
    assertClose(got, calls.map(run), calls, tol);
  } finally {
    if (reference === "cpu") installTrainingKernels("cpu");
    await initBackend("cpu");
  }
}

const ACT = [2, 17, 19, 16]; // 10 336 elements: above the size oneDNN takes over from JS

Deno.test({
  name: "native-host element-wise kernels (oneDNN) equal the cpu backend's stock kernels",
  ignore,
  async fn() {
    const x = floats(ACT), y = floats(ACT), pos = floats(ACT, true);
    const unary = ["Relu", "Abs", "Square", "Neg", "Exp"].map((kernel): Call => ({
      label: kernel,
      kernel,
      inputs: { x },
    }));
    const binary = ["Add", "Sub", "Multiply", "RealDiv", "Maximum", "Minimum", "Greater"].flatMap(
      (kernel): Call[] => [
        { label: `${kernel} same shape`, kernel, inputs: { a: x, b: pos } },
        { label: `${kernel} channel broadcast`, kernel, inputs: { a: x, b: floats([16], true) } },
        { label: `${kernel} scalar on the left`, kernel, inputs: { a: floats([], true), b: pos } },
        {
          label: `${kernel} [2,1,19,1] · [17,1,16]`,
          kernel,
          inputs: {
            a: floats([2, 1, 19, 1], true),
            b: floats([17, 1, 16], true),
          },
        },
      ],
    );
    const calls: Call[] = [
      ...unary,
      { label: "Sqrt", kernel: "Sqrt", inputs: { x: pos } },
      {
        label: "ClipByValue",
        kernel: "ClipByValue",
        inputs: { x },
        attrs: { clipValueMin: -0.25, clipValueMax: 0.5 },
      },
      ...binary,
      {
        label: "Add small (cpu kernel)",
        kernel: "Add",
        inputs: { a: floats([3, 5]), b: floats([3, 5]) },
      },
      { label: "Select", kernel: "Select", inputs: { condition: mask(ACT), t: x, e: y } },
      // Block copies and leading-axes reductions (JS, not oneDNN).
      ...[[[0, 0, 0, 0], [2, 17, 19, 16]], [[1, 3, 0, 0], [1, 9, 19, 16]], [[0, 2, 5, 3], [
        2,
        4,
        7,
        9,
      ]], [[1, 0, 0, 15], [1, 17, 19, 1]]].map(([begin, size]): Call => ({
        label: `Slice ${begin} ${size}`,
        kernel: "Slice",
        inputs: { x },
        attrs: { begin, size },
      })),
      ...[[[0, 0], [1, 2], [3, 0], [0, 1]], [[0, 0], [0, 0], [0, 0], [2, 2]], [[1, 1], [0, 0], [
        0,
        0,
      ], [0, 0]]].map((paddings, i): Call => ({
        label: `PadV2 ${JSON.stringify(paddings)}`,
        kernel: "PadV2",
        inputs: { x },
        attrs: { paddings, constantValue: i === 1 ? 0.5 : 0 },
      })),
      { label: "Step", kernel: "Step", inputs: { x }, attrs: { alpha: 0 } },
      { label: "Step alpha", kernel: "Step", inputs: { x }, attrs: { alpha: 0.25 } },
      ...[[0, 1], [0, 1, 2], [0, 1, 2, 3]].flatMap((axis): Call[] =>
        ["Sum", "Mean"].map((kernel) => ({
          label: `${kernel} axes ${axis}`,
          kernel,
          inputs: { x },
          attrs: { axis, keepDims: axis.length === 2 },
        }))
      ),
      ...[[2, 2, "valid"], [3, 2, "same"], [3, 1, "same"]].map(([k, s, pad]): Call => ({
        label: `MaxPool ${k}×${k} stride ${s} ${pad}`,
        kernel: "MaxPool",
        inputs: { x },
        attrs: { filterSize: k, strides: s, pad, dimRoundingMode: undefined },
      })),
    ];
    // exp/sqrt may round differently from JS Math by an ulp or so.
    setNativeProfiling(true);
    try {
      await onBoth(calls, "cpu", 1e-6);
      // Each oneDNN kernel really ran (a fallback to the cpu kernel would pass the comparison).
      const ran = new Set(nativeProfile().map((e) => e.key.split(" ")[0]));
      for (const op of ["relu", "abs", "square", "neg", "exp", "sqrt", "clip", "maxpool"]) {
        assert.ok(ran.has(op), `${op} did not run on oneDNN (ran: ${[...ran]})`);
      }
      for (const op of ["add", "sub", "mul", "div", "max", "min", "gt"]) {
        assert.ok(ran.has(op), `${op} did not run on oneDNN (ran: ${[...ran]})`);
      }
    } finally {
      setNativeProfiling(false);
    }
  },
});

Deno.test({
  name: "native-host runs native's oneDNN kernels on host arrays: the same results as on native",
  ignore,
  async fn() {
    const x = floats([2, 12, 10, 8]), w = floats([3, 3, 8, 16]);
    const dy = floats([2, 12, 10, 16]);
    const conv = { strides: 1, pad: "same", dataFormat: "NHWC", dilations: 1 };
    const calls: Call[] = [
      { label: "Conv2D", kernel: "Conv2D", inputs: { x, filter: w }, attrs: conv },
      {
        label: "FusedConv2D + bias + relu",
        kernel: "FusedConv2D",
        inputs: { x, filter: w, bias: floats([16]) },
        attrs: { ...conv, activation: "relu" },
      },
      {
        label: "Conv2DBackpropInput",
        kernel: "Conv2DBackpropInput",
        inputs: { dy, filter: w },
        attrs: { ...conv, inputShape: [2, 12, 10, 8] },
      },
      {
        label: "Conv2DBackpropFilter",
        kernel: "Conv2DBackpropFilter",
        inputs: { x, dy },
        attrs: { ...conv, filterShape: [3, 3, 8, 16] },
      },
      {
        label: "BatchMatMul aᵀ·a",
        kernel: "BatchMatMul",
        inputs: { a: floats([2, 120, 16]), b: floats([2, 120, 16]) },
        attrs: { transposeA: true, transposeB: false },
      },
      {
        label: "MaxPoolGrad",
        kernel: "MaxPoolGrad",
        inputs: { dy: floats([2, 6, 5, 8]), input: x, output: floats([2, 6, 5, 8]) },
        attrs: { filterSize: 2, strides: 2, pad: "valid" },
      },
      { label: "Mean", kernel: "Mean", inputs: { x: dy }, attrs: { axis: [1, 2, 3] } },
      { label: "Sum", kernel: "Sum", inputs: { x: dy }, attrs: { axis: [3] } },
      {
        label: "Transpose",
        kernel: "Transpose",
        inputs: { x: floats([4, 64, 48]) },
        attrs: { perm: [0, 2, 1] },
      },
    ];
    await onBoth(calls, "native", 0);
  },
});

Deno.test({
  name: "native-host: a float32 tensor cast from bool (sharing the bool's bytes) reads as floats",
  ignore,
  async fn() {
    // cpu's Cast from bool to float32 shares the Uint8Array: the oneDNN kernels must not read
    // its bytes as floats (this was a NaN gradient in the U-Net's first step).
    const xs = floats(ACT).values as Float32Array;
    const ws = floats([3, 3, 16, 4]).values as Float32Array;
    const run = (): number[] =>
      tf.tidy(() => {
        const x = tf.tensor4d(xs, ACT as [number, number, number, number]);
        const m = tf.cast(tf.greater(x, 0), "float32") as tf.Tensor4D;
        const w = tf.tensor4d(ws, [3, 3, 16, 4]);
        return [...tf.mul(m, x).dataSync(), ...tf.conv2d(m, w, 1, "same").dataSync()];
      });
    await initBackend("native-host");
    const got = run();
    await initBackend("cpu");
    const want = run();
    want.forEach((w, i) =>
      assert.ok(Math.abs(got[i]! - w) <= 1e-5 * Math.max(1, Math.abs(w)), `${i}`)
    );
  },
});

Deno.test({
  name: "native-host frees a kernel's array on dispose, never the caller's, never one still viewed",
  ignore,
  async fn() {
    await initBackend("native-host");
    const store = (tf.backend() as unknown as {
      data: { get(id: tf.DataId): { values: Float32Array } };
    }).data;
    const n = 1 << 16; // 256 KiB: above the size left to the garbage collector
    const mine = new Float32Array(n).fill(2);
    const x = tf.tensor1d(mine);
    const y = tf.add(x, 1); // a kernel's output
    const yValues = store.get(y.dataId).values;
    const read = y.dataSync();
    // cpu's StridedSlice (through its simple-slice path) stores a view on its input's buffer
    // under a new tensor.
    const head = tf.stridedSlice(y, [0], [4], [1]);
    y.dispose();
    assert.equal(yValues.length, n, "released while a slice still views it");
    assert.deepEqual([...head.dataSync()], [3, 3, 3, 3]);
    head.dispose();
    assert.equal(yValues.length, 0, "a kernel's array was not released when its last user went");
    assert.equal(read.length, n, "a read's copy must outlive the tensor");
    assert.equal(read[n - 1], 3);
    x.dispose();
    assert.equal(mine.length, n, "the caller's own array must never be released");
    assert.equal(mine[0], 2);
    await initBackend("cpu");
  },
});

Deno.test({
  name: "native-host SplitV equals the cpu backend's on each output",
  ignore,
  async fn() {
    const x = floats(ACT);
    const run = () =>
      tf.tidy(() =>
        tf.split(tf.tensor(x.values, x.shape), [5, 11], 3).map((t) => [...t.dataSync()])
      );
    await initBackend("native-host");
    const got = run();
    await initBackend("cpu");
    assert.deepEqual(got, run());
  },
});

/** Three SGD steps of a small VGG-shaped stack with an L1 + Gram loss; every loss and gradient. */
function train(): number[][] {
  const r = rng(5);
  const values = (n: number) => Float32Array.from({ length: n }, r);
  const layers = [[3, 16], [16, 32], [32, 32]] as const;
  const ws = layers.map(([ci, co]) =>
    tf.tidy(() => tf.variable(tf.tensor4d(values(9 * ci * co).map((v) => v * 0.3), [3, 3, ci, co])))
  );
  const x = tf.tensor4d(values(2 * 32 * 32 * 3), [2, 32, 32, 3]);
  const target = tf.tensor4d(values(2 * 8 * 8 * 32), [2, 8, 8, 32]);
  const opt = tf.train.sgd(0.05);
  const out: number[][] = [];
  for (let step = 0; step < 3; step++) {
    const { value, grads } = tf.variableGrads(() => {
      let h: tf.Tensor4D = x;
      ws.forEach((w, i) => {
        h = tf.relu(tf.add(tf.conv2d(h, w as tf.Tensor4D, 1, "same"), 0.01));
        if (i < 2) h = tf.maxPool(h, 2, 2, "valid");
      });
      const flat = tf.reshape(h, [2, 64, 32]);
      const gram = tf.div(tf.matMul(flat, flat, true, false), 64);
      return tf.add(tf.mean(tf.abs(tf.sub(h, target))), tf.mean(tf.abs(gram))) as tf.Scalar;
    });
    out.push([...value.dataSync()]);
    for (const w of ws) out.push([...grads[w.name]!.dataSync()]);
    opt.applyGradients(grads);
    tf.dispose([value, ...Object.values(grads)]);
  }
  tf.dispose([x, target, ...ws]);
  opt.dispose();
  return out;
}

Deno.test({
  name: "a small training run on native-host gives native's numbers, and leaks nothing",
  ignore,
  async fn() {
    await initBackend("native-host");
    const before = tf.memory().numTensors;
    const host = train();
    assert.equal(tf.memory().numTensors, before, "training on native-host leaked tensors");
    await initBackend("native");
    const native = train();
    await initBackend("cpu");
    assert.equal(host.length, native.length);
    host.forEach((h, i) => {
      let worst = 0;
      h.forEach((v, j) => {
        const w = native[i]![j]!;
        worst = Math.max(worst, Math.abs(v - w) / Math.max(1e-3, Math.abs(w)));
      });
      // Only reduction order differs (float64 JS sums on cpu kernels vs wasm's float32 ones).
      assert.ok(worst < 1e-4, `result ${i}: max relative diff ${worst}`);
    });
  },
});

Deno.test({
  name: "native-host's memory limit is the machine's physical memory, not a wasm32 heap",
  ignore,
  async fn() {
    await initBackend("native-host");
    const limit = backendMemoryLimit();
    assert.equal(limit.backend, "native-host");
    assert.equal(limit.bytes, Deno.systemMemoryInfo().total);
    assert.ok(limit.bytes! > 2 ** 32 || limit.bytes === Deno.systemMemoryInfo().total);
    await initBackend("cpu");
  },
});

Deno.test({
  name: "hostMemoryFirst: the default order tries native-host before native (big steps)",
  ignore,
  async fn() {
    const saved = Deno.env.get(BACKEND_ENV_VAR);
    Deno.env.delete(BACKEND_ENV_VAR);
    try {
      const plain = await initBackend();
      const big = await initBackend(undefined, { hostMemoryFirst: true });
      // A hardware WebGPU adapter would come first in both orders.
      if (plain.name === "native") {
        assert.equal(big.name, "native-host");
        assert.ok(!big.skipped.some((s) => s.name === "native"), "native was tried first");
        assert.match(big.reason, /^first in the default order to start; .*tensors in host memory/);
      }
    } finally {
      if (saved !== undefined) Deno.env.set(BACKEND_ENV_VAR, saved);
      await initBackend("cpu");
    }
  },
});
