/**
 * Dropping alpha the way a browser shows a transparent image on a page: composite over a
 * background colour (in the stored values, as browsers blend) instead of keeping the colour the
 * transparent pixels hide. Internal.
 *
 * @module
 */
import { BT601_LUMA } from "../_internal/luma.ts";
import { ImageShapeError } from "./errors.ts";
import type { Samples } from "./image_io.ts";

const [KR, KG, KB] = BT601_LUMA;

/** `b` checked to be an RGB colour in [0, 1]; throws {@linkcode ImageShapeError} otherwise. */
export function checkBackground(b: readonly number[]): readonly [number, number, number] {
  if (!Array.isArray(b) || b.length !== 3 || !b.every((v) => v >= 0 && v <= 1)) {
    throw new ImageShapeError(
      `decodeImage: background must be [r, g, b] with values in [0, 1], got ${
        JSON.stringify(b)?.slice(0, 80)
      }`,
    );
  }
  return b as unknown as readonly [number, number, number];
}

/** The background in words for notes: white, black or rgb(…). */
export function describeBackground(b: readonly [number, number, number]): string {
  if (b.every((v) => v === 1)) return "white";
  if (b.every((v) => v === 0)) return "black";
  return `rgb(${b.map((v) => Math.round(v * 255)).join(", ")})`;
}

/**
 * Composite samples with a last alpha channel over `background` (in the stored values, as
 * browsers blend), rounded to the stored type; returns them without alpha, and how many pixels
 * were not opaque.
 */
export function flatten(
  s: Samples,
  background: readonly [number, number, number],
): { samples: Samples; transparent: number } {
  const c = s.channels;
  const colour = c - 1;
  const n = s.height * s.width;
  const src = s.data;
  const out = new (src.constructor as Uint8ArrayConstructor)(n * colour);
  // A grey file's background is the background's luma.
  const bg = colour === 1
    ? [KR * background[0] + KG * background[1] + KB * background[2]]
    : background;
  let transparent = 0;
  for (let i = 0; i < n; i++) {
    const a = src[i * c + colour]! / s.max;
    if (a < 1) transparent++;
    for (let k = 0; k < colour; k++) {
      const v = a * src[i * c + k]! + (1 - a) * bg[k]! * s.max;
      out[i * colour + k] = s.max === 1 ? v : Math.round(v);
    }
  }
  return {
    samples: { height: s.height, width: s.width, channels: colour, data: out, max: s.max },
    transparent,
  };
}
