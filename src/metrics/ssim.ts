/**
 * Structural similarity (Wang, Bovik, Sheikh & Simoncelli 2004).
 *
 * @module
 */
import type * as tf from "@tensorflow/tfjs-core";
import {
  checkPair,
  MetricInputError,
  type MetricOptions,
  type Planes,
  readPlanes,
} from "./options.ts";

const RADIUS = 5; // 11x11 window
const SIGMA = 1.5;

const WINDOW: Float64Array = (() => {
  const w = new Float64Array(2 * RADIUS + 1);
  let sum = 0;
  for (let i = -RADIUS; i <= RADIUS; i++) {
    w[i + RADIUS] = Math.exp(-(i * i) / (2 * SIGMA * SIGMA));
    sum += w[i + RADIUS]!;
  }
  for (let i = 0; i < w.length; i++) w[i]! /= sum;
  return w;
})();

/**
 * Separable 'valid' Gaussian filtering of a plane: out is (h-10) x (w-10). Each output sums its
 * 11 products in window order (first along rows, then down columns), the taps held in locals:
 * the same float64 operations in the same order as the plain loops, so the same bits.
 */
function filterValid(p: Float64Array, h: number, w: number): Float64Array {
  const [w0, w1, w2, w3, w4, w5, w6, w7, w8, w9, w10] = WINDOW as unknown as number[];
  const ow = w - 10;
  const oh = h - 10;
  const tmp = new Float64Array(h * ow);
  for (let y = 0; y < h; y++) {
    const row = y * w;
    const dst = y * ow;
    for (let x = 0; x < ow; x++) {
      const i = row + x;
      tmp[dst + x] = 0 + w0! * p[i]! + w1! * p[i + 1]! + w2! * p[i + 2]! + w3! * p[i + 3]! +
        w4! * p[i + 4]! + w5! * p[i + 5]! + w6! * p[i + 6]! + w7! * p[i + 7]! +
        w8! * p[i + 8]! + w9! * p[i + 9]! + w10! * p[i + 10]!;
    }
  }
  const out = new Float64Array(oh * ow);
  for (let y = 0; y < oh; y++) {
    const dst = y * ow;
    for (let x = 0; x < ow; x++) {
      const i = dst + x;
      out[i] = 0 + w0! * tmp[i]! + w1! * tmp[i + ow]! + w2! * tmp[i + 2 * ow]! +
        w3! * tmp[i + 3 * ow]! + w4! * tmp[i + 4 * ow]! + w5! * tmp[i + 5 * ow]! +
        w6! * tmp[i + 6 * ow]! + w7! * tmp[i + 7 * ow]! + w8! * tmp[i + 8 * ow]! +
        w9! * tmp[i + 9 * ow]! + w10! * tmp[i + 10 * ow]!;
    }
  }
  return out;
}

/** What SSIM needs of one target plane, whatever it is compared with. */
interface TargetPlane {
  readonly y: Float64Array;
  readonly my: Float64Array;
  readonly syy: Float64Array;
}

function targetPlane(y: Float64Array, h: number, w: number): TargetPlane {
  const yy = new Float64Array(y.length);
  for (let i = 0; i < y.length; i++) yy[i] = y[i]! * y[i]!;
  return { y, my: filterValid(y, h, w), syy: filterValid(yy, h, w) };
}

function planeSsim(x: Float64Array, t: TargetPlane, h: number, w: number, range: number): number {
  const c1 = (0.01 * range) ** 2;
  const c2 = (0.03 * range) ** 2;
  const { y, my, syy } = t;
  const xx = new Float64Array(x.length);
  const xy = new Float64Array(x.length);
  for (let i = 0; i < x.length; i++) {
    xx[i] = x[i]! * x[i]!;
    xy[i] = x[i]! * y[i]!;
  }
  const mx = filterValid(x, h, w);
  const sxx = filterValid(xx, h, w);
  const sxy = filterValid(xy, h, w);
  let total = 0;
  for (let i = 0; i < mx.length; i++) {
    const ux = mx[i]!;
    const uy = my[i]!;
    const vx = sxx[i]! - ux * ux;
    const vy = syy[i]! - uy * uy;
    const cov = sxy[i]! - ux * uy;
    total += ((2 * ux * uy + c1) * (2 * cov + c2)) / ((ux * ux + uy * uy + c1) * (vx + vy + c2));
  }
  return total / mx.length;
}

