/**
 * PNG and JPEG decoding and encoding through sharp (libvips), as float tensors in [0, 1].
 *
 * Pixels are taken as stored, without colour management (like PIL, scikit-image and torchvision):
 * sharp's default conversion of embedded ICC profiles to sRGB would move some JPEGs' values by
 * several levels and break comparisons with published numbers. Two things are done the way a
 * browser shows the image, each with a note (see `LoadImageOptions.onNote`): an EXIF orientation
 * is applied (a phone photo stored sideways comes out upright), and when alpha is dropped
 * (loading 1 or 3 channels) transparent pixels are composited over a background (white unless
 * `background` says otherwise) instead of keeping whatever colour they hide.
 * Needs `--allow-read` (and `--allow-write` to save), `--allow-env` and `--allow-ffi`.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
import sharp from "sharp";
import { ImageReadError, ImageShapeError, ImageTooLargeError, ImageWriteError } from "./errors.ts";
import {
  checkImageFormat,
  checkMaxPixels,
  DEFAULT_MAX_PIXELS,
  readImageBytes,
} from "./_image_guard.ts";

export { DEFAULT_MAX_PIXELS, readImageBytes };
import { checkPixels, type Pixels, pixelsToTensor, tensorToPixels } from "./pixels.ts";
import { header, infoOf, ORIENTATIONS } from "./_image_header.ts";
import { checkBackground, describeBackground, flatten } from "./_alpha.ts";
import { BT601_LUMA } from "../_internal/luma.ts";

const [KR, KG, KB] = BT601_LUMA;

/**
 * Channel counts an image can be loaded with.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { type ChannelCount, decodeImage, encodeImage } from "@perceptual/loss/data";
 * const redBlue = { height: 1, width: 2, channels: 3, data: Float32Array.of(1, 0, 0, 0, 0, 1) };
 * const png = await encodeImage(redBlue, "png");
 * for (const channels of [1, 3, 4] as ChannelCount[]) {
 *   const p = await decodeImage(png, "red-blue.png", { channels });
 *   assert.equal(p.data.length, 2 * channels); // 2 pixels
 * }
 * ```
 */
export type ChannelCount = 1 | 3 | 4;

/**
 * Options of {@linkcode loadImage} and {@linkcode decodeImage}.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { initBackend } from "@perceptual/loss/backend";
 * import { loadImage, type LoadImageOptions } from "@perceptual/loss/data";
 * await initBackend("cpu");
 * const options: LoadImageOptions = { channels: 1, maxPixels: 1_000_000 }; // luma; refuse > 1 Mpx
 * const grey = await loadImage("examples/data/skimage_astronaut.png", options);
 * assert.deepEqual(grey.shape, [512, 512, 1]);
 * grey.dispose();
 * ```
 */
export interface LoadImageOptions {
  /**
   * Channels wanted (default 3, RGB): grey images are replicated to RGB, alpha is dropped;
   * `1` gives BT.601 luma (0.299 R + 0.587 G + 0.114 B); `4` adds an opaque alpha when absent.
   */
  readonly channels?: ChannelCount;
  /**
   * The most pixels (width × height) an image may declare in its header (default
   * {@linkcode DEFAULT_MAX_PIXELS}, 40 Mpx); larger ones throw {@linkcode ImageTooLargeError}
   * before anything is decoded.
   */
  readonly maxPixels?: number;
  /**
   * The colour, RGB in [0, 1], that transparent pixels are composited over when alpha is dropped
   * (`channels` 1 or 3). Default white `[1, 1, 1]`: what a browser shows for a transparent PNG
   * on a white page. Opaque images are not changed.
   */
  readonly background?: readonly [number, number, number];
  /**
   * Receives one line for each change a reader might not expect from the stored pixels: an
   * image with transparent pixels composited over the background, an EXIF orientation applied.
   * Default: `console.warn` with a `note: ` prefix; pass `() => {}` to silence.
   */
  readonly onNote?: (note: string) => void;
}

/**
 * Encoded file formats.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { encodeImage, type ImageFormat } from "@perceptual/loss/data";
 * const grey = { height: 8, width: 8, channels: 1, data: new Float32Array(64).fill(0.5) };
 * const magic: Record<ImageFormat, number[]> = { png: [137, 80], jpeg: [255, 216] };
 * for (const format of ["png", "jpeg"] as ImageFormat[]) {
 *   const bytes = await encodeImage(grey, format);
 *   assert.deepEqual([...bytes.slice(0, 2)], magic[format]);
 * }
 * ```
 */
export type ImageFormat = "png" | "jpeg";

