/**
 * How far apart two images' colours are, wherever the colours sit: the Bhattacharyya distance
 * between joint RGB histograms (e.g. whether a stylised photo took on a painting's colours).
 * Plain arithmetic on {@linkcode Pixels} (values in [0, 1]): no tensors, no backend.
 *
 * @module
 */
import type { Pixels } from "../data/pixels.ts";
import { sample } from "./_pixel_luma.ts";

/** Bins per channel of {@linkcode colourHistogram} by default (8: 512 joint RGB bins). */
export const HISTOGRAM_BINS = 8;

/**
 * The joint RGB histogram of `p`, `bins` per channel, normalised to sum 1 (index
 * `(r·bins + g)·bins + b`; a value of 1 falls in the top bin). A grey image counts as R = G = B.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { colourHistogram } from "@perceptual/loss/metrics";
 * const p = { width: 2, height: 1, channels: 3, data: new Float32Array([0, 0, 0, 1, 1, 1]) };
 * assert.deepEqual(Array.from(colourHistogram(p, 2)), [0.5, 0, 0, 0, 0, 0, 0, 0.5]);
 * ```
 */
export function colourHistogram(p: Pixels, bins: number = HISTOGRAM_BINS): Float64Array {
  const h = new Float64Array(bins ** 3);
  const n = p.width * p.height;
  const bin = (v: number) => Math.min(bins - 1, Math.max(0, Math.floor(v * bins)));
  for (let i = 0; i < n; i++) {
    h[(bin(sample(p, i, 0)) * bins + bin(sample(p, i, 1))) * bins + bin(sample(p, i, 2))]! += 1;
  }
  for (let k = 0; k < h.length; k++) h[k]! /= n;
  return h;
}

/**
 * The Bhattacharyya distance between the RGB histograms of `a` and `b`:
 * `√(1 − Σ √(p·q))` (OpenCV's `HISTCMP_BHATTACHARYYA`), 0 for equal colour distributions, 1 for
 * disjoint ones. The images may differ in size.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { colourDistance } from "@perceptual/loss/metrics";
 * const dark = { width: 2, height: 1, channels: 3, data: new Float32Array(6).fill(0.1) };
 * const half = { width: 2, height: 1, channels: 3, data: new Float32Array([0.1, 0.1, 0.1, 0.9, 0.9, 0.9]) };
 * assert.equal(colourDistance(dark, dark), 0);
 * // Bhattacharyya coefficient √(1·½): distance √(1 − √½)
 * assert.ok(Math.abs(colourDistance(dark, half) - Math.sqrt(1 - Math.SQRT1_2)) < 1e-12);
 * ```
 */
export function colourDistance(a: Pixels, b: Pixels, bins: number = HISTOGRAM_BINS): number {
  const [p, q] = [colourHistogram(a, bins), colourHistogram(b, bins)];
  let bc = 0;
  for (let k = 0; k < p.length; k++) bc += Math.sqrt(p[k]! * q[k]!);
  return Math.sqrt(Math.max(0, 1 - bc));
}
