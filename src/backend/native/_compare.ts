/**
 * `Greater`, `GreaterEqual`, `Less` and `LessEqual` of large float32 tensors (against a scalar or
 * a tensor of the same shape) as one oneDNN binary primitive writing tfjs's one-byte bools.
 *
 * wasm's comparison kernels walk a generic broadcast loop: `Greater` of a [4,64,64,64] tensor
 * with 0 (the ReLU masks of the VGG loss network's first block, two per training step) took
 * 8–15 ms, against ~0.2 ms for wasm's `Mul` of the same size. A comparison is exact, so results
 * are identical to wasm's on every run (NaN compares false in both). Internal to the native
 * backend.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
import type { KernelArgs } from "../kernels/kernel_io.ts";
import type { Dnnl } from "./_dnnl.ts";
import type { Primitive } from "./_primitive.ts";
import { binaryPrimitive, elementwiseThreads, md1d } from "./_binary.ts";
import { record, tune } from "./_tune.ts";
import { withThreads } from "./_threads.ts";

/**
 * Elements from which a comparison goes to oneDNN. wasm's `Greater` costs ~3.7 ns per element
 * from [4,4,4,512] up (0.14 ms for 32 768), a oneDNN call ~10 µs: from 4 096 elements on oneDNN
 * is already ahead.
 */
export const MIN_COMPARE = 1 << 12;

/** The comparisons, by tfjs kernel name, with the one that swaps its operands. */
const OPS = {
  Greater: { alg: "gt", swapped: "lt" },
  GreaterEqual: { alg: "ge", swapped: "le" },
  Less: { alg: "lt", swapped: "gt" },
  LessEqual: { alg: "le", swapped: "ge" },
} as const;

/** A comparison kernel name. */
export type CompareKernel = keyof typeof OPS;

interface HeapBackend extends tf.KernelBackend {
  makeOutput(shape: number[], dtype: tf.DataType): tf.TensorInfo;
  dataIdMap: { get(id: tf.DataId): { memoryOffset: number } };
  wasm: { HEAPU8: Uint8Array };
}

function build(dnnl: Dnnl, alg: "gt" | "ge" | "lt" | "le", n: number, scalar: boolean) {
  return binaryPrimitive(dnnl, alg, md1d(dnnl, n), md1d(dnnl, scalar ? 1 : n), md1d(dnnl, n, true));
}

/**
 * The comparison kernel `name`: float32 operands of the same shape, or one of them a single
 * element, of at least {@linkcode MIN_COMPARE} elements, in oneDNN; the rest to `fallback`.
 */
export function compareKernel(
  name: CompareKernel,
  fallback: tf.KernelFunc,
  dnnl: Dnnl | undefined,
): tf.KernelFunc {
  return (args) => {
    const { inputs } = args as unknown as KernelArgs;
    const backend = args.backend as HeapBackend;
    const { a, b } = inputs as { a: tf.TensorInfo; b: tf.TensorInfo };
    if (dnnl === undefined || a.dtype !== "float32" || b.dtype !== "float32") return fallback(args);
    const na = tf.util.sizeFromShape(a.shape), nb = tf.util.sizeFromShape(b.shape);
    const same = tf.util.arraysEqual(a.shape, b.shape);
    // a ∘ b with b a single element, or b ∘ a read as a ∘' b with the operator swapped.
    const swap = !same && na === 1;
    const [x, y, n] = swap ? [b, a, nb] : [a, b, na];
    if (n < MIN_COMPARE || !(same || tf.util.sizeFromShape(y.shape) === 1)) return fallback(args);
    const alg = swap ? OPS[name].swapped : OPS[name].alg;
    // [1,1] against [n] is [1,n]: the broadcast shape, whose size is still n.
    const outShape = tf.backend_util.assertAndGetBroadcastShape(a.shape, b.shape);
    const t = elementwiseThreads(dnnl, n);
    const key = `${alg} x[${n}]${same ? "" : " scalar"} t${t}`;
    return withThreads(dnnl.omp, t, () => {
      const prim: Primitive | undefined = tune(key, [() => build(dnnl, alg, n, !same)], () => {});
      if (prim === undefined) return fallback(args);
      const out = backend.makeOutput(outShape, "bool");
      // Addresses after the allocation (the heap's base stays put when it grows).
      const base = Deno.UnsafePointer.of(backend.wasm.HEAPU8 as Uint8Array<ArrayBuffer>)!;
      const at = (i: tf.TensorInfo) =>
        Deno.UnsafePointer.offset(base, backend.dataIdMap.get(i.dataId).memoryOffset);
      record(key, () => prim.run([at(x), at(y), at(out)]));
      return out;
    });
  };
}