/**
 * Options of {@linkcode saveImage} and {@linkcode encodeImage}.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { type SaveImageOptions, writePixels } from "@perceptual/loss/data";
 * const grey = { height: 8, width: 8, channels: 1, data: new Float32Array(64).fill(0.5) };
 * const path = await Deno.makeTempFile({ suffix: ".png" });
 * const options: SaveImageOptions = { format: "jpeg", quality: 20 }; // JPEG despite ".png"
 * await writePixels(path, grey, options);
 * // JPEG's start marker
 * assert.deepEqual(
 *   [...(await Deno.readFile(path)).slice(0, 2)],
 *   [255, 216],
 * );
 * await Deno.remove(path);
 * ```
 */
export interface SaveImageOptions {
  /** JPEG quality 1-100 (default 90); ignored for PNG. */
  readonly quality?: number;
  /** Overrides the format the extension implies. */
  readonly format?: ImageFormat;
}

/**
 * Decoded samples as stored (8-bit, 16-bit, or float after a luma conversion): what the pair
 * pipeline caches, a quarter of the memory of float pixels for 8-bit files. Internal.
 */
export interface Samples {
  readonly height: number;
  readonly width: number;
  readonly channels: number;
  readonly data: Uint8Array | Uint16Array | Float32Array;
  /** The value that means 1.0: 255, 65535 or 1. */
  readonly max: number;
}

function convertChannels(s: Samples, channels: ChannelCount): Samples {
  if (s.channels === channels) return s;
  const n = s.height * s.width;
  const src = s.data;
  const c = s.channels;
  if (channels === 1) {
    const data = new Float32Array(n);
    const k = 1 / s.max;
    for (let i = 0; i < n; i++) {
      const j = i * c;
      data[i] = c >= 3 ? (KR * src[j]! + KG * src[j + 1]! + KB * src[j + 2]!) * k : src[j]! * k;
    }
    return { height: s.height, width: s.width, channels: 1, data, max: 1 };
  }
  // Grey (+ alpha) to RGB (+ alpha): replicate, staying in the stored sample type.
  const data = new (src.constructor as Uint8ArrayConstructor)(n * channels);
  for (let i = 0; i < n; i++) {
    const j = i * c;
    const o = i * channels;
    const g = src[j]!;
    data[o] = g;
    data[o + 1] = c >= 3 ? src[j + 1]! : g;
    data[o + 2] = c >= 3 ? src[j + 2]! : g;
    if (channels === 4) data[o + 3] = c === 4 ? src[j + 3]! : c === 2 ? src[j + 1]! : s.max;
  }
  return { height: s.height, width: s.width, channels, data, max: s.max };
}

/**
 * Decode PNG or JPEG bytes to stored samples (internal; see {@linkcode decodeImage}).
 */
export async function decodeSamples(
  bytes: Uint8Array,
  label: string,
  options: LoadImageOptions = {},
): Promise<Samples> {
  const channels = options.channels ?? 3;
  if (channels !== 1 && channels !== 3 && channels !== 4) {
    throw new ImageShapeError(`decodeImage: channels must be 1, 3 or 4, got ${channels}`);
  }
  const maxPixels = checkMaxPixels(options.maxPixels ?? DEFAULT_MAX_PIXELS);
  const background = checkBackground(options.background ?? [1, 1, 1]);
  const note = options.onNote ?? ((line: string) => console.warn(`note: ${line}`));
  checkImageFormat(bytes, label);
  // The header only: the size is checked before a single pixel is decoded.
  const meta = await header(bytes, label);
  const info = infoOf(meta);
  const [w, h] = [meta.width ?? 0, meta.height ?? 0];
  if (w * h > maxPixels) throw new ImageTooLargeError(label, w, h, maxPixels);
  // Alpha is kept through decoding when it is to be composited away afterwards.
  const composite = info.alpha && channels !== 4;
  let raw: { data: Uint8Array; info: { width: number; height: number; channels: number } };
  try {
    // sharp narrows 16-bit files to 8 bits unless asked to keep them ("rgb16" + ushort output).
    const wide = meta.depth === "ushort";
    // libvips checks the same limit again while decoding, in case a header lied.
    let pipeline = sharp(bytes, { failOn: "error", limitInputPixels: maxPixels }).keepIccProfile();
    // As a browser shows it (CSS image-orientation: from-image, the default).
    if (info.orientation !== 1) pipeline = pipeline.rotate();
    if (channels === 4) pipeline = pipeline.ensureAlpha();
    else if (!composite) pipeline = pipeline.removeAlpha();
    if (wide) pipeline = pipeline.toColourspace("rgb16");
    raw = await pipeline.raw(wide ? { depth: "ushort" } : {}).toBuffer({
      resolveWithObject: true,
    });
  } catch (e) {
    throw new ImageReadError(label, e);
  }
  const { width, height, channels: got } = raw.info;
  const depth = (raw.info as { depth?: string }).depth ?? "uchar";
  const n = width * height * got;
  let samples: Samples;
  if (depth === "ushort") {
    // Copy: the Buffer may be a view into a shared pool with an odd offset.
    const data = new Uint16Array(n);
    const view = new DataView(raw.data.buffer, raw.data.byteOffset, n * 2);
    for (let i = 0; i < n; i++) data[i] = view.getUint16(2 * i, true);
    samples = { height, width, channels: got, data, max: 65535 };
  } else if (depth === "uchar") {
    samples = { height, width, channels: got, data: new Uint8Array(raw.data), max: 255 };
  } else {
    throw new ImageReadError(label, new Error(`unsupported sample format '${depth}'`));
  }
  if (info.orientation !== 1) {
    note(
      `${label}: EXIF orientation ${info.orientation} applied (${
        ORIENTATIONS[info.orientation]
      }), as browsers show it; stored ${w}x${h}, loaded ${width}x${height}`,
    );
  }
  if (composite) {
    const flat = flatten(samples, background);
    if (flat.transparent > 0) {
      note(
        `${label}: ${flat.transparent} of ${width * height} pixels are transparent; composited ` +
          `over ${describeBackground(background)}, as a browser shows the image on such a page ` +
          "(set background, or load 4 channels to keep alpha)",
      );
    }
    samples = flat.samples;
  }
  return convertChannels(samples, channels);
}

