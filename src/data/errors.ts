/**
 * Typed errors of the data pipeline; each message names the file or the bad value and the fix.
 *
 * @module
 */
import { PerceptualError } from "../errors/perceptual_error.ts";

function causeText(cause: unknown): string {
  return cause instanceof Error ? cause.message : String(cause);
}

/**
 * An image file could not be read or decoded.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { ImageReadError } from "@perceptual/loss/data";
 * assert.match(new ImageReadError("a.png", new Error("truncated")).message, /a\.png/);
 * ```
 */
export class ImageReadError extends PerceptualError {
  /** The file that failed. */
  readonly path: string;
  /**
   * Build the error for `path`; `cause` is the decoder's or the file system's error, `hint` the
   * fix (default: check the file and the permissions).
   */
  constructor(
    path: string,
    cause: unknown,
    hint = "is it a readable PNG or JPEG file, and was --allow-read/--allow-ffi given?",
  ) {
    super(`cannot read image '${path}': ${causeText(cause)} (${hint})`, { cause });
    this.path = path;
  }
}

/**
 * Image bytes that are not PNG or JPEG (judged by their content, not the file name): GIF, SVG,
 * WebP, TIFF and the rest are refused before any decoder sees them.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { ImageFormatError } from "@perceptual/loss/data";
 * assert.match(new ImageFormatError("a.png", "an SVG document").message, /a\.png/);
 * ```
 */
export class ImageFormatError extends ImageReadError {
  /** What the bytes look like (`an SVG document`, `a GIF image`, `unknown content`). */
  readonly found: string;
  /** Build the error for `path`, whose bytes look like `found`. */
  constructor(path: string, found: string) {
    super(
      path,
      `its content is ${found}, not PNG or JPEG`,
      "only PNG and JPEG are read; convert it, e.g. `convert in.gif out.png`",
    );
    this.found = found;
  }
}

/**
 * An image whose header declares more pixels than the loader's limit: refused before decoding,
 * so a small file that expands to gigabytes (an image bomb) costs nothing.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { ImageTooLargeError } from "@perceptual/loss/data";
 * assert.match(new ImageTooLargeError("huge.png", 20000, 20000, 40_000_000).message, /huge\.png/);
 * ```
 */
export class ImageTooLargeError extends ImageReadError {
  /** Width declared by the header. */
  readonly width: number;
  /** Height declared by the header. */
  readonly height: number;
  /** The limit in pixels (width × height). */
  readonly maxPixels: number;
  /** Build the error from the header's size and the limit. */
  constructor(path: string, width: number, height: number, maxPixels: number) {
    super(
      path,
      `its header declares ${width}x${height} = ${width * height} pixels, more than the limit ` +
        `of ${maxPixels}`,
      "downscale it first, or raise the limit with the maxPixels option if the image is trusted",
    );
    this.width = width;
    this.height = height;
    this.maxPixels = maxPixels;
  }
}

/**
 * An image could not be encoded or written.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { ImageWriteError } from "@perceptual/loss/data";
 * assert.match(new ImageWriteError("out.gif", "unsupported extension").message, /out\.gif/);
 * ```
 */
export class ImageWriteError extends PerceptualError {
  /** The file that could not be written. */
  readonly path: string;
  /** Build the error for `path`. */
  constructor(path: string, cause: unknown) {
    super(`cannot write image '${path}': ${causeText(cause)}`, { cause });
    this.path = path;
  }
}

/**
 * A folder that should hold images is missing, not a folder, or holds no PNG/JPEG file.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { ImageFolderError } from "@perceptual/loss/data";
 * assert.match(
 *   new ImageFolderError("data/", "holds no .png, .jpg or .jpeg file").message,
 *   /data\//,
 * );
 * ```
 */
export class ImageFolderError extends PerceptualError {
  /** The folder. */
  readonly dir: string;
  /** Build the error for `dir`; `problem` says what is wrong with it. */
  constructor(dir: string, problem: string, cause?: unknown) {
    super(`image folder '${dir}' ${problem}`, cause === undefined ? undefined : { cause });
    this.dir = dir;
  }
}

/**
 * A crop does not fit inside an image.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { CropTooLargeError } from "@perceptual/loss/data";
 * assert.match(new CropTooLargeError("small.png", [32, 40], [64, 64]).message, /small\.png/);
 * ```
 */
export class CropTooLargeError extends PerceptualError {
  /** The image (a file path, or a description). */
  readonly image: string;
  /** The image's [height, width]. */
  readonly imageSize: readonly [number, number];
  /** The requested crop's [height, width]. */
  readonly cropSize: readonly [number, number];
  /** Build the error. */
  constructor(
    image: string,
    imageSize: readonly [number, number],
    cropSize: readonly [number, number],
  ) {
    super(
      `crop ${cropSize[0]}x${cropSize[1]} (HxW) is larger than image '${image}' ` +
        `(${imageSize[0]}x${imageSize[1]}); use a smaller crop or remove the image`,
    );
    this.image = image;
    this.imageSize = imageSize;
    this.cropSize = cropSize;
  }
}

/**
 * A tensor or pixel buffer has the wrong rank, channel count, size or value.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { ImageShapeError } from "@perceptual/loss/data";
 * assert.match(
 *   new ImageShapeError("bicubicDownscale: image 63x64 is not divisible by 2").message,
 *   /bicubicDownscale: image 63x64 is not divisible by 2/,
 * );
 * ```
 */
export class ImageShapeError extends PerceptualError {
  /** Build the error with a message naming the function, the bad value and the fix. */
  constructor(message: string) {
    super(message);
  }
}

/**
 * An image file larger than any PNG or JPEG within the pixel limit could be (8 bytes per pixel,
 * 16-bit RGBA stored uncompressed, + 16 MiB): refused before it is read into memory.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { ImageFileTooLargeError } from "@perceptual/loss/data";
 * assert.match(new ImageFileTooLargeError("huge.png", 5e9, 336_000_000).message, /huge\.png/);
 * ```
 */
export class ImageFileTooLargeError extends ImageReadError {
  /** The file's size in bytes. */
  readonly bytes: number;
  /** The largest size accepted, in bytes. */
  readonly maxBytes: number;
  /** Build the error from the file's size and the limit. */
  constructor(path: string, bytes: number, maxBytes: number) {
    super(
      path,
      `the file has ${bytes} bytes, more than an image within the pixel limit can have ` +
        `(${maxBytes})`,
      "downscale it first, or raise the maxPixels option if the image is trusted",
    );
    this.bytes = bytes;
    this.maxBytes = maxBytes;
  }
}
