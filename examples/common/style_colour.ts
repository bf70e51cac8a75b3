/**
 * A colour term for style transfer, defined OUTSIDE the library with its public kind API
 * (`defineTermKind`): the sliced Wasserstein distance between the pixel-colour distributions of
 * the prediction and of the style image (Rabin et al. 2011; as a style loss, Heitz et al. 2021).
 * Every RGB pixel is projected on `directions` fixed random unit vectors; each image's
 * projections are sorted (its quantile functions along those directions) and averaged over
 * `quantiles` equal bins of probability, and the term is the mean squared difference of the two
 * sides' bin means. Gram matrices only match second moments of
 * features, and left The Starry Night's near-black navy and saturated yellow under-represented;
 * this matches the whole colour distribution, wherever the pixels are.
 *
 * Each side's binned quantile functions are its representation ([B, directions, quantiles],
 * whatever the image size), so the painting's are precomputed once
 * (`precomputeTarget(loss, net, painting, { kinds: ["style", "colour"] })`) and compared with
 * training crops of another size.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
import * as t from "io-ts";
import {
  defineTermKind,
  LossInputError,
  NumberField,
  registerTermKind,
  type Representation,
  type TermCommon,
  type TermKindDef,
} from "../../src/loss/mod.ts";

/** A sliced-Wasserstein colour term: `directions` random RGB directions drawn from `seed`. */
export interface ColourTerm extends TermCommon {
  /** The kind: `colour`. */
  readonly kind: "colour";
  /** How many random directions of RGB space the pixels are projected on. */
  readonly directions: number;
  /** The seed of the directions (the same seed gives the same directions on both sides). */
  readonly seed: number;
  /** Bins of probability each projected distribution is averaged over. */
  readonly quantiles: number;
}

/**
 * `count` unit vectors of RGB space, drawn from `seed` (mulberry32, then Box-Muller: uniform on
 * the sphere), as a row-major `[3, count]` array.
 *
 * @example
 * ```ts
 * import { colourDirections } from "./style_colour.ts";
 * const d = colourDirections(2, 0);
 * const norm = Math.hypot(d[0]!, d[2]!, d[4]!); // the first column
 * console.log(d.length, norm.toFixed(6)); // 6 "1.000000"
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
 * `dirs` ([3, K]): `[B, K, H·W]`, each row in decreasing order. Differentiable.
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs-core";
 * import { sortedProjections } from "./style_colour.ts";
 * const img = tf.tensor4d([0.1, 0, 0, 0.5, 0, 0], [1, 1, 2, 3]);
 * const s = sortedProjections(img, tf.tensor2d([1, 0, 0], [3, 1]));
 * console.log(Array.from(s.dataSync())); // [0.5, 0.1]
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
 * import * as tf from "@tensorflow/tfjs-core";
 * import { quantileMeans } from "./style_colour.ts";
 * // 3 values in 2 bins: [0.9, ½·0.6] / 1.5 and [½·0.6, 0.3] / 1.5
 * const m = quantileMeans(tf.tensor3d([0.9, 0.6, 0.3], [1, 1, 3]), 2);
 * console.log(Array.from(m.dataSync()).map((v) => v.toFixed(4))); // ["0.8000", "0.4000"]
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
 * distributions at that resolution, averaged over directions (and images).
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs-core";
 * import { slicedDistance } from "./style_colour.ts";
 * const d = slicedDistance(tf.tensor3d([0.5, 0.1], [1, 1, 2]), tf.tensor3d([0.4, 0.2], [1, 1, 2]));
 * console.log(d.dataSync()[0].toFixed(4)); // "0.0100": (0.1² + 0.1²) / 2
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

/**
 * The sliced-Wasserstein colour kind (`colour`): options `directions` (32), `seed` (0) and
 * `quantiles` (256), plus
 * `weight` and `name`. It reads the images only (no network taps). Registered, so JSON specs
 * may name it.
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs-core";
 * import { initBackend } from "../../src/backend/mod.ts";
 * import { evaluate } from "../../src/loss/mod.ts";
 * import { colourKind } from "./style_colour.ts";
 * await initBackend("cpu");
 * const loss = colourKind.loss({ directions: 16, weight: 10 });
 * const net = { name: "none", layers: [], inputConvention: { preprocessing: "none", range: "[0,1]" },
 *   depthOf: () => 0, extract: () => ({}), dispose() {}, [Symbol.dispose]() {} } as never;
 * const r = evaluate(loss, net)(tf.fill([1, 4, 4, 3], 0.2), tf.fill([1, 4, 4, 3], 0.2));
 * console.log(r.total.dataSync()[0]); // 0: the same colours
 * ```
 */
export const colourKind: TermKindDef<ColourTerm> = registerTermKind(
  defineTermKind<ColourTerm>({
    name: "colour",
    fields: {
      directions: {
        codec: new NumberField({
          ok: (v) => Number.isInteger(v) && v >= 1 && v <= 1024,
          want: "an integer from 1 to 1024",
        }),
        default: 32,
      },
      seed: { codec: t.number, default: 0 },
      quantiles: {
        codec: new NumberField({
          ok: (v) => Number.isInteger(v) && v >= 1 && v <= 65536,
          want: "an integer from 1 to 65536",
        }),
        default: 256,
      },
    },
    compares: "sorted colour projections",
    represent: (term, side) =>
      tf.tidy(() =>
        quantileMeans(
          sortedProjections(
            side.image,
            tf.tensor2d(colourDirections(term.directions, term.seed), [3, term.directions]),
          ),
          term.quantiles,
        )
      ),
    compare: (_term, pred: Representation, target: Representation | undefined) =>
      slicedDistance(pred as tf.Tensor3D, (target ?? pred) as tf.Tensor3D),
  }),
);
