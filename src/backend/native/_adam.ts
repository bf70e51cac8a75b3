/**
 * tfjs's `AdamOptimizer.applyGradients` on the native backend in oneDNN: the same slots (tfjs's
 * own `m`/`v` variables, so `getWeights`/`setWeights` and checkpoints are unchanged), the same
 * float32 arithmetic bit for bit (./_adam_primitives.ts), but five multi-threaded AVX passes per
 * weight tensor instead of about ten single-threaded wasm kernel calls with their tensor
 * bookkeeping. Internal to the native backend.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
import { loadDnnl } from "./_dnnl.ts";
import { adamPlan, AdamScalars, adamUpdate, Scratch } from "./_adam_primitives.ts";
import { NativeBackendError } from "./errors.ts";

/** The private fields of tfjs 4.x's `AdamOptimizer` this update reads and writes. */
interface AdamFields {
  learningRate: number;
  beta1: number;
  beta2: number;
  epsilon: number;
  accBeta1: tf.Variable;
  accBeta2: tf.Variable;
  accumulatedFirstMoment: ({ originalName: string; variable: tf.Variable } | undefined)[];
  accumulatedSecondMoment: ({ originalName: string; variable: tf.Variable } | undefined)[];
  incrementIterations(): void;
}

/** The parts of tfjs-backend-wasm's `BackendWasm` used here (its class type is not exported). */
interface WasmHeapBackend extends tf.KernelBackend {
  wasm: { HEAPU8: Uint8Array };
  dataIdMap: {
    get(id: tf.DataId): { memoryOffset: number } | undefined;
    has(id: tf.DataId): boolean;
  };
  makeOutput(shape: number[], dtype: tf.DataType): tf.TensorInfo;
}

function adamFields(optimizer: tf.Optimizer): AdamFields | undefined {
  const o = optimizer as unknown as Partial<AdamFields>;
  const ok = optimizer.getClassName() === "Adam" && typeof o.beta1 === "number" &&
    typeof o.beta2 === "number" && typeof o.epsilon === "number" &&
    typeof o.learningRate === "number" && o.accBeta1 instanceof tf.Variable &&
    o.accBeta2 instanceof tf.Variable && Array.isArray(o.accumulatedFirstMoment) &&
    Array.isArray(o.accumulatedSecondMoment) && typeof o.incrementIterations === "function";
  return ok ? (o as AdamFields) : undefined;
}

/** One weight to update: the variable and its gradient (null: skipped, as tfjs does). */
interface Item {
  readonly value: tf.Variable;
  readonly grad: tf.Tensor | null;
}

/** Made on first use (host memory through Deno's FFI: nothing at import time). */
let buffers: { scalars: AdamScalars; scratch: Scratch } | undefined;

function pointerOf(
  backend: WasmHeapBackend,
  base: Deno.PointerObject,
  id: tf.DataId,
): Deno.PointerValue {
  const entry = backend.dataIdMap.get(id);
  if (entry === undefined) {
    throw new NativeBackendError(
      "a tensor of the Adam update is not in the native backend's memory (checked before the " +
        "update began; report this as a bug)",
    );
  }
  return Deno.UnsafePointer.offset(base, entry.memoryOffset);
}

/** Whether `t`'s data is in `backend`'s memory. */
function here(backend: WasmHeapBackend, t: tf.Tensor): boolean {
  return backend.dataIdMap.has(t.dataId);
}

/** Swap `variable`'s data for the freshly written `info` (as `assign` of a kernel output). */
function assignFrom(variable: tf.Variable, info: tf.TensorInfo): void {
  const t = tf.engine().makeTensorFromTensorInfo(info);
  variable.assign(t);
  t.dispose();
}

/**
 * Which (variable, gradient) pairs `grads` names, in tfjs's order, or undefined when the native
 * update does not apply (another backend, a non-float32 or misshapen gradient, an unknown name).
 */
