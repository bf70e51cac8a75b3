/**
 * Three image statistics that say whether a stylised photo is one a person would show: it took
 * the painting's colours ({@linkcode colourDistance}, a Bhattacharyya distance between RGB
 * histograms), it kept the photo's outlines ({@linkcode edgeCorrelation}, the correlation of
 * block-averaged gradient magnitudes), and it carries no regular pixel lattice
 * ({@linkcode latticePeak}, the height of the spectrum at a period against its neighbourhood).
 * Plain arithmetic on {@linkcode Pixels} (values in [0, 1]): no tensors, no backend.
 *
 * @module
 */
import type { Pixels } from "../../src/data/mod.ts";

/** Bins per channel of {@linkcode colourHistogram} (8: 512 joint RGB bins). */
export const HISTOGRAM_BINS = 8;
/** Side of the blocks {@linkcode edgeCorrelation} averages gradient magnitudes over. */
export const EDGE_BLOCK = 4;
/** The lattice periods the style example checks, in pixels. */
export const LATTICE_PERIODS: readonly number[] = [4, 8];

/** The value of channel `c` (0 R, 1 G, 2 B) at pixel `i`; a grey image gives its grey. */
function sample(p: Pixels, i: number, c: number): number {
  return p.data[i * p.channels + (p.channels >= 3 ? c : 0)]!;
}

/** ITU-R BT.601 luma of every pixel, row-major. */
function luma(p: Pixels): Float64Array {
  const n = p.width * p.height;
  const y = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    y[i] = 0.299 * sample(p, i, 0) + 0.587 * sample(p, i, 1) + 0.114 * sample(p, i, 2);
  }
  return y;
}

/**
 * The joint RGB histogram of `p`, `bins` per channel, normalised to sum 1 (index
 * `(r·bins + g)·bins + b`; a value of 1 falls in the top bin).
 *
 * @example
 * ```ts
 * import { colourHistogram } from "./style_stats.ts";
 * const p = { width: 2, height: 1, channels: 3, data: new Float32Array([0, 0, 0, 1, 1, 1]) };
 * const h = colourHistogram(p, 2);
 * console.log(Array.from(h)); // [0.5, 0, 0, 0, 0, 0, 0, 0.5]
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
 * import { colourDistance } from "./style_stats.ts";
 * const grey = (v: number, n: number) => new Float32Array(3 * n).fill(v);
 * const dark = { width: 2, height: 1, channels: 3, data: grey(0.1, 2) };
 * const half = { width: 2, height: 1, channels: 3, data: new Float32Array([0.1, 0.1, 0.1, 0.9, 0.9, 0.9]) };
 * console.log(colourDistance(dark, dark), colourDistance(dark, half).toFixed(4)); // 0 "0.5412"
 * ```
 */
export function colourDistance(a: Pixels, b: Pixels, bins: number = HISTOGRAM_BINS): number {
  const [p, q] = [colourHistogram(a, bins), colourHistogram(b, bins)];
  let bc = 0;
  for (let k = 0; k < p.length; k++) bc += Math.sqrt(p[k]! * q[k]!);
  return Math.sqrt(Math.max(0, 1 - bc));
}

/**
 * The gradient magnitude of the luma (forward differences, 0 past the last row and column),
 * averaged over `block`×`block` blocks: `[rows, cols]` of block means, row-major.
 */
function blockGradients(
  p: Pixels,
  block: number,
): { map: Float64Array; rows: number; cols: number } {
  const { width: w, height: h } = p;
  const y = luma(p);
  const rows = Math.floor(h / block);
  const cols = Math.floor(w / block);
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
  return { map, rows, cols };
}

/**
 * Pearson's correlation between the `block`×`block`-averaged gradient-magnitude maps of the
 * luma of `a` and `b` (same size): 1 when `b`'s outlines are where `a`'s are, near 0 when they
 * have nothing to do with each other. 0 when either map is flat.
 *
 * @example
 * ```ts
 * import { edgeCorrelation } from "./style_stats.ts";
 * // 4×16 grey images: a steps up once (inside block 0), b steps up and back down (blocks 0, 2).
 * const image = (f: (x: number) => number) => ({
 *   width: 16, height: 4, channels: 1,
 *   data: Float32Array.from({ length: 64 }, (_, i) => f(i % 16)),
 * });
 * const a = image((x) => x >= 2 ? 1 : 0);
 * const b = image((x) => x >= 2 && x < 10 ? 1 : 0);
 * console.log(edgeCorrelation(a, a), edgeCorrelation(a, b).toFixed(4)); // 1 "0.5774" (1/√3)
 * ```
 */
