/**
 * Which kernels the `native` and `native-host` backends install, and on what each falls back.
 * Internal to the native backends.
 *
 * @module
 */
import type * as tf from "@tensorflow/tfjs-core";
import { conv2dBackpropFilterKernel } from "../_kernels/conv2d_backprop_filter.ts";
import { conv2dBackpropInputKernel } from "../_kernels/conv2d_backprop_input.ts";
import { batchMatMulKernel } from "../_kernels/batch_mat_mul.ts";
import { maxPoolGradKernel } from "../_kernels/max_pool_grad.ts";
import { tileKernel } from "../_kernels/tile.ts";
import {
  depthwiseBackpropFilterKernel,
  depthwiseBackpropInputKernel,
} from "../_kernels/depthwise_backprop.ts";
import { type Dnnl, loadDnnl } from "./_dnnl.ts";
import { NativeBackendError } from "./errors.ts";
export { DnnlCallError, NativeBackendError } from "./errors.ts";
import { NATIVE_KERNELS } from "./_kernels.ts";
import { HOST_KERNEL_MAKERS, HOST_KERNELS } from "./_host_kernels.ts";
import { HOST_COPY_KERNELS } from "./_host_copy.ts";
import { identityKernel } from "./_identity.ts";
import { meanKernel, sumKernel } from "./_reduce.ts";
import { transposeKernel } from "./_transpose.ts";
import { type CompareKernel, compareKernel } from "./_compare.ts";
export type { ProfileEntry, TunedChoice } from "./tuning.ts";

/** How one kernel is installed on the native backend (same shape as the other backends' plans). */
export interface NativeKernelPlan {
  /** The tfjs kernel name. */
  readonly kernelName: string;
  /** Whether it replaces the kernel already registered (which then becomes its fallback). */
  readonly replace: boolean;
  /** Make the kernel function; `stock` is the one registered before (wasm's, copied). */
  readonly make: (backendName: string, stock: tf.KernelFunc | undefined) => tf.KernelFunc;
}

function onHostDnnl(kernelName: string, fallback: tf.KernelFunc): tf.KernelFunc {
  const dnnl = loadDnnl();
  if (typeof dnnl === "string") throw new NativeBackendError(`native kernels need oneDNN: ${dnnl}`);
  return HOST_KERNEL_MAKERS[kernelName]!(dnnl, fallback);
}

function onDnnl(kernelName: string, fallback: tf.KernelFunc): tf.KernelFunc {
  const dnnl = loadDnnl();
  if (typeof dnnl === "string") throw new NativeBackendError(`native kernels need oneDNN: ${dnnl}`);
  return NATIVE_KERNELS[kernelName]!(dnnl, fallback);
}

/** oneDNN where it loads (the reductions then use it for long runs), else undefined. */
function dnnlOf(): Dnnl | undefined {
  const dnnl = loadDnnl();
  return typeof dnnl === "string" ? undefined : dnnl;
}

function needStock(name: string, kernel: string, stock: tf.KernelFunc | undefined): tf.KernelFunc {
  if (stock === undefined) {
    throw new NativeBackendError(
      `no stock ${kernel} kernel on '${name}' to fall back to: start it with initBackend("native")`,
    );
  }
  return stock;
}

/**
 * The kernels installed on `native`: oneDNN for convolutions, their gradients, batched matrix
 * products and the max-pool gradient, each falling back to this project's wasm kernel (or wasm's
 * own) for what oneDNN cannot take; float64-accumulated `Sum`/`Mean` over trailing axes (loss
 * values); `Slice`, `SplitV` and `Concat` as block copies; `Identity` as a shared handle; the
 * remaining wasm training kernels as on wasm.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { NATIVE_KERNEL_PLANS } from "./_plans.ts";
 * assert.ok(NATIVE_KERNEL_PLANS.map((p) => p.kernelName).includes("Conv2D"));
 * ```
 */
