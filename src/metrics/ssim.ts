/**
 * Structural similarity (Wang, Bovik, Sheikh & Simoncelli 2004).
 *
 * @module
 */
import type * as tf from "@tensorflow/tfjs-core";
import { checkPair, MetricInputError, type MetricOptions, readPlanes } from "./options.ts";

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

/** Separable 'valid' Gaussian filtering of a plane: out is (h-10) x (w-10). */
function filterValid(p: Float64Array, h: number, w: number): Float64Array {
  const n = WINDOW.length;
  const ow = w - n + 1;
  const oh = h - n + 1;
  const tmp = new Float64Array(h * ow);
  for (let y = 0; y < h; y++) {
    const row = y * w;
    for (let x = 0; x < ow; x++) {
      let acc = 0;
      for (let k = 0; k < n; k++) acc += WINDOW[k]! * p[row + x + k]!;
      tmp[y * ow + x] = acc;
    }
  }
  const out = new Float64Array(oh * ow);
  for (let y = 0; y < oh; y++) {
    for (let k = 0; k < n; k++) {
      const wk = WINDOW[k]!;
      const src = (y + k) * ow;
      const dst = y * ow;
      for (let x = 0; x < ow; x++) out[dst + x]! += wk * tmp[src + x]!;
    }
  }
  return out;
}

function planeSsim(x: Float64Array, y: Float64Array, h: number, w: number, range: number): number {
  const c1 = (0.01 * range) ** 2;
  const c2 = (0.03 * range) ** 2;
  const xx = new Float64Array(x.length);
  const yy = new Float64Array(x.length);
  const xy = new Float64Array(x.length);
  for (let i = 0; i < x.length; i++) {
    xx[i] = x[i]! * x[i]!;
    yy[i] = y[i]! * y[i]!;
    xy[i] = x[i]! * y[i]!;
  }
  const mx = filterValid(x, h, w);
  const my = filterValid(y, h, w);
  const sxx = filterValid(xx, h, w);
  const syy = filterValid(yy, h, w);
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
  checkPair(a, b, options, "ssim");
  const [h, w] = a.shape.slice(-3) as [number, number];
  const crop = options.crop ?? 0;
  if (h - 2 * crop < WINDOW.length || w - 2 * crop < WINDOW.length) {
    throw new MetricInputError(
      `ssim: needs at least 11x11 pixels after cropping ${crop} at the border, image is ${h}x${w}`,
    );
  }
  const range = options.range ?? 1;
  const [pa, pb] = await Promise.all([readPlanes(a, options), readPlanes(b, options)]);
  let total = 0;
  for (let i = 0; i < pa.length; i++) {
    const { height, width, planes } = pa[i]!;
    let sum = 0;
    planes.forEach((plane, k) => {
      sum += planeSsim(plane, pb[i]!.planes[k]!, height, width, range);
    });
    total += sum / planes.length;
  }
  return total / pa.length;
}