export function edgeCorrelation(a: Pixels, b: Pixels, block: number = EDGE_BLOCK): number {
  if (a.width !== b.width || a.height !== b.height) {
    throw new RangeError(
      `edgeCorrelation: the images differ in size (${a.width}x${a.height} vs ` +
        `${b.width}x${b.height}); compare a photo with its own stylised version`,
    );
  }
  const [x, y] = [blockGradients(a, block).map, blockGradients(b, block).map];
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

/** Bins either side of the peak's that make its neighbourhood: 2…4 away (the next bin excluded). */
const NEAR = 2;
const FAR = 4;

/**
 * Mean power over lines (rows: `along` = "x"; columns: "y") of the luma's DFT at bins
 * `ks`, each line cropped to `n` samples.
 */
function linePower(
  y: Float64Array,
  w: number,
  h: number,
  along: "x" | "y",
  n: number,
  ks: readonly number[],
): number[] {
  const lines = along === "x" ? h : w;
  const at = along === "x"
    ? (l: number, j: number) => y[l * w + j]!
    : (l: number, j: number) => y[j * w + l]!;
  const cos = ks.map((k) =>
    Float64Array.from({ length: n }, (_, j) => Math.cos(2 * Math.PI * k * j / n))
  );
  const sin = ks.map((k) =>
    Float64Array.from({ length: n }, (_, j) => Math.sin(2 * Math.PI * k * j / n))
  );
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
  w: number,
  h: number,
  along: "x" | "y",
  period: number,
): number | undefined {
  const n = Math.floor((along === "x" ? w : h) / period) * period;
  const k0 = n / period;
  const neighbours: number[] = [];
  for (let d = NEAR; d <= FAR; d++) {
    for (const k of [k0 - d, k0 + d]) if (k >= 1 && k <= n / 2) neighbours.push(k);
  }
  if (k0 < 1 || neighbours.length === 0) return undefined;
  const [peak, ...rest] = linePower(y, w, h, along, n, [k0, ...neighbours]);
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
 *
 * @example
 * ```ts
 * import { latticePeak } from "./style_stats.ts";
 * // Rows of cos(2πx/8) + cos(2π·11x/64), 64 wide: the period-8 bin (8) and bin 11 (3 away, one
 * // of the 6 neighbours 4, 5, 6, 10, 11, 12) have equal power, so the ratio is 6.
 * const data = Float32Array.from({ length: 64 * 8 }, (_, i) => {
 *   const x = i % 64;
 *   return Math.cos((2 * Math.PI * x) / 8) + Math.cos((2 * Math.PI * 11 * x) / 64);
 * });
 * console.log(latticePeak({ width: 64, height: 8, channels: 1, data }, 8).toFixed(3)); // "6.000"
 * ```
 */
export function latticePeak(p: Pixels, period: number): number {
  if (!Number.isInteger(period) || period < 2) {
    throw new RangeError(`latticePeak: period must be an integer >= 2, got ${period}`);
  }
  const y = luma(p);
  const peaks = (["x", "y"] as const).map((a) => axisPeak(y, p.width, p.height, a, period))
    .filter((v): v is number => v !== undefined);
  return peaks.length === 0 ? 1 : Math.max(...peaks);
}

/** The three statistics of one stylised photo, beside the photo's own values. */
export interface StyleStats {
  /** Colour distance of the photo to the style image. */
  readonly photoColour: number;
  /** Colour distance of the stylised photo to the style image (want <= half the photo's). */
  readonly stylisedColour: number;
  /** Edge correlation of the stylised photo with the photo (want >= 0.3). */
  readonly edges: number;
  /** The photo's largest lattice peak over {@linkcode LATTICE_PERIODS}. */
  readonly photoLattice: number;
  /** The stylised photo's largest lattice peak (want <= max(4, 2 × the photo's)). */
  readonly stylisedLattice: number;
  /** Whether all three targets are met. */
  readonly ok: boolean;
}

/**
 * The three statistics of `stylised` (same size as `photo`) against `photo` and `style`, and
 * whether it meets the style example's targets: colour distance to the style at most half the
 * photo's, edge correlation at least 0.3, lattice peak at most max(4, 2 × the photo's).
 *
 * @example
 * ```ts
 * import { styleStats } from "./style_stats.ts";
 * const image = (v: number) => ({ width: 16, height: 16, channels: 3, data: new Float32Array(768).fill(v) });
 * const s = styleStats(image(0.2), image(0.8), image(0.8));
 * console.log(s.photoColour, s.stylisedColour, s.ok); // 1 0 false (flat: no edges kept)
 * ```
 */
export function styleStats(photo: Pixels, stylised: Pixels, style: Pixels): StyleStats {
  const lattice = (p: Pixels) => Math.max(...LATTICE_PERIODS.map((t) => latticePeak(p, t)));
  const s = {
    photoColour: colourDistance(photo, style),
    stylisedColour: colourDistance(stylised, style),
    edges: edgeCorrelation(photo, stylised),
    photoLattice: lattice(photo),
    stylisedLattice: lattice(stylised),
  };
  const ok = s.stylisedColour <= s.photoColour / 2 && s.edges >= 0.3 &&
    s.stylisedLattice <= Math.max(4, 2 * s.photoLattice);
  return { ...s, ok };
}
