/**
 * The native backend's oneDNN comparisons (src/backend/native/_compare.ts) against the cpu
 * backend's stock kernels, element for element: both operand orders against a scalar, two
 * tensors of the same shape, ties, ±0, NaN and ±∞, sizes on both sides of the oneDNN threshold.
 * Skipped, saying why, without libdnnl.
 */
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs-core";
import { initBackend, uninstallTrainingKernels } from "../src/backend/mod.ts";
import { nativeInfo } from "../src/backend/native/mod.ts";
import { MIN_COMPARE } from "../src/backend/native/_compare.ts";
import { skipWithoutNative } from "./_native.ts";

const ignore = skipWithoutNative("native_compare_test");

/** Values with ties, signed zeros, NaN and infinities among uniform ones in [-2, 2). */
function values(n: number, seed: number): Float32Array {
  let s = seed;
  const next = () => {
    s = (Math.imul(s, 1103515245) + 12345) | 0;
    return ((s >>> 8) & 0xffff) / 0x10000;
  };
  const special = [0, -0, NaN, Infinity, -Infinity, 0.5, -0.5];
  return Float32Array.from(
    { length: n },
    (_, i) => i % 11 === 0 ? special[(i / 11) % special.length]! : Math.round(next() * 8 - 4) / 2,
  );
}

interface Case {
  readonly label: string;
  readonly a: { values: Float32Array; shape: number[] };
  readonly b: { values: Float32Array; shape: number[] };
}

const KERNELS = ["Greater", "GreaterEqual", "Less", "LessEqual"] as const;

function cases(): Case[] {
  const out: Case[] = [];
  for (const shape of [[4, 16, 16, 64], [3, 1000], [MIN_COMPARE - 1], [MIN_COMPARE]]) {
    const n = shape.reduce((p, d) => p * d, 1);
    const a = { values: values(n, n), shape };
    for (const s of [0, 0.5, -0, NaN]) {
      const scalar = { values: Float32Array.of(s), shape: [] as number[] };
      out.push({ label: `[${shape}] vs ${s}`, a, b: scalar });
      out.push({ label: `${s} vs [${shape}]`, a: scalar, b: a });
    }
    out.push({ label: `[${shape}] vs same shape`, a, b: { values: values(n, 7 * n), shape } });
    // A one-element operand of higher rank: the result takes the broadcast shape.
    out.push({
      label: `[1,1,1,1,1] vs [${shape}]`,
      a: { values: Float32Array.of(0), shape: [1, 1, 1, 1, 1] },
      b: a,
    });
  }
  return out;
}

function run(kernel: string, c: Case): Uint8Array | Int32Array | Float32Array {
  return tf.tidy(() => {
    const a = tf.tensor(c.a.values, c.a.shape), b = tf.tensor(c.b.values, c.b.shape);
    const y = tf.engine().runKernel(kernel, { a, b }) as tf.Tensor;
    assert.equal(y.dtype, "bool");
    const want = tf.backend_util.assertAndGetBroadcastShape(c.a.shape, c.b.shape);
    assert.deepEqual(y.shape, want, `${kernel} ${c.label}: shape`);
    return y.dataSync() as Uint8Array;
  });
}

Deno.test({
  name: "native Greater/GreaterEqual/Less/LessEqual equal cpu's, element for element",
  ignore,
  async fn() {
    await initBackend("native");
    const before = tf.memory().numTensors;
    const all = cases();
    const got = KERNELS.map((k) => all.map((c) => run(k, c)));
    assert.equal(tf.memory().numTensors, before, "comparisons leaked tensors");
    const now = nativeInfo();
    const onDnnl = typeof now === "string" ? [] : now.primitives.map((p) => p.key);
    for (const alg of ["gt", "ge", "lt", "le"]) {
      assert.ok(onDnnl.some((k) => k.startsWith(`${alg} x[`)), `${alg} ran on oneDNN`);
    }
    await initBackend("cpu");
    uninstallTrainingKernels("cpu");
    try {
      KERNELS.forEach((k, i) =>
        all.forEach((c, j) => {
          const want = run(k, c), mine = got[i]![j]!;
          assert.equal(mine.length, want.length, `${k} ${c.label}: size`);
          // The first differing element (a deepEqual of 65 536 elements would take minutes).
          const at = want.findIndex((w, e) => w !== mine[e]);
          assert.equal(
            at,
            -1,
            `${k} ${c.label}: element ${at} is ${mine[at]}, cpu says ${want[at]}`,
          );
        })
      );
    } finally {
      await initBackend("cpu");
    }
  },
});
