/**
 * The gradient through a ReLU from its one-byte mask, `dy · mask` (float32 times tfjs's bool,
 * 0 or 1), as one oneDNN binary primitive on the native backend: for the image-facing first conv
 * of a `precision: "bf16"` loss network, which stays float32 (its bf16 neighbours fold the mask
 * into their own input conversion, ./_bf16_conv.ts). It replaces `where(mask, dy, zerosLike(dy))`
 * — two single-threaded wasm passes and a tensor of zeros — and equals it for finite `dy` up to
 * the sign of zero (a negative `dy` under a false mask gives −0, equal in every sum; a
 * non-finite one gives NaN instead of 0). Internal; registered on first use.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
import type { KernelArgs } from "../_kernels/kernel_io.ts";
import { loadDnnl } from "./_dnnl.ts";
import { makeOutput, tensorPointer } from "./_address.ts";
import { binaryPrimitive, elementwiseThreads, md1d } from "./_binary.ts";
import { record, tune } from "./_tune.ts";
import { withThreads } from "./_threads.ts";
import { NativeBackendError } from "./errors.ts";

/** The tfjs kernel name. */
export const RELU_MASK_GRAD = "PerceptualReluMaskGrad";

function kernel(args: Parameters<tf.KernelFunc>[0]): tf.TensorInfo {
  const { inputs } = args as unknown as KernelArgs;
  const backend = args.backend as tf.KernelBackend;
  const { dy, mask } = inputs as Record<string, tf.TensorInfo>;
  if (
    dy!.dtype !== "float32" || mask!.dtype !== "bool" ||
    !tf.util.arraysEqual(dy!.shape, mask!.shape)
  ) {
    throw new NativeBackendError(
      `ReLU mask gradient: needs float32 dy and a bool mask of its shape, got ${dy!.dtype} ` +
        `[${dy!.shape}] and ${mask!.dtype} [${mask!.shape}]`,
    );
  }
  const dnnl = loadDnnl();
  if (typeof dnnl === "string") throw new NativeBackendError(`ReLU mask gradient: ${dnnl}`);
  const n = tf.util.sizeFromShape(dy!.shape);
  const t = elementwiseThreads(dnnl, n);
  const key = `relu_mask_grad x[${n}] t${t}`;
  return withThreads(dnnl.omp, t, () => {
    const p = tune(key, [() => {
      const p = binaryPrimitive(dnnl, "mul", md1d(dnnl, n), md1d(dnnl, n, true), md1d(dnnl, n));
      // A reference implementation would be slower than the wasm `where` it replaces.
      if (!p?.impl.startsWith("ref")) return p;
      p.destroy();
      return undefined;
    }], () => {});
    if (p === undefined) {
      throw new NativeBackendError(
        `ReLU mask gradient: oneDNN ${dnnl.version} has no fast float32·u8 product for ` +
          `${n} elements; use precision "f32" for this network`,
      );
    }
    const out = makeOutput(backend, dy!.shape.slice());
    // Addresses after the allocation (on either store: ./_address.ts).
    const at = (i: tf.TensorInfo) => tensorPointer(backend, i);
    record(key, () => p.run([at(dy!), at(mask!), at(out)]));
    return out;
  });
}

/**
 * `dy` where `mask` is true, ±0 elsewhere (for finite `dy`), as one oneDNN primitive on the
 * native backend: the backward of a ReLU whose positive outputs `mask` marks.
 */
export function reluMaskGrad<T extends tf.Tensor>(dy: T, mask: tf.Tensor): T {
  if (tf.getKernel(RELU_MASK_GRAD, "native") === undefined) {
    tf.registerKernel({ kernelName: RELU_MASK_GRAD, backendName: "native", kernelFunc: kernel });
  }
  return tf.engine().runKernel(RELU_MASK_GRAD, { dy, mask }) as T;
}
