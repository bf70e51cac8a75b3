/**
 * An image's header through sharp, and the EXIF orientations as a browser applies them.
 * Internal.
 *
 * @module
 */
import sharp from "sharp";
import { ImageReadError } from "./errors.ts";
import type { ImageFileInfo } from "./image_info.ts";

/** The EXIF orientations, as the transformation that shows the image upright. */
export const ORIENTATIONS: Readonly<Record<number, string>> = {
  2: "mirrored left-right",
  3: "rotated 180°",
  4: "mirrored top-bottom",
  5: "mirrored and rotated 90° clockwise",
  6: "rotated 90° clockwise",
  7: "mirrored and rotated 90° counter-clockwise",
  8: "rotated 90° counter-clockwise",
};

/** The header fields sharp reports that the loaders use. */
export interface Header {
  width?: number;
  height?: number;
  depth?: string;
  channels?: number;
  hasAlpha?: boolean;
  orientation?: number;
}

/** The file facts of a header (orientation 1 when absent or out of range). */
export function infoOf(meta: Header): ImageFileInfo {
  const orientation = meta.orientation !== undefined && ORIENTATIONS[meta.orientation]
    ? meta.orientation
    : 1;
  const [w, h] = [meta.width ?? 0, meta.height ?? 0];
  const alpha = meta.hasAlpha === true;
  return {
    width: orientation >= 5 ? h : w,
    height: orientation >= 5 ? w : h,
    channels: (meta.channels ?? 3) - (alpha ? 1 : 0),
    alpha,
    orientation,
  };
}

/** Read the header of encoded bytes; errors name `label`. */
export async function header(bytes: Uint8Array, label: string): Promise<Header> {
  try {
    return await sharp(bytes, { limitInputPixels: false }).metadata();
  } catch (e) {
    throw new ImageReadError(label, e);
  }
}
