/**
 * Colour transfer: a photo recoloured so its distribution of pixel colours becomes a reference
 * image's (e.g. a painting's), while every pixel keeps its place in the photo's own order of
 * colours, so smooth gradients stay smooth. The iterative distribution transfer of Pitié, Kokaram
 * & Dahyot (2007): in each iteration the colours are rotated by a random orthonormal basis and
 * each of the three axes is matched to the reference's by its quantiles.
 *
 * @module
 */
import type { Pixels } from "./pixels.ts";
import { mulberry32, type Rng } from "./rng.ts";

/** Options of {@linkcode colourTransfer}. */
export interface ColourTransferOptions {
  /** Random rotations (default 10; 0 returns the photo's colours unchanged). */
  readonly iterations?: number;
  /** The seed of the rotations (default 0): the same seed gives the same result. */
  readonly seed?: number;
}

/** A random orthonormal 3×3 basis (Gram-Schmidt on Gaussian columns), row-major. */
function rotation(rng: Rng): number[][] {
  const gauss = () => Math.sqrt(-2 * Math.log(1 - rng.next())) * Math.cos(2 * Math.PI * rng.next());
  const basis: number[][] = [];
  while (basis.length < 3) {
    let v = [gauss(), gauss(), gauss()];
    for (const b of basis) {
      const d = v[0]! * b[0]! + v[1]! * b[1]! + v[2]! * b[2]!;
      v = v.map((x, i) => x - d * b[i]!);
    }
    const n = Math.hypot(...v);
    if (n > 1e-6) basis.push(v.map((x) => x / n));
  }
  return basis;
}

/** Bins of the counting sort that ranks a photo's values along one axis. */
const BINS = 65536;

/**
 * `values` replaced by the reference's quantiles at their ranks: each value's rank (values in the
 * same of {@linkcode BINS} equal bins share the middle rank, so equal colours stay equal) becomes
 * a probability, read off the reference's sorted values with linear interpolation.
 */
function matchAxis(values: Float64Array, sortedRef: Float64Array): void {
  let [lo, hi] = [Infinity, -Infinity];
  for (const v of values) [lo, hi] = [Math.min(lo, v), Math.max(hi, v)];
  const scale = hi > lo ? (BINS - 1) / (hi - lo) : 0;
  const counts = new Float64Array(BINS + 1);
  for (const v of values) counts[Math.floor((v - lo) * scale) + 1]! += 1;
  for (let b = 1; b <= BINS; b++) counts[b]! += counts[b - 1]!; // counts[b] = values below bin b
  const [n, m] = [values.length, sortedRef.length];
  for (let i = 0; i < n; i++) {
    const b = Math.floor((values[i]! - lo) * scale);
    const rank = (counts[b]! + counts[b + 1]!) / 2; // the bin's middle, in [0, n]
    const at = Math.min(m - 1, Math.max(0, (rank / n) * m - 0.5));
    const j = Math.floor(at);
    const f = at - j;
    values[i] = sortedRef[j]! * (1 - f) + sortedRef[Math.min(m - 1, j + 1)]! * f;
  }
}

/** The pixels of `p` as RGB rows (a grey image as R = G = B). */
function rgbRows(p: Pixels): Float64Array[] {
  const n = p.width * p.height;
  const c = p.channels;
  return [0, 1, 2].map((k) =>
    Float64Array.from({ length: n }, (_, i) => p.data[i * c + (c >= 3 ? k : 0)]!)
  );
}

/**
 * `photo` recoloured so its RGB distribution becomes `reference`'s (the images may differ in
 * size): Pitié et al.'s iterative distribution transfer, `iterations` random rotations from
 * `seed`, the result clipped to [0, 1] and RGB. Deterministic; plain arithmetic, no tensors.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { colourTransfer } from "@perceptual/loss/data";
 * // A dark grey ramp takes a bright red-to-blue reference's colours, keeping its order.
 * const ramp = { width: 4, height: 1, channels: 1, data: new Float32Array([0.1, 0.2, 0.3, 0.4]) };
 * const ref = { width: 2, height: 1, channels: 3, data: new Float32Array([0.9, 0, 0, 0, 0, 0.9]) };
 * const out = colourTransfer(ramp, ref);
 * assert.equal(out.channels, 3);
 * const [first, last] = [Array.from(out.data.slice(0, 3)), Array.from(out.data.slice(9, 12))];
 * assert.ok(first[2]! > first[0]! && last[0]! > last[2]!); // one end blue, the other red
 * ```
 */
export function colourTransfer(
  photo: Pixels,
  reference: Pixels,
  options: ColourTransferOptions = {},
): Pixels {
  const rng = mulberry32(options.seed ?? 0);
  const [x, y] = [rgbRows(photo), rgbRows(reference)];
  for (let it = 0; it < (options.iterations ?? 10); it++) {
    const r = rotation(rng);
    const turn = (rows: Float64Array[]) =>
      r.map((b) => rows[0]!.map((v, i) => b[0]! * v + b[1]! * rows[1]![i]! + b[2]! * rows[2]![i]!));
    const [px, py] = [turn(x), turn(y)];
    for (let k = 0; k < 3; k++) matchAxis(px[k]!, py[k]!.sort());
    // Back to RGB: the basis is orthonormal, so its transpose inverts it.
    for (let c = 0; c < 3; c++) {
      x[c] = px[0]!.map((v, i) => r[0]![c]! * v + r[1]![c]! * px[1]![i]! + r[2]![c]! * px[2]![i]!);
    }
  }
  const n = photo.width * photo.height;
  const data = new Float32Array(3 * n);
  for (let i = 0; i < n; i++) {
    for (let c = 0; c < 3; c++) data[3 * i + c] = Math.min(1, Math.max(0, x[c]![i]!));
  }
  return { width: photo.width, height: photo.height, channels: 3, data };
}
