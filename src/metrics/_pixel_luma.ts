/**
 * Reading {@linkcode Pixels} for the image statistics: one channel's value and BT.601 luma.
 *
 * @module
 */
import type { Pixels } from "../data/pixels.ts";

/** The value of channel `c` (0 R, 1 G, 2 B) at pixel `i`; a grey image gives its grey. */
export function sample(p: Pixels, i: number, c: number): number {
  return p.data[i * p.channels + (p.channels >= 3 ? c : 0)]!;
}

/** ITU-R BT.601 luma of every pixel, row-major. */
export function luma(p: Pixels): Float64Array {
  const n = p.width * p.height;
  const y = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    y[i] = 0.299 * sample(p, i, 0) + 0.587 * sample(p, i, 1) + 0.114 * sample(p, i, 2);
  }
  return y;
}
