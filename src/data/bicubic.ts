/**
 * MATLAB `imresize` bicubic resampling: kernel a = -0.5, pixel centres mapped by
 * u = x/s + 0.5(1 - 1/s), the kernel widened by 1/s when shrinking (antialiasing), and borders
 * extended. This is the resize every super-resolution paper's tables assume.
 *
 * Two implementations share one weight table: one on {@linkcode Pixels} in plain JavaScript
 * (sparse, double precision: the pipeline and evaluation use it) and one on tensors (two dense
 * matrix products: differentiable, on any backend).
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
import { ImageShapeError } from "./errors.ts";
import { checkPixels, type Pixels } from "./pixels.ts";

/**
 * How samples beyond the border are read: `"replicate"` repeats the edge pixel (this reproduces
 * the standard Set5/Set14 LR files byte for byte); `"symmetric"` mirrors (MATLAB's own choice).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { type BorderMode, type Pixels, bicubicUpscalePixels } from "@perceptual/loss/data";
 * const edge: Pixels = { height: 1, width: 4, channels: 1, data: Float32Array.of(0, 1, 1, 1) };
 * const first: Record<BorderMode, string> = { replicate: "-0.0703", symmetric: "-0.0938" };
 * for (const border of ["replicate", "symmetric"] as BorderMode[]) {
 *   const up = bicubicUpscalePixels(edge, 2, { border });
 *   assert.equal(up.data[0]!.toFixed(4), first[border]);
 * }
 * ```
 */
export type BorderMode = "replicate" | "symmetric";

/**
 * Options of the bicubic resizes.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { type BicubicOptions, type Pixels, bicubicDownscalePixels } from "@perceptual/loss/data";
 * const ramp = Float32Array.from({ length: 16 }, (_, i) => (i % 8) / 7); // 2 rows of 0 … 1
 * const hr: Pixels = { height: 2, width: 8, channels: 1, data: ramp };
 * const matlab: BicubicOptions = { quantize: "uint8" }; // imresize on a uint8 image
 * const lr = bicubicDownscalePixels(hr, 2, matlab);
 * assert.deepEqual(Array.from(lr.data, (v) => +(v * 255).toFixed(3)), [18, 91, 164, 237]);
 * ```
 */
export interface BicubicOptions {
  /** Widen the kernel when shrinking, as MATLAB does (default true). Ignored when enlarging. */
  readonly antialias?: boolean;
  /** Border handling (default `"replicate"`). */
  readonly border?: BorderMode;
  /**
   * `"uint8"`: treat the image as 8-bit (values k/255) and round to 8 bits after EACH of the two
   * passes, as MATLAB does for uint8 images. With the defaults this reproduces the published
   * Set5 LR files exactly. Default: no rounding (float in, float out).
   */
  readonly quantize?: "uint8";
}

/** The resampling taps of one axis: output `i` reads `index[i*taps+k]` with `weight[i*taps+k]`. */
interface AxisTaps {
  readonly inLength: number;
  readonly outLength: number;
  readonly taps: number;
  readonly index: Int32Array;
  readonly weight: Float64Array;
}

function cubic(x: number): number {
  const a = Math.abs(x);
  const a2 = a * a;
  const a3 = a2 * a;
  if (a <= 1) return 1.5 * a3 - 2.5 * a2 + 1;
  if (a <= 2) return -0.5 * a3 + 2.5 * a2 - 4 * a + 2;
  return 0;
}

function borderIndex(i: number, n: number, border: BorderMode): number {
  if (border === "replicate") return i < 0 ? 0 : i >= n ? n - 1 : i;
  // MATLAB: aux = [1:n, n:-1:1]; aux(mod(i, 2n)) (0-based here).
  const period = 2 * n;
  const m = ((i % period) + period) % period;
  return m < n ? m : period - 1 - m;
}

const tapCache = new Map<string, AxisTaps>();

