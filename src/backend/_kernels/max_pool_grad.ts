/**
 * A correct `MaxPoolGrad` for wasm.
 *
 * TensorFlow.js 4.22's wasm `MaxPoolGrad` routes part of `dy` to the wrong cells (measured: for a
 * [2,4,6,3] input and a 2×2 stride-2 pool, the gradient sums to 1.553 where `dy` sums to 1.085;
 * cpu agrees with a hand computation). Every max-pool trained or back-propagated through on wasm
 * (VGG's pools in a perceptual loss) was silently wrong. This kernel routes each `dy` value to the
 * first maximum of its window, as the cpu backend and TensorFlow do.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
import { type KernelArgs, KernelIo } from "./kernel_io.ts";

/** The attributes of a `MaxPoolGrad` call. */
interface MaxPoolGradAttrs {
  filterSize: number | [number, number];
  strides: number | [number, number];
  pad: "valid" | "same" | number | tf.backend_util.ExplicitPadding;
  dimRoundingMode?: "floor" | "round" | "ceil";
}

/**
 * The registry's kernel function for `MaxPoolGrad` on backend `backendName`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as tf from "@tensorflow/tfjs-core";
 * import { maxPoolGradKernel } from "./max_pool_grad.ts";
 * const config: tf.KernelConfig = {
 *   kernelName: "MaxPoolGrad", backendName: "wasm", kernelFunc: maxPoolGradKernel("wasm"),
 * };
 * assert.equal(typeof config.kernelFunc, "function");
 * ```
 */
export function maxPoolGradKernel(backendName: string): tf.KernelFunc {
  return (args) => {
    const { inputs, backend, attrs } = args as unknown as KernelArgs;
    const { dy, input } = inputs as { dy: tf.TensorInfo; input: tf.TensorInfo };
    const a = attrs as unknown as MaxPoolGradAttrs;
    const info = tf.backend_util.computePool2DInfo(
      input.shape as [number, number, number, number],
      a.filterSize,
      a.strides,
      1,
      a.pad,
      a.dimRoundingMode,
    );
    const io = new KernelIo(backend, backendName);
    const dx = io.zeros(input.shape.slice());
    // Views after the allocation: a growing wasm heap detaches older views.
    const x = io.view(input);
    const g = io.view(dy);
    const out = io.view(dx);
    const { batchSize, inHeight, inWidth, inChannels, outHeight, outWidth } = info;
    const { strideHeight, strideWidth, filterHeight, filterWidth } = info;
    const dilH = info.dilationHeight, dilW = info.dilationWidth;
    const top = info.padInfo.top, left = info.padInfo.left;
    const C = inChannels;
    for (let b = 0; b < batchSize; b++) {
      const xb = b * inHeight * inWidth * C;
      const gb = b * outHeight * outWidth * C;
      for (let oh = 0; oh < outHeight; oh++) {
        const h0 = oh * strideHeight - top;
        for (let ow = 0; ow < outWidth; ow++) {
          const w0 = ow * strideWidth - left;
          const gRow = gb + (oh * outWidth + ow) * C;
          for (let c = 0; c < C; c++) {
            let best = -Infinity;
            let at = -1;
            for (let fh = 0; fh < filterHeight; fh++) {
              const h = h0 + fh * dilH;
              if (h < 0 || h >= inHeight) continue;
              for (let fw = 0; fw < filterWidth; fw++) {
                const w = w0 + fw * dilW;
                if (w < 0 || w >= inWidth) continue;
                const idx = xb + (h * inWidth + w) * C + c;
                const v = x[idx]!;
                // Strictly greater: the first maximum wins, as in tfjs-cpu and TensorFlow.
                if (v > best || at < 0) {
                  best = v;
                  at = idx;
                }
              }
            }
            if (at >= 0) out[at] = out[at]! + g[gRow + c]!;
          }
        }
      }
    }
    return dx;
  };
}
