/**
 * Full-image comparison panels: same-size images side by side (e.g. bicubic | model | truth),
 * and under them a nearest-neighbour zoom of the region where two of them differ most, outlined
 * in every full image. Plain {@linkcode Pixels} in and out (no tensors); write the result with
 * `writePixels`.
 *
 * @module
 */
import { ImageShapeError } from "./errors.ts";
import { checkPixels, type Pixels } from "./pixels.ts";

/**
 * A square region of an image: its top-left corner and side, in pixels.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { mostDifferentRegion, type Region, type Pixels } from "@perceptual/loss/data";
 * const flat: Pixels = { height: 16, width: 16, channels: 1, data: new Float32Array(256) };
 * // the pixels with x in 8-11 and y in 4-7
 * const inSpot = (i: number) => i % 16 >= 8 && i % 16 < 12 && i >= 4 * 16 && i < 8 * 16;
 * const spot: Pixels = { ...flat, data: flat.data.map((_, i) => (inSpot(i) ? 1 : 0)) };
 * const region: Region = mostDifferentRegion(flat, spot, 4); // where the two differ most
 * assert.deepEqual(region, { x: 8, y: 4, size: 4 });
 * ```
 */
export interface Region {
  /** Left column. */
  readonly x: number;
  /** Top row. */
  readonly y: number;
  /** Side length. */
  readonly size: number;
}

/**
 * Options of {@linkcode comparisonPanel}.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { comparisonPanel, type PanelOptions, type Pixels } from "@perceptual/loss/data";
 * const grey = (v: number): Pixels =>
 *   ({ height: 16, width: 16, channels: 3, data: new Float32Array(768).fill(v) });
 * const region = { x: 0, y: 0, size: 8 }; // zoom this corner, not the most different region
 * const options: PanelOptions = { gap: 2, zoom: 2, region, background: 1 };
 * const panel = comparisonPanel([grey(0.2), grey(0.5), grey(0.8)], options);
 * assert.equal(panel.pixels.width, 52);
 * assert.deepEqual(panel.region, { x: 0, y: 0, size: 8 }); // 3 × 16 + 2 × 2
 * ```
 */
export interface PanelOptions {
  /** Gap between images, in panel pixels (default 8). */
  readonly gap?: number;
  /** Zoom of the inset, nearest neighbour (default 4). */
  readonly zoom?: number;
  /**
   * Side of the zoomed region in image pixels (default min(48, ⌊width / zoom⌋, height)), so
   * each inset fits under its image.
   */
  readonly regionSize?: number;
  /** Which two images' difference picks the region, by index (default [1, 0]: model vs bicubic). */
  readonly compare?: readonly [number, number];
  /** The region to zoom, instead of the most different one. */
  readonly region?: Region;
  /** Outline colour, RGB in [0, 1] (default red). */
  readonly outline?: readonly [number, number, number];
  /** Background (gap) grey level in [0, 1] (default 1, white). */
  readonly background?: number;
}

/**
 * A panel and the region its insets show.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { comparisonPanel, type Panel, type Pixels } from "@perceptual/loss/data";
 * const grey = (v: number): Pixels =>
 *   ({ height: 16, width: 16, channels: 3, data: new Float32Array(768).fill(v) });
 * const panel: Panel = comparisonPanel([grey(0.2), grey(0.8)]); // to save: writePixels(path, …)
 * assert.equal(panel.pixels.width, 40);
 * assert.equal(panel.pixels.height, 40); // images, gap, 4× zoomed insets
 * assert.deepEqual(panel.region, { x: 0, y: 0, size: 4 });
 * ```
 */
export interface Panel {
  /** The panel, RGB. */
  readonly pixels: Pixels;
  /** The region zoomed (in the source images' coordinates). */
  readonly region: Region;
}

