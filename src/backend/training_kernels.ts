/**
 * Kernels this project registers on backends that lack what training needs, or whose own kernel is
 * much slower than an equivalent built from their fast ones.
 *
 * The wasm backend of TensorFlow.js 4.22 has no `Conv2DBackpropFilter` (nor the depthwise
 * gradients), so no convolution can be trained on it; a missing kernel is an error, not a
 * fallback. Its `Conv2DBackpropInput` is a plain loop several times slower than its XNNPACK
 * forward convolution. This module fills the gaps (see `./_kernels/`).
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
import type { BackendName } from "./errors.ts";
import { batchMatMulKernel } from "./_kernels/batch_mat_mul.ts";
import { tileKernel } from "./_kernels/tile.ts";
import { conv2dBackpropFilterKernel } from "./_kernels/conv2d_backprop_filter.ts";
import { conv2dBackpropInputKernel } from "./_kernels/conv2d_backprop_input.ts";
import { maxPoolGradKernel } from "./_kernels/max_pool_grad.ts";
import {
  depthwiseBackpropFilterKernel,
  depthwiseBackpropInputKernel,
} from "./_kernels/depthwise_backprop.ts";
import { NATIVE_HOST_KERNEL_PLANS, NATIVE_KERNEL_PLANS } from "./native/_plans.ts";

/** How one kernel is installed: only where absent, or replacing the stock one (kept as fallback). */
interface KernelPlan {
  readonly kernelName: string;
  readonly replace: boolean;
  readonly make: (backendName: string, stock: tf.KernelFunc | undefined) => tf.KernelFunc;
}

/**
 * Per backend, the kernels to install. The cpu backend keeps its own kernels: see
 * bench/RESULTS.md for the measurements behind each choice.
 */
const PLANS: Readonly<Record<BackendName, readonly KernelPlan[]>> = {
  wasm: [
    {
      kernelName: "Conv2DBackpropFilter",
      replace: false,
      make: (name) => conv2dBackpropFilterKernel(name),
    },
    {
      kernelName: "Conv2DBackpropInput",
      replace: true,
      make: (name, stock) => conv2dBackpropInputKernel(name, stock),
    },
    {
      kernelName: "BatchMatMul",
      replace: true,
      make: (name, stock) => {
        if (stock === undefined) throw new Error(`no stock BatchMatMul on '${name}' to wrap`);
        return batchMatMulKernel(name, stock);
      },
    },
    {
      // wasm's own MaxPoolGrad misroutes part of dy (see ./_kernels/max_pool_grad.ts).
      kernelName: "MaxPoolGrad",
      replace: true,
      make: (name) => maxPoolGradKernel(name),
    },
    {
      kernelName: "Tile",
      replace: true,
      make: (name, stock) => {
        if (stock === undefined) throw new Error(`no stock Tile on '${name}' to wrap`);
        return tileKernel(name, stock);
      },
    },
    {
      kernelName: "DepthwiseConv2dNativeBackpropFilter",
      replace: false,
      make: (name) => depthwiseBackpropFilterKernel(name),
    },
    {
      kernelName: "DepthwiseConv2dNativeBackpropInput",
      replace: false,
      make: (name) => depthwiseBackpropInputKernel(name),
    },
  ],
  // The cpu backend's own filter gradient is a cache-hostile loop: 56 s against 0.86 s for
  // im2col + its matmul on a [4,32,32,64]×[3,3,64,64] layer. Its input gradient is no slower than
  // the flipped forward conv (and faster for strides > 1), so it stays.
  cpu: [
    {
      kernelName: "Conv2DBackpropFilter",
      replace: true,
      make: (name) => conv2dBackpropFilterKernel(name),
    },
  ],
  // oneDNN kernels, each falling back to the wasm plan's kernel: see ./native/.
  native: NATIVE_KERNEL_PLANS,
  // The same oneDNN kernels on host arrays, plus oneDNN for the hot element-wise kernels.
  "native-host": NATIVE_HOST_KERNEL_PLANS,
  webgpu: [],
  tensorflow: [],
};

