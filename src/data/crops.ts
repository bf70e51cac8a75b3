/**
 * Fixed (not random) crops of photos: centre crops, a resize to a given shorter side, and the
 * split of a photo into a training part (the left three quarters) and a held-out part (the
 * right quarter), so that a run is scored on pixels it never trained on.
 *
 * @module
 */
import { bicubicResizePixels } from "./bicubic.ts";
import { cropPixels, type Pixels } from "./pixels.ts";

/** A photo split into a training region (left) and a held-out region (right). */
export interface SplitImage {
  /** Where the photo came from. */
  readonly path: string;
  /** The left part, for training crops. */
  readonly train: Pixels;
  /** The right part (at least a crop wide), for held-out crops. */
  readonly heldOut: Pixels;
}

/**
 * `p` split into its right quarter (at least `crop` wide) and the rest, or undefined when either
 * part would be narrower or lower than `crop`.
 *
 * @example
 * ```ts
 * import { splitPixels } from "@perceptual/loss/data";
 * import assert from "node:assert/strict";
 *
 * const p = { height: 8, width: 40, channels: 3, data: new Float32Array(8 * 40 * 3) };
 * const s = splitPixels("a.png", p, 8)!;
 * assert.deepEqual([s.train.width, s.heldOut.width], [30, 10]);
 * assert.equal(splitPixels("a.png", p, 24), undefined); // 16 pixels left to train on
 * ```
 */
export function splitPixels(path: string, p: Pixels, crop: number): SplitImage | undefined {
  const heldWidth = Math.max(Math.ceil(p.width / 4), crop);
  const trainWidth = p.width - heldWidth;
  if (p.height < crop || trainWidth < crop) return undefined;
  return {
    path,
    train: cropPixels(p, 0, 0, p.height, trainWidth),
    heldOut: cropPixels(p, 0, trainWidth, p.height, heldWidth),
  };
}

/**
 * `count` fixed `crop`×`crop` held-out crops, spread over the images in turn and down each
 * held-out strip (centred across it).
 *
 * @example
 * ```ts
 * import { heldOutCrops, splitPixels } from "@perceptual/loss/data";
 * import assert from "node:assert/strict";
 *
 * const p = { height: 16, width: 32, channels: 3, data: new Float32Array(16 * 32 * 3) };
 * const crops = heldOutCrops([splitPixels("a.png", p, 8)!], 3, 8);
 * assert.equal(crops.length, 3);
 * assert.deepEqual([crops[0]!.height, crops[0]!.width], [8, 8]);
 * ```
 */
export function heldOutCrops(images: readonly SplitImage[], count: number, crop: number): Pixels[] {
  const rounds = Math.ceil(count / images.length);
  return Array.from({ length: count }, (_, i) => {
    const img = images[i % images.length]!.heldOut;
    const round = Math.floor(i / images.length);
    const top = Math.floor(((img.height - crop) * (round + 1)) / (rounds + 1));
    const left = Math.floor((img.width - crop) / 2);
    return cropPixels(img, top, left, crop, crop);
  });
}

/**
 * Fixed crops from the training parts, cut the way {@linkcode heldOutCrops} cuts held-out ones
 * (for calibrating a loss on training pixels).
 *
 * @example
 * ```ts
 * import { splitPixels, trainingCrops } from "@perceptual/loss/data";
 * import assert from "node:assert/strict";
 *
 * const p = { height: 16, width: 32, channels: 3, data: new Float32Array(16 * 32 * 3) };
 * assert.equal(trainingCrops([splitPixels("a.png", p, 8)!], 2, 8).length, 2);
 * ```
 */
export function trainingCrops(
  images: readonly SplitImage[],
  count: number,
  crop: number,
): Pixels[] {
  return heldOutCrops(images.map((i) => ({ ...i, heldOut: i.train })), count, crop);
}

/**
 * The centre of `p`, cropped to multiples of `m` (at most `maxH` × `maxW`).
 *
 * @example
 * ```ts
 * import { centreCrop } from "@perceptual/loss/data";
 * import assert from "node:assert/strict";
 *
 * const p = { height: 10, width: 13, channels: 3, data: new Float32Array(10 * 13 * 3) };
 * const c = centreCrop(p, 4);
 * assert.deepEqual([c.height, c.width], [8, 12]);
 * ```
 */
export function centreCrop(p: Pixels, m: number, maxH = p.height, maxW = p.width): Pixels {
  const h = Math.floor(Math.min(p.height, maxH) / m) * m;
  const w = Math.floor(Math.min(p.width, maxW) / m) * m;
  return cropPixels(p, Math.floor((p.height - h) / 2), Math.floor((p.width - w) / 2), h, w);
}

/**
 * `p` resized (bicubic, antialiased) so that its shorter side is `side`; `p` itself when it
 * already is.
 *
 * @example
 * ```ts
 * import { resizeShorterSide } from "@perceptual/loss/data";
 * import assert from "node:assert/strict";
 *
 * const p = { height: 20, width: 40, channels: 3, data: new Float32Array(20 * 40 * 3) };
 * const r = resizeShorterSide(p, 10);
 * assert.deepEqual([r.height, r.width], [10, 20]);
 * ```
 */
export function resizeShorterSide(p: Pixels, side: number): Pixels {
  const s = side / Math.min(p.height, p.width);
  const h = Math.max(1, Math.round(p.height * s));
  const w = Math.max(1, Math.round(p.width * s));
  return h === p.height && w === p.width ? p : bicubicResizePixels(p, h, w);
}
