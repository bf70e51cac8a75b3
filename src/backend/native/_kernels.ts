/**
 * TensorFlow.js kernel functions that run on oneDNN with pointers straight into the wasm heap
 * (no copies): Conv2D, FusedConv2D (bias + ReLU fused), Conv2DBackpropInput,
 * Conv2DBackpropFilter, BatchMatMul and MaxPoolGrad. Each one hands shapes and options oneDNN
 * cannot take (NCHW, dilation, other activations, odd broadcasts) to the kernel it replaced.
 * Internal to the native backend.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
import { type ConvGeometry, convGeometry } from "../_kernels/conv2d_backprop_filter.ts";
import type { KernelArgs } from "../_kernels/kernel_io.ts";
import {
  convBackwardData,
  convBackwardWeights,
  convForward,
  type ForwardConvolution,
} from "./_conv.ts";
import type { Dnnl } from "./_dnnl.ts";
import { matMul, maxPoolGrad, poolGeometry } from "./_matmul_pool.ts";
import { makeOutput, outOrFallback, tensorPointer } from "./_address.ts";
import { winogradApplies, winogradConvForward } from "./_winograd_conv.ts";

function floats(...infos: (tf.TensorInfo | undefined)[]): boolean {
  return infos.every((i) =>
    i === undefined || (i.dtype === "float32" && tf.util.sizeFromShape(i.shape) > 0)
  );
}

/** The geometry, or undefined where oneDNN's direct convolution does not apply here. */
function geometry(
  xShape: readonly number[],
  filterShape: readonly number[],
  a: { strides: number | [number, number]; pad: unknown; dimRoundingMode?: unknown },
  dilations: number | [number, number] | undefined,
  dataFormat: unknown,
): ConvGeometry | undefined {
  try {
    const g = convGeometry(
      xShape,
      filterShape,
      a.strides,
      a.pad,
      a.dimRoundingMode,
      dilations,
      dataFormat,
    );
    return g.oh > 0 && g.ow > 0 ? g : undefined;
  } catch {
    return undefined;
  }
}

type Make = (dnnl: Dnnl, fallback: tf.KernelFunc) => tf.KernelFunc;

/** A forward convolution: by Winograd where it applies (inference), else the direct one. */
const forward: ForwardConvolution = (dnnl, g, bias, relu, ptrs, wId) =>
  (winogradApplies(g) && winogradConvForward(dnnl, g, bias, relu, ptrs, wId)) ||
  convForward(dnnl, g, bias, relu, ptrs, wId);

const conv2D: Make = (dnnl, fallback) => (args) => {
  const { inputs, attrs } = args as unknown as KernelArgs;
  const backend = args.backend as tf.KernelBackend;
  const { x, filter } = inputs as { x: tf.TensorInfo; filter: tf.TensorInfo };
  const a = attrs as unknown as tf.Conv2DAttrs;
  const g = floats(x, filter)
    ? geometry(x.shape, filter.shape, a, a.dilations, a.dataFormat)
    : undefined;
  if (g === undefined) return fallback(args);
  const y = makeOutput(backend, [g.n, g.oh, g.ow, g.co]);
  const ok = forward(dnnl, g, false, false, () => ({
    x: tensorPointer(backend, x),
    w: tensorPointer(backend, filter),
    b: undefined,
    y: tensorPointer(backend, y),
  }), filter.dataId);
  return outOrFallback(ok, y, fallback, args);
};

const fusedConv2D: Make = (dnnl, fallback) => (args) => {
  const { inputs, attrs } = args as unknown as KernelArgs;
  const backend = args.backend as tf.KernelBackend;
  const { x, filter, bias, preluActivationWeights } = inputs as Record<string, tf.TensorInfo>;
  const a = attrs as unknown as tf.FusedConv2DAttrs;
  const act = a.activation ?? "linear";
  const g = floats(x!, filter!, bias) && preluActivationWeights === undefined &&
      (act === "linear" || act === "relu")
    ? geometry(x!.shape, filter!.shape, a, a.dilations, a.dataFormat)
    : undefined;
  // A bias must be one value per output channel (tfjs also allows other broadcastable shapes).
  if (g === undefined || (bias !== undefined && tf.util.sizeFromShape(bias.shape) !== g.co)) {
    return fallback(args);
  }
  const y = makeOutput(backend, [g.n, g.oh, g.ow, g.co]);
  const ok = forward(dnnl, g, bias !== undefined, act === "relu", () => ({
    x: tensorPointer(backend, x!),
    w: tensorPointer(backend, filter!),
    b: bias === undefined ? undefined : tensorPointer(backend, bias),
    y: tensorPointer(backend, y),
  }), filter!.dataId);
  return outOrFallback(ok, y, fallback, args);
};

