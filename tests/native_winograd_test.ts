/**
 * Winograd forward convolutions on the native backend (inside `withWinograd`): against the cpu
 * backend's convolution, chosen where the rule says and nowhere else (not outside it, not under
 * a gradient, not below its size and channel thresholds, not when switched off), the same bits run after
 * run, no leaks, and a whole VGG-16 pass close to the direct one. Skipped, saying why, without
 * libdnnl; the Winograd-specific assertions are skipped on a CPU where oneDNN has no Winograd
 * kernel (without AVX-512), where the kernels must fall back to the direct convolution.
 */
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs-core";
import {
  configureNative,
  initBackend,
  nativeInfo,
  nativeProfile,
  setNativeProfiling,
  uninstallTrainingKernels,
  withWinograd,
} from "../src/backend/mod.ts";
import { vgg16 } from "../src/vgg/mod.ts";
import { maxDiff, skipWithoutNative } from "./_native.ts";

const ignore = skipWithoutNative("native_winograd_test");

type Shape4 = [number, number, number, number];

/** mulberry32 uniform in [-scale, scale), so a failing case can be re-run. */
function randoms(n: number, seed: number, scale: number): Float32Array {
  return Float32Array.from({ length: n }, () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return (2 * (((t ^ (t >>> 14)) >>> 0) / 4294967296) - 1) * scale;
  });
}

/** How many elements differ in their bits (assert.deepEqual's diff of large arrays is huge). */
function differing(a: ArrayLike<number> | undefined, b: ArrayLike<number>): number {
  if (a === undefined || a.length !== b.length) return Infinity;
  let n = 0;
  for (let i = 0; i < a.length; i++) if (!Object.is(a[i], b[i])) n++;
  return n;
}

/** Whether `f` ran a Winograd convolution (from the native profile). */
function ranWinograd(f: () => void): boolean {
  setNativeProfiling(true);
  try {
    f();
    return nativeProfile().some((e) => e.key.startsWith("conv_fwd_winograd"));
  } finally {
    setNativeProfiling(false);
  }
}

/** The keys of the Winograd plans made so far, with what was chosen for each. */
function winogradPlans(): { key: string; chosen: string }[] {
  const info = nativeInfo();
  if (typeof info === "string") return [];
  return info.primitives.filter((p) => p.key.startsWith("conv_fwd_winograd"));
}

interface Case {
  readonly x: Shape4;
  readonly co: number;
  readonly fused: boolean;
}

const CASES: readonly Case[] = [
  { x: [1, 40, 36, 64], co: 128, fused: true },
  { x: [2, 24, 24, 96], co: 64, fused: false },
];

function conv(c: Case, x: Float32Array, k: Float32Array, b: Float32Array): tf.Tensor4D {
  const xt = tf.tensor4d(x, c.x);
  const kt = tf.tensor4d(k, [3, 3, c.x[3], c.co]);
  return c.fused
    ? tf.fused.conv2d({
      x: xt,
      filter: kt,
      bias: tf.tensor1d(b),
      pad: "same",
      strides: 1,
      activation: "relu",
    })
    : tf.conv2d(xt, kt, 1, "same");
}

function inputs(c: Case, seed: number) {
  const [n, h, w, ci] = c.x;
  return {
    x: randoms(n * h * w * ci, seed, 1),
    // He-like weights, so that the outputs are of order 1.
    k: randoms(9 * ci * c.co, seed + 1, Math.sqrt(6 / (9 * ci))),
    b: randoms(c.co, seed + 2, 0.1),
  };
}

Deno.test({
  name: "withWinograd: Winograd convolutions match the cpu backend's to 1e-5 of the outputs",
  ignore,
  async fn() {
    for (const [i, c] of CASES.entries()) {
      const { x, k, b } = inputs(c, 10 * i);
      await initBackend("cpu");
      uninstallTrainingKernels("cpu");
      const want = tf.tidy(() => conv(c, x, k, b).dataSync());
      await initBackend("native");
      const before = tf.memory().numTensors;
      const got = withWinograd(() => tf.tidy(() => conv(c, x, k, b).dataSync()));
      const again = withWinograd(() => tf.tidy(() => conv(c, x, k, b).dataSync()));
      assert.equal(tf.memory().numTensors, before, "the Winograd kernel leaked tensors");
      assert.equal(differing(again, got), 0, `case ${i}: not the same bits on a second run`);
      const { diff, scale } = maxDiff(got, want);
      assert.ok(scale > 0.5, `case ${i}: outputs too small to test (${scale})`);
      const plans = winogradPlans().filter((p) => p.key.includes(`x[${c.x}]`));
      assert.equal(plans.length, 1, `case ${i}: Winograd was not tried`);
      if (plans[0]!.chosen === "none") {
        console.log("native_winograd_test: oneDNN has no Winograd kernel on this CPU");
        assert.ok(diff <= 1e-6 * scale, `case ${i}: direct fallback ${diff} of ${scale}`);
        continue;
      }
      assert.match(plans[0]!.chosen, /^jit\S*wino/, `case ${i}: not a jit Winograd kernel`);
      // Direct convolutions agree to ~1e-7 of the scale; F(4×4, 3×3) Winograd to ~1e-5.
      assert.ok(diff <= 1e-5 * scale, `case ${i}: ${diff} of ${scale}`);
      assert.ok(diff > 0, `case ${i}: bit-identical to the cpu backend: was Winograd used?`);
    }
  },
});