function itemsOf(grads: tf.NamedTensorMap, backend: WasmHeapBackend): Item[] | undefined {
  const registered = tf.engine().registeredVariables;
  // Data another backend still holds (tfjs moves it on the first kernel that reads it).
  const on = (t: tf.Tensor | null) => t === null || here(backend, t);
  const items: Item[] = [];
  for (const name of Object.keys(grads)) {
    const value = registered[name];
    const grad = (grads[name] ?? null) as tf.Tensor | null;
    if (value === undefined || value.dtype !== "float32" || !on(value) || !on(grad)) {
      return undefined;
    }
    if (
      grad !== null && (grad.dtype !== "float32" || !tf.util.arraysEqual(grad.shape, value.shape))
    ) {
      return undefined;
    }
    items.push({ value, grad });
  }
  return items;
}

/**
 * Apply `grads` with `optimizer` as its own `applyGradients` would, in oneDNN, when the active
 * backend is `native` and `optimizer` is tfjs's Adam; returns false (having changed nothing)
 * otherwise, for the caller to call `optimizer.applyGradients(grads)` itself.
 */
export function nativeAdamApply(optimizer: tf.Optimizer, grads: tf.NamedTensorMap): boolean {
  if (tf.getBackend() !== "native") return false;
  const adam = adamFields(optimizer);
  const dnnl = loadDnnl();
  if (adam === undefined || typeof dnnl === "string") return false;
  const backend = tf.backend() as WasmHeapBackend;
  const items = itemsOf(grads, backend);
  if (items === undefined) return false;
  const slots = [...adam.accumulatedFirstMoment, ...adam.accumulatedSecondMoment];
  if (slots.some((s) => s !== undefined && !here(backend, s.variable))) return false;
  // Every size's primitives first: nothing is updated unless all of them exist.
  const sizes = [...new Set(items.filter((it) => it.grad !== null).map((it) => it.value.size))];
  if (sizes.some((n) => n > 0 && adamPlan(dnnl, n) === undefined)) return false;
  buffers ??= { scalars: new AdamScalars(), scratch: new Scratch() };
  const { scalars, scratch } = buffers;
  scalars.set({
    beta1: adam.beta1,
    beta2: adam.beta2,
    accBeta1: adam.accBeta1.dataSync()[0]!,
    accBeta2: adam.accBeta2.dataSync()[0]!,
    epsilon: adam.epsilon,
    learningRate: adam.learningRate,
  });
  items.forEach(({ value, grad }, i) => {
    // The slots exactly as tfjs makes them (names, order, zeros), also for a null gradient.
    adam.accumulatedFirstMoment[i] ??= {
      originalName: `${value.name}/m`,
      variable: tf.tidy(() => tf.zerosLike(value).variable(false)),
    };
    adam.accumulatedSecondMoment[i] ??= {
      originalName: `${value.name}/v`,
      variable: tf.tidy(() => tf.zerosLike(value).variable(false)),
    };
    if (grad === null || value.size === 0) return;
    const m = adam.accumulatedFirstMoment[i]!.variable;
    const v = adam.accumulatedSecondMoment[i]!.variable;
    const shape = value.shape.slice();
    // Fresh buffers: tensors are immutable in tfjs (caches key on a buffer's identity).
    const wOut = backend.makeOutput(shape, "float32");
    const mOut = backend.makeOutput(shape, "float32");
    const vOut = backend.makeOutput(shape, "float32");
    try {
      // Addresses after the allocations (the heap's base stays put when it grows).
      const base = Deno.UnsafePointer.of(backend.wasm.HEAPU8 as Uint8Array<ArrayBuffer>)!;
      const at = (id: tf.DataId) => pointerOf(backend, base, id);
      adamUpdate(dnnl, value.size, scalars, {
        w: at(value.dataId),
        g: at(grad.dataId),
        m: at(m.dataId),
        v: at(v.dataId),
        wOut: at(wOut.dataId),
        mOut: at(mOut.dataId),
        vOut: at(vOut.dataId),
        tmp: scratch.of(value.size),
      });
    } catch (e) {
      for (const out of [wOut, mOut, vOut]) backend.disposeData(out.dataId);
      throw e;
    }
    assignFrom(m, mOut);
    assignFrom(v, vOut);
    assignFrom(value, wOut);
  });
  tf.tidy(() => {
    adam.accBeta1.assign(tf.mul(adam.accBeta1, adam.beta1));
    adam.accBeta2.assign(tf.mul(adam.accBeta2, adam.beta2));
  });
  adam.incrementIterations();
  return true;
}
