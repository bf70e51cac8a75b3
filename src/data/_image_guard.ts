/**
 * What the image loader refuses before decoding: content that is not PNG or JPEG (judged by
 * the bytes, never the name), files too big for the pixel limit (before they are read), and
 * pixel limits that are not positive integers. Internal.
 *
 * @module
 */
import { ImageFileTooLargeError, ImageFormatError, ImageReadError } from "./errors.ts";

/**
 * The default pixel limit of the loaders: 40 Mpx, above the largest common camera photos (a
 * 40 Mpx RGB image is 480 MB as float pixels), far below sharp's own 268 Mpx.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { DEFAULT_MAX_PIXELS } from "./_image_guard.ts";
 * assert.equal(DEFAULT_MAX_PIXELS, 40000000);
 * ```
 */
export const DEFAULT_MAX_PIXELS = 40_000_000;

const PNG_SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];

/** The format of `bytes` judged by their first bytes, never by a file name. */
function sniffImageFormat(bytes: Uint8Array): "png" | "jpeg" | undefined {
  if (PNG_SIGNATURE.every((b, i) => bytes[i] === b)) return "png";
  if (bytes[0] === 0xff && bytes[1] === 0xd8 && bytes[2] === 0xff) return "jpeg";
  return undefined;
}

/** What non-PNG/JPEG bytes look like, for the error message. */
function lookalike(bytes: Uint8Array): string {
  const head = new TextDecoder("latin1").decode(bytes.subarray(0, 256));
  if (bytes.length === 0) return "empty (0 bytes)";
  if (head.startsWith("GIF8")) return "a GIF image";
  if (head.startsWith("RIFF") && head.slice(8, 12) === "WEBP") return "a WebP image";
  if (head.startsWith("II*\0") || head.startsWith("MM\0*")) return "a TIFF image";
  if (head.startsWith("BM")) return "a BMP image";
  if (head.slice(4, 8) === "ftyp") return "an ISO-BMFF image (HEIF/AVIF)";
  if (
    /^(\ufeff|\xef\xbb\xbf)?\s*<(\?xml|svg|!DOCTYPE svg)/i.test(head) || /<svg[\s>]/i.test(head)
  ) {
    return "an SVG document";
  }
  if (/^\s*</.test(head)) return "XML or HTML text";
  return "unknown content (no PNG or JPEG signature)";
}

export function checkMaxPixels(maxPixels: number): number {
  if (!Number.isSafeInteger(maxPixels) || maxPixels < 1) {
    throw new RangeError(`decodeImage: maxPixels must be a positive integer, got ${maxPixels}`);
  }
  return maxPixels;
}

/** Throws {@linkcode ImageFormatError} unless `bytes` start like a PNG or JPEG file. */
export function checkImageFormat(bytes: Uint8Array, label: string): void {
  // By content: sharp would decode SVG, GIF, TIFF, … whatever the name says.
  if (sniffImageFormat(bytes) === undefined) throw new ImageFormatError(label, lookalike(bytes));
}

/**
 * Read an image file's bytes; errors name the file. Before the whole file is read, its first
 * bytes must be a PNG or JPEG signature and its size must fit an image of at most `maxPixels`
 * pixels, so pointing the loader at a huge file of another kind costs nothing.
 */
export async function readImageBytes(
  path: string,
  maxPixels: number = DEFAULT_MAX_PIXELS,
): Promise<Uint8Array> {
  let file: Deno.FsFile;
  try {
    file = await Deno.open(path, { read: true });
  } catch (e) {
    throw new ImageReadError(path, e);
  }
  try {
    const size = (await file.stat()).size;
    const head = new Uint8Array(Math.min(256, size));
    let got = 0;
    while (got < head.length) {
      const n = await file.read(head.subarray(got));
      if (n === null) break;
      got += n;
    }
    checkImageFormat(head.subarray(0, got), path);
    const maxBytes = 8 * checkMaxPixels(maxPixels) + 16 * 2 ** 20;
    if (size > maxBytes) throw new ImageFileTooLargeError(path, size, maxBytes);
    const bytes = new Uint8Array(size);
    bytes.set(head.subarray(0, got));
    while (got < size) {
      const n = await file.read(bytes.subarray(got));
      if (n === null) break;
      got += n;
    }
    return got === size ? bytes : bytes.subarray(0, got);
  } catch (e) {
    if (e instanceof ImageReadError) throw e;
    throw new ImageReadError(path, e);
  } finally {
    file.close();
  }
}