const conv2DBackpropInput: Make = (dnnl, fallback) => (args) => {
  const { inputs, attrs } = args as unknown as KernelArgs;
  const backend = args.backend as tf.KernelBackend;
  const { dy, filter } = inputs as { dy: tf.TensorInfo; filter: tf.TensorInfo };
  const a = attrs as unknown as tf.Conv2DBackpropInputAttrs;
  const g = floats(dy, filter)
    ? geometry(a.inputShape, filter.shape, a, 1, a.dataFormat)
    : undefined;
  if (g === undefined || g.oh !== dy.shape[1] || g.ow !== dy.shape[2]) return fallback(args);
  const dx = makeOutput(backend, [g.n, g.h, g.w, g.ci]);
  const ok = convBackwardData(dnnl, g, () => ({
    dy: tensorPointer(backend, dy),
    w: tensorPointer(backend, filter),
    dx: tensorPointer(backend, dx),
  }), filter.dataId);
  return outOrFallback(ok, dx, fallback, args);
};

const conv2DBackpropFilter: Make = (dnnl, fallback) => (args) => {
  const { inputs, attrs } = args as unknown as KernelArgs;
  const backend = args.backend as tf.KernelBackend;
  const { x, dy } = inputs as { x: tf.TensorInfo; dy: tf.TensorInfo };
  const a = attrs as unknown as tf.Conv2DBackpropFilterAttrs;
  const g = floats(x, dy) ? geometry(x.shape, a.filterShape, a, 1, a.dataFormat) : undefined;
  if (g === undefined || g.oh !== dy.shape[1] || g.ow !== dy.shape[2]) return fallback(args);
  const dw = makeOutput(backend, [g.kh, g.kw, g.ci, g.co]);
  const ok = convBackwardWeights(dnnl, g, () => ({
    x: tensorPointer(backend, x),
    dy: tensorPointer(backend, dy),
    dw: tensorPointer(backend, dw),
  }));
  return outOrFallback(ok, dw, fallback, args);
};

const batchMatMul: Make = (dnnl, fallback) => (args) => {
  const { inputs, attrs } = args as unknown as KernelArgs;
  const backend = args.backend as tf.KernelBackend;
  const { a, b } = inputs as { a: tf.TensorInfo; b: tf.TensorInfo };
  const { transposeA, transposeB } = attrs as unknown as tf.BatchMatMulAttrs;
  if (!floats(a, b) || a.shape.length < 2 || b.shape.length < 2) return fallback(args);
  const ra = a.shape.length, rb = b.shape.length;
  const outerA = a.shape.slice(0, -2), outerB = b.shape.slice(0, -2);
  const batchA = tf.util.sizeFromShape(outerA), batchB = tf.util.sizeFromShape(outerB);
  const m = transposeA ? a.shape[ra - 1]! : a.shape[ra - 2]!;
  const k = transposeA ? a.shape[ra - 2]! : a.shape[ra - 1]!;
  const kb = transposeB ? b.shape[rb - 1]! : b.shape[rb - 2]!;
  const n = transposeB ? b.shape[rb - 2]! : b.shape[rb - 1]!;
  // Same batch shape, or one side a single matrix (broadcast); anything else: the fallback.
  const sameOuter = outerA.length === outerB.length && outerA.every((d, i) => d === outerB[i]);
  if (k !== kb || !(sameOuter || batchA === 1 || batchB === 1)) return fallback(args);
  const outer = sameOuter || batchB === 1 ? outerA : outerB;
  const c = makeOutput(backend, [...outer, m, n]);
  const ok = matMul(dnnl, { batchA, batchB, m, k, n, transposeA, transposeB }, () => ({
    a: tensorPointer(backend, a),
    b: tensorPointer(backend, b),
    c: tensorPointer(backend, c),
  }));
  return outOrFallback(ok, c, fallback, args);
};

const maxPoolGradKernel: Make = (dnnl, fallback) => (args) => {
  const { inputs, attrs } = args as unknown as KernelArgs;
  const backend = args.backend as tf.KernelBackend;
  const { dy, input } = inputs as { dy: tf.TensorInfo; input: tf.TensorInfo };
  const a = attrs as unknown as tf.MaxPoolGradAttrs;
  if (!floats(dy, input)) return fallback(args);
  const s = poolGeometry(input.shape, a);
  if (s.oh !== dy.shape[1] || s.ow !== dy.shape[2]) return fallback(args);
  const dx = makeOutput(backend, input.shape.slice());
  const ok = maxPoolGrad(dnnl, s, () => ({
    x: tensorPointer(backend, input),
    dy: tensorPointer(backend, dy),
    dx: tensorPointer(backend, dx),
  }));
  return outOrFallback(ok, dx, fallback, args);
};

/** The kernels oneDNN runs, by tfjs kernel name. */
export const NATIVE_KERNELS: Readonly<Record<string, Make>> = {
  Conv2D: conv2D,
  FusedConv2D: fusedConv2D,
  Conv2DBackpropInput: conv2DBackpropInput,
  Conv2DBackpropFilter: conv2DBackpropFilter,
  BatchMatMul: batchMatMul,
  MaxPoolGrad: maxPoolGradKernel,
};
