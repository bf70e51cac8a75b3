/**
 * The arithmetic of the sliced-Wasserstein colour term (`kinds/colour.ts`): random directions of
 * RGB space, the sorted projections of an image's pixels on them (with a gradient for the sort),
 * their quantile functions averaged over equal bins of probability, and the distance.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
import { LossInputError } from "./errors.ts";

/**
 * `count` unit vectors of RGB space, drawn from `seed` (mulberry32, then Box-Muller: uniform on
 * the sphere), as a row-major `[3, count]` array.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { colourDirections } from "./_sliced_wasserstein.ts";
 * const d = colourDirections(2, 0);
 * assert.equal(d.length, 6);
 * assert.ok(Math.abs(Math.hypot(d[0]!, d[2]!, d[4]!) - 1) < 1e-6); // the first column
 * ```
 */
export function colourDirections(count: number, seed: number): Float32Array {
  let s = seed >>> 0;
  const uniform = () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let z = s;
    z = Math.imul(z ^ (z >>> 15), z | 1);
    z ^= z + Math.imul(z ^ (z >>> 7), z | 61);
    return (((z ^ (z >>> 14)) >>> 0) + 0.5) / 4294967296;
  };
  const gauss = () => Math.sqrt(-2 * Math.log(uniform())) * Math.cos(2 * Math.PI * uniform());
  const out = new Float32Array(3 * count);
  for (let k = 0; k < count; k++) {
    const v = [gauss(), gauss(), gauss()];
    const n = Math.hypot(...v) || 1;
    for (let c = 0; c < 3; c++) out[c * count + k] = v[c]! / n;
  }
  return out;
}

/**
 * Each row of `x` ([rows, n]) sorted in decreasing order, with a gradient that routes each
 * sorted value's gradient back to the element it came from (tfjs' `topk` has none).
 */
function sortRows(x: tf.Tensor2D): tf.Tensor2D {
  const sort = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const [input, save] = args as [tf.Tensor, tf.GradSaveFunc];
    const [rows, n] = input.shape as [number, number];
    const { values, indices } = tf.topk(input, n, true);
    // Global positions in the flattened input of each sorted value.
    const offsets = tf.tensor2d(
      Int32Array.from({ length: rows }, (_, r) => r * n),
      [rows, 1],
      "int32",
    );
    const flat = tf.reshape(tf.add(indices, offsets), [rows * n, 1]);
    save([flat]);
    tf.dispose([indices, offsets]);
    return {
      value: values,
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) =>
        tf.reshape(tf.scatterND(saved[0]!, tf.reshape(dy, [rows * n]), [rows * n]), [rows, n]),
    };
  });
  return sort(x) as tf.Tensor2D;
}

/**
 * The sorted projections of every image of `image` ([B, H, W, 3], any range) on the columns of
 * `dirs` ([3, K]): `[B, K, H·W]`, each row in decreasing order. Differentiable. Throws a
 * `LossInputError` for an image that is not RGB.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as tf from "@tensorflow/tfjs-core";
 * import { initBackend } from "../backend/mod.ts";
 * import { sortedProjections } from "./_sliced_wasserstein.ts";
 * await initBackend("cpu");
 * const img = tf.tensor4d([0.1, 0, 0, 0.5, 0, 0], [1, 1, 2, 3]);
 * const s = sortedProjections(img, tf.tensor2d([1, 0, 0], [3, 1]));
 * assert.deepEqual(Array.from(s.dataSync()).map((v) => Number(v.toFixed(6))), [0.5, 0.1]);
 * ```
 */
export function sortedProjections(image: tf.Tensor4D, dirs: tf.Tensor2D): tf.Tensor3D {
  return tf.tidy(() => {
    const [b, h, w, c] = image.shape;
    if (c !== 3) {
      throw new LossInputError(
        `the colour term compares RGB pixels, but the image has ${c} channels; give it RGB images`,
      );
    }
    const k = dirs.shape[1];
    const projected = tf.matMul(tf.reshape(image, [b * h * w, 3]), dirs); // [B·N, K]
    const rows = tf.reshape(tf.transpose(tf.reshape(projected, [b, h * w, k]), [0, 2, 1]), [
      b * k,
      h * w,
    ]);
    return tf.reshape(sortRows(rows as tf.Tensor2D), [b, k, h * w]) as tf.Tensor3D;
  });
}

/**
 * `x[..., at[j]]` for `x` [B, K, M]: `[B, K, at.length]`, with a gradient made by `scatterND`
 * (tfjs' gather gradient needs `UnsortedSegmentSum`, which the wasm backend lacks).
 */
