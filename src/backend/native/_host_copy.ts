/**
 * `Slice`, `SplitV`, `Concat`, `PadV2`, `Step` and leading-axes `Sum`/`Mean` for `native-host`
 * as block copies, tight loops and row sums (`Slice`, `SplitV` and `Concat` on `native` too).
 * The cpu backend walks these element by element through generic index arithmetic (its
 * `SplitV`, `Slice` and leading-axes `Sum` took 2.0, 1.8 and 2.1 s of an 11 s U-Net training
 * step at 4 × 64²); here a slice is one `TypedArray.set` per contiguous run, and a sum over
 * leading axes adds whole rows into a float64 accumulator. Float32 only; everything else goes to
 * the kernel replaced. Internal to the native backends.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
import type { KernelArgs } from "../_kernels/kernel_io.ts";
import { floatView, makeOutput } from "./_address.ts";

type Make = (fallback: tf.KernelFunc) => tf.KernelFunc;

/** Row-major strides of `shape`. */
function stridesOf(shape: readonly number[]): number[] {
  const s = new Array<number>(shape.length).fill(1);
  for (let i = shape.length - 2; i >= 0; i--) s[i] = s[i + 1]! * shape[i + 1]!;
  return s;
}

/** One side of a block copy: an array of `shape`, the block starting at `begin`. */
interface Side {
  readonly values: Float32Array;
  readonly shape: readonly number[];
  readonly begin: readonly number[];
}

/**
 * Runs shorter than this are copied element by element (a 16-float loop takes ~20 ns, a call
 * into a built-in about as long).
 */
const SHORT_RUN = 16;

/**
 * How to copy `run` floats from `sv` at `f` to `dv` at `t`, without making an object per run.
 * Every `subarray` is a new typed array: wasm's own Slice, SplitV and Concat make one per
 * innermost row (8,192-16,384 per call on the main job's [4,64,32,3] pixels and [4,32,32,32]
 * skip connections) and so set off young-generation collections, which cost 10-45 ms each
 * inside a training step whose tape keeps many objects alive (measured at load 6; the same
 * calls alone take 0.1-0.6 ms). On the wasm heap both sides are views of one buffer, so a run
 * is one `copyWithin` on a view of the whole heap; host arrays (`native-host`) are separate
 * buffers: `set` over a `subarray` there.
 */
function runCopier(
  sv: Float32Array,
  dv: Float32Array,
  run: number,
): (f: number, t: number) => void {
  if (run < SHORT_RUN) {
    return (f, t) => {
      for (let i = 0; i < run; i++) dv[t + i] = sv[f + i]!;
    };
  }
  if (sv.buffer === dv.buffer) {
    const heap = new Float32Array(sv.buffer);
    const [so, dOff] = [sv.byteOffset / 4, dv.byteOffset / 4];
    return (f, t) => heap.copyWithin(dOff + t, so + f, so + f + run);
  }
  return (f, t) => dv.set(sv.subarray(f, f + run), t);
}

/**
 * Copy a block of `size` from `src` to `dst`, one contiguous run at a time (see
 * {@linkcode runCopier}).
 */
function copyBlock(src: Side, dst: Side, size: readonly number[]): void {
  const [ss, ds] = [stridesOf(src.shape), stridesOf(dst.shape)];
  // The innermost axis from which the block covers whole rows of both sides: runs contiguous.
  const whole = (a: number) =>
    size[a] === src.shape[a] && size[a] === dst.shape[a] && src.begin[a] === 0 &&
    dst.begin[a] === 0;
  let d = size.length - 1;
  while (d > 0 && whole(d)) d--;
  const copy = runCopier(src.values, dst.values, size[d]! * ss[d]!);
  const walk = (axis: number, from: number, to: number): void => {
    if (axis === d) {
      copy(from + src.begin[d]! * ss[d]!, to + dst.begin[d]! * ds[d]!);
      return;
    }
    for (let i = 0; i < size[axis]!; i++) {
      walk(
        axis + 1,
        from + (src.begin[axis]! + i) * ss[axis]!,
        to + (dst.begin[axis]! + i) * ds[axis]!,
      );
    }
  };
  walk(0, 0, 0);
}

