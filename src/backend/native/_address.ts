/**
 * Where a tensor's floats live, for the oneDNN kernels, on either storage the native backends
 * use: `native` keeps tensors in the wasm backend's heap (an offset into one `WebAssembly.Memory`,
 * at most 4 GiB in all), `native-host` in the cpu backend's store (one JS `TypedArray` per
 * tensor, each its own ArrayBuffer outside any wasm heap, with no total ceiling but the
 * machine's memory). The kernels ask this module for pointers and outputs and never look at the
 * storage themselves. Internal to the native backends.
 *
 * @module
 */
import type * as tf from "@tensorflow/tfjs-core";

/** The parts of tfjs-backend-wasm's `BackendWasm` used here (its class type is not exported). */
interface WasmHeapBackend extends tf.KernelBackend {
  wasm: { HEAPU8: Uint8Array };
  dataIdMap: { get(id: tf.DataId): { memoryOffset: number }; has(id: tf.DataId): boolean };
  makeOutput(shape: number[], dtype: tf.DataType): tf.TensorInfo;
  typedArrayFromHeap(info: tf.TensorInfo): Float32Array;
}

/** The parts of tfjs-backend-cpu's `MathBackendCPU` used here. */
interface HostStoreBackend extends tf.KernelBackend {
  data: { get(id: tf.DataId): { values?: unknown }; has(id: tf.DataId): boolean };
  makeTensorInfo(shape: number[], dtype: tf.DataType, values?: unknown): tf.TensorInfo;
}

function onWasmHeap(backend: tf.KernelBackend): backend is WasmHeapBackend {
  return typeof (backend as Partial<WasmHeapBackend>).typedArrayFromHeap === "function";
}

/**
 * Float32 copies of integer arrays that the cpu store holds under a float32 tensor: its `Cast`
 * from bool or int32 to float32 shares the input's array (no precision is lost) instead of
 * converting it. Tensors never change, so a copy stays valid while its source array lives.
 */
const converted = new WeakMap<object, Float32Array>();

/**
 * The cpu store's values of `info`: a Float32Array for float32 (in place, or a cached converted
 * copy, see above: read it, never write it), a Uint8Array for bool.
 */
function hostArray(backend: HostStoreBackend, info: tf.TensorInfo): Float32Array | Uint8Array {
  const entry = backend.data.get(info.dataId);
  const values = entry.values;
  if (values === undefined || values === null) {
    // A tensor made without values (makeTensorInfo(shape, dtype)): give it zeros now.
    const size = info.shape.reduce((a, b) => a * b, 1);
    const made = info.dtype === "bool" ? new Uint8Array(size) : new Float32Array(size);
    entry.values = made;
    return made;
  }
  if (info.dtype === "bool" && values instanceof Uint8Array) return values;
  if (info.dtype === "float32") {
    if (values instanceof Float32Array) return values;
    if (values instanceof Uint8Array || values instanceof Int32Array) {
      let copy = converted.get(values);
      if (copy === undefined) converted.set(values, copy = Float32Array.from(values));
      return copy;
    }
  }
  throw new TypeError(
    `native-host: tensor [${info.shape}] ${info.dtype} holds ${
      (values as object).constructor?.name
    }; the oneDNN kernels take float32 and bool tensors only`,
  );
}

/** The start of a wasm backend's heap (null for a backend that keeps tensors elsewhere). */
export function wasmHeapBase(backend: tf.KernelBackend): Deno.PointerValue {
  return onWasmHeap(backend)
    ? Deno.UnsafePointer.of(backend.wasm.HEAPU8 as Uint8Array<ArrayBuffer>)
    : null;
}

/**
 * The address of `info`'s first element: inside the wasm heap (valid until the next allocation,
 * which may grow the heap) or in its own ArrayBuffer (stable: backing stores never move).
 */
export function tensorPointer(backend: tf.KernelBackend, info: tf.TensorInfo): Deno.PointerValue {
  if (onWasmHeap(backend)) {
    const base = Deno.UnsafePointer.of(backend.wasm.HEAPU8 as Uint8Array<ArrayBuffer>);
    const offset = backend.dataIdMap.get(info.dataId).memoryOffset;
    return Deno.UnsafePointer.offset(base as Deno.PointerObject, offset);
  }
  const values = hostArray(backend as HostStoreBackend, info);
  // Reading `.buffer` moves a small typed array's bytes off V8's heap, where the GC could move
  // them, into an ArrayBuffer backing store of their own.
  void values.buffer;
  return Deno.UnsafePointer.of(values as Uint8Array<ArrayBuffer>);
}

/** A fresh tensor of `shape` (float32 unless told) with unspecified contents, on either store. */
export function makeOutput(
  backend: tf.KernelBackend,
  shape: number[],
  dtype: "float32" | "bool" = "float32",
): tf.TensorInfo {
  if (onWasmHeap(backend)) return backend.makeOutput(shape, dtype);
  const size = shape.reduce((a, b) => a * b, 1);
  const values = dtype === "bool" ? new Uint8Array(size) : new Float32Array(size);
  return (backend as HostStoreBackend).makeTensorInfo(shape, dtype, values);
}

/** The float32 values of `info`, in place (a heap view is valid until the next allocation). */
export function floatView(backend: tf.KernelBackend, info: tf.TensorInfo): Float32Array {
  if (onWasmHeap(backend)) return backend.typedArrayFromHeap(info);
  const values = hostArray(backend as HostStoreBackend, info);
  if (!(values instanceof Float32Array)) {
    throw new TypeError(
      `native-host: expected a float32 tensor, got ${info.dtype} [${info.shape}]`,
    );
  }
  return values;
}

/** The bytes of a bool (or uint8) tensor, in place (a heap view: valid until the next allocation). */
export function byteView(backend: tf.KernelBackend, info: tf.TensorInfo): Uint8Array {
  const size = info.shape.reduce((a, b) => a * b, 1);
  if (onWasmHeap(backend)) {
    const offset = backend.dataIdMap.get(info.dataId).memoryOffset;
    return new Uint8Array(backend.wasm.HEAPU8.buffer, offset, size);
  }
  const values = hostArray(backend as HostStoreBackend, info);
  if (!(values instanceof Uint8Array)) {
    throw new TypeError(`native-host: expected a bool tensor, got ${info.dtype} [${info.shape}]`);
  }
  return values;
}

/** Whether `backend` still holds data `id` (false once its last tensor was disposed). */
export function holdsData(backend: tf.KernelBackend, id: object): boolean {
  return onWasmHeap(backend)
    ? backend.dataIdMap.has(id)
    : (backend as HostStoreBackend).data.has(id);
}

/** Whether tensors of `backend` live in host arrays (`native-host`) rather than a wasm heap. */
export function onHost(backend: tf.KernelBackend): boolean {
  return !onWasmHeap(backend);
}

/** `out` when oneDNN ran, else `out` freed and the replaced kernel's answer. */
export function outOrFallback(
  ok: boolean,
  out: tf.TensorInfo,
  fallback: tf.KernelFunc,
  args: Parameters<tf.KernelFunc>[0],
): ReturnType<tf.KernelFunc> {
  if (ok) return out;
  (args.backend as tf.KernelBackend).disposeData(out.dataId);
  return fallback(args);
}
