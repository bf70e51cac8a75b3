/**
 * Whether an image carries a regular pixel lattice (the checkerboard or dot grid of a network's
 * upsampling): the height of its luma spectrum at one period against the neighbouring
 * frequencies. Plain arithmetic on {@linkcode Pixels}.
 *
 * @module
 */
import type { Pixels } from "../data/pixels.ts";
import { luma } from "./_pixel_luma.ts";
import { MetricInputError } from "./options.ts";

/** Bins either side of the peak's that make its neighbourhood: 2…4 away (the next bin excluded). */
const NEAR = 2;
const FAR = 4;

/** Mean power over lines (rows: "x"; columns: "y") of the luma's DFT at bins `ks`, lines cut to `n`. */
function linePower(
  y: Float64Array,
  [w, h]: readonly [number, number],
  along: "x" | "y",
  n: number,
  ks: readonly number[],
): number[] {
  const lines = along === "x" ? h : w;
  const at = along === "x"
    ? (l: number, j: number) => y[l * w + j]!
    : (l: number, j: number) => y[j * w + l]!;
  const wave = (f: (a: number) => number) =>
    ks.map((k) => Float64Array.from({ length: n }, (_, j) => f(2 * Math.PI * k * j / n)));
  const [cos, sin] = [wave(Math.cos), wave(Math.sin)];
  const power = ks.map(() => 0);
  const line = new Float64Array(n);
  for (let l = 0; l < lines; l++) {
    // The line's mean removed: it changes no bin but 0, and a flat line then has no power at all
    // (not the rounding of a float32 constant times the cosines).
    let mean = 0;
    for (let j = 0; j < n; j++) mean += line[j] = at(l, j);
    mean /= n;
    for (let j = 0; j < n; j++) line[j]! -= mean;
    for (let t = 0; t < ks.length; t++) {
      let [re, im] = [0, 0];
      for (let j = 0; j < n; j++) {
        re += line[j]! * cos[t]![j]!;
        im -= line[j]! * sin[t]![j]!;
      }
      power[t]! += re * re + im * im;
    }
  }
  return power.map((p) => p / lines);
}

/** The peak ratio at `period` along one axis, or undefined when the axis is too short. */
function axisPeak(
  y: Float64Array,
  size: readonly [number, number],
  along: "x" | "y",
  period: number,
): number | undefined {
  const n = Math.floor((along === "x" ? size[0] : size[1]) / period) * period;
  const k0 = n / period;
  const neighbours: number[] = [];
  for (let d = NEAR; d <= FAR; d++) {
    for (const k of [k0 - d, k0 + d]) if (k >= 1 && k <= n / 2) neighbours.push(k);
  }
  if (k0 < 1 || neighbours.length === 0) return undefined;
  const [peak, ...rest] = linePower(y, size, along, n, [k0, ...neighbours]);
  const mean = rest.reduce((a, b) => a + b, 0) / rest.length;
  if (mean === 0) return peak! === 0 ? 1 : Infinity;
  return peak! / mean;
}

/**
 * How strongly `p` repeats with `period` pixels: the power of its luma's spectrum at that period
 * (the mean over rows of each row's DFT power at frequency 1/period, rows cropped to a multiple
 * of the period so it falls on a bin; the same over columns), divided by the mean power of the
 * bins 2 to 4 away from it; the larger of the two directions. About 1 for a photo without such a
 * repetition; a regular lattice of dots or a checkerboard of that period gives a strong peak.
 * Throws a `MetricInputError` for a period that is not an integer >= 2.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { latticePeak } from "@perceptual/loss/metrics";
 * // Rows of cos(2πx/8) + cos(2π·11x/64), 64 wide: the period-8 bin (8) and bin 11 (3 away, one
 * // of the 6 neighbours 4, 5, 6, 10, 11, 12) have equal power, so the ratio is 6.
 * const data = Float32Array.from({ length: 64 * 8 }, (_, i) => {
 *   const x = i % 64;
 *   return Math.cos((2 * Math.PI * x) / 8) + Math.cos((2 * Math.PI * 11 * x) / 64);
 * });
 * assert.ok(Math.abs(latticePeak({ width: 64, height: 8, channels: 1, data }, 8) - 6) < 1e-6);
 * ```
 */
export function latticePeak(p: Pixels, period: number): number {
  if (!Number.isInteger(period) || period < 2) {
    throw new MetricInputError(`latticePeak: period must be an integer >= 2, got ${period}`);
  }
  const y = luma(p);
  const size = [p.width, p.height] as const;
  const peaks = (["x", "y"] as const).map((a) => axisPeak(y, size, a, period))
    .filter((v): v is number => v !== undefined);
  return peaks.length === 0 ? 1 : Math.max(...peaks);
}