/** MATLAB's `contributions()`, 0-based. Cached: a pipeline asks for the same few sizes again. */
function axisTaps(
  inLength: number,
  outLength: number,
  scale: number,
  antialias: boolean,
  border: BorderMode,
): AxisTaps {
  const key = `${inLength},${outLength},${scale},${antialias},${border}`;
  const hit = tapCache.get(key);
  if (hit !== undefined) return hit;
  const shrink = scale < 1 && antialias;
  const kernelWidth = shrink ? 4 / scale : 4;
  const h = shrink ? (x: number) => scale * cubic(scale * x) : cubic;
  const taps = Math.ceil(kernelWidth) + 2;
  const index = new Int32Array(outLength * taps);
  const weight = new Float64Array(outLength * taps);
  for (let i = 0; i < outLength; i++) {
    // 1-based x as in MATLAB, turned into a 0-based source coordinate by the final "- 1".
    const u = (i + 1) / scale + 0.5 * (1 - 1 / scale);
    const left = Math.floor(u - kernelWidth / 2);
    let sum = 0;
    for (let k = 0; k < taps; k++) {
      const w = h(u - (left + k));
      weight[i * taps + k] = w;
      sum += w;
    }
    for (let k = 0; k < taps; k++) {
      weight[i * taps + k] /= sum;
      index[i * taps + k] = borderIndex(left + k - 1, inLength, border);
    }
  }
  const result = { inLength, outLength, taps, index, weight };
  if (tapCache.size > 256) tapCache.clear();
  tapCache.set(key, result);
  return result;
}

/** Resample rows (axis 0) of an HWC buffer. */
function passVertical(
  src: Float32Array,
  width: number,
  channels: number,
  t: AxisTaps,
  round: boolean,
): Float32Array {
  const rowLen = width * channels;
  const out = new Float32Array(t.outLength * rowLen);
  const acc = new Float64Array(rowLen);
  for (let y = 0; y < t.outLength; y++) {
    acc.fill(0);
    for (let k = 0; k < t.taps; k++) {
      const w = t.weight[y * t.taps + k]!;
      if (w === 0) continue;
      const base = t.index[y * t.taps + k]! * rowLen;
      for (let j = 0; j < rowLen; j++) acc[j]! += w * src[base + j]!;
    }
    const o = y * rowLen;
    if (round) {
      for (let j = 0; j < rowLen; j++) out[o + j] = roundByte(acc[j]!);
    } else {
      for (let j = 0; j < rowLen; j++) out[o + j] = acc[j]!;
    }
  }
  return out;
}

/** Resample columns (axis 1) of an HWC buffer. */
function passHorizontal(
  src: Float32Array,
  height: number,
  inWidth: number,
  channels: number,
  t: AxisTaps,
  round: boolean,
): Float32Array {
  const out = new Float32Array(height * t.outLength * channels);
  for (let y = 0; y < height; y++) {
    const row = y * inWidth * channels;
    for (let x = 0; x < t.outLength; x++) {
      const o = (y * t.outLength + x) * channels;
      for (let c = 0; c < channels; c++) {
        let acc = 0;
        for (let k = 0; k < t.taps; k++) {
          acc += t.weight[x * t.taps + k]! * src[row + t.index[x * t.taps + k]! * channels + c]!;
        }
        out[o + c] = round ? roundByte(acc) : acc;
      }
    }
  }
  return out;
}

/** MATLAB's double → uint8: round half away from zero, saturate. */
function roundByte(v: number): number {
  return v <= 0 ? 0 : v >= 255 ? 255 : Math.floor(v + 0.5);
}

/** Output height, width and the per-axis scale (out/in) of resizing by `scale`, up or down. */
function scaledSize(
  h: number,
  w: number,
  scale: number,
  up: boolean,
  where: string,
): [number, number, number] {
  if (!Number.isFinite(scale) || scale <= 0) {
    throw new ImageShapeError(`${where}: scale must be a positive number, got ${scale}`);
  }
  const size = (n: number) => Math.ceil(up ? n * scale : n / scale);
  return [size(h), size(w), up ? scale : 1 / scale];
}

/**
 * Bicubic resize of pixels to `height x width`, MATLAB `imresize(img, [height width])` style
 * (the per-axis scale is out/in; vertical pass first, as MATLAB does for equal scales).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { bicubicResizePixels } from "@perceptual/loss/data";
 * const p = { height: 4, width: 4, channels: 1, data: new Float32Array(16).fill(0.5) };
 * assert.deepEqual(bicubicResizePixels(p, 2, 2).data, Float32Array.of(0.5, 0.5, 0.5, 0.5));
 * ```
 */
export function bicubicResizePixels(
  p: Pixels,
  height: number,
  width: number,
  options: BicubicOptions = {},
): Pixels {
  checkPixels(p, "bicubicResizePixels");
  if (!Number.isInteger(height) || !Number.isInteger(width) || height <= 0 || width <= 0) {
    throw new ImageShapeError(
      `bicubicResizePixels: output size must be positive integers, got ${height}x${width}`,
    );
  }
  return resizeWithScales(p, height, width, height / p.height, width / p.width, options);
}

