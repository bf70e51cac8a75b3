// The project's wasm BatchMatMul and Tile against the cpu backend's stock kernels (independent
// JS loops).
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs-core";
import { initBackend } from "../src/backend/mod.ts";

interface MatMulCase {
  readonly aShape: number[];
  readonly bShape: number[];
  readonly transposeA: boolean;
  readonly transposeB: boolean;
  readonly a: Float32Array;
  readonly b: Float32Array;
}

function makeCases(): MatMulCase[] {
  let s = 12345;
  const next = () => {
    s = (s * 1103515245 + 12345) % 2147483648;
    return s / 2147483648;
  };
  const int = (lo: number, hi: number) => lo + Math.floor(next() * (hi - lo + 1));
  const fill = (shape: number[]) =>
    Float32Array.from({ length: shape.reduce((x, y) => x * y, 1) }, () => next() * 2 - 1);
  const cases: MatMulCase[] = [];
  // outer shapes of a and b: equal, a broadcast over b, b broadcast over a, rank 2 and rank 4.
  const outers: [number[], number[]][] = [
    [[], []],
    [[3], [3]],
    [[1], [4]],
    [[4], [1]],
    [[2, 3], [2, 3]],
    [[5], []],
    [[], [2]],
  ];
  for (const [ao, bo] of outers) {
    for (const transposeA of [false, true]) {
      for (const transposeB of [false, true]) {
        const m = int(1, 9);
        const k = int(1, 9);
        const n = int(1, 9);
        const aShape = [...ao, ...(transposeA ? [k, m] : [m, k])];
        const bShape = [...bo, ...(transposeB ? [n, k] : [k, n])];
        cases.push({ aShape, bShape, transposeA, transposeB, a: fill(aShape), b: fill(bShape) });
      }
    }
  }
  return cases;
}

function products(cases: MatMulCase[]): { shape: number[]; values: Float32Array }[] {
  return cases.map((c) =>
    tf.tidy(() => {
      const y = tf.matMul(
        tf.tensor(c.a, c.aShape),
        tf.tensor(c.b, c.bShape),
        c.transposeA,
        c.transposeB,
      );
      return { shape: y.shape, values: y.dataSync() as Float32Array };
    })
  );
}

Deno.test("wasm BatchMatMul (batched, broadcast, transposed) matches the cpu backend", async () => {
  const cases = makeCases();
  await initBackend("cpu");
  const reference = products(cases);
  await initBackend("wasm");
  try {
    const got = products(cases);
    got.forEach((g, i) => {
      const c = cases[i]!;
      const label = `a[${c.aShape}]${c.transposeA ? "ᵀ" : ""} · b[${c.bShape}]${
        c.transposeB ? "ᵀ" : ""
      }`;
      assert.deepEqual(g.shape, reference[i]!.shape, label);
      let d = 0;
      let m = 0;
      g.values.forEach((v, j) => {
        d = Math.max(d, Math.abs(v - reference[i]!.values[j]!));
        m = Math.max(m, Math.abs(reference[i]!.values[j]!));
      });
      assert.ok(d <= 1e-5 * Math.max(m, 1e-6), `${label}: max diff ${d}, scale ${m}`);
    });
  } finally {
    await initBackend("cpu");
  }
});

Deno.test("wasm BatchMatMul gradients (a Gram matrix) match cpu and leak no buffers", async () => {
  const f = (x: tf.Tensor) => {
    const g = tf.matMul(x, x, true, false);
    return tf.sum(tf.mul(g, g));
  };
  const data = Float32Array.from({ length: 3 * 7 * 5 }, (_, i) => Math.sin(i * 0.77));
  await initBackend("cpu");
  const reference = tf.tidy(() => tf.grad(f)(tf.tensor(data, [3, 7, 5])).dataSync());
  await initBackend("wasm");
  try {
    const x = tf.tensor(data, [3, 7, 5]);
    const run = () => tf.tidy(() => tf.grad(f)(x).dataSync());
    const got = run();
    let d = 0;
    let m = 0;
    got.forEach((v, j) => {
      d = Math.max(d, Math.abs(v - reference[j]!));
      m = Math.max(m, Math.abs(reference[j]!));
    });
    assert.ok(d <= 1e-5 * m, `max diff ${d}, scale ${m}`);
    const tensors = tf.memory().numTensors;
    const buffers = tf.backend().numDataIds();
    for (let i = 0; i < 3; i++) run();
    assert.equal(tf.memory().numTensors, tensors);
    assert.equal(tf.backend().numDataIds(), buffers);
    x.dispose();
  } finally {
    await initBackend("cpu");
  }
});

Deno.test("wasm Tile matches the cpu backend (ranks 1–5, reps incl. 1 and 0) and leaks nothing", async () => {
  const cases: [number[], number[]][] = [
    [[5], [3]],
    [[2, 3], [1, 4]],
    [[1, 1, 1, 7], [4, 3, 2, 1]],
    [[2, 1, 3, 2], [2, 5, 1, 3]],
    [[2, 2, 1, 2, 3], [1, 2, 3, 1, 2]],
    [[3, 2], [0, 2]],
  ];
  const data = (shape: number[]) =>
    Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, (_, i) => i * 0.5 - 3);
  const run = () =>
    cases.map(([shape, reps]) =>
      tf.tidy(() => {
        const y = tf.tile(tf.tensor(data(shape), shape), reps);
        return { shape: y.shape, values: Array.from(y.dataSync()) };
      })
    );
  await initBackend("cpu");
  const reference = run();
  await initBackend("wasm");
  try {
    assert.deepEqual(run(), reference);
    const buffers = tf.backend().numDataIds();
    run();
    assert.equal(tf.backend().numDataIds(), buffers);
  } finally {
    await initBackend("cpu");
  }
});
