/**
 * `Conv2DBackpropFilter` (the weight gradient of a 2-D convolution) as im2col + one matrix product.
 *
 * dW[kh,kw,ci,co] = Σ_{n,y,x} x[n, y·s + kh − pTop, x·s + kw − pLeft, ci] · dy[n,y,x,co].
 * Rows of the im2col matrix are (kh,kw,ci) and columns the output pixels, so the product
 * `cols[R,T] · dy[T,Co]` is already the filter's layout and uses the backend's fast
 * non-transposed matmul (on wasm, XNNPACK's; its transposed variants are ~15× slower).
 * Columns are processed in chunks to bound the im2col buffer.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
import { type KernelArgs, KernelIo } from "./kernel_io.ts";

/** Floats per im2col chunk: 4 Mi (16 MiB), a few L2/L3-sized panels and no huge wasm heap. */
const CHUNK_FLOATS = 1 << 22;

/** Geometry of a channels-last 2-D convolution (dilation 1) as these kernels need it. */
export interface ConvGeometry {
  /** Batch size. */
  readonly n: number;
  /** Input height. */
  readonly h: number;
  /** Input width. */
  readonly w: number;
  /** Input channels. */
  readonly ci: number;
  /** Output height. */
  readonly oh: number;
  /** Output width. */
  readonly ow: number;
  /** Output channels (input channels × multiplier for depthwise convs). */
  readonly co: number;
  /** Filter height. */
  readonly kh: number;
  /** Filter width. */
  readonly kw: number;
  /** Vertical stride. */
  readonly sh: number;
  /** Horizontal stride. */
  readonly sw: number;
  /** Rows of zero padding above the input. */
  readonly top: number;
  /** Columns of zero padding left of the input. */
  readonly left: number;
  /** Rows of zero padding below the input. */
  readonly bottom: number;
  /** Columns of zero padding right of the input. */
  readonly right: number;
}

/**
 * The geometry of a channels-last 2-D convolution with dilation 1, from tfjs's own rules.
 *
 * @throws {Error} for NCHW data or dilation > 1 (tfjs's conv gradients reject dilation anyway).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { convGeometry } from "./conv2d_backprop_filter.ts";
 * const g = convGeometry([1, 5, 7, 2], [3, 3, 2, 4], [2, 2], "same", undefined, 1, "NHWC");
 * assert.equal(g.oh, 3);
 * assert.equal(g.ow, 4);
 * ```
 */
export function convGeometry(
  xShape: readonly number[],
  filterShape: readonly number[],
  strides: number | [number, number],
  pad: unknown,
  dimRoundingMode: unknown,
  dilations: number | [number, number] = 1,
  dataFormat: unknown = "NHWC",
  depthwise = false,
): ConvGeometry {
  if (dataFormat !== undefined && dataFormat !== "NHWC" && dataFormat !== "channelsLast") {
    throw new Error(
      `this project's conv gradient kernels need NHWC data, got dataFormat '${dataFormat}'`,
    );
  }
  const info = tf.backend_util.computeConv2DInfo(
    xShape as [number, number, number, number],
    filterShape as [number, number, number, number],
    strides,
    dilations,
    pad as "same",
    dimRoundingMode as "floor" | undefined,
    depthwise,
    "channelsLast",
  );
  if (info.dilationHeight !== 1 || info.dilationWidth !== 1) {
    throw new Error(
      `conv gradients support dilation 1 only, got [${info.dilationHeight}, ${info.dilationWidth}]`,
    );
  }
  return geometryOfInfo(info);
}

/**
 * The fields of tfjs's conv (or pool: `computePool2DInfo` returns the same record, with
 * `ci = co`) geometry that the gradient kernels use, under short names.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as tf from "@tensorflow/tfjs-core";
 * import { geometryOfInfo } from "./conv2d_backprop_filter.ts";
 * const info = tf.backend_util.computePool2DInfo([1, 4, 6, 3], 2, 2, 1, "valid");
 * const g = geometryOfInfo(info);
 * assert.equal(g.oh, 2);
 * assert.equal(g.ow, 3);
 * assert.equal(g.ci, 3);
 * assert.equal(g.co, 3);
 * ```
 */