/**
 * Copy a window of stored samples into float pixels in [0, 1] (internal).
 */
export function cropSamples(
  s: Samples,
  top: number,
  left: number,
  height: number,
  width: number,
): Pixels {
  const c = s.channels;
  const data = new Float32Array(height * width * c);
  const k = 1 / s.max;
  const rowLen = width * c;
  for (let y = 0; y < height; y++) {
    const src = ((top + y) * s.width + left) * c;
    const dst = y * rowLen;
    for (let j = 0; j < rowLen; j++) data[dst + j] = s.data[src + j]! * k;
  }
  return { height, width, channels: c, data };
}

/**
 * Decode PNG or JPEG bytes to pixels in [0, 1]; `label` names the source in errors.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { decodeImage, encodeImage } from "@perceptual/loss/data";
 * const png = await encodeImage(
 *   { height: 1, width: 2, channels: 3, data: new Float32Array([1, 0, 0, 0, 0, 1]) },
 *   "png",
 * );
 * assert.deepEqual((await decodeImage(png, "inline")).data, Float32Array.of(1, 0, 0, 0, 0, 1));
 * ```
 */
export async function decodeImage(
  bytes: Uint8Array,
  label: string,
  options: LoadImageOptions = {},
): Promise<Pixels> {
  const s = await decodeSamples(bytes, label, options);
  return cropSamples(s, 0, 0, s.height, s.width);
}

/**
 * Read and decode an image file to pixels in [0, 1] (HWC). Errors name the file.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { readPixels } from "@perceptual/loss/data";
 * const p = await readPixels("examples/data/skimage_chelsea.png");
 * assert.equal(p.height, 300);
 * assert.equal(p.width, 451);
 * assert.equal(p.channels, 3);
 * ```
 */
export async function readPixels(path: string, options: LoadImageOptions = {}): Promise<Pixels> {
  return await decodeImage(await readImageBytes(path, options.maxPixels), path, options);
}

/**
 * Load a PNG or JPEG file as a float32 `[height, width, channels]` tensor in [0, 1] (RGB by
 * default; see {@linkcode LoadImageOptions}). The caller owns the tensor. An unreadable or corrupt
 * file throws {@linkcode ImageReadError} naming it.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { initBackend } from "@perceptual/loss/backend";
 * import { loadImage } from "@perceptual/loss/data";
 * await initBackend("cpu");
 * const img = await loadImage("examples/data/skimage_camera.png", { channels: 1 });
 * assert.deepEqual(img.shape, [512, 512, 1]);
 * img.dispose();
 * ```
 */
export async function loadImage(
  path: string,
  options: LoadImageOptions = {},
): Promise<tf.Tensor3D> {
  return pixelsToTensor(await readPixels(path, options));
}

function toBytes(p: Pixels): Uint8Array {
  const out = new Uint8Array(p.data.length);
  for (let i = 0; i < out.length; i++) {
    const v = p.data[i]!;
    // NaN becomes 0, not a silent 255.
    out[i] = v > 0 ? (v >= 1 ? 255 : Math.round(v * 255)) : 0;
  }
  return out;
}

function checkQuality(quality: number, where: string): void {
  if (!Number.isInteger(quality) || quality < 1 || quality > 100) {
    throw new ImageShapeError(
      `${where}: JPEG quality must be an integer in 1..100, got ${quality}`,
    );
  }
}