function sliceOf(backend: tf.KernelBackend, x: tf.TensorInfo, begin: number[], size: number[]) {
  const out = makeOutput(backend, size);
  if (size.every((s) => s > 0)) {
    const zeros = size.map(() => 0);
    copyBlock(
      { values: floatView(backend, x), shape: x.shape, begin },
      { values: floatView(backend, out), shape: size, begin: zeros },
      size,
    );
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

/**
 * `Concat` of float32 tensors along `axis`: each input copied as one block into its place (wasm
 * and cpu copy the rows of every input one `set` at a time, see {@linkcode SHORT_RUN}).
 */
const concat: Make = (fallback) => (args) => {
  const { inputs, attrs } = args as unknown as KernelArgs;
  const backend = args.backend as tf.KernelBackend;
  const xs = (inputs as unknown as tf.TensorInfo[]).filter((x) =>
    tf.util.sizeFromShape(x.shape) > 0
  );
  if (xs.length < 2 || xs.some((x) => x.dtype !== "float32" || x.shape.length === 0)) {
    return fallback(args);
  }
  const $axis = tf.util.parseAxisParam((attrs as unknown as tf.ConcatAttrs).axis, xs[0]!.shape)[0]!;
  const shapes = xs.map((x) => x.shape);
  tf.backend_util.assertParamsConsistent(shapes, $axis);
  const outShape = tf.backend_util.computeOutShape(shapes, $axis);
  const out = makeOutput(backend, outShape);
  const dst = floatView(backend, out);
  const begin = new Array<number>(outShape.length).fill(0);
  for (const x of xs) {
    copyBlock(
      { values: floatView(backend, x), shape: x.shape, begin: x.shape.map(() => 0) },
      { values: dst, shape: outShape, begin: begin.slice() },
      x.shape,
    );
    begin[$axis]! += x.shape[$axis]!;
  }
  return out;
};

/** `PadV2` with a constant: the output filled, then the input copied in as one block. */
const pad: Make = (fallback) => (args) => {
  const { inputs, attrs } = args as unknown as KernelArgs;
  const backend = args.backend as tf.KernelBackend;
  const { x } = inputs as { x: tf.TensorInfo };
  const { paddings, constantValue } = attrs as unknown as tf.PadV2Attrs;
  if (x.dtype !== "float32" || x.shape.length === 0 || x.shape.some((d) => d === 0)) {
    return fallback(args);
  }
  const outShape = x.shape.map((d, i) => paddings[i]![0] + d + paddings[i]![1]);
  const out = makeOutput(backend, outShape);
  const dst = floatView(backend, out);
  if (constantValue !== 0) dst.fill(constantValue); // a new array is zeros already
  copyBlock(
    { values: floatView(backend, x), shape: x.shape, begin: x.shape.map(() => 0) },
    { values: dst, shape: outShape, begin: paddings.map((p) => p[0]) },
    x.shape,
  );
  return out;
};

/** `Step` (the ReLU gradient's mask): 1 above 0, `alpha` elsewhere, NaN stays NaN. */
const step: Make = (fallback) => (args) => {
  const { inputs, attrs } = args as unknown as KernelArgs;
  const backend = args.backend as tf.KernelBackend;
  const { x } = inputs as { x: tf.TensorInfo };
  const alpha = (attrs as unknown as tf.StepAttrs).alpha ?? 0;
  if (x.dtype !== "float32") return fallback(args);
  const out = makeOutput(backend, x.shape.slice());
  const src = floatView(backend, x), dst = floatView(backend, out);
  for (let i = 0; i < src.length; i++) {
    const v = src[i]!;
    dst[i] = v > 0 ? 1 : v !== v ? NaN : alpha;
  }
  return out;
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
  Concat: concat,
  PadV2: pad,
  Step: step,
  Sum: leadingReduce(false),
  Mean: leadingReduce(true),
};
