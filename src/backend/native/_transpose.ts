/**
 * `Transpose` of large float32 tensors as a oneDNN reorder: the input read through permuted
 * strides, written plain, on the OpenMP threads. wasm's transpose took ~6 ms for the
 * [4,512,512] Gram gradients of a style term (one per term per step); smaller tensors stay on
 * wasm (below {@linkcode MIN_TRANSPOSE} the call overhead wins). A copy: results are exact, so
 * bit-identical on every run. Internal to the native backend.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
import type { KernelArgs } from "../_kernels/kernel_io.ts";
import type { Dnnl } from "./_dnnl.ts";
import { floatView, makeOutput } from "./_address.ts";
import { mdStrides, type Primitive, reorder } from "./_primitive.ts";
import { record, tune } from "./_tune.ts";
import { threadsFor, withThreads } from "./_threads.ts";

/**
 * Elements from which a transpose goes to oneDNN: [4,32,32] (4 096) took 0.04 ms there and 0.06 on
 * wasm, [4,64,64] 0.02 against 0.18, [4,512,512] 0.9 against 18 (medians, loaded 2-core EPYC).
 */
export const MIN_TRANSPOSE = 1 << 13;

type HeapBackend = tf.KernelBackend;

function build(dnnl: Dnnl, shape: readonly number[], perm: readonly number[]): Primitive {
  const rank = shape.length;
  const inStrides = new Array<number>(rank);
  for (let i = rank - 1, s = 1; i >= 0; i--) {
    inStrides[i] = s;
    s *= shape[i]!;
  }
  const outShape = perm.map((p) => shape[p]!);
  const outStrides = new Array<number>(rank);
  for (let i = rank - 1, s = 1; i >= 0; i--) {
    outStrides[i] = s;
    s *= outShape[i]!;
  }
  const from = mdStrides(dnnl, outShape, perm.map((p) => inStrides[p]!));
  const to = mdStrides(dnnl, outShape, outStrides);
  const prim = reorder(dnnl, from.p, to.p);
  void [from, to];
  return prim;
}

/**
 * The `Transpose` kernel: float32 tensors of at least {@linkcode MIN_TRANSPOSE} elements through a
 * oneDNN reorder, everything else to `fallback` (wasm's).
 */
export function transposeKernel(fallback: tf.KernelFunc, dnnl: Dnnl | undefined): tf.KernelFunc {
  return (args) => {
    const { inputs, attrs } = args as unknown as KernelArgs;
    const backend = args.backend as HeapBackend;
    const { x } = inputs as { x: tf.TensorInfo };
    const { perm } = attrs as unknown as tf.TransposeAttrs;
    const size = tf.util.sizeFromShape(x.shape);
    if (dnnl === undefined || x.dtype !== "float32" || size < MIN_TRANSPOSE) return fallback(args);
    const key = `transpose x[${x.shape}] perm[${perm}]`;
    const t = threadsFor(dnnl.omp, 8 * size);
    return withThreads(dnnl.omp, t, () => {
      const prim = tune(`${key} t${t}`, [() => build(dnnl, x.shape, perm)], () => {});
      if (prim === undefined) return fallback(args);
      const out = makeOutput(backend, perm.map((p) => x.shape[p]!));
      // Views after the allocation: a growing heap detaches older views.
      const src = floatView(backend, x);
      const dst = floatView(backend, out);
      record(
        `${key} t${t}`,
        () => prim.run([Deno.UnsafePointer.of(src), Deno.UnsafePointer.of(dst)]),
      );
      return out;
    });
  };
}
