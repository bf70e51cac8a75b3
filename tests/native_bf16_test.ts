/**
 * `precision: "bf16"` on the native backend: its two kernels against the cpu backend's f32
 * convolutions on inputs and weights rounded to bf16 beforehand (round to nearest even, in JS),
 * the bf16 VGG against the f32 one (values and input gradients), no leaks, the same bits run
 * after run, and the refusals (another backend; a CPU without AVX512-BF16, simulated with
 * oneDNN's own DNNL_MAX_CPU_ISA in a child process). Skipped, saying why, without libdnnl or
 * without bf16 instructions.
 */
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs-core";
import {
  bf16Unavailable,
  initBackend,
  NativeBackendError,
  PrecisionUnavailableError,
  uninstallTrainingKernels,
} from "../src/backend/mod.ts";
import { bf16ConvBackpropInput, bf16ConvRelu } from "../src/backend/native/_bf16.ts";
import { reluMaskGrad } from "../src/backend/native/_relu_mask.ts";
import { vgg16 } from "../src/vgg/mod.ts";
import { frozenSegment, type SegmentConvs, type SegmentLayer } from "../src/vgg/_frozen_segment.ts";
import { BF16_CONVS, F32_MAX_IN_CHANNELS } from "../src/vgg/_bf16_convs.ts";
import { maxDiff } from "./_native.ts";

await initBackend("native").catch(() => undefined);
const why = bf16Unavailable();
await initBackend("cpu");
const ignore = why !== undefined;
if (ignore) console.log(`native_bf16_test: bf16 tests skipped, ${why}`);