/** `p` as RGB: grey replicated, alpha dropped. */
function toRgb(p: Pixels): Float32Array {
  if (p.channels === 3) return p.data;
  const n = p.height * p.width;
  const out = new Float32Array(n * 3);
  for (let i = 0; i < n; i++) {
    const c = p.channels === 1 ? [p.data[i]!, p.data[i]!, p.data[i]!] : [
      p.data[i * p.channels]!,
      p.data[i * p.channels + 1]!,
      p.data[i * p.channels + 2]!,
    ];
    out.set(c, i * 3);
  }
  return out;
}

function checkSameSize(images: readonly Pixels[], where: string): void {
  if (images.length === 0) throw new RangeError(`${where}: no images`);
  images.forEach((p, i) => {
    checkPixels(p, `${where}: image ${i}`);
    if (p.height !== images[0]!.height || p.width !== images[0]!.width) {
      throw new ImageShapeError(
        `${where}: image ${i} is ${p.width}x${p.height} but image 0 is ` +
          `${images[0]!.width}x${images[0]!.height}; the images must have the same size`,
      );
    }
    if (p.channels === 2 || p.channels > 4) {
      throw new ImageShapeError(`${where}: image ${i} has ${p.channels} channels; use 1, 3 or 4`);
    }
  });
}

/**
 * The `size`×`size` window where Σ|a − b| (over RGB; grey counts as R = G = B) is largest, found
 * with a box filter over an integral image. Ties go to the first window in row-major order.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { mostDifferentRegion } from "@perceptual/loss/data";
 * const a = { height: 8, width: 8, channels: 1, data: new Float32Array(64) };
 * const b = { ...a, data: new Float32Array(64) };
 * b.data[5 * 8 + 6] = 1; // one differing pixel at x 6, y 5
 * assert.deepEqual(mostDifferentRegion(a, b, 2), { x: 5, y: 4, size: 2 });
 * ```
 */
export function mostDifferentRegion(a: Pixels, b: Pixels, size: number): Region {
  checkSameSize([a, b], "mostDifferentRegion");
  const { height: h, width: w } = a;
  if (!Number.isInteger(size) || size < 1 || size > h || size > w) {
    throw new RangeError(
      `mostDifferentRegion: size ${size} must be an integer in 1..${Math.min(h, w)}`,
    );
  }
  const ra = toRgb(a);
  const rb = toRgb(b);
  // Integral image with a zero first row and column: S[y][x] = Σ d over rows < y, columns < x.
  const S = new Float64Array((h + 1) * (w + 1));
  for (let y = 0; y < h; y++) {
    let row = 0;
    for (let x = 0; x < w; x++) {
      const i = (y * w + x) * 3;
      row += Math.abs(ra[i]! - rb[i]!) + Math.abs(ra[i + 1]! - rb[i + 1]!) +
        Math.abs(ra[i + 2]! - rb[i + 2]!);
      S[(y + 1) * (w + 1) + x + 1] = S[y * (w + 1) + x + 1]! + row;
    }
  }
  let best = -1;
  let bx = 0;
  let by = 0;
  for (let y = 0; y + size <= h; y++) {
    for (let x = 0; x + size <= w; x++) {
      const s = S[(y + size) * (w + 1) + x + size]! - S[y * (w + 1) + x + size]! -
        S[(y + size) * (w + 1) + x]! + S[y * (w + 1) + x]!;
      // A small tolerance: sums of the same values in another order differ in the last bits.
      if (s > best + 1e-9 * Math.max(1, Math.abs(best))) {
        best = s;
        bx = x;
        by = y;
      }
    }
  }
  return { x: bx, y: by, size };
}

