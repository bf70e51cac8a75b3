/**
 * Image helpers shared by the examples.
 *
 * @module
 */
import { bicubicResizePixels, cropPixels, type Pixels, readPixels } from "../../src/data/mod.ts";
import { UsageError } from "../../src/experiment/mod.ts";

/**
 * The tile budget (elements of the largest intermediate tensor) for predicting a whole photo in
 * Deno: 2^28, a 640×480 photo in one call. `predictImage`'s default (2^25) is sized for browsers;
 * in Deno it cut the examples' photos into tiles whose overlaps (a U-Net's receptive field) cost
 * more than the pictures (the colourise panels took 3× as long on wasm).
 *
 * @example
 * ```ts
 * import { WHOLE_PHOTO_MAX_ELEMENTS } from "./images.ts";
 * console.log(WHOLE_PHOTO_MAX_ELEMENTS * 4 / 2 ** 30); // 1 (GiB of float32, at most)
 * ```
 */
export const WHOLE_PHOTO_MAX_ELEMENTS = 2 ** 28;

/** The centre of `p`, cropped to multiples of `m` (at most `maxH` × `maxW`). */
export function centreCrop(p: Pixels, m: number, maxH = p.height, maxW = p.width): Pixels {
  const h = Math.floor(Math.min(p.height, maxH) / m) * m;
  const w = Math.floor(Math.min(p.width, maxW) / m) * m;
  return cropPixels(p, Math.floor((p.height - h) / 2), Math.floor((p.width - w) / 2), h, w);
}

/** `p` resized (bicubic, antialiased) so its shorter side is `side`. */
export function resizeShorterSide(p: Pixels, side: number): Pixels {
  const s = side / Math.min(p.height, p.width);
  const h = Math.max(1, Math.round(p.height * s));
  const w = Math.max(1, Math.round(p.width * s));
  return h === p.height && w === p.width ? p : bicubicResizePixels(p, h, w);
}

/** `path` (given as `flag`) as RGB, its shorter side resized to `side`. */
export async function readResized(path: string, flag: string, side: number): Promise<Pixels> {
  try {
    await Deno.stat(path);
  } catch {
    throw new UsageError(`${flag} ${path}: no such file`);
  }
  return resizeShorterSide(await readPixels(path, { channels: 3 }), side);
}