/**
 * Mean SSIM with Wang et al.'s settings: an 11x11 Gaussian window (σ = 1.5) over the 'valid'
 * region, K1 = 0.01, K2 = 0.03, L = `range`, population (not sample) covariances. On RGB the
 * channels' SSIMs are averaged; `yChannel` scores BT.601 luma (a grey image: its own values); `crop` shaves the border first.
 * A batch gives the mean over its images. Matches MATLAB `ssim_index` and scikit-image
 * `structural_similarity(gaussian_weights=True, sigma=1.5, use_sample_covariance=False)`.
 * Async (reads the tensors back); the inputs are not disposed.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as tf from "@tensorflow/tfjs-core";
 * import { initBackend } from "@perceptual/loss/backend";
 * import { ssim } from "@perceptual/loss/metrics";
 * await initBackend("cpu");
 * const a = tf.randomUniform([32, 32, 3], 0, 1, "float32", 1) as tf.Tensor3D;
 * assert.equal(await ssim(a, a), 1);
 * a.dispose();
 * ```
 */
export async function ssim(
  a: tf.Tensor3D | tf.Tensor4D,
  b: tf.Tensor3D | tf.Tensor4D,
  options: MetricOptions = {},
): Promise<number> {
  checkSsimPair(a, b, options);
  const [pa, pb] = await Promise.all([readPlanes(a, options), readPlanes(b, options)]);
  return meanSsim(pa, targetPlanes(pb), options.range ?? 1);
}

/**
 * {@linkcode ssim} against a fixed `target`: the target is read, and its share of the
 * filtering (its local means and variances) done, once; the function returned scores any
 * prediction of the target's shape against it, with the same result as
 * `ssim(prediction, target, options)` bit for bit. For tables that score several methods
 * against one truth. `target` may be disposed once this resolves.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as tf from "@tensorflow/tfjs-core";
 * import { initBackend } from "@perceptual/loss/backend";
 * import { ssim, ssimAgainst } from "@perceptual/loss/metrics";
 * await initBackend("cpu");
 * const t = tf.randomUniform([24, 24, 3], 0, 1, "float32", 1) as tf.Tensor3D;
 * const p = tf.randomUniform([24, 24, 3], 0, 1, "float32", 2) as tf.Tensor3D;
 * const score = await ssimAgainst(t, { yChannel: true });
 * assert.equal(await score(p), await ssim(p, t, { yChannel: true }));
 * assert.equal(await score(t), 1);
 * tf.dispose([t, p]);
 * ```
 */
export async function ssimAgainst(
  target: tf.Tensor3D | tf.Tensor4D,
  options: MetricOptions = {},
): Promise<(prediction: tf.Tensor3D | tf.Tensor4D) => Promise<number>> {
  checkSsimPair(target, target, options);
  // Its shape stands in for the target, which may be disposed by the time a prediction comes.
  const like = { shape: [...target.shape] };
  const fixed = targetPlanes(await readPlanes(target, options));
  return async (prediction) => {
    checkSsimPair(prediction, like, options);
    return meanSsim(await readPlanes(prediction, options), fixed, options.range ?? 1);
  };
}

function checkSsimPair(
  a: Pick<tf.Tensor, "rank" | "shape">,
  b: Pick<tf.Tensor, "shape">,
  options: MetricOptions,
): void {
  checkPair(a, b, options, "ssim");
  const [h, w] = a.shape.slice(-3) as [number, number];
  const crop = options.crop ?? 0;
  if (h - 2 * crop < WINDOW.length || w - 2 * crop < WINDOW.length) {
    throw new MetricInputError(
      `ssim: needs at least 11x11 pixels after cropping ${crop} at the border, image is ${h}x${w}`,
    );
  }
}

function targetPlanes(images: readonly Planes[]): TargetPlane[][] {
  return images.map(({ height, width, planes }) =>
    planes.map((plane) => targetPlane(plane, height, width))
  );
}

/** The mean over images of the mean over planes of each plane's SSIM. */
function meanSsim(pa: readonly Planes[], pb: readonly TargetPlane[][], range: number): number {
  let total = 0;
  for (let i = 0; i < pa.length; i++) {
    const { height, width, planes } = pa[i]!;
    let sum = 0;
    planes.forEach((plane, k) => {
      sum += planeSsim(plane, pb[i]![k]!, height, width, range);
    });
    total += sum / planes.length;
  }
  return total / pa.length;
}
