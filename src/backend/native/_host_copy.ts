/**
 * `Slice`, `SplitV` and leading-axes `Sum`/`Mean` for `native-host` as block copies and row sums.
 * The cpu backend walks these element by element through generic index arithmetic (its
 * `SplitV`, `Slice` and leading-axes `Sum` took 2.0, 1.8 and 2.1 s of an 11 s U-Net training
 * step at 4 × 64²); here a slice is one `TypedArray.set` per contiguous run, and a sum over
 * leading axes adds whole rows into a float64 accumulator. Float32 only; everything else goes to
 * the kernel replaced. Internal to the native backends.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
import type { KernelArgs } from "../kernels/kernel_io.ts";
import { floatView, makeOutput } from "./_address.ts";

type Make = (fallback: tf.KernelFunc) => tf.KernelFunc;

/** Row-major strides of `shape`. */
function stridesOf(shape: readonly number[]): number[] {
  const s = new Array<number>(shape.length).fill(1);
  for (let i = shape.length - 2; i >= 0; i--) s[i] = s[i + 1]! * shape[i + 1]!;
  return s;
}

/** Copy the block `begin`/`size` of `src` (of `shape`) into `dst`, one `set` per contiguous run. */
function copyBlock(
  src: Float32Array,
  dst: Float32Array,
  shape: readonly number[],
  begin: readonly number[],
  size: readonly number[],
): void {
  const strides = stridesOf(shape);
  // The innermost axis from which the block covers whole rows: its run is contiguous.
  let d = shape.length - 1;
  while (d > 0 && size[d] === shape[d] && begin[d] === 0) d--;
  const run = size[d]! * strides[d]!;
  let o = 0;
  const walk = (axis: number, offset: number): void => {
    if (axis === d) {
      const from = offset + begin[d]! * strides[d]!;
      dst.set(src.subarray(from, from + run), o);
      o += run;
      return;
    }
    for (let i = 0; i < size[axis]!; i++) {
      walk(axis + 1, offset + (begin[axis]! + i) * strides[axis]!);
    }
  };
  walk(0, 0);
}

function sliceOf(backend: tf.KernelBackend, x: tf.TensorInfo, begin: number[], size: number[]) {
  const out = makeOutput(backend, size);
  if (size.every((s) => s > 0)) {
    copyBlock(floatView(backend, x), floatView(backend, out), x.shape, begin, size);
  }
  return out;
}

const slice: Make = (fallback) => (args) => {
  const { inputs, attrs } = args as unknown as KernelArgs;
  const backend = args.backend as tf.KernelBackend;
  const { x } = inputs as { x: tf.TensorInfo };
  const a = attrs as unknown as tf.SliceAttrs;
  if (x.dtype !== "float32" || x.shape.length === 0) return fallback(args);
  const [begin, size] = tf.slice_util.parseSliceParams(
    x as tf.TensorInfo as tf.Tensor,
    a.begin,
    a.size,
  );
  return sliceOf(backend, x, begin, size);
};

const splitV: Make = (fallback) => (args) => {
  const { inputs, attrs } = args as unknown as KernelArgs;
  const backend = args.backend as tf.KernelBackend;
  const { x } = inputs as { x: tf.TensorInfo };
  const { numOrSizeSplits, axis } = attrs as unknown as tf.SplitVAttrs;
  if (x.dtype !== "float32" || x.shape.length === 0) return fallback(args);
  const $axis = tf.util.parseAxisParam(axis, x.shape)[0]!;
  const sizes = tf.backend_util.prepareSplitSize(
    x as tf.TensorInfo as tf.Tensor,
    numOrSizeSplits,
    $axis,
  );
  const begin = new Array<number>(x.shape.length).fill(0);
  return sizes.map((s) => {
    const size = x.shape.slice();
    size[$axis] = s;
    const out = sliceOf(backend, x, begin.slice(), size);
    begin[$axis]! += s;
    return out;
  });
};

/** Sum (or mean) over a leading block of axes: rows of `inner` values added in float64. */
function leadingReduce(mean: boolean): Make {
  return (fallback) => (args) => {
    const { inputs, attrs } = args as unknown as KernelArgs;
    const backend = args.backend as tf.KernelBackend;
    const { x } = inputs as { x: tf.TensorInfo };
    const { axis, keepDims } = attrs as unknown as tf.SumAttrs;
    if (x.dtype !== "float32" || x.shape.length < 2) return fallback(args);
    const axes = tf.util.parseAxisParam(axis, x.shape).sort((p, q) => p - q);
    // Only a leading block that leaves trailing axes (the trailing case is ./_reduce.ts').
    if (axes.length === x.shape.length || axes.some((p, i) => p !== i)) return fallback(args);
    const rows = tf.util.sizeFromShape(x.shape.slice(0, axes.length));
    const inner = tf.util.sizeFromShape(x.shape.slice(axes.length));
    const outShape = keepDims
      ? x.shape.map((d, i) => (i < axes.length ? 1 : d))
      : x.shape.slice(axes.length);
    const out = makeOutput(backend, outShape);
    const src = floatView(backend, x), dst = floatView(backend, out);
    const acc = new Float64Array(inner);
    for (let r = 0, base = 0; r < rows; r++, base += inner) {
      for (let j = 0; j < inner; j++) acc[j]! += src[base + j]!;
    }
    const scale = mean && rows > 0 ? 1 / rows : 1;
    for (let j = 0; j < inner; j++) dst[j] = acc[j]! * scale;
    return out;
  };
}

/** The kernels, by tfjs kernel name; each takes the kernel it replaces as its fallback. */
export const HOST_COPY_KERNELS: Readonly<Record<string, Make>> = {
  Slice: slice,
  SplitV: splitV,
  Sum: leadingReduce(false),
  Mean: leadingReduce(true),
};