/** mulberry32, so a failing case can be re-run. */
function rng(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function randoms(n: number, seed: number, scale: number): Float32Array {
  const r = rng(seed);
  return Float32Array.from({ length: n }, () => (2 * r() - 1) * scale);
}

/** Round each float32 to the nearest bfloat16 (ties to even), kept as float32. */
function toBf16(v: Float32Array): Float32Array {
  const u = new Uint32Array(Float32Array.from(v).buffer);
  for (let i = 0; i < u.length; i++) {
    const x = u[i]!;
    u[i] = ((x + 0x7fff + ((x >>> 16) & 1)) >>> 0) & 0xffff0000;
  }
  return new Float32Array(u.buffer);
}

const CASES = [
  { x: [1, 7, 9, 3], co: 64 },
  { x: [2, 12, 10, 64], co: 128 },
  { x: [3, 5, 6, 40], co: 24 },
] as const;

Deno.test({
  name: "bf16 conv + bias + ReLU and its input gradient equal f32 convs of bf16-rounded values",
  ignore,
  async fn() {
    for (const [i, c] of CASES.entries()) {
      const [n, h, w, ci] = c.x;
      const x = randoms(n * h * w * ci, 10 + i, 2);
      const k = randoms(9 * ci * c.co, 20 + i, 0.2);
      const b = randoms(c.co, 30 + i, 0.5);
      const dy = randoms(n * h * w * c.co, 40 + i, 1);
      const xs = [n, h, w, ci] as [number, number, number, number];
      const ks = [3, 3, ci, c.co] as [number, number, number, number];
      const ys = [n, h, w, c.co] as [number, number, number, number];
      // A ReLU mask (about half true) and dy through it, as the masked kernel must see it.
      const mask = Uint8Array.from(randoms(dy.length, 80 + i, 1), (v) => v > 0 ? 1 : 0);
      const dyMasked = dy.map((v, j) => mask[j] ? v : 0);
      await initBackend("native");
      const before = tf.memory().numTensors;
      const [got, gotDx, gotMaskedDx] = tf.tidy(() => {
        const kt = tf.tensor4d(k, ks);
        return [
          bf16ConvRelu(tf.tensor4d(x, xs), kt, tf.tensor1d(b)).dataSync(),
          bf16ConvBackpropInput(tf.tensor4d(dy, ys), kt, xs).dataSync(),
          bf16ConvBackpropInput(tf.tensor4d(dy, ys), kt, xs, tf.tensor4d(mask, ys, "bool"))
            .dataSync(),
        ];
      });
      assert.equal(tf.memory().numTensors, before, "bf16 kernels leaked tensors");
      await initBackend("cpu");
      uninstallTrainingKernels("cpu");
      try {
        const [want, wantDx, wantMaskedDx] = tf.tidy(() => {
          const kt = tf.tensor4d(toBf16(k), ks);
          const y = tf.fused.conv2d({
            x: tf.tensor4d(toBf16(x), xs),
            filter: kt,
            bias: tf.tensor1d(b),
            pad: "same",
            strides: 1,
            activation: "relu",
          });
          const dx = tf.conv2dTranspose(tf.tensor4d(toBf16(dy), ys), kt, xs, 1, "same");
          const mdx = tf.conv2dTranspose(tf.tensor4d(toBf16(dyMasked), ys), kt, xs, 1, "same");
          return [y.dataSync(), dx.dataSync(), mdx.dataSync()];
        });
        for (
          const [what, g, r] of [
            ["forward", got, want],
            ["dx", gotDx, wantDx],
            ["masked dx", gotMaskedDx, wantMaskedDx],
          ] as const
        ) {
          const { diff, scale } = maxDiff(g, r);
          assert.ok(scale > 0.1, `${what} case ${i}: all zero`);
          assert.notDeepEqual(gotMaskedDx, gotDx, "the mask changed nothing");
          assert.ok(
            diff <= 2e-6 * scale * Math.sqrt(9 * ci),
            `${what} case ${i}: ${diff}/${scale}`,
          );
        }
      } finally {
        await initBackend("cpu");
      }
    }
  },
});

Deno.test({
  name: "bf16 masked backward-data: a mask that is not a bool tensor of dy's shape is refused",
  ignore,
  async fn() {
    await initBackend("native");
    try {
      const before = tf.memory().numTensors;
      tf.tidy(() => {
        const dy = tf.ones([1, 4, 4, 8]) as tf.Tensor4D;
        const k = tf.ones([3, 3, 8, 8]) as tf.Tensor4D;
        for (const mask of [tf.ones([1, 4, 4, 8]), tf.ones([1, 4, 4, 4], "bool")]) {
          assert.throws(
            () => bf16ConvBackpropInput(dy, k, [1, 4, 4, 8], mask),
            (e: unknown) =>
              e instanceof NativeBackendError && /bool tensor of dy's shape/.test(`${e}`),
          );
        }
      });
      assert.equal(tf.memory().numTensors, before, "a refused call leaked tensors");
    } finally {
      await initBackend("cpu");
    }
  },
});

Deno.test({
  name: "ReLU mask gradient (the first conv's, f32): equals where(mask, dy, 0) on cpu (zeros " +
    "may be −0: a product); a mask of another shape or type is refused",
  ignore,
  async fn() {
    for (const [i, n] of [7, 4096, 3 * 65536 + 5].entries()) {
      const dy = randoms(n, 90 + i, 3);
      // Signed zeros, tiny and huge finite values among the random ones.
      dy.set([-0, 0, 1e-40, -3e38].slice(0, n));
      const mask = Uint8Array.from(randoms(n, 95 + i, 1), (v) => v > 0 ? 1 : 0);
      await initBackend("native");
      const before = tf.memory().numTensors;
      const got = tf.tidy(() =>
        reluMaskGrad(tf.tensor1d(dy), tf.tensor1d(mask, "bool")).dataSync()
      );
      assert.equal(tf.memory().numTensors, before, "reluMaskGrad leaked tensors");
      if (i === 0) {
        tf.tidy(() => {
          for (const m of [tf.ones([n]), tf.ones([n + 1], "bool")]) {
            assert.throws(() => reluMaskGrad(tf.tensor1d(dy), m), NativeBackendError);
          }
        });
      }
      await initBackend("cpu");
      const want = tf.tidy(() => {
        const d = tf.tensor1d(dy);
        return tf.where(tf.tensor1d(mask, "bool"), d, tf.zerosLike(d)).dataSync();
      });
      // `===`: −dy·0 is −0 where `where` writes +0, the one difference (equal in every sum).
      const bad = [...got].flatMap((g, j) =>
        g === want[j] ? [] : [[j, g, want[j], dy[j], mask[j]]]
      );
      assert.deepEqual(bad, [], `n = ${n}`);
    }
  },
});

/** Round a tensor's values to bf16 (on the host; the cpu backend, small tensors). */
function roundTensor<T extends tf.Tensor>(t: T): T {
  return tf.tensor(toBf16(t.dataSync() as Float32Array), t.shape) as T;
}

/**
 * The bf16 convs emulated in f32 on cpu: inputs, weights and gradients rounded first — except
 * the image-facing conv (at most F32_MAX_IN_CHANNELS inputs), which stays f32.
 */
const EMULATED: SegmentConvs = {
  forward: (x, filter, bias) => {
    const bf16 = filter.shape[2] > F32_MAX_IN_CHANNELS;
    return tf.fused.conv2d({
      x: bf16 ? roundTensor(x) : x,
      filter: bf16 ? roundTensor(filter) : filter,
      bias,
      strides: 1,
      pad: "same",
      activation: "relu",
    });
  },
  backwardData: (dy, kernel, inShape) => {
    const bf16 = kernel.shape[2] > F32_MAX_IN_CHANNELS;
    return tf.conv2dTranspose(
      bf16 ? roundTensor(dy) : dy,
      bf16 ? roundTensor(kernel) : kernel,
      inShape,
      1,
      "same",
    );
  },
};

Deno.test({
  name: "bf16 frozen segment (conv, conv, pool, conv): value and input gradient equal the " +
    "f32 emulation of bf16 rounding on cpu",
  ignore,
  async fn() {
    const run = (convs: SegmentConvs) => {
      const made = [[3, 16], [16, 16], [16, 32]].map(([ci, co], i) => ({
        kernel: tf.tensor4d(randoms(9 * ci! * co!, 50 + i, 0.3), [3, 3, ci!, co!]),
        bias: tf.tensor1d(randoms(co!, 60 + i, 0.1)),
      }));
      const layers: SegmentLayer[] = [
        { kind: "conv", ...made[0]! },
        { kind: "conv", ...made[1]! },
        { kind: "pool" },
        { kind: "conv", ...made[2]! },
      ];
      const seg = frozenSegment(layers, convs);
      const x = tf.tensor4d(randoms(2 * 10 * 12 * 3, 70, 1), [2, 10, 12, 3]);
      const before = tf.memory().numTensors;
      const { value, grad } = tf.valueAndGrad((t: tf.Tensor4D) => tf.sum(tf.square(seg(t))))(x);
      const out = { value: value.dataSync()[0]!, grad: grad.dataSync() };
      tf.dispose([value, grad]);
      assert.equal(tf.memory().numTensors, before, "the segment leaked tensors");
      tf.dispose([x, ...made.flatMap((m) => [m.kernel, m.bias])]);
      return out;
    };
    await initBackend("native");
    const got = run(BF16_CONVS);
    await initBackend("cpu");
    uninstallTrainingKernels("cpu");
    try {
      const want = run(EMULATED);
      assert.ok(
        Math.abs(got.value - want.value) <= 1e-5 * want.value,
        `${got.value} ${want.value}`,
      );
      const { diff, scale } = maxDiff(got.grad, want.grad);
      assert.ok(scale > 0 && diff <= 1e-4 * scale, `gradient: max diff ${diff}, scale ${scale}`);
    } finally {
      await initBackend("cpu");
    }
  },
});

/** VGG-16 to relu2_2 on random weights: the tap and the gradient of its mean square. */
async function vggRun(precision: "f32" | "bf16", image: tf.Tensor4D) {
  using net = await vgg16({ weights: { random: 3 }, upTo: "relu2_2", precision });
  const f = (x: tf.Tensor4D) => tf.mean(tf.square(net.extract(x, ["relu2_2"]).relu2_2));
  const before = tf.memory().numTensors;
  const { value, grad } = tf.valueAndGrad(f)(image);
  const out = { value: value.dataSync()[0]!, grad: grad.dataSync(), name: net.name };
  tf.dispose([value, grad]);
  assert.equal(tf.memory().numTensors, before, `${precision}: a training pass leaked tensors`);
  return out;
}

Deno.test({
  name: "bf16 VGG: loss within 1% and input gradient within 5% of f32, bit-identical on repeat",
  ignore,
  async fn() {
    await initBackend("native");
    const image = tf.tensor4d(randoms(2 * 32 * 32 * 3, 5, 0.5).map((v) => v + 0.5), [
      2,
      32,
      32,
      3,
    ]);
    try {
      const f32 = await vggRun("f32", image);
      const bf16 = await vggRun("bf16", image);
      const again = await vggRun("bf16", image);
      assert.equal(bf16.name, "vgg16(random:3, to block2_conv2, bf16)");
      const rel = Math.abs(bf16.value - f32.value) / f32.value;
      assert.ok(rel > 0 && rel < 1e-2, `loss relative error ${rel}`);
      let num = 0, den = 0;
      f32.grad.forEach((g, i) => {
        num += (bf16.grad[i]! - g) ** 2;
        den += g * g;
      });
      const gradRel = Math.sqrt(num / den);
      // Relative L2 over the whole gradient (random weights, three bf16 convs each way): the
      // bound says bf16 stays a close approximation, the emulation test above that it is
      // exactly bf16 rounding.
      console.log(
        `bf16 vs f32: loss ${rel.toExponential(2)}, gradient ${gradRel.toExponential(2)}`,
      );
      assert.ok(gradRel > 0 && gradRel < 5e-2, `gradient relative error ${gradRel}`);
      assert.equal(again.value, bf16.value);
      assert.deepEqual(again.grad, bf16.grad);
    } finally {
      image.dispose();
      await initBackend("cpu");
    }
  },
});

Deno.test({
  name: "bf16 VGG: the image-facing first conv stays f32 (equal to f32 through relu1_1), the " +
    "next one does not",
  ignore,
  async fn() {
    await initBackend("native");
    const x = tf.tensor4d(randoms(2 * 16 * 16 * 3, 6, 0.5).map((v) => v + 0.5), [2, 16, 16, 3]);
    const taps = async (precision: "f32" | "bf16") => {
      using net = await vgg16({ weights: { random: 4 }, upTo: "relu1_2", precision });
      const f = net.extract(x, ["relu1_1", "relu1_2"]);
      const out = { a: f.relu1_1.dataSync(), b: f.relu1_2.dataSync() };
      tf.dispose([f.relu1_1, f.relu1_2]);
      return out;
    };
    try {
      const [f32, bf16] = [await taps("f32"), await taps("bf16")];
      assert.deepEqual(bf16.a, f32.a);
      assert.notDeepEqual(bf16.b, f32.b);
      const { diff, scale } = maxDiff(bf16.b, f32.b);
      assert.ok(diff < 2e-2 * scale, `relu1_2: ${diff} / ${scale}`);
    } finally {
      x.dispose();
      await initBackend("cpu");
    }
  },
});

Deno.test({
  name: "bf16 VGG: refused on a backend switched to after it was built",
  ignore,
  async fn() {
    await initBackend("native");
    using net = await vgg16({ weights: { random: 3 }, upTo: "relu1_2", precision: "bf16" });
    await initBackend("wasm");
    try {
      const x = tf.zeros([1, 8, 8, 3]) as tf.Tensor4D;
      assert.throws(() => net.extract(x, ["relu1_2"]), PrecisionUnavailableError);
      x.dispose();
    } finally {
      await initBackend("cpu");
    }
  },
});

Deno.test("bf16 VGG: refused on cpu with a typed error that says what to use", async () => {
  await initBackend("cpu");
  await assert.rejects(
    vgg16({ weights: { random: 0 }, upTo: "relu1_2", precision: "bf16" }),
    (e: unknown) =>
      e instanceof PrecisionUnavailableError && /'cpu', not 'native'/.test(e.message) &&
      /precision "f32"/.test(e.message),
  );
  await assert.rejects(
    // deno-lint-ignore no-explicit-any
    vgg16({ weights: { random: 0 }, upTo: "relu1_2", precision: "fp8" as any }),
    TypeError,
  );
});

Deno.test({
  name: "bf16 VGG: refused where oneDNN may not use AVX512-BF16 (DNNL_MAX_CPU_ISA=AVX512_CORE)",
  ignore,
  async fn() {
    const code = `
      import { initBackend, PrecisionUnavailableError } from "./src/backend/mod.ts";
      import { vgg16 } from "./src/vgg/mod.ts";
      await initBackend("native");
      try {
        await vgg16({ weights: { random: 0 }, upTo: "relu1_2", precision: "bf16" });
        console.log("built");
      } catch (e) {
        console.log(e instanceof PrecisionUnavailableError ? e.message : "other: " + e);
      }`;
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["eval", "--ext=ts", code],
      env: { DNNL_MAX_CPU_ISA: "AVX512_CORE" },
      stdout: "piped",
      stderr: "piped",
    }).output();
    const text = new TextDecoder().decode(out.stdout);
    assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
    assert.match(text, /precision "bf16" is not available: .*without AVX512-BF16/);
  },
});