/**
 * Encode pixels (clamped to [0, 1], rounded to 8 bits) as PNG or JPEG bytes.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { encodeImage } from "@perceptual/loss/data";
 * const p = { height: 8, width: 8, channels: 3, data: new Float32Array(192).fill(0.5) };
 * const jpeg = await encodeImage(p, "jpeg", { quality: 75 });
 * assert.ok(jpeg[0] === 0xff && jpeg[1] === 0xd8);
 * ```
 */
export async function encodeImage(
  p: Pixels,
  format: ImageFormat,
  options: SaveImageOptions = {},
): Promise<Uint8Array> {
  checkPixels(p, "encodeImage");
  if (p.channels > 4) {
    throw new ImageShapeError(`encodeImage: images need 1-4 channels, got ${p.channels}`);
  }
  const quality = options.quality ?? 90;
  checkQuality(quality, "encodeImage");
  const raw = sharp(toBytes(p), {
    raw: { width: p.width, height: p.height, channels: p.channels as 1 | 2 | 3 | 4 },
  });
  // Grey pixels make a grey file (1 channel, 2 with alpha): sharp would widen them to RGB, and
  // a grey file is scored differently from an RGB one by the published SR protocol.
  const input = p.channels <= 2 ? raw.toColourspace("b-w") : raw;
  const encoded = format === "png"
    ? input.png()
    : (p.channels === 4 || p.channels === 2 ? input.removeAlpha() : input).jpeg({
      quality,
      // Plain baseline 4:2:0 JPEG, as most encoders write; no mozjpeg trellis tricks.
      chromaSubsampling: "4:2:0",
    });
  const buf = await encoded.toBuffer();
  return new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
}

function formatOf(path: string): ImageFormat | undefined {
  const ext = path.toLowerCase().match(/\.([a-z]+)$/)?.[1];
  return ext === "png" ? "png" : ext === "jpg" || ext === "jpeg" ? "jpeg" : undefined;
}

/**
 * Write pixels to a file; the format comes from the extension (`.png`, `.jpg`, `.jpeg`) unless
 * `options.format` says otherwise. Missing parent folders are created.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { writePixels } from "@perceptual/loss/data";
 * const dir = await Deno.makeTempDir();
 * const grey = { height: 2, width: 2, channels: 1, data: new Float32Array(4) } as const;
 * await writePixels(`${dir}/sub/grey.png`, grey); // makes sub/
 * assert.ok((await Deno.stat(`${dir}/sub/grey.png`)).isFile);
 * ```
 */
export async function writePixels(
  path: string,
  p: Pixels,
  options: SaveImageOptions = {},
): Promise<void> {
  const format = options.format ?? formatOf(path);
  if (format === undefined) {
    throw new ImageWriteError(
      path,
      "the extension is not .png, .jpg or .jpeg; pass options.format",
    );
  }
  let bytes: Uint8Array;
  try {
    bytes = await encodeImage(p, format, options);
  } catch (e) {
    if (e instanceof ImageShapeError) throw e;
    throw new ImageWriteError(path, e);
  }
  try {
    const slash = path.lastIndexOf("/");
    if (slash > 0) await Deno.mkdir(path.slice(0, slash), { recursive: true });
    await Deno.writeFile(path, bytes);
  } catch (e) {
    throw new ImageWriteError(path, e);
  }
}

/**
 * Save a `[height, width, channels]` tensor (values in [0, 1], clamped; 1, 3 or 4 channels) as PNG
 * or JPEG, chosen by the extension. A `[1, h, w, c]` batch of one is accepted too. The tensor is
 * not disposed.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as tf from "@tensorflow/tfjs-core";
 * import { initBackend } from "@perceptual/loss/backend";
 * import { saveImage } from "@perceptual/loss/data";
 * await initBackend("cpu");
 * const dir = await Deno.makeTempDir();
 * const img = tf.randomUniform([16, 16, 3]) as tf.Tensor3D;
 * await saveImage(`${dir}/noise.jpg`, img, { quality: 80 });
 * const bytes = await Deno.readFile(`${dir}/noise.jpg`);
 * assert.deepEqual([...bytes.slice(0, 2)], [255, 216]); // a JPEG file
 * img.dispose();
 * ```
 */
export async function saveImage(
  path: string,
  img: tf.Tensor3D | tf.Tensor4D,
  options: SaveImageOptions = {},
): Promise<void> {
  let t: tf.Tensor3D;
  if (img.rank === 4) {
    if (img.shape[0] !== 1) {
      throw new ImageShapeError(
        `saveImage('${path}'): got a batch of ${img.shape[0]} images; save them one at a time`,
      );
    }
    t = tf.squeeze(img, [0]) as tf.Tensor3D;
  } else {
    t = img as tf.Tensor3D;
  }
  try {
    await writePixels(path, await tensorToPixels(t), options);
  } finally {
    if (t !== img) t.dispose();
  }
}
