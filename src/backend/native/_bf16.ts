/**
 * The two tfjs kernels behind `precision: "bf16"` on the native backend — a bf16 forward
 * convolution (bias + optional ReLU) and its bf16 backward-data (optionally through the ReLU's
 * mask) — and the ops that run them.
 * Registered on `native` on first use; internal (the frozen VGG calls them).
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
import { convGeometry } from "../_kernels/conv2d_backprop_filter.ts";
import type { KernelArgs } from "../_kernels/kernel_io.ts";
import { bf16ConvBackwardData, bf16ConvForward } from "./_bf16_conv.ts";
import { type Dnnl, loadDnnl } from "./_dnnl.ts";
import { NativeBackendError } from "./errors.ts";

/** The tfjs kernel name of the bf16 forward convolution. */
export const BF16_CONV = "PerceptualBf16Conv2D";
/** The tfjs kernel name of the bf16 backward-data convolution. */
export const BF16_CONV_BACKPROP_INPUT = "PerceptualBf16Conv2DBackpropInput";

/** oneDNN's `dnnl_cpu_isa_avx512_core_bf16` bits (AMX includes them). */
const ISA_AVX512_CORE_BF16 = 0xe7;

let isaReason: string | undefined | null = null;

/**
 * Why oneDNN cannot run bf16 convolutions at full speed here, or undefined when it can: the
 * instruction set oneDNN will use (its `dnnl_get_effective_cpu_isa`, which honours
 * `DNNL_MAX_CPU_ISA`) must include AVX512-BF16 (or AMX). Memoised.
 */
export function bf16IsaReason(dnnl: Dnnl): string | undefined {
  if (isaReason !== null) return isaReason;
  const lib = Deno.dlopen(dnnl.path, {
    dnnl_get_effective_cpu_isa: { parameters: [], result: "i32" },
  });
  try {
    const isa = lib.symbols.dnnl_get_effective_cpu_isa();
    isaReason = (isa & ISA_AVX512_CORE_BF16) === ISA_AVX512_CORE_BF16 ? undefined : (
      `oneDNN ${dnnl.version} runs this CPU at ISA 0x${isa.toString(16)}, without AVX512-BF16 ` +
      `or AMX (check \`grep -o avx512_bf16 /proc/cpuinfo\`; DNNL_MAX_CPU_ISA can also lower it)`
    );
  } finally {
    lib.close();
  }
  return isaReason;
}

/** The parts of tfjs-backend-wasm's `BackendWasm` used here. */
interface HeapBackend extends tf.KernelBackend {
  makeOutput(shape: number[], dtype: tf.DataType): tf.TensorInfo;
  typedArrayFromHeap(info: tf.TensorInfo): Float32Array;
}

/** The attributes both kernels take: 'same'/'valid' padding and strides, NHWC. */
interface ConvAttrs {
  readonly strides: number | [number, number];
  readonly pad: "same" | "valid";
}

function dnnlOrThrow(): Dnnl {
  const dnnl = loadDnnl();
  if (typeof dnnl === "string") throw new NativeBackendError(`bf16 convolutions: ${dnnl}`);
  return dnnl;
}

function declined(what: string, shape: readonly number[]): never {
  throw new NativeBackendError(
    `oneDNN has no fast bf16 ${what} for input [${shape}]; use precision "f32" for this network`,
  );
}

const at = (backend: HeapBackend, info: tf.TensorInfo): Deno.PointerValue =>
  Deno.UnsafePointer.of(backend.typedArrayFromHeap(info) as Float32Array<ArrayBuffer>);

function forwardKernel(args: Parameters<tf.KernelFunc>[0]): tf.TensorInfo {
  const { inputs, attrs } = args as unknown as KernelArgs;
  const backend = args.backend as HeapBackend;
  const { x, filter, bias } = inputs as Record<string, tf.TensorInfo>;
  const a = attrs as unknown as ConvAttrs & { readonly relu: boolean };
  const g = convGeometry(x!.shape, filter!.shape, a.strides, a.pad, undefined);
  const y = backend.makeOutput([g.n, g.oh, g.ow, g.co], "float32");
  // Heap views after the allocation: a growing heap detaches older views.
  const ok = bf16ConvForward(dnnlOrThrow(), g, bias !== undefined, a.relu, () => ({
    x: at(backend, x!),
    w: at(backend, filter!),
    b: bias === undefined ? undefined : at(backend, bias),
    y: at(backend, y),
  }), filter!.dataId);
  if (!ok) {
    backend.disposeData(y.dataId);
    declined("convolution", x!.shape);
  }
  return y;
}