function resizeWithScales(
  p: Pixels,
  height: number,
  width: number,
  scaleY: number,
  scaleX: number,
  options: BicubicOptions,
): Pixels {
  const antialias = options.antialias ?? true;
  const border = options.border ?? "replicate";
  const round = options.quantize === "uint8";
  const ty = axisTaps(p.height, height, scaleY, antialias, border);
  const tx = axisTaps(p.width, width, scaleX, antialias, border);
  let src = p.data;
  if (round) {
    src = new Float32Array(p.data.length);
    for (let i = 0; i < src.length; i++) src[i] = roundByte(p.data[i]! * 255);
  }
  // MATLAB resizes the axis with the smaller scale first (rows on a tie).
  let data: Float32Array;
  if (scaleY <= scaleX) {
    const mid = passVertical(src, p.width, p.channels, ty, round);
    data = passHorizontal(mid, height, p.width, p.channels, tx, round);
  } else {
    const mid = passHorizontal(src, p.height, p.width, p.channels, tx, round);
    data = passVertical(mid, width, p.channels, ty, round);
  }
  if (round) { for (let i = 0; i < data.length; i++) data[i] = data[i]! / 255; }
  return { height, width, channels: p.channels, data };
}

/**
 * Shrink pixels by `scale` (MATLAB `imresize(img, 1/scale, 'bicubic')`, antialiased); the output is
 * `ceil(height/scale) x ceil(width/scale)`, so crop to a multiple of `scale` first for SR pairs.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { bicubicDownscalePixels } from "@perceptual/loss/data";
 * const p = { height: 8, width: 8, channels: 3, data: new Float32Array(192).fill(1) };
 * const lr = bicubicDownscalePixels(p, 4, { quantize: "uint8" });
 * assert.equal(lr.height, 2);
 * assert.equal(lr.width, 2);
 * assert.equal(lr.data[0], 1);
 * ```
 */
export function bicubicDownscalePixels(
  p: Pixels,
  scale: number,
  options: BicubicOptions = {},
): Pixels {
  checkPixels(p, "bicubicDownscalePixels");
  const [height, width, s] = scaledSize(p.height, p.width, scale, false, "bicubicDownscalePixels");
  return resizeWithScales(p, height, width, s, s, options);
}

/**
 * Enlarge pixels by `scale` (MATLAB `imresize(img, scale, 'bicubic')`; no antialiasing applies);
 * the output is `ceil(height*scale) x ceil(width*scale)`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { bicubicUpscalePixels } from "@perceptual/loss/data";
 * const p = { height: 2, width: 2, channels: 1, data: new Float32Array([0, 1, 1, 0]) };
 * assert.equal(bicubicUpscalePixels(p, 2).height, 4);
 * ```
 */
export function bicubicUpscalePixels(
  p: Pixels,
  scale: number,
  options: BicubicOptions = {},
): Pixels {
  checkPixels(p, "bicubicUpscalePixels");
  const [height, width, s] = scaledSize(p.height, p.width, scale, true, "bicubicUpscalePixels");
  return resizeWithScales(p, height, width, s, s, options);
}

/** The dense `[outLength, inLength]` resampling matrix of one axis. */
function axisMatrix(t: AxisTaps): tf.Tensor2D {
  const m = new Float32Array(t.outLength * t.inLength);
  for (let i = 0; i < t.outLength; i++) {
    for (let k = 0; k < t.taps; k++) {
      // Border taps land on the same source pixel several times: add them up.
      m[i * t.inLength + t.index[i * t.taps + k]!]! += t.weight[i * t.taps + k]!;
    }
  }
  return tf.tensor2d(m, [t.outLength, t.inLength]);
}