function gatherLast(x: tf.Tensor3D, at: Int32Array): tf.Tensor3D {
  const op = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const input = args[0] as tf.Tensor3D;
    const [b, k, m] = input.shape;
    const rows = tf.reshape(tf.transpose(input, [2, 0, 1]), [m, b * k]);
    const idx = tf.tensor1d(at, "int32");
    const picked = tf.gather(rows, idx);
    const value = tf.transpose(tf.reshape(picked, [at.length, b, k]), [1, 2, 0]);
    tf.dispose([rows, idx, picked]);
    return {
      value,
      gradFunc: (dy: tf.Tensor) =>
        tf.tidy(() => {
          const d = tf.reshape(tf.transpose(dy, [2, 0, 1]), [at.length, b * k]);
          const into = tf.scatterND(tf.tensor2d(at, [at.length, 1], "int32"), d, [m, b * k]);
          return tf.transpose(tf.reshape(into, [m, b, k]), [1, 2, 0]);
        }),
    };
  });
  return op(x) as tf.Tensor3D;
}

/**
 * The quantile function of each row of `sorted` ([B, K, N], each row sorted) averaged over `q`
 * equal bins of probability: `[B, K, q]`, bin `j` the mean of the row's values between positions
 * `j·N/q` and `(j+1)·N/q` (a value straddling a bin edge counts in both, by its share). Every
 * value reaches the result (and gets a gradient), whatever N, so images of any size compare.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as tf from "@tensorflow/tfjs-core";
 * import { initBackend } from "../backend/mod.ts";
 * import { quantileMeans } from "./_sliced_wasserstein.ts";
 * await initBackend("cpu");
 * // 3 values in 2 bins: (0.9 + ½·0.6) / 1.5 and (½·0.6 + 0.3) / 1.5
 * const m = quantileMeans(tf.tensor3d([0.9, 0.6, 0.3], [1, 1, 3]), 2);
 * assert.deepEqual(Array.from(m.dataSync()).map((v) => v.toFixed(4)), ["0.8000", "0.4000"]);
 * ```
 */
export function quantileMeans(sorted: tf.Tensor3D, q: number): tf.Tensor3D {
  return tf.tidy(() => {
    const [b, k, n] = sorted.shape;
    if (n % q === 0) {
      return tf.mean(tf.reshape(sorted, [b, k, q, n / q]), 3) as tf.Tensor3D;
    }
    // The integral of the row as a step function, at the bin edges: linear interpolation of the
    // cumulative sums S (S[0] = 0, S[i] = v[0] + … + v[i−1]) at e_j = j·N/q.
    const s = tf.concat([tf.zeros([b, k, 1]), tf.cumsum(sorted, 2)], 2) as tf.Tensor3D;
    const edges = Array.from({ length: q + 1 }, (_, j) => (j * n) / q);
    const lo = Int32Array.from(edges, (e) => Math.min(Math.floor(e), n - 1));
    const frac = Float32Array.from(edges, (e, j) => e - lo[j]!);
    const sLo = gatherLast(s, lo);
    const sHi = gatherLast(s, lo.map((i) => i + 1));
    const at = tf.add(sLo, tf.mul(tf.sub(sHi, sLo), tf.tensor1d(frac)));
    const area = tf.sub(tf.slice(at, [0, 0, 1], [b, k, q]), tf.slice(at, [0, 0, 0], [b, k, q]));
    return tf.div(area, n / q) as tf.Tensor3D;
  });
}

/**
 * The mean squared difference between the binned quantile functions `pred` ([B, K, Q]) and
 * `target` ([1 or B, K, Q]): the squared 2-Wasserstein distance of the projected colour
 * distributions at that resolution, averaged over directions (and images). Throws a
 * `LossInputError` when the sides' directions or quantiles differ.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as tf from "@tensorflow/tfjs-core";
 * import { initBackend } from "../backend/mod.ts";
 * import { slicedDistance } from "./_sliced_wasserstein.ts";
 * await initBackend("cpu");
 * const d = slicedDistance(tf.tensor3d([0.5, 0.1], [1, 1, 2]), tf.tensor3d([0.4, 0.2], [1, 1, 2]));
 * assert.ok(Math.abs(d.dataSync()[0]! - 0.01) < 1e-7); // (0.1² + 0.1²) / 2
 * ```
 */
export function slicedDistance(pred: tf.Tensor3D, target: tf.Tensor3D): tf.Scalar {
  return tf.tidy(() => {
    if (pred.shape[1] !== target.shape[1] || pred.shape[2] !== target.shape[2]) {
      throw new LossInputError(
        `the colour term's sides are [${pred.shape}] and [${target.shape}] (directions, ` +
          "quantiles); compare terms with the same directions and quantiles",
      );
    }
    return tf.mean(tf.square(tf.sub(pred, target))) as tf.Scalar;
  });
}