export function geometryOfInfo(info: tf.backend_util.Conv2DInfo): ConvGeometry {
  return {
    n: info.batchSize,
    h: info.inHeight,
    w: info.inWidth,
    ci: info.inChannels,
    oh: info.outHeight,
    ow: info.outWidth,
    co: info.outChannels,
    kh: info.filterHeight,
    kw: info.filterWidth,
    sh: info.strideHeight,
    sw: info.strideWidth,
    top: info.padInfo.top,
    left: info.padInfo.left,
    bottom: info.padInfo.bottom,
    right: info.padInfo.right,
  };
}

/**
 * x [n,h,w,ci] → a channel-major, zero-padded copy [ci, n, hp, wp] whose rows make every im2col
 * row a run of contiguous (stride 1) or evenly spaced reads, and need no bounds checks.
 */
interface PaddedPlanes {
  readonly data: Float32Array;
  readonly hp: number;
  readonly wp: number;
}

function channelMajorPadded(x: Float32Array, g: ConvGeometry): PaddedPlanes {
  const { n, h, w, ci, oh, ow, kh, kw, sh, sw, top, left } = g;
  const hp = Math.max(top + h, (oh - 1) * sh + kh);
  const wp = Math.max(left + w, (ow - 1) * sw + kw);
  const plane = n * hp * wp;
  const data = new Float32Array(ci * plane);
  for (let b = 0; b < n; b++) {
    for (let y = 0; y < h; y++) {
      // Rows above `top` and columns left of `left` stay zero: they are the padding.
      const rowBase = (b * hp + y + top) * wp + left;
      const srcRow = (b * h + y) * w * ci;
      // One input row (w·ci floats) stays in L1 while each channel's run is written contiguously.
      for (let c = 0; c < ci; c++) {
        const dst = rowBase + c * plane;
        for (let xx = 0, src = srcRow + c; xx < w; xx++, src += ci) data[dst + xx] = x[src]!;
      }
    }
  }
  return { data, hp, wp };
}

/**
 * Fill `cols` ([R, rowCount·ow], rows (kh,kw,ci)) with the im2col columns of output rows
 * [r0, r0 + rowCount) (an output row is one (n, y)).
 */
function im2colT(
  p: PaddedPlanes,
  cols: Float32Array,
  g: ConvGeometry,
  r0: number,
  rowCount: number,
): void {
  const { n, ci, oh, ow, kh, kw, sh, sw } = g;
  const { data, hp, wp } = p;
  const plane = n * hp * wp;
  let dst = 0;
  for (let a = 0; a < kh; a++) {
    for (let b = 0; b < kw; b++) {
      for (let c = 0; c < ci; c++) {
        const planeBase = c * plane + b;
        for (let r = r0; r < r0 + rowCount; r++) {
          const img = (r / oh) | 0;
          const y = r - img * oh;
          const src = planeBase + (img * hp + y * sh + a) * wp;
          if (sw === 1 && ow >= 8) {
            // Long runs: a memcpy. Short ones: a plain loop (no per-row subarray object).
            cols.set(data.subarray(src, src + ow), dst);
            dst += ow;
          } else {
            for (let xo = 0, s = src; xo < ow; xo++, s += sw) cols[dst++] = data[s]!;
          }
        }
      }
    }
  }
}

