/**
 * `Conv2DBackpropInput` (the input gradient of a 2-D convolution) as a forward convolution.
 *
 * With dy zero-dilated by the stride (dyD[y·s] = dy[y]) the input gradient is exactly
 *   dx = conv2d(dyD, W′, stride 1, pads [kh−1−top, h−1−(oh−1)·s+top] × [same for width])
 * where W′[a,b,co,ci] = W[kh−1−a, kw−1−b, ci, co] (spatially flipped, in/out swapped). On wasm
 * the forward conv is XNNPACK's, several times faster than the stock backprop kernel.
 *
 * @module
 */
import type * as tf from "@tensorflow/tfjs-core";
import { type ConvGeometry, convGeometry } from "./conv2d_backprop_filter.ts";
import { derived } from "./derived_cache.ts";
import { type KernelArgs, KernelIo } from "./kernel_io.ts";

/**
 * W [kh,kw,ci,co] → W′ [kh,kw,co,ci], flipped in both spatial axes (a new tensor, caller-owned).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as tf from "@tensorflow/tfjs-core";
 * import { initBackend } from "@perceptual/loss/backend";
 * import { KernelIo } from "./kernel_io.ts";
 * import { flipFilter } from "./conv2d_backprop_input.ts";
 * await initBackend("cpu");
 * const io = new KernelIo(tf.backend(), "cpu");
 * const f = flipFilter(io, tf.tensor4d([1, 2, 3], [1, 3, 1, 1]));
 * assert.deepEqual(Array.from(io.view(f)), [3, 2, 1]);
 * io.free(f);
 * ```
 */
export function flipFilter(io: KernelIo, filter: tf.TensorInfo): tf.TensorInfo {
  const [kh, kw, ci, co] = filter.shape as [number, number, number, number];
  const out = io.alloc([kh, kw, co, ci]);
  const src = io.view(filter);
  const dst = io.view(out);
  for (let a = 0; a < kh; a++) {
    for (let b = 0; b < kw; b++) {
      const from = ((kh - 1 - a) * kw + (kw - 1 - b)) * ci * co;
      const to = (a * kw + b) * co * ci;
      for (let i = 0; i < ci; i++) {
        for (let o = 0; o < co; o++) dst[to + o * ci + i] = src[from + i * co + o];
      }
    }
  }
  return out;
}

/**
 * dy [n,oh,ow,c] → zeros with dy at every stride-th position: [n,(oh−1)·sh+1,(ow−1)·sw+1,c].
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as tf from "@tensorflow/tfjs-core";
 * import { initBackend } from "@perceptual/loss/backend";
 * import { KernelIo } from "./kernel_io.ts";
 * import { dilate } from "./conv2d_backprop_input.ts";
 * await initBackend("cpu");
 * const io = new KernelIo(tf.backend(), "cpu");
 * const d = dilate(io, tf.tensor4d([1, 2], [1, 1, 2, 1]), 2, 2);
 * assert.deepEqual(d.shape, [1, 1, 3, 1]);
 * assert.deepEqual(Array.from(io.view(d)), [1, 0, 2]);
 * io.free(d);
 * ```
 */
export function dilate(io: KernelIo, dy: tf.TensorInfo, sh: number, sw: number): tf.TensorInfo {
  const [n, oh, ow, c] = dy.shape as [number, number, number, number];
  const dh = (oh - 1) * sh + 1;
  const dw = (ow - 1) * sw + 1;
  const out = io.zeros([n, dh, dw, c]);
  const src = io.view(dy);
  const dst = io.view(out);
  for (let b = 0; b < n; b++) {
    for (let y = 0; y < oh; y++) {
      for (let x = 0; x < ow; x++) {
        const from = ((b * oh + y) * ow + x) * c;
        dst.set(src.subarray(from, from + c), ((b * dh + y * sh) * dw + x * sw) * c);
      }
    }
  }
  return out;
}

/**
 * The explicit [[top, bottom], [left, right]] pads of the forward conv that computes the input
 * gradient of `g`, or undefined when one would be negative (padding wider than the filter).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { convGeometry } from "./conv2d_backprop_filter.ts";
 * import { backpropInputPads } from "./conv2d_backprop_input.ts";
 * const g = convGeometry([1, 8, 8, 1], [3, 3, 1, 1], 1, "valid", undefined);
 * assert.deepEqual(backpropInputPads(g), [[2, 2], [2, 2]]);
 * ```
 */