/**
 * One RGB panel: the images side by side on the first row (with `gap` pixels between them), and
 * below each a ×`zoom` nearest-neighbour inset of the same region, outlined (1 px, 2 px for
 * images over 256 px wide) in every full image. The region is where the two images of `compare`
 * differ most (see {@linkcode mostDifferentRegion}), unless `region` is given. Grey images are
 * shown as grey RGB.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { comparisonPanel } from "@perceptual/loss/data";
 * const img = (v: number) => ({ height: 16, width: 16, channels: 3, data: new Float32Array(768).fill(v) });
 * const panel = comparisonPanel([img(0.2), img(0.5), img(0.6)], { regionSize: 4 });
 * assert.equal(panel.pixels.width, 64);
 * assert.equal(panel.pixels.height, 40);
 * ```
 */
export function comparisonPanel(images: readonly Pixels[], options: PanelOptions = {}): Panel {
  checkSameSize(images, "comparisonPanel");
  const { height: h, width: w } = images[0]!;
  const gap = options.gap ?? 8;
  const zoom = options.zoom ?? 4;
  for (const [name, v, min] of [["gap", gap, 0], ["zoom", zoom, 1]] as const) {
    if (!Number.isInteger(v) || v < min) {
      throw new RangeError(`comparisonPanel: ${name} must be an integer >= ${min}, got ${v}`);
    }
  }
  const size = options.region?.size ?? options.regionSize ??
    Math.max(1, Math.min(48, Math.floor(w / zoom), h));
  const [ci, cj] = options.compare ?? (images.length >= 2 ? [1, 0] : [0, 0]);
  if (images[ci] === undefined || images[cj] === undefined) {
    throw new RangeError(`comparisonPanel: compare [${ci}, ${cj}] names an absent image`);
  }
  const region = options.region ?? mostDifferentRegion(images[ci]!, images[cj]!, size);
  if (
    region.x < 0 || region.y < 0 || region.x + region.size > w || region.y + region.size > h
  ) {
    throw new RangeError(`comparisonPanel: region ${JSON.stringify(region)} is outside ${w}x${h}`);
  }
  const inset = region.size * zoom;
  const column = Math.max(w, inset);
  const n = images.length;
  const width = n * column + (n - 1) * gap;
  const height = h + gap + inset;
  const out = new Float32Array(width * height * 3).fill(options.background ?? 1);
  const put = (x: number, y: number, rgb: ArrayLike<number>, at = 0) => {
    out[(y * width + x) * 3] = rgb[at]!;
    out[(y * width + x) * 3 + 1] = rgb[at + 1]!;
    out[(y * width + x) * 3 + 2] = rgb[at + 2]!;
  };
  const outline = options.outline ?? [1, 0, 0];
  const thick = w > 256 ? 2 : 1;
  images.forEach((img, k) => {
    const rgb = toRgb(img);
    const left = k * (column + gap);
    const imgLeft = left + Math.floor((column - w) / 2);
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < w; x++) put(imgLeft + x, y, rgb, (y * w + x) * 3);
    }
    // The outline sits just outside the region (clipped to the image), so the region's own
    // pixels stay visible.
    const { x: rx, y: ry, size: rs } = region;
    for (let t = 1; t <= thick; t++) {
      for (let x = rx - t; x < rx + rs + t; x++) {
        for (const y of [ry - t, ry + rs - 1 + t]) {
          if (x >= 0 && x < w && y >= 0 && y < h) put(imgLeft + x, y, outline);
        }
      }
      for (let y = ry - t; y < ry + rs + t; y++) {
        for (const x of [rx - t, rx + rs - 1 + t]) {
          if (x >= 0 && x < w && y >= 0 && y < h) put(imgLeft + x, y, outline);
        }
      }
    }
    const insetLeft = left + Math.floor((column - inset) / 2);
    for (let y = 0; y < inset; y++) {
      const sy = ry + Math.floor(y / zoom);
      for (let x = 0; x < inset; x++) {
        const sx = rx + Math.floor(x / zoom);
        put(insetLeft + x, h + gap + y, rgb, (sy * w + sx) * 3);
      }
    }
  });
  return { pixels: { height, width, channels: 3, data: out }, region };
}