/** Kernel functions this module registered, by `backend/kernel`, to recognise them later. */
const installed = new Map<string, tf.KernelFunc>();
/** The stock kernel functions this module replaced, by `backend/kernel`, to restore them. */
const replaced = new Map<string, tf.KernelConfig>();

/**
 * Register this project's training kernels for the named backend. Idempotent.
 *
 * On wasm: `Conv2DBackpropFilter`, `DepthwiseConv2dNativeBackpropFilter` and
 * `DepthwiseConv2dNativeBackpropInput` (absent there); replacing stock ones: a ~10× faster
 * `Conv2DBackpropInput` (the stock one stays the fallback for paddings it cannot express), a
 * `BatchMatMul` that keeps batched and transposed products on XNNPACK's fast path, a correct
 * `MaxPoolGrad`, and a `Tile` made of block copies. On cpu: a ~100× faster
 * `Conv2DBackpropFilter`. Other backends keep their own kernels. Measurements: bench/RESULTS.md.
 *
 * @returns the names of this project's kernels now registered on that backend.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { installTrainingKernels } from "@perceptual/loss/backend";
 * assert.deepEqual(installTrainingKernels("webgpu"), []);
 * ```
 */
export function installTrainingKernels(backend: BackendName): string[] {
  const names: string[] = [];
  for (const plan of PLANS[backend]) {
    const key = `${backend}/${plan.kernelName}`;
    const current = tf.getKernel(plan.kernelName, backend);
    const ours = installed.get(key);
    if (current !== undefined && ours !== undefined && current.kernelFunc === ours) {
      names.push(plan.kernelName);
      continue;
    }
    if (current !== undefined && !plan.replace) continue;
    const stock = current?.kernelFunc;
    if (current !== undefined) {
      replaced.set(key, current);
      tf.unregisterKernel(plan.kernelName, backend);
    }
    const kernelFunc = plan.make(backend, stock);
    tf.registerKernel({ kernelName: plan.kernelName, backendName: backend, kernelFunc });
    installed.set(key, kernelFunc);
    names.push(plan.kernelName);
  }
  return names;
}

/**
 * Undo {@linkcode installTrainingKernels} for one backend: unregister this project's kernels and
 * restore the stock ones they replaced (for comparisons against the stock kernels).
 *
 * @returns the names of the kernels removed.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { installTrainingKernels, uninstallTrainingKernels } from "@perceptual/loss/backend";
 * assert.deepEqual(uninstallTrainingKernels("webgpu"), []);
 * installTrainingKernels("webgpu");
 * ```
 */
export function uninstallTrainingKernels(backend: BackendName): string[] {
  const names: string[] = [];
  for (const plan of PLANS[backend]) {
    const key = `${backend}/${plan.kernelName}`;
    const ours = installed.get(key);
    const current = tf.getKernel(plan.kernelName, backend);
    if (ours === undefined || current === undefined || current.kernelFunc !== ours) continue;
    tf.unregisterKernel(plan.kernelName, backend);
    installed.delete(key);
    const stock = replaced.get(key);
    if (stock !== undefined) {
      tf.registerKernel(stock);
      replaced.delete(key);
    }
    names.push(plan.kernelName);
  }
  return names;
}

/**
 * The kernels registered for `backend` as its package shipped them: this module's replacements
 * are swapped back for the stock kernels they replaced, and its additions left out.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { stockKernels } from "@perceptual/loss/backend";
 * assert.ok(stockKernels("webgpu").length >= 0);
 * ```
 */
export function stockKernels(backend: BackendName): tf.KernelConfig[] {
  const ours = new Set([...installed.entries()].filter(([k]) => k.startsWith(`${backend}/`)));
  const oursFuncs = new Set([...ours].map(([, f]) => f));
  const out: tf.KernelConfig[] = [];
  for (const config of tf.getKernelsForBackend(backend)) {
    if (!oursFuncs.has(config.kernelFunc)) {
      out.push(config);
      continue;
    }
    const stock = replaced.get(`${backend}/${config.kernelName}`);
    if (stock !== undefined) out.push(stock);
  }
  return out;
}