Deno.test({
  name: "Winograd is not used outside withWinograd, under a gradient, below its thresholds, or off",
  ignore,
  async fn() {
    await initBackend("native");
    const c = CASES[0]!;
    const { x, k, b } = inputs(c, 7);
    // Outside withWinograd (a calibration, a training target): the direct convolution.
    let direct: ArrayLike<number> = [];
    assert.ok(
      !ranWinograd(() => direct = tf.tidy(() => conv(c, x, k, b).dataSync())),
    );
    configureNative({ winograd: false });
    assert.equal((nativeInfo() as { winograd: boolean }).winograd, false);
    let off: ArrayLike<number> = [];
    const used = ranWinograd(() =>
      off = withWinograd(() => tf.tidy(() => conv(c, x, k, b).dataSync()))
    );
    assert.ok(!used, "switched off, yet used");
    assert.equal(differing(off, direct), 0, "switched off, yet not the direct convolution");
    configureNative({});
    assert.equal((nativeInfo() as { winograd: boolean }).winograd, true);

    // The forward pass inside a gradient computation: the direct convolution's bits exactly.
    let inside: Float32Array | undefined;
    const kv = tf.variable(tf.tensor4d(k, [3, 3, c.x[3], c.co]), true, "winograd_test_kernel");
    const dk = withWinograd(() =>
      tf.tidy(() => {
        const { grads } = tf.variableGrads(() => {
          const y = tf.fused.conv2d({
            x: tf.tensor4d(x, c.x),
            filter: kv as tf.Tensor4D,
            bias: tf.tensor1d(b),
            pad: "same",
            strides: 1,
            activation: "relu",
          });
          inside = y.dataSync() as Float32Array;
          return tf.sum(y) as tf.Scalar;
        }, [kv]);
        return Object.values(grads)[0]!.dataSync();
      })
    );
    kv.dispose();
    assert.equal(differing(inside, direct), 0, "under a gradient, not the direct convolution");
    assert.ok(dk.some((v) => v !== 0));

    // Too few output pixels (16×16 = 256 < 1,024) and too few channels (32): direct.
    const small: Case[] = [
      { x: [1, 16, 16, 64], co: 64, fused: true },
      { x: [1, 40, 40, 32], co: 32, fused: true },
    ];
    for (const s of small) {
      const v = inputs(s, 3);
      const used = ranWinograd(() => withWinograd(() => tf.tidy(() => conv(s, v.x, v.k, v.b))));
      assert.ok(!used, `[${s.x}] → ${s.co} should stay direct`);
    }
  },
});

Deno.test({
  name: "a VGG-16 pass with Winograd stays within 1e-4 of the direct one at every block",
  ignore,
  async fn() {
    await initBackend("native");
    using net = await vgg16({ weights: { random: 5 }, upTo: "relu3_3" });
    const layers = ["relu1_2", "relu2_2", "relu3_3"] as const;
    const image = tf.tensor4d(randoms(96 * 80 * 3, 11, 0.5).map((v) => v + 0.5), [1, 96, 80, 3]);
    const run = () =>
      tf.tidy(() => {
        const f = net.extract(image, [...layers]);
        return layers.map((l) => f[l].dataSync());
      });
    const direct = run();
    const before = tf.memory().numTensors;
    const wino = withWinograd(run);
    assert.equal(tf.memory().numTensors, before, "the VGG pass leaked tensors");
    image.dispose();
    layers.forEach((l, i) => {
      const { diff, scale } = maxDiff(wino[i]!, direct[i]!);
      assert.ok(scale > 0, `${l}: all zero`);
      assert.ok(diff <= 1e-4 * scale, `${l}: ${diff} of ${scale}`);
    });
  },
});
