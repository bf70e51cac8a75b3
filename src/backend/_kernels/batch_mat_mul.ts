/**
 * A `BatchMatMul` for wasm that keeps every product on XNNPACK's fast path.
 *
 * wasm's stock kernel is fast (XNNPACK, ~20 GFLOP/s on one core) only for a single matrix with
 * neither operand transposed; a batch > 1 or a transposed operand takes a scalar loop ~40–100×
 * slower (measured: [4,256,256]·[4,256,256] 285 ms against 2.4 ms per single product). Gram
 * matrices (style and fastai feature losses) and every matmul gradient (which transposes one
 * operand) hit that loop. This kernel transposes operands explicitly and runs the batch as single
 * products, which costs O(m·k + k·n) copies per item against O(m·k·n) work.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
import { type KernelArgs, KernelIo } from "./kernel_io.ts";

/** `dst[c·rows + r] = src[offset + r·cols + c]`: a [rows, cols] block transposed, tiled for cache. */
function transposeInto(
  src: Float32Array,
  offset: number,
  rows: number,
  cols: number,
  dst: Float32Array,
): void {
  const T = 32;
  for (let r0 = 0; r0 < rows; r0 += T) {
    const r1 = Math.min(rows, r0 + T);
    for (let c0 = 0; c0 < cols; c0 += T) {
      const c1 = Math.min(cols, c0 + T);
      for (let r = r0; r < r1; r++) {
        const s = offset + r * cols;
        for (let c = c0; c < c1; c++) dst[c * rows + r] = src[s + c]!;
      }
    }
  }
}

/** Copy matrix `index` of `x` ([batch, r, c] in memory) into a fresh [1, rows, cols] tensor. */
function matrix(
  io: KernelIo,
  x: tf.TensorInfo,
  index: number,
  r: number,
  c: number,
  transpose: boolean,
): tf.TensorInfo {
  const out = io.alloc(transpose ? [1, c, r] : [1, r, c]);
  const src = io.view(x);
  const dst = io.view(out);
  const offset = index * r * c;
  if (transpose) transposeInto(src, offset, r, c, dst);
  else dst.set(src.subarray(offset, offset + r * c));
  return out;
}

/**
 * The registry's kernel function for `BatchMatMul` on wasm; `stock` is wasm's own kernel, used for
 * the single untransposed product (its fast case) and for shapes this kernel does not handle.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { batchMatMulKernel } from "./batch_mat_mul.ts";
 * assert.equal(
 *   typeof batchMatMulKernel("wasm", () => { throw new Error("no stock"); }),
 *   "function",
 * );
 * ```
 */
export function batchMatMulKernel(backendName: string, stock: tf.KernelFunc): tf.KernelFunc {
  return (args) => {
    const { inputs, backend, attrs } = args as unknown as KernelArgs;
    const { a, b } = inputs as { a: tf.TensorInfo; b: tf.TensorInfo };
    const { transposeA, transposeB } = (attrs ?? {}) as unknown as tf.BatchMatMulAttrs;
    if (
      a.dtype !== "float32" || b.dtype !== "float32" || a.shape.length < 2 || b.shape.length < 2
    ) {
      return stock(args);
    }
    const aOuter = a.shape.slice(0, -2);
    const bOuter = b.shape.slice(0, -2);
    const batchA = tf.util.sizeFromShape(aOuter);
    const batchB = tf.util.sizeFromShape(bOuter);
    const sameOuter = aOuter.length === bOuter.length && aOuter.every((d, i) => d === bOuter[i]);
    if (batchA === 1 && batchB === 1 && !transposeA && !transposeB) return stock(args);
    if (!sameOuter && batchA !== 1 && batchB !== 1) return stock(args);
    const [ar, ac] = a.shape.slice(-2) as [number, number];
    const [br, bc] = b.shape.slice(-2) as [number, number];
    const [m, k] = transposeA ? [ac, ar] : [ar, ac];
    const [k2, n] = transposeB ? [bc, br] : [br, bc];
    // Let the stock kernel raise tfjs's own error for mismatched inner dimensions.
    if (k !== k2 || m * n * k === 0) return stock(args);
    const outShape = [
      ...tf.broadcast_util.assertAndGetBroadcastShape(aOuter, bOuter),
      m,
      n,
    ];
    const io = new KernelIo(backend, backendName);
    const batch = Math.max(batchA, batchB);
    const call = (x: tf.TensorInfo, y: tf.TensorInfo) =>
      stock({
        inputs: { a: x, b: y },
        backend,
        attrs: { transposeA: false, transposeB: false },
      }) as tf.TensorInfo;

    // One shared right operand and a plain left one: the whole batch is one [batch·m, k] product.
    if (batchB === 1 && !transposeA) {
      const a2 = io.reshape(a, [1, batchA * m, k]);
      const b2 = transposeB ? matrix(io, b, 0, br, bc, true) : io.reshape(b, [1, k, n]);
      try {
        const prod = call(a2, b2);
        const out = io.reshape(prod, outShape);
        io.free(prod);
        return out;
      } finally {
        io.free(a2, b2);
      }
    }

    const g = { batch, batchA, batchB, ar, ac, br, bc, m, n, transposeA, transposeB };
    const out = productsOneByOne(io, call, a, b, g);
    const result = io.reshape(out, outShape);
    io.free(out);
    return result;
  };
}

/** Where {@linkcode productsOneByOne} reads its operands' matrices. */
interface BatchGeometry {
  readonly batch: number;
  readonly batchA: number;
  readonly batchB: number;
  readonly ar: number;
  readonly ac: number;
  readonly br: number;
  readonly bc: number;
  readonly m: number;
  readonly n: number;
  readonly transposeA: boolean;
  readonly transposeB: boolean;
}

/** The batch's products one matrix pair at a time, into a new [batch, m, n] tensor. */
function productsOneByOne(
  io: KernelIo,
  call: (x: tf.TensorInfo, y: tf.TensorInfo) => tf.TensorInfo,
  a: tf.TensorInfo,
  b: tf.TensorInfo,
  g: BatchGeometry,
): tf.TensorInfo {
  const { batch, batchA, batchB, ar, ac, br, bc, m, n, transposeA, transposeB } = g;
  const out = io.alloc([batch, m, n]);
  let sharedA: tf.TensorInfo | undefined;
  let sharedB: tf.TensorInfo | undefined;
  try {
    // A shared (batch-1) operand is copied or transposed once.
    if (batchA === 1) sharedA = matrix(io, a, 0, ar, ac, transposeA);
    if (batchB === 1) sharedB = matrix(io, b, 0, br, bc, transposeB);
    for (let i = 0; i < batch; i++) {
      let x: tf.TensorInfo | undefined;
      let y: tf.TensorInfo | undefined;
      let prod: tf.TensorInfo | undefined;
      try {
        x = sharedA ?? matrix(io, a, i, ar, ac, transposeA);
        y = sharedB ?? matrix(io, b, i, br, bc, transposeB);
        prod = call(x, y);
        io.view(out).set(io.view(prod), i * m * n);
      } finally {
        io.free(x === sharedA ? undefined : x, y === sharedB ? undefined : y, prod);
      }
    }
  } catch (e) {
    io.free(out);
    throw e;
  } finally {
    io.free(sharedA, sharedB);
  }
  return out;
}