export const NATIVE_KERNEL_PLANS: readonly NativeKernelPlan[] = [
  {
    kernelName: "Conv2D",
    replace: true,
    make: (n, s) => onDnnl("Conv2D", needStock(n, "Conv2D", s)),
  },
  {
    kernelName: "FusedConv2D",
    replace: true,
    make: (n, s) => onDnnl("FusedConv2D", needStock(n, "FusedConv2D", s)),
  },
  {
    kernelName: "Conv2DBackpropInput",
    replace: true,
    make: (n, s) => onDnnl("Conv2DBackpropInput", conv2dBackpropInputKernel(n, s)),
  },
  {
    kernelName: "Conv2DBackpropFilter",
    replace: true,
    make: (n) => onDnnl("Conv2DBackpropFilter", conv2dBackpropFilterKernel(n)),
  },
  {
    kernelName: "BatchMatMul",
    replace: true,
    make: (n, s) => onDnnl("BatchMatMul", batchMatMulKernel(n, needStock(n, "BatchMatMul", s))),
  },
  {
    kernelName: "MaxPoolGrad",
    replace: true,
    make: (n) => onDnnl("MaxPoolGrad", maxPoolGradKernel(n)),
  },
  { kernelName: "Sum", replace: true, make: (n, s) => sumKernel(needStock(n, "Sum", s), dnnlOf()) },
  {
    kernelName: "Mean",
    replace: true,
    make: (n, s) => meanKernel(needStock(n, "Mean", s), dnnlOf()),
  },
  {
    kernelName: "Transpose",
    replace: true,
    make: (n, s) => transposeKernel(needStock(n, "Transpose", s), dnnlOf()),
  },
  { kernelName: "Tile", replace: true, make: (n, s) => tileKernel(n, needStock(n, "Tile", s)) },
  ...(["Greater", "GreaterEqual", "Less", "LessEqual"] as CompareKernel[]).map((k) => ({
    kernelName: k,
    replace: true,
    make: (n: string, s: tf.KernelFunc | undefined) =>
      compareKernel(k, needStock(n, k, s), dnnlOf()),
  })),
  // A second handle on the same data, not a copy (./_identity.ts).
  {
    kernelName: "Identity",
    replace: true,
    make: (n, s) => identityKernel(needStock(n, "Identity", s)),
  },
  // Block copies (./_host_copy.ts): wasm's own make a typed array per innermost row, 8,192 or
  // more per call on pixel tensors, which sets off 10-45 ms collections inside a training step.
  ...["Slice", "SplitV", "Concat"].map((k) => ({
    kernelName: k,
    replace: true,
    make: (n: string, s: tf.KernelFunc | undefined) => HOST_COPY_KERNELS[k]!(needStock(n, k, s)),
  })),
  {
    kernelName: "DepthwiseConv2dNativeBackpropFilter",
    replace: false,
    make: (n) => depthwiseBackpropFilterKernel(n),
  },
  {
    kernelName: "DepthwiseConv2dNativeBackpropInput",
    replace: false,
    make: (n) => depthwiseBackpropInputKernel(n),
  },
];

/**
 * The kernels installed on `native-host`: {@linkcode NATIVE_KERNEL_PLANS} (falling back to the cpu
 * backend's kernels instead of wasm's), and oneDNN for the element-wise kernels that run on every
 * activation of a VGG or U-Net step (see ./_host_kernels.ts), which the cpu backend runs in
 * one-threaded JS.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { NATIVE_HOST_KERNEL_PLANS } from "./_plans.ts";
 * assert.ok(NATIVE_HOST_KERNEL_PLANS.map((p) => p.kernelName).includes("MaxPool"));
 * ```
 */
export const NATIVE_HOST_KERNEL_PLANS: readonly NativeKernelPlan[] = (() => {
  const plans = new Map(NATIVE_KERNEL_PLANS.map((p) => [p.kernelName, p]));
  for (const kernelName of HOST_KERNELS) {
    // A kernel on both lists (Sum, Mean): the host one first, falling back to native's.
    const under = plans.get(kernelName);
    plans.set(kernelName, {
      kernelName,
      replace: true,
      make: (n, s) =>
        onHostDnnl(kernelName, under ? under.make(n, s) : needStock(n, kernelName, s)),
    });
  }
  return [...plans.values()];
})();