function backpropInputKernel(args: Parameters<tf.KernelFunc>[0]): tf.TensorInfo {
  const { inputs, attrs } = args as unknown as KernelArgs;
  const backend = args.backend as HeapBackend;
  const { dy, filter, mask } = inputs as Record<string, tf.TensorInfo | undefined>;
  const a = attrs as unknown as ConvAttrs & { readonly inputShape: number[] };
  if (
    mask !== undefined && (mask.dtype !== "bool" || !tf.util.arraysEqual(mask.shape, dy!.shape))
  ) {
    throw new NativeBackendError(
      `bf16 backward-data convolution: the ReLU mask must be a bool tensor of dy's shape ` +
        `[${dy!.shape}], got ${mask.dtype} [${mask.shape}]`,
    );
  }
  const g = convGeometry(a.inputShape, filter!.shape, a.strides, a.pad, undefined);
  const dx = backend.makeOutput(a.inputShape.slice(), "float32");
  const ok = bf16ConvBackwardData(
    dnnlOrThrow(),
    g,
    () => ({
      dy: at(backend, dy!),
      w: at(backend, filter!),
      dx: at(backend, dx),
      mask: mask === undefined ? undefined : at(backend, mask),
    }),
    filter!.dataId,
    mask !== undefined,
  );
  if (!ok) {
    backend.disposeData(dx.dataId);
    declined("backward-data convolution", a.inputShape);
  }
  return dx;
}

function registerOnce(): void {
  if (tf.getKernel(BF16_CONV, "native") !== undefined) return;
  tf.registerKernel({ kernelName: BF16_CONV, backendName: "native", kernelFunc: forwardKernel });
  tf.registerKernel({
    kernelName: BF16_CONV_BACKPROP_INPUT,
    backendName: "native",
    kernelFunc: backpropInputKernel,
  });
}

/**
 * `relu(conv(x, kernel) + bias)` ('same' padding, stride 1) with bf16 inputs and weights and f32
 * accumulation, on the native backend. No gradient of its own: callers own the backward.
 */
export function bf16ConvRelu(
  x: tf.Tensor4D,
  kernel: tf.Tensor4D,
  bias: tf.Tensor1D,
): tf.Tensor4D {
  registerOnce();
  const attrs: ConvAttrs & { relu: boolean } = { strides: 1, pad: "same", relu: true };
  return tf.engine().runKernel(
    BF16_CONV,
    { x, filter: kernel, bias },
    attrs as unknown as tf.NamedAttrMap,
  ) as tf.Tensor4D;
}

/**
 * The gradient of a 'same', stride-1 convolution with respect to its input (the transposed
 * convolution of `dy`), in bf16 with f32 accumulation, on the native backend. With `mask` (a
 * bool tensor of `dy`'s shape: where the ReLU after the convolution was positive), the gradient
 * through that ReLU as well: `dy` is masked after its bf16 rounding, in oneDNN, which equals
 * `where(mask, dy, 0)` first for finite `dy` up to the sign of zero (a non-finite `dy` under a
 * false mask gives NaN instead of 0: a NaN in, a NaN out).
 */
export function bf16ConvBackpropInput(
  dy: tf.Tensor4D,
  kernel: tf.Tensor4D,
  inputShape: readonly [number, number, number, number],
  mask?: tf.Tensor,
): tf.Tensor4D {
  registerOnce();
  const attrs: ConvAttrs & { inputShape: number[] } = {
    strides: 1,
    pad: "same",
    inputShape: [...inputShape],
  };
  return tf.engine().runKernel(
    BF16_CONV_BACKPROP_INPUT,
    mask === undefined ? { dy, filter: kernel } : { dy, filter: kernel, mask },
    attrs as unknown as tf.NamedAttrMap,
  ) as tf.Tensor4D;
}
