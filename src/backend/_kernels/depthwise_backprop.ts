/**
 * The two depthwise-convolution gradients the wasm backend lacks:
 * `DepthwiseConv2dNativeBackpropInput` (a depthwise forward conv of the stride-dilated dy with the
 * flipped filter, then a sum over the channel multiplier) and
 * `DepthwiseConv2dNativeBackpropFilter` (a direct loop: depthwise layers are cheap, as is their
 * forward pass).
 *
 * @module
 */
import type * as tf from "@tensorflow/tfjs-core";
import { convGeometry } from "./conv2d_backprop_filter.ts";
import { backpropInputPads, dilate } from "./conv2d_backprop_input.ts";
import { type KernelArgs, KernelIo } from "./kernel_io.ts";

interface DepthwiseAttrs {
  readonly strides: number | [number, number];
  readonly dilations?: number | [number, number];
  readonly pad: unknown;
  readonly dimRoundingMode?: unknown;
}

/**
 * dW of a depthwise conv: dW[a,b,c,q] = Σ x[n, y·s+a−top, x·s+b−left, c] · dy[n,y,x,c·m+q].
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as tf from "@tensorflow/tfjs-core";
 * import { initBackend } from "@perceptual/loss/backend";
 * import { KernelIo } from "./kernel_io.ts";
 * import { depthwiseFilterGradient } from "./depthwise_backprop.ts";
 * await initBackend("cpu");
 * const io = new KernelIo(tf.backend(), "cpu");
 * const dw = depthwiseFilterGradient(io, tf.ones([1, 3, 3, 1]), tf.ones([1, 3, 3, 1]),
 *   [3, 3, 1, 1], 1, "same", undefined);
 * // taps inside the 3×3 image
 * assert.deepEqual(
 *   Array.from(io.view(dw)),
 *   [4, 6, 4, 6, 9, 6, 4, 6, 4],
 * );
 * io.free(dw);
 * ```
 */
export function depthwiseFilterGradient(
  io: KernelIo,
  x: tf.TensorInfo,
  dy: tf.TensorInfo,
  filterShape: readonly number[],
  strides: number | [number, number],
  pad: unknown,
  dimRoundingMode: unknown,
  dilations: number | [number, number] = 1,
): tf.TensorInfo {
  const g = convGeometry(
    x.shape,
    filterShape,
    strides,
    pad,
    dimRoundingMode,
    dilations,
    "NHWC",
    true,
  );
  const m = filterShape[3]!;
  const c = g.ci;
  const out = io.alloc([g.kh, g.kw, c, m]);
  const xv = io.view(x);
  const dyv = io.view(dy);
  const acc = new Float64Array(g.kh * g.kw * c * m);
  const co = c * m;
  for (let n = 0; n < g.n; n++) {
    for (let y = 0; y < g.oh; y++) {
      for (let xo = 0; xo < g.ow; xo++) {
        const dyBase = ((n * g.oh + y) * g.ow + xo) * co;
        for (let a = 0; a < g.kh; a++) {
          const iy = y * g.sh + a - g.top;
          if (iy < 0 || iy >= g.h) continue;
          for (let b = 0; b < g.kw; b++) {
            const ix = xo * g.sw + b - g.left;
            if (ix < 0 || ix >= g.w) continue;
            const xBase = ((n * g.h + iy) * g.w + ix) * c;
            const wBase = (a * g.kw + b) * co;
            for (let ch = 0; ch < c; ch++) {
              const xval = xv[xBase + ch]!;
              for (let q = 0; q < m; q++) {
                acc[wBase + ch * m + q]! += xval * dyv[dyBase + ch * m + q]!;
              }
            }
          }
        }
      }
    }
  }
  io.view(out).set(acc);
  return out;
}

/**
 * dX of a depthwise conv, or `undefined` when the padding has no equivalent forward conv.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as tf from "@tensorflow/tfjs-core";
 * import { initBackend } from "@perceptual/loss/backend";
 * import { KernelIo } from "./kernel_io.ts";
 * import { depthwiseInputGradient } from "./depthwise_backprop.ts";
 * await initBackend("cpu");
 * const io = new KernelIo(tf.backend(), "cpu");
 * const dx = depthwiseInputGradient(io, tf.ones([1, 3, 3, 1]), tf.ones([3, 3, 1, 1]),
 *   [1, 3, 3, 1], 1, "same", undefined)!;
 * // taps inside the 3×3 image
 * assert.deepEqual(
 *   Array.from(io.view(dx)),
 *   [4, 6, 4, 6, 9, 6, 4, 6, 4],
 * );
 * io.free(dx);
 * ```
 */