function resizeTensor<T extends tf.Tensor3D | tf.Tensor4D>(
  img: T,
  height: number,
  width: number,
  scaleY: number,
  scaleX: number,
  options: BicubicOptions,
  where: string,
): T {
  if (img.rank !== 3 && img.rank !== 4) {
    throw new ImageShapeError(
      `${where}: expected [height, width, channels] or [batch, height, width, channels], ` +
        `got shape [${img.shape}]`,
    );
  }
  const antialias = options.antialias ?? true;
  const border = options.border ?? "replicate";
  const round = options.quantize === "uint8";
  return tf.tidy(() => {
    const x4 = (img.rank === 3 ? tf.expandDims(img, 0) : img) as tf.Tensor4D;
    const [b, h, w, c] = x4.shape;
    const my = axisMatrix(axisTaps(h, height, scaleY, antialias, border));
    const mx = axisMatrix(axisTaps(w, width, scaleX, antialias, border));
    // tf.round rounds half to even; MATLAB (and the Pixels version) round half away from zero.
    const q = (t: tf.Tensor): tf.Tensor =>
      round ? tf.clipByValue(tf.floor(tf.add(t, 0.5)), 0, 255) : t;
    // Rows: [h, b*w*c] -> [height, b*w*c]; columns: [w, height*b*c] -> [width, height*b*c].
    const rows = (t: tf.Tensor, inH: number, inW: number): tf.Tensor =>
      tf.reshape(
        tf.matMul(my, tf.reshape(tf.transpose(t, [1, 0, 2, 3]), [inH, b * inW * c])),
        [height, b, inW, c],
      ); // -> [height, b, inW, c]
    const cols = (t: tf.Tensor, inH: number, inW: number): tf.Tensor =>
      tf.reshape(
        tf.matMul(mx, tf.reshape(tf.transpose(t, [2, 0, 1, 3]), [inW, b * inH * c])),
        [width, b, inH, c],
      ); // -> [width, b, inH, c]
    let x: tf.Tensor = round ? q(tf.mul(x4, 255)) : x4;
    if (scaleY <= scaleX) {
      const r = tf.transpose(q(rows(x, h, w)), [1, 0, 2, 3]); // [b, height, w, c]
      x = tf.transpose(q(cols(r, height, w)), [1, 2, 0, 3]); // [b, height, width, c]
    } else {
      const cc = tf.transpose(q(cols(x, h, w)), [1, 2, 0, 3]); // [b, h, width, c]
      x = tf.transpose(q(rows(cc, h, width)), [1, 0, 2, 3]);
    }
    if (round) x = tf.div(x, 255);
    return (img.rank === 3 ? tf.squeeze(x, [0]) : x) as T;
  });
}

/**
 * Shrink an image or a batch by `scale` with MATLAB-compatible antialiased bicubic
 * (see {@linkcode BicubicOptions}); output size `ceil(size/scale)`. Differentiable (two matrix
 * products) unless `quantize` is set; the caller owns the result.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as tf from "@tensorflow/tfjs-core";
 * import { initBackend } from "@perceptual/loss/backend";
 * import { bicubicDownscale } from "@perceptual/loss/data";
 * await initBackend("cpu");
 * const hr = tf.randomUniform([1, 64, 64, 3]) as tf.Tensor4D;
 * const lr = bicubicDownscale(hr, 4);
 * assert.deepEqual(lr.shape, [1, 16, 16, 3]);
 * tf.dispose([hr, lr]);
 * ```
 */
export function bicubicDownscale<T extends tf.Tensor3D | tf.Tensor4D>(
  img: T,
  scale: number,
  options: BicubicOptions = {},
): T {
  const [h, w] = img.rank === 4 ? img.shape.slice(1) : img.shape;
  const [height, width, s] = scaledSize(h!, w!, scale, false, "bicubicDownscale");
  return resizeTensor(img, height, width, s, s, options, "bicubicDownscale");
}

/**
 * Enlarge an image or a batch by `scale` with MATLAB-style bicubic (a = -0.5, no antialiasing):
 * the usual "bicubic baseline" of SR tables. Differentiable; the caller owns the result.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as tf from "@tensorflow/tfjs-core";
 * import { initBackend } from "@perceptual/loss/backend";
 * import { bicubicUpscale } from "@perceptual/loss/data";
 * await initBackend("cpu");
 * const lr = tf.randomUniform([16, 16, 3]) as tf.Tensor3D;
 * const up = bicubicUpscale(lr, 2);
 * assert.deepEqual(up.shape, [32, 32, 3]);
 * tf.dispose([lr, up]);
 * ```
 */
export function bicubicUpscale<T extends tf.Tensor3D | tf.Tensor4D>(
  img: T,
  scale: number,
  options: BicubicOptions = {},
): T {
  const [h, w] = img.rank === 4 ? img.shape.slice(1) : img.shape;
  const [height, width, s] = scaledSize(h!, w!, scale, true, "bicubicUpscale");
  return resizeTensor(img, height, width, s, s, options, "bicubicUpscale");
}