/**
 * The weight gradient of a channels-last 2-D convolution (dilation 1, any stride and padding).
 *
 * @returns dW with shape [kh, kw, ci, co], owned by the caller.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as tf from "@tensorflow/tfjs-core";
 * import { initBackend } from "@perceptual/loss/backend";
 * import { KernelIo } from "./kernel_io.ts";
 * import { conv2dFilterGradient } from "./conv2d_backprop_filter.ts";
 * await initBackend("cpu");
 * const io = new KernelIo(tf.backend(), "cpu");
 * const x = tf.ones([1, 3, 3, 1]);
 * const dy = tf.ones([1, 3, 3, 1]);
 * const dw = conv2dFilterGradient(io, x, dy, [3, 3, 1, 1], 1, "same", undefined);
 * // taps inside the 3×3 image
 * assert.deepEqual(
 *   Array.from(io.view(dw)),
 *   [4, 6, 4, 6, 9, 6, 4, 6, 4],
 * );
 * io.free(dw);
 * ```
 */
export function conv2dFilterGradient(
  io: KernelIo,
  x: tf.TensorInfo,
  dy: tf.TensorInfo,
  filterShape: readonly number[],
  strides: number | [number, number],
  pad: unknown,
  dimRoundingMode: unknown,
  dataFormat: unknown = "NHWC",
): tf.TensorInfo {
  const g = convGeometry(x.shape, filterShape, strides, pad, dimRoundingMode, 1, dataFormat);
  const rows = g.kh * g.kw * g.ci;
  const total = g.n * g.oh * g.ow;
  if (total === 0 || rows === 0) return io.zeros([g.kh, g.kw, g.ci, g.co]);
  const outRows = g.n * g.oh;
  const rowsPerChunk = Math.max(1, Math.min(outRows, Math.floor(CHUNK_FLOATS / (rows * g.ow))));
  const planes = channelMajorPadded(io.view(x), g);
  const dy3 = io.reshape(dy, [1, total, g.co]);
  let acc: tf.TensorInfo | undefined;
  try {
    for (let r0 = 0; r0 < outRows; r0 += rowsPerChunk) {
      const rowCount = Math.min(rowsPerChunk, outRows - r0);
      const tc = rowCount * g.ow;
      const t0 = r0 * g.ow;
      const cols = io.alloc([1, rows, tc]);
      let dyChunk: tf.TensorInfo | undefined;
      let part: tf.TensorInfo | undefined;
      try {
        // Views after the allocation: a growing wasm heap detaches older views.
        im2colT(planes, io.view(cols), g, r0, rowCount);
        if (tc === total) {
          dyChunk = dy3;
        } else {
          // Copied by hand: wasm's Slice kernel first copies the whole input out of the heap.
          dyChunk = io.alloc([1, tc, g.co]);
          io.view(dyChunk).set(io.view(dy).subarray(t0 * g.co, (t0 + tc) * g.co));
        }
        part = io.run("BatchMatMul", { a: cols, b: dyChunk }, {
          transposeA: false,
          transposeB: false,
        });
        if (acc === undefined) {
          acc = part;
          part = undefined;
        } else {
          const sum = io.run("Add", { a: acc, b: part });
          io.free(acc);
          acc = sum;
        }
      } finally {
        io.free(cols, part, dyChunk === dy3 ? undefined : dyChunk);
      }
    }
    return io.reshape(acc!, [g.kh, g.kw, g.ci, g.co]);
  } finally {
    io.free(dy3, acc);
  }
}

/**
 * The registry's kernel function for `Conv2DBackpropFilter` on the backend named `backendName`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { conv2dBackpropFilterKernel } from "./conv2d_backprop_filter.ts";
 * const kernelFunc = conv2dBackpropFilterKernel("wasm");
 * assert.equal(typeof kernelFunc, "function");
 * ```
 */
export function conv2dBackpropFilterKernel(backendName: string): tf.KernelFunc {
  return (args) => {
    const { inputs, backend, attrs } = args as unknown as KernelArgs;
    const { x, dy } = inputs as { x: tf.TensorInfo; dy: tf.TensorInfo };
    const a = (attrs ?? {}) as unknown as tf.Conv2DBackpropFilterAttrs;
    return conv2dFilterGradient(
      new KernelIo(backend, backendName),
      x,
      dy,
      a.filterShape,
      a.strides,
      a.pad,
      a.dimRoundingMode,
      a.dataFormat,
    );
  };
}