export function backpropInputPads(
  g: ConvGeometry,
): [[number, number], [number, number]] | undefined {
  const top = g.kh - 1 - g.top;
  const bottom = g.h - 1 - (g.oh - 1) * g.sh + g.top;
  const left = g.kw - 1 - g.left;
  const right = g.w - 1 - (g.ow - 1) * g.sw + g.left;
  if (top < 0 || bottom < 0 || left < 0 || right < 0) return undefined;
  return [[top, bottom], [left, right]];
}

/**
 * The input gradient of a channels-last 2-D convolution, or `undefined` when the geometry has no
 * equivalent forward conv (padding wider than the filter) and the caller should fall back.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as tf from "@tensorflow/tfjs-core";
 * import { initBackend } from "@perceptual/loss/backend";
 * import { KernelIo } from "./kernel_io.ts";
 * import { conv2dInputGradient } from "./conv2d_backprop_input.ts";
 * await initBackend("cpu");
 * const io = new KernelIo(tf.backend(), "cpu");
 * const dy = tf.ones([1, 3, 3, 1]);
 * const w = tf.ones([3, 3, 1, 1]);
 * const dx = conv2dInputGradient(io, dy, w, [1, 3, 3, 1], 1, "same", undefined)!;
 * // taps inside the 3×3 image
 * assert.deepEqual(
 *   Array.from(io.view(dx)),
 *   [4, 6, 4, 6, 9, 6, 4, 6, 4],
 * );
 * io.free(dx);
 * ```
 */
export function conv2dInputGradient(
  io: KernelIo,
  dy: tf.TensorInfo,
  filter: tf.TensorInfo,
  inputShape: readonly number[],
  strides: number | [number, number],
  pad: unknown,
  dimRoundingMode: unknown,
  dataFormat: unknown = "NHWC",
): tf.TensorInfo | undefined {
  const g = convGeometry(inputShape, filter.shape, strides, pad, dimRoundingMode, 1, dataFormat);
  const pads = backpropInputPads(g);
  if (pads === undefined) return undefined;
  if (g.n * g.h * g.w * g.ci === 0) return io.zeros([g.n, g.h, g.w, g.ci]);
  if (g.n * g.oh * g.ow * g.co === 0) return io.zeros([g.n, g.h, g.w, g.ci]);
  // Cached per live filter: frozen weights are flipped (and packed by XNNPACK) once.
  const flipped = derived(io, filter, "conv2d-flip", () => flipFilter(io, filter));
  const strided = g.sh !== 1 || g.sw !== 1;
  const source = strided ? dilate(io, dy, g.sh, g.sw) : dy;
  try {
    return io.run("Conv2D", { x: source, filter: flipped }, {
      strides: [1, 1],
      pad: [[0, 0], pads[0], pads[1], [0, 0]],
      dataFormat: "NHWC",
      dilations: [1, 1],
      dimRoundingMode: undefined,
    } as unknown as tf.NamedAttrMap);
  } finally {
    io.free(strided ? source : undefined);
  }
}

/**
 * The registry's kernel function for `Conv2DBackpropInput` on `backendName`; geometries it
 * cannot express as a forward conv go to `fallback` (the backend's stock kernel).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { conv2dBackpropInputKernel } from "./conv2d_backprop_input.ts";
 * const kernelFunc = conv2dBackpropInputKernel("wasm", undefined);
 * assert.equal(typeof kernelFunc, "function");
 * ```
 */
export function conv2dBackpropInputKernel(
  backendName: string,
  fallback: tf.KernelFunc | undefined,
  options: { readonly stridedFallback?: boolean } = {},
): tf.KernelFunc {
  return (args) => {
    const { inputs, backend, attrs } = args as unknown as KernelArgs;
    const { dy, filter } = inputs as { dy: tf.TensorInfo; filter: tf.TensorInfo };
    const a = (attrs ?? {}) as unknown as tf.Conv2DBackpropInputAttrs;
    const strided = (typeof a.strides === "number" ? a.strides : Math.max(...a.strides)) > 1;
    const nchw = a.dataFormat === "NCHW";
    if (!nchw && !(strided && options.stridedFallback && fallback !== undefined)) {
      const out = conv2dInputGradient(
        new KernelIo(backend, backendName),
        dy,
        filter,
        a.inputShape,
        a.strides,
        a.pad,
        a.dimRoundingMode,
        a.dataFormat,
      );
      if (out !== undefined) return out;
    }
    if (fallback === undefined) {
      throw new Error(
        `Conv2DBackpropInput: no equivalent forward conv for pad ${JSON.stringify(a.pad)} and ` +
          `no stock kernel on '${backendName}' to fall back to`,
      );
    }
    return fallback(args);
  };
}
