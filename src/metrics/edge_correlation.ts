/**
 * Whether one image keeps another's outlines: the correlation of their block-averaged gradient
 * magnitudes (e.g. a stylised photo against the photo). Plain arithmetic on {@linkcode Pixels}.
 *
 * @module
 */
import type { Pixels } from "../data/pixels.ts";
import { luma } from "./_pixel_luma.ts";
import { MetricInputError } from "./options.ts";

/** Side of the blocks {@linkcode edgeCorrelation} averages gradient magnitudes over by default. */
export const EDGE_BLOCK = 4;

/** The luma's gradient magnitude (forward differences, 0 past the edge), `block`² means. */
function blockGradients(p: Pixels, block: number): Float64Array {
  const { width: w, height: h } = p;
  const y = luma(p);
  const [rows, cols] = [Math.floor(h / block), Math.floor(w / block)];
  const map = new Float64Array(rows * cols);
  for (let r = 0; r < rows * block; r++) {
    for (let c = 0; c < cols * block; c++) {
      const i = r * w + c;
      const gx = c + 1 < w ? y[i + 1]! - y[i]! : 0;
      const gy = r + 1 < h ? y[i + w]! - y[i]! : 0;
      map[Math.floor(r / block) * cols + Math.floor(c / block)]! += Math.hypot(gx, gy);
    }
  }
  for (let k = 0; k < map.length; k++) map[k]! /= block * block;
  return map;
}

/**
 * Pearson's correlation between the `block`×`block`-averaged gradient-magnitude maps of the
 * luma of `a` and `b` (same size): 1 when `b`'s outlines are where `a`'s are, near 0 when they
 * have nothing to do with each other; 0 when either map is flat. Throws a `MetricInputError`
 * when the sizes differ.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { edgeCorrelation } from "@perceptual/loss/metrics";
 * // 4×16 grey images: a steps up once (in block 0), b steps up and back down (blocks 0 and 2):
 * // block maps [1, 0, 0, 0]/4 and [1, 0, 1, 0]/4, so r = 1/√3.
 * const image = (f: (x: number) => number) => ({
 *   width: 16, height: 4, channels: 1,
 *   data: Float32Array.from({ length: 64 }, (_, i) => f(i % 16)),
 * });
 * const a = image((x) => x >= 2 ? 1 : 0);
 * const b = image((x) => x >= 2 && x < 10 ? 1 : 0);
 * assert.equal(edgeCorrelation(a, a), 1);
 * assert.ok(Math.abs(edgeCorrelation(a, b) - 1 / Math.sqrt(3)) < 1e-12);
 * ```
 */
export function edgeCorrelation(a: Pixels, b: Pixels, block: number = EDGE_BLOCK): number {
  if (a.width !== b.width || a.height !== b.height) {
    throw new MetricInputError(
      `edgeCorrelation: the images differ in size (${a.width}x${a.height} vs ` +
        `${b.width}x${b.height}); compare an image with a version of itself of the same size`,
    );
  }
  const [x, y] = [blockGradients(a, block), blockGradients(b, block)];
  const n = x.length;
  if (n === 0) return 0;
  let [mx, my] = [0, 0];
  for (let k = 0; k < n; k++) [mx, my] = [mx + x[k]!, my + y[k]!];
  [mx, my] = [mx / n, my / n];
  let [sxy, sxx, syy] = [0, 0, 0];
  for (let k = 0; k < n; k++) {
    const [dx, dy] = [x[k]! - mx, y[k]! - my];
    sxy += dx * dy;
    sxx += dx * dx;
    syy += dy * dy;
  }
  return sxx === 0 || syy === 0 ? 0 : sxy / Math.sqrt(sxx * syy);
}