export function depthwiseInputGradient(
  io: KernelIo,
  dy: tf.TensorInfo,
  filter: tf.TensorInfo,
  inputShape: readonly number[],
  strides: number | [number, number],
  pad: unknown,
  dimRoundingMode: unknown,
  dilations: number | [number, number] = 1,
): tf.TensorInfo | undefined {
  const g = convGeometry(
    inputShape,
    filter.shape,
    strides,
    pad,
    dimRoundingMode,
    dilations,
    "NHWC",
    true,
  );
  const pads = backpropInputPads(g);
  if (pads === undefined) return undefined;
  const [kh, kw, c, m] = filter.shape as [number, number, number, number];
  if (g.n * g.h * g.w * c === 0 || g.n * g.oh * g.ow === 0) {
    return io.zeros([g.n, g.h, g.w, c]);
  }
  // F[a,b,c·m+q,0] = W[kh−1−a, kw−1−b, c, q]: every dy channel gets its own flipped tap.
  const flipped = io.alloc([kh, kw, c * m, 1]);
  {
    const src = io.view(filter);
    const dst = io.view(flipped);
    const per = c * m;
    for (let a = 0; a < kh; a++) {
      for (let b = 0; b < kw; b++) {
        const from = ((kh - 1 - a) * kw + (kw - 1 - b)) * per;
        dst.set(src.subarray(from, from + per), (a * kw + b) * per);
      }
    }
  }
  const strided = g.sh !== 1 || g.sw !== 1;
  let source: tf.TensorInfo | undefined;
  let wide: tf.TensorInfo | undefined;
  try {
    source = strided ? dilate(io, dy, g.sh, g.sw) : dy;
    wide = io.run("DepthwiseConv2dNative", { x: source, filter: flipped }, {
      strides: [1, 1],
      pad: [[0, 0], pads[0], pads[1], [0, 0]],
      dilations: [1, 1],
      dimRoundingMode: undefined,
    } as unknown as tf.NamedAttrMap);
    if (m === 1) {
      const out = wide;
      wide = undefined;
      return out;
    }
    const out = io.alloc([g.n, g.h, g.w, c]);
    const src = io.view(wide);
    const dst = io.view(out);
    for (let i = 0, j = 0; i < dst.length; i++) {
      let s = 0;
      for (let q = 0; q < m; q++) s += src[j++]!;
      dst[i] = s;
    }
    return out;
  } finally {
    io.free(flipped, wide, strided ? source : undefined);
  }
}

/**
 * The registry's kernel function for `DepthwiseConv2dNativeBackpropFilter` on `backendName`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { depthwiseBackpropFilterKernel } from "./depthwise_backprop.ts";
 * assert.equal(typeof depthwiseBackpropFilterKernel("wasm"), "function");
 * ```
 */
export function depthwiseBackpropFilterKernel(backendName: string): tf.KernelFunc {
  return (args) => {
    const { inputs, backend, attrs } = args as unknown as KernelArgs;
    const { x, dy } = inputs as { x: tf.TensorInfo; dy: tf.TensorInfo };
    const a = (attrs ?? {}) as unknown as DepthwiseAttrs & { filterShape: number[] };
    return depthwiseFilterGradient(
      new KernelIo(backend, backendName),
      x,
      dy,
      a.filterShape,
      a.strides,
      a.pad,
      a.dimRoundingMode,
      a.dilations ?? 1,
    );
  };
}

/**
 * The registry's kernel function for `DepthwiseConv2dNativeBackpropInput` on `backendName`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { depthwiseBackpropInputKernel } from "./depthwise_backprop.ts";
 * assert.equal(typeof depthwiseBackpropInputKernel("wasm"), "function");
 * ```
 */
export function depthwiseBackpropInputKernel(backendName: string): tf.KernelFunc {
  return (args) => {
    const { inputs, backend, attrs } = args as unknown as KernelArgs;
    const { dy, filter } = inputs as { dy: tf.TensorInfo; filter: tf.TensorInfo };
    const a = (attrs ?? {}) as unknown as DepthwiseAttrs & { inputShape: number[] };
    const out = depthwiseInputGradient(
      new KernelIo(backend, backendName),
      dy,
      filter,
      a.inputShape,
      a.strides,
      a.pad,
      a.dimRoundingMode,
      a.dilations ?? 1,
    );
    if (out === undefined) {
      throw new Error(
        `DepthwiseConv2dNativeBackpropInput: pad ${JSON.stringify(a.pad)} is wider than the ` +
          `filter; this project's kernel cannot express it`,
      );
    }
    return out;
  };
}
