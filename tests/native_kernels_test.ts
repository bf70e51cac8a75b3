/**
 * Each oneDNN kernel of the `native` backend against the cpu backend's stock kernels (this
 * project's cpu replacements uninstalled) on randomised shapes: odd sizes, batch > 1, stride 2,
 * `same`/`valid`, non-square images and filters. Skipped, saying why, without libdnnl.
 */
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs-core";
import { initBackend, uninstallTrainingKernels } from "../src/backend/mod.ts";
import { nativeInfo } from "../src/backend/native/mod.ts";
import { skipWithoutNative } from "./_native.ts";

const ignore = skipWithoutNative("native_kernels_test");

/** mulberry32: a seeded generator, so a failing shape can be re-run. */
function rng(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** One kernel call: its name, inputs (values + shapes) and attributes. */
interface Call {
  readonly label: string;
  readonly kernel: string;
  readonly inputs: Record<string, { values: Float32Array; shape: number[] }>;
  readonly attrs: Record<string, unknown>;
}

function run(call: Call): { values: Float32Array; shape: number[] } {
  return tf.tidy(() => {
    const inputs: tf.NamedTensorMap = {};
    for (const [k, v] of Object.entries(call.inputs)) inputs[k] = tf.tensor(v.values, v.shape);
    const y = tf.engine().runKernel(
      call.kernel,
      inputs,
      call.attrs as tf.NamedAttrMap,
    ) as tf.Tensor;
    return { values: y.dataSync() as Float32Array, shape: y.shape };
  });
}

/** Run every call on native and on stock cpu; compare max |diff| against the values' scale. */
async function compare(calls: readonly Call[], tol = 2e-5): Promise<void> {
  await initBackend("native");
  const before = tf.memory().numTensors;
  const got = calls.map(run);
  assert.equal(tf.memory().numTensors, before, "native kernels leaked tensors");
  await initBackend("cpu");
  uninstallTrainingKernels("cpu");
  try {
    calls.forEach((call, i) => {
      const want = run(call);
      assert.deepEqual(got[i]!.shape, want.shape, `${call.label}: shape`);
      let scale = 1, diff = 0;
      want.values.forEach((v, j) => {
        scale = Math.max(scale, Math.abs(v));
        diff = Math.max(diff, Math.abs(v - got[i]!.values[j]!));
      });
      assert.ok(
        diff <= tol * scale,
        `${call.label}: max |native − cpu| = ${diff} (scale ${scale})`,
      );
    });
  } finally {
    await initBackend("cpu"); // reinstalls the project's cpu kernels
  }
}

const random = rng(20261202);
const pick = <T>(xs: readonly T[]): T => xs[Math.floor(random() * xs.length)]!;
const normal = (n: number) => Float32Array.from({ length: n }, () => random() * 2 - 1);

interface ConvCase {
  readonly x: number[];
  readonly f: number[];
  readonly strides: [number, number];
  readonly pad: "same" | "valid";
}

/** Random conv shapes, plus fixed VGG-like ones that take oneDNN's blocked fast paths. */
function convCases(): ConvCase[] {
  const cases: ConvCase[] = [
    { x: [2, 16, 12, 64], f: [3, 3, 64, 64], strides: [1, 1], pad: "same" },
    { x: [3, 9, 11, 32], f: [3, 3, 32, 48], strides: [2, 2], pad: "same" },
  ];
  for (let i = 0; i < 10; i++) {
    const kh = pick([1, 2, 3, 5]), kw = pick([1, 3, 4]);
    const pad = pick(["same", "valid"] as const);
    const strides: [number, number] = [pick([1, 2]), pick([1, 2])];
    const h = kh + Math.floor(random() * 9), w = kw + Math.floor(random() * 9);
    cases.push({
      x: [1 + Math.floor(random() * 3), h, w, pick([1, 3, 5, 8, 17])],
      f: [kh, kw, 0, pick([1, 4, 7, 16])],
      strides,
      pad,
    });
    cases[cases.length - 1]!.f[2] = cases[cases.length - 1]!.x[3]!;
  }
  return cases;
}

/** How many oneDNN primitives whose key starts with `op` were built (not fallen back). */
function builtOnDnnl(op: string): number {
  const now = nativeInfo();
  if (typeof now === "string") return 0;
  return now.primitives.filter((p) => p.key.startsWith(op) && p.chosen !== "none").length;
}

const size = (s: number[]) => s.reduce((a, b) => a * b, 1);

Deno.test({
  name: "native Conv2D, FusedConv2D (bias + ReLU), Conv2DBackpropInput and Filter match cpu",
  ignore,
  async fn() {
    const calls: Call[] = [];
    for (const c of convCases()) {
      const outInfo = tf.backend_util.computeConv2DInfo(
        c.x as [number, number, number, number],
        c.f as [number, number, number, number],
        c.strides,
        1,
        c.pad,
      );
      const yShape = [c.x[0]!, outInfo.outHeight, outInfo.outWidth, c.f[3]!];
      const label = `x[${c.x}] f[${c.f}] s[${c.strides}] ${c.pad}`;
      const x = { values: normal(size(c.x)), shape: c.x };
      const filter = { values: normal(size(c.f)), shape: c.f };
      const dy = { values: normal(size(yShape)), shape: yShape };
      const bias = { values: normal(c.f[3]!), shape: [c.f[3]!] };
      const conv = { strides: c.strides, pad: c.pad, dataFormat: "NHWC", dilations: 1 };
      calls.push(
        { label: `Conv2D ${label}`, kernel: "Conv2D", inputs: { x, filter }, attrs: conv },
        {
          label: `FusedConv2D relu ${label}`,
          kernel: "FusedConv2D",
          inputs: { x, filter, bias },
          attrs: { ...conv, activation: "relu" },
        },
        {
          label: `FusedConv2D linear ${label}`,
          kernel: "FusedConv2D",
          inputs: { x, filter },
          attrs: { ...conv, activation: "linear" },
        },
        {
          label: `Conv2DBackpropInput ${label}`,
          kernel: "Conv2DBackpropInput",
          inputs: { dy, filter },
          attrs: { ...conv, inputShape: c.x },
        },
        {
          label: `Conv2DBackpropFilter ${label}`,
          kernel: "Conv2DBackpropFilter",
          inputs: { x, dy },
          attrs: { ...conv, filterShape: c.f },
        },
      );
    }
    await compare(calls);
    // The fast shapes must not have fallen to oneDNN's slow reference implementations.
    const now = nativeInfo();
    assert.ok(typeof now !== "string");
    const vgg = now.primitives.filter((p) => p.key.includes("x[2,16,12,64] w[3,3,64,64]"));
    assert.ok(vgg.length >= 4, `VGG-like primitives built: ${vgg.map((p) => p.key)}`);
    for (const p of vgg) assert.doesNotMatch(p.chosen, /^ref:|^none/, `${p.key}: ${p.chosen}`);
  },
});

Deno.test({
  name: "native BatchMatMul (transposes, broadcast batch, rank 2 and 4) matches cpu",
  ignore,
  async fn() {
    const calls: Call[] = [];
    const shapes: [number[], number[]][] = [
      [[3, 7, 5], [3, 5, 4]],
      [[1, 6, 9], [4, 9, 2]],
      [[4, 6, 9], [1, 9, 2]],
      [[5, 3], [3, 8]],
      [[2, 2, 5, 7], [2, 2, 7, 3]],
      [[2, 300, 64], [2, 64, 64]], // a Gram-sized product
    ];
    for (const [a, b] of shapes) {
      for (const transposeA of [false, true]) {
        for (const transposeB of [false, true]) {
          const ta = a.slice(), tb = b.slice();
          if (transposeA) ta.splice(-2, 2, a[a.length - 1]!, a[a.length - 2]!);
          if (transposeB) tb.splice(-2, 2, b[b.length - 1]!, b[b.length - 2]!);
          calls.push({
            label: `BatchMatMul [${ta}]${transposeA ? "ᵀ" : ""} [${tb}]${transposeB ? "ᵀ" : ""}`,
            kernel: "BatchMatMul",
            inputs: {
              a: { values: normal(size(ta)), shape: ta },
              b: { values: normal(size(tb)), shape: tb },
            },
            attrs: { transposeA, transposeB },
          });
        }
      }
    }
    await compare(calls);
    assert.ok(builtOnDnnl("matmul") >= shapes.length * 4 - 2, "products ran on oneDNN");
  },
});

Deno.test({
  name: "native MaxPoolGrad (2×2/2 valid, 3×3/2 same, odd and non-square) matches cpu",
  ignore,
  async fn() {
    const calls: Call[] = [];
    const cases: [number[], number, number, "same" | "valid"][] = [
      [[2, 8, 6, 5], 2, 2, "valid"],
      [[3, 9, 7, 4], 3, 2, "same"],
      [[1, 7, 10, 64], 2, 2, "valid"],
      [[2, 5, 5, 3], 3, 1, "same"],
    ];
    for (const [shape, k, s, pad] of cases) {
      // Distinct values: with ties each implementation may route dy to a different maximum.
      const n = size(shape);
      const values = Float32Array.from({ length: n }, (_, i) => i / n);
      for (let i = n - 1; i > 0; i--) {
        const j = Math.floor(random() * (i + 1));
        [values[i], values[j]] = [values[j]!, values[i]!];
      }
      const info = tf.backend_util.computePool2DInfo(
        shape as [number, number, number, number],
        k,
        s,
        1,
        pad,
      );
      const outShape = [shape[0]!, info.outHeight, info.outWidth, shape[3]!];
      // The pool output is an input of the kernel; both backends ignore it for max pooling.
      calls.push({
        label: `MaxPoolGrad x[${shape}] k${k} s${s} ${pad}`,
        kernel: "MaxPoolGrad",
        inputs: {
          dy: { values: normal(size(outShape)), shape: outShape },
          input: { values, shape },
          output: { values: new Float32Array(size(outShape)), shape: outShape },
        },
        attrs: { filterSize: k, strides: s, pad },
      });
    }
    await compare(calls);
    assert.equal(builtOnDnnl("maxpool_grad"), cases.length, "pool gradients ran on oneDNN");
  },
});

Deno.test({
  name:
    "native Transpose of large tensors (oneDNN reorder) matches cpu exactly, small ones on wasm",
  ignore,
  async fn() {
    const cases: [number[], number[]][] = [
      [[4, 160, 96], [0, 2, 1]],
      [[300, 41], [1, 0]],
      [[2, 17, 33, 19], [3, 1, 0, 2]],
      [[3, 5, 7, 11, 13], [4, 2, 0, 3, 1]],
      [[2, 3, 4], [2, 0, 1]], // small: wasm's kernel
    ];
    const calls: Call[] = cases.map(([shape, perm]) => ({
      label: `transpose [${shape}] by [${perm}]`,
      kernel: "Transpose",
      inputs: { x: { values: normal(size(shape)), shape } },
      attrs: { perm },
    }));
    await compare(calls, 0);
    assert.equal(builtOnDnnl("transpose"), 4, "the four large transposes should run on oneDNN");
  },
});

Deno.test({
  name: "native long Sum/Mean runs go through oneDNN block sums: float64-accurate, bit-stable",
  ignore,
  async fn() {
    await initBackend("native");
    const before = tf.memory().numTensors;
    // Runs past MIN_RUN (16384), with tails that are not a whole number of 64-float blocks.
    for (const shape of [[3, 20_011], [1, 4, 512, 512], [2, 16_384]]) {
      const n = shape[shape.length - 1]! * (shape.length === 4 ? shape[2]! * shape[1]! : 1);
      const rows = size(shape) / n;
      const values = Float32Array.from({ length: size(shape) }, () => random() * 2 - 0.7);
      const x = tf.tensor(values, shape);
      const axes = shape.length === 4 ? [1, 2, 3] : [1];
      const sums = tf.sum(x, axes);
      const means = tf.mean(x, axes);
      const again = tf.mean(x, axes);
      for (let r = 0; r < rows; r++) {
        let exact = 0, abs = 0;
        for (let j = r * n; j < (r + 1) * n; j++) {
          exact += values[j]!;
          abs += Math.abs(values[j]!);
        }
        // float32 block sums of 16 values: error ~1e-7 of the absolute sum, far below 1.5e-4.
        const s = sums.dataSync()[r]!;
        assert.ok(Math.abs(s - exact) <= 2e-7 * abs, `${shape} row ${r}: ${s} vs ${exact}`);
        const m = means.dataSync()[r]!;
        assert.ok(Math.abs(m - exact / n) <= 2e-7 * abs / n, `${shape} mean ${m}`);
      }
      assert.deepEqual(again.dataSync(), means.dataSync(), "two runs must be bit-identical");
      tf.dispose([x, sums, means, again]);
    }
    assert.ok(builtOnDnnl("reduce_sum") >= 3, "the long runs did not reach oneDNN");
    assert.equal(tf.memory().numTensors, before);
    await initBackend("cpu");
  },
});

Deno.test({
  name: "native Sum and Mean over trailing axes match float64 sums; other axes fall back",
  ignore,
  async fn() {
    await initBackend("native");
    const before = tf.memory().numTensors;
    // 1e5 values of 1/3 + 1: float32 accumulation one by one drifts by ~1e-4 relative.
    const n = 100_000;
    const x = tf.fill([4, n / 4], 1 + 1 / 3);
    const whole = tf.sum(x);
    const rows = tf.mean(x, 1, true);
    const cols = tf.sum(x, 0);
    const exact = Math.fround(1 + 1 / 3) * n;
    assert.ok(Math.abs(whole.dataSync()[0]! - exact) / exact < 1e-7, `sum ${whole.dataSync()[0]}`);
    assert.deepEqual(rows.shape, [4, 1]);
    for (const v of rows.dataSync()) assert.ok(Math.abs(v - Math.fround(1 + 1 / 3)) < 1e-7);
    assert.deepEqual(cols.shape, [n / 4]);
    assert.ok(Math.abs(cols.dataSync()[7]! - 4 * (1 + 1 / 3)) < 1e-5);
    tf.dispose([x, whole, rows, cols]);
    assert.equal(tf.memory().numTensors, before);
    await initBackend("cpu");
  },
});

Deno.test({
  name: "initBackend skips native with the reason and the install command when libdnnl is absent",
  async fn() {
    const script = `
      import { describeBackend, initBackend } from "${
      new URL("../src/backend/mod.ts", import.meta.url).href
    }";
      const choice = await initBackend();
      console.log(JSON.stringify({ name: choice.name, line: describeBackend(choice) }));
      Deno.exit(0);
    `;
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["eval", "--config", new URL("../deno.json", import.meta.url).pathname, script],
      env: { PERCEPTUAL_DNNL: "/nonexistent/libdnnl.so.2", PERCEPTUAL_BACKEND: "" },
      stdout: "piped",
      stderr: "piped",
    }).output();
    assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
    const text = new TextDecoder().decode(out.stdout).trim().split("\n").pop()!;
    const { name, line } = JSON.parse(text);
    assert.notEqual(name, "native");
    assert.match(line, /native: no usable oneDNN 2\.x library/);
    assert.match(line, /\/nonexistent\/libdnnl\.so\.2/);
    assert.match(line, /apt-get install libdnnl2/);
  },
});
