import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs-core";
import { initBackend } from "../src/backend/mod.ts";

/** Max-pool gradient by hand: each dy goes to the first maximum of its window. */
function reference(
  x: Float32Array,
  [b, h, w, c]: number[],
  dy: Float32Array,
  f: number,
  s: number,
  pad: "valid" | "same",
): Float32Array {
  const oh = pad === "valid" ? Math.floor((h - f) / s) + 1 : Math.ceil(h / s);
  const ow = pad === "valid" ? Math.floor((w - f) / s) + 1 : Math.ceil(w / s);
  const top = pad === "valid" ? 0 : Math.floor(Math.max((oh - 1) * s + f - h, 0) / 2);
  const left = pad === "valid" ? 0 : Math.floor(Math.max((ow - 1) * s + f - w, 0) / 2);
  const dx = new Float32Array(x.length);
  for (let n = 0; n < b; n++) {
    for (let i = 0; i < oh; i++) {
      for (let j = 0; j < ow; j++) {
        for (let k = 0; k < c; k++) {
          let best = -Infinity, at = -1;
          for (let p = 0; p < f; p++) {
            for (let q = 0; q < f; q++) {
              const y = i * s - top + p, z = j * s - left + q;
              if (y < 0 || y >= h || z < 0 || z >= w) continue;
              const idx = ((n * h + y) * w + z) * c + k;
              if (x[idx]! > best) {
                best = x[idx]!;
                at = idx;
              }
            }
          }
          dx[at] += dy[((n * oh + i) * ow + j) * c + k]!;
        }
      }
    }
  }
  return dx;
}

const cases = [
  { shape: [2, 4, 6, 3], f: 2, s: 2, pad: "valid" as const },
  { shape: [1, 7, 5, 2], f: 3, s: 2, pad: "same" as const },
  { shape: [3, 9, 8, 4], f: 2, s: 1, pad: "valid" as const },
  { shape: [2, 5, 5, 1], f: 3, s: 3, pad: "same" as const },
];

for (const backend of ["wasm", "cpu"]) {
  Deno.test(`${backend} MaxPoolGrad equals the hand-computed gradient`, async () => {
    await initBackend(backend);
    for (const { shape, f, s, pad } of cases) {
      const size = shape.reduce((a, b) => a * b);
      // Distinct values: no ties, so the reference's routing is unambiguous.
      const xs = Float32Array.from({ length: size }, (_, i) => Math.sin(i * 12.9898) * 43.7 % 7);
      const x = tf.tensor4d(xs, shape as [number, number, number, number]);
      const y = tf.maxPool(x, f, s, pad);
      const dys = Float32Array.from({ length: y.size }, (_, i) => Math.cos(i * 0.77));
      const dy = tf.tensor(dys, y.shape);
      const before = tf.memory().numTensors;
      const g = tf.grad((a: tf.Tensor) =>
        tf.sum(tf.mul(tf.maxPool(a as tf.Tensor4D, f, s, pad), dy))
      )(x);
      const want = reference(xs, shape, dys, f, s, pad);
      const got = g.dataSync();
      for (let i = 0; i < size; i++) {
        assert.ok(Math.abs(got[i]! - want[i]!) < 1e-5, `${backend} ${shape} ${pad}: dx[${i}]`);
      }
      g.dispose();
      assert.equal(tf.memory().numTensors, before);
      tf.dispose([x, y, dy]);
    }
  });
}
