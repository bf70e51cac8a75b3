/**
 * `Sum` and `Mean` over trailing axes (a whole tensor included) accumulated in float64, and over
 * leading axes as a oneDNN product.
 *
 * wasm's reductions accumulate in float32, one element after another: a style term's mean of
 * ~10⁵ squared Gram differences came out 1.5e-4 (relative) off PyTorch on wasm, failing the
 * PyTorch fixtures that cpu (whose JS loop accumulates in float64) passes at 1e-6. Loss values
 * are such reductions, so `native` computes them in float64 here. Reductions over leading axes
 * (bias and batch-norm gradients) are column sums `ones · X` in oneDNN's matrix product
 * (./_column_sums.ts: its reduction primitive has only `ref:any` for them); other axis sets stay
 * on wasm. Internal to the native backend.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
import type { KernelArgs } from "../_kernels/kernel_io.ts";
import type { Dnnl } from "./_dnnl.ts";
import { floatView, makeOutput, outOrFallback } from "./_address.ts";
import { MIN_RUN, sumF64, sumRuns, warmSumF64 } from "./_block_sums.ts";
import { MIN_LEADING, sumRows } from "./_column_sums.ts";

type HeapBackend = tf.KernelBackend;

function reduceTrailing(
  mean: boolean,
  fallback: tf.KernelFunc,
  dnnl: Dnnl | undefined,
): tf.KernelFunc {
  warmSumF64();
  return (args) => {
    const { inputs, attrs } = args as unknown as KernelArgs;
    const backend = args.backend as HeapBackend;
    const { x } = inputs as { x: tf.TensorInfo };
    const { axis, keepDims } = attrs as unknown as tf.SumAttrs;
    if (x.dtype !== "float32") return fallback(args);
    const rank = x.shape.length;
    const axes = tf.util.parseAxisParam(axis, x.shape).sort((a, b) => a - b);
    if (axes.length > 0 && axes.length < rank && axes.every((a, i) => a === i)) {
      return leading(mean, fallback, dnnl, args, axes);
    }
    // Only a trailing block of axes: each output element then sums one contiguous run.
    if (axes.length === 0 || axes.some((a, i) => a !== rank - axes.length + i)) {
      return fallback(args);
    }
    const inner = tf.util.sizeFromShape(axes.map((a) => x.shape[a]!));
    const outShape = keepDims
      ? x.shape.map((d, i) => (axes.includes(i) ? 1 : d))
      : x.shape.slice(0, rank - axes.length);
    const out = makeOutput(backend, outShape);
    // Views after the allocation: a growing heap detaches older views.
    const src = floatView(backend, x);
    const dst = floatView(backend, out);
    const scale = mean && inner > 0 ? 1 / inner : 1;
    // Long runs: float32 block sums in oneDNN, combined here in float64 (./_block_sums.ts).
    if (
      dnnl !== undefined && inner >= MIN_RUN && sumRuns(dnnl, src, dst.length, inner, scale, dst)
    ) {
      return out;
    }
    for (let o = 0, base = 0; o < dst.length; o++, base += inner) {
      dst[o] = sumF64(src, base, base + inner) * scale;
    }
    return out;
  };
}

/** A leading block of axes (bias gradients): large ones as a oneDNN product (./_column_sums.ts). */
function leading(
  mean: boolean,
  fallback: tf.KernelFunc,
  dnnl: Dnnl | undefined,
  args: Parameters<tf.KernelFunc>[0],
  axes: number[],
): ReturnType<tf.KernelFunc> {
  const backend = args.backend as HeapBackend;
  const { x } = (args as unknown as KernelArgs).inputs as { x: tf.TensorInfo };
  const { keepDims } = args.attrs as unknown as tf.SumAttrs;
  const rows = tf.util.sizeFromShape(axes.map((a) => x.shape[a]!));
  const cols = tf.util.sizeFromShape(x.shape) / rows;
  if (dnnl === undefined || rows * cols < MIN_LEADING) return fallback(args);
  const outShape = keepDims
    ? x.shape.map((d, i) => (i < axes.length ? 1 : d))
    : x.shape.slice(axes.length);
  const out = makeOutput(backend, outShape);
  const ok = sumRows(dnnl, rows, cols, () => ({
    src: Deno.UnsafePointer.of(floatView(backend, x)),
    dst: Deno.UnsafePointer.of(floatView(backend, out)),
  }));
  if (!ok) return outOrFallback(false, out, fallback, args);
  if (mean) {
    const dst = floatView(backend, out);
    for (let i = 0; i < dst.length; i++) dst[i] = dst[i]! / rows;
  }
  return out;
}

/**
 * `Sum` over trailing axes in float64 (long runs through oneDNN block sums where `dnnl` is
 * given); other reductions go to `fallback`.
 */
export function sumKernel(fallback: tf.KernelFunc, dnnl?: Dnnl): tf.KernelFunc {
  return reduceTrailing(false, fallback, dnnl);
}

/** `Mean` over trailing axes in float64, as {@linkcode sumKernel}; others go to `fallback`. */
export function meanKernel(fallback: tf.KernelFunc, dnnl?: Dnnl): tf.KernelFunc {
  return reduceTrailing(true, fallback, dnnl);
}
