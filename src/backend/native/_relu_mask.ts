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
import { type Dnnl, loadDnnl } from "./_dnnl.ts";
import { type Primitive, unlessReference } from "./_primitive.ts";
import { makeOutput, tensorPointer } from "./_address.ts";
import { binaryPrimitive, elementwiseThreads, md1d } from "./_binary.ts";
import { record, tune } from "./_tune.ts";
import { withThreads } from "./_threads.ts";
import { NativeBackendError } from "./errors.ts";

/** The tfjs kernel name. */
export const RELU_MASK_GRAD = "PerceptualReluMaskGrad";

/** oneDNN's float32·u8 product over `n` elements, unless only its reference implementation has it. */
function fastMaskProduct(dnnl: Dnnl, n: number): Primitive | undefined {
  // A reference implementation would be slower than the wasm `where` it replaces.
  return unlessReference(
    binaryPrimitive(dnnl, "mul", md1d(dnnl, n), md1d(dnnl, n, true), md1d(dnnl, n)),
  );
}

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
    const p = tune(key, [() => fastMaskProduct(dnnl, n)], () => {});
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

/** The backends whose tensors oneDNN can address (either store: ./_address.ts). */
const NATIVE_BACKENDS: ReadonlySet<string> = new Set(["native", "native-host"]);

/** Whether this process's oneDNN has a fast float32·u8 product (decided once, not timed). */
let fastProduct: boolean | undefined;

/**
 * Whether {@linkcode reluMaskGrad} runs on the active backend: a native one whose oneDNN has a
 * fast (non-reference) float32·u8 product. Callers fall back to `where` otherwise.
 */
export function hasReluMaskGrad(): boolean {
  if (!NATIVE_BACKENDS.has(tf.getBackend())) return false;
  if (fastProduct === undefined) {
    const dnnl = loadDnnl();
    if (typeof dnnl === "string") return fastProduct = false;
    const p = fastMaskProduct(dnnl, 4096);
    fastProduct = p !== undefined;
    p?.destroy();
  }
  return fastProduct;
}

/**
 * `dy` where `mask` is true, ±0 elsewhere (for finite `dy`), as one oneDNN primitive on the
 * native backends: the backward of a ReLU whose positive outputs `mask` marks.
 */
export function reluMaskGrad<T extends tf.Tensor>(dy: T, mask: tf.Tensor): T {
  const backendName = tf.getBackend();
  if (NATIVE_BACKENDS.has(backendName) && tf.getKernel(RELU_MASK_GRAD, backendName) === undefined) {
    tf.registerKernel({ kernelName: RELU_MASK_GRAD, backendName, kernelFunc: kernel });
  }
  return tf.engine().runKernel(RELU_MASK_GRAD, { dy, mask }) as T;
}
