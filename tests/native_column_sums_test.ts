/**
 * The native backend's `Sum`/`Mean` over leading axes (bias and batch-norm gradients, run as a
 * oneDNN product `ones · X`, src/backend/native/_column_sums.ts) against the cpu backend's stock
 * kernels, with keepDims, on both sides of the oneDNN threshold; and bit-identical on repeat.
 * Skipped, saying why, without libdnnl.
 */
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs-core";
import { initBackend, uninstallTrainingKernels } from "../src/backend/mod.ts";
import { nativeInfo } from "../src/backend/native/mod.ts";
import { MIN_LEADING } from "../src/backend/native/_column_sums.ts";
import { skipWithoutNative } from "./_native.ts";

const ignore = skipWithoutNative("native_column_sums_test");

interface Case {
  readonly shape: number[];
  readonly axes: number[];
  readonly keepDims: boolean;
}

const CASES: Case[] = [
  { shape: [4, 16, 16, 64], axes: [0, 1, 2], keepDims: false },
  { shape: [4, 8, 8, 512], axes: [0, 1, 2], keepDims: true },
  { shape: [3, 5000], axes: [0], keepDims: false },
  { shape: [2, 3, 700], axes: [0, 1], keepDims: true },
  { shape: [MIN_LEADING / 8 - 1, 8], axes: [0], keepDims: false }, // below: wasm's kernel
];

function values(n: number, seed: number): Float32Array {
  let s = seed;
  return Float32Array.from({ length: n }, () => {
    s = (Math.imul(s, 1103515245) + 12345) | 0;
    return ((s >>> 8) & 0xffff) / 0x8000 - 1 + 0.25; // a non-zero mean, as gradients have
  });
}

function run(
  kernel: "Sum" | "Mean",
  c: Case,
  x: Float32Array,
): { v: Float32Array; shape: number[] } {
  return tf.tidy(() => {
    const y = tf.engine().runKernel(kernel, { x: tf.tensor(x, c.shape) }, {
      axis: c.axes,
      keepDims: c.keepDims,
    }) as tf.Tensor;
    return { v: y.dataSync() as Float32Array, shape: y.shape };
  });
}

Deno.test({
  name: "native Sum/Mean over leading axes match cpu (oneDNN product above the threshold)",
  ignore,
  async fn() {
    await initBackend("native");
    const inputs = CASES.map((c, i) => values(c.shape.reduce((a, b) => a * b, 1), 7 + i));
    const before = tf.memory().numTensors;
    const got = (["Sum", "Mean"] as const).map((k) => CASES.map((c, i) => run(k, c, inputs[i]!)));
    const again = CASES.map((c, i) => run("Sum", c, inputs[i]!));
    assert.equal(tf.memory().numTensors, before, "leaked tensors");
    again.forEach((r, i) =>
      assert.ok(r.v.every((v, j) => Object.is(v, got[0]![i]!.v[j])), "repeat")
    );
    const now = nativeInfo();
    const products = typeof now === "string" ? [] : now.primitives.map((p) => p.key);
    assert.ok(
      products.some((k) => k.startsWith("matmul a[1,1,1024] b[1,1024,64]")),
      products.join("; "),
    );
    await initBackend("cpu");
    uninstallTrainingKernels("cpu");
    try {
      (["Sum", "Mean"] as const).forEach((k, ki) =>
        CASES.forEach((c, i) => {
          const want = run(k, c, inputs[i]!);
          const mine = got[ki]![i]!;
          assert.deepEqual(mine.shape, want.shape, `${k} [${c.shape}] shape`);
          // float32 accumulation: within 1e-6 of the sum of |x| the column adds up.
          const rows = c.axes.reduce((a, ax) => a * c.shape[ax]!, 1);
          const bound = 1e-6 * rows * 1.25 / (k === "Mean" ? rows : 1);
          want.v.forEach((w, j) => {
            assert.ok(
              Math.abs(mine.v[j]! - w) <= bound,
              `${k} [${c.shape}] over [${c.axes}] [${j}]: ${mine.v[j]} vs cpu ${w}`,
            );
          });
        })
      );
    } finally {
      await initBackend("cpu");
    }
  },
});
