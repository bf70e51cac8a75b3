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
import type { KernelArgs } from "../_kernels/kernel_io.ts";
import type { Dnnl } from "./_dnnl.ts";
import { makeOutput, tensorPointer } from "./_address.ts";
import { HostBuffer, type Primitive, reorder } from "./_primitive.ts";
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

/** A comparison into float32 0/1, then a reorder to bytes (exact for 0 and 1). */
interface ComparePlan {
  readonly compare: Primitive;
  readonly toBytes: Primitive;
  destroy(): void;
  toString(): string;
}

function build(
  dnnl: Dnnl,
  alg: "gt" | "ge" | "lt" | "le",
  n: number,
  scalar: boolean,
): ComparePlan | undefined {
  // oneDNN 2.6.3 compares float32 into u8 only in its reference code (`ref:any`, 5× slower than
  // wasm): compare into float32 (`jit:uni`) and convert with a reorder (`jit:uni` too).
  const floats = md1d(dnnl, n);
  // Its `gt`/`ge` are "not ≤"/"not <", true for NaN (IEEE and wasm: false); `lt`/`le` are
  // ordered. So a > b runs as −a < −b (negation is exact; −NaN is NaN).
  const [run, scale] = alg === "gt"
    ? ["lt", -1] as const
    : alg === "ge"
    ? ["le", -1] as const
    : [alg, 1];
  const src1 = md1d(dnnl, scalar ? 1 : n);
  const compare = binaryPrimitive(dnnl, run, floats, src1, floats, [], scale);
  if (compare === undefined) return undefined;
  const toBytes = reorder(dnnl, floats.p, md1d(dnnl, n, true).p);
  const destroy = () => [compare, toBytes].forEach((p) => p.destroy());
  if ([compare, toBytes].some((p) => p.impl.startsWith("ref"))) {
    destroy();
    return undefined;
  }
  return { compare, toBytes, destroy, toString: () => `${compare.impl}+${toBytes.impl}` };
}

let scratch: HostBuffer | undefined;

/** A float32 scratch run of at least `n` floats (grown as needed, kept). */
function scratchOf(n: number): Deno.PointerValue {
  if (scratch === undefined || scratch.size < 4 * n) scratch = new HostBuffer(4 * n);
  return scratch.p;
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
    const backend = args.backend as tf.KernelBackend;
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
      const plan = tune(key, [() => build(dnnl, alg, n, !same)], () => {});
      if (plan === undefined) return fallback(args);
      const out = makeOutput(backend, outShape, "bool");
      // Addresses after the allocation (on either store: ./_address.ts).
      const at = (i: tf.TensorInfo) => tensorPointer(backend, i);
      const tmp = scratchOf(n);
      record(key, () => {
        plan.compare.run([at(x), at(y), tmp]);
        plan.toBytes.run([tmp, at(out)]);
      });
      return out;
    });
  };
}
