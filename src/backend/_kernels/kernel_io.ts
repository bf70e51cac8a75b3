/**
 * Backend plumbing shared by this project's kernels: run another registered kernel of the same
 * backend, allocate a float32 output, and read or write a tensor's values in place.
 *
 * Kernels must not call public tf ops (that would nest engine scopes and tapes inside a kernel),
 * so everything here talks to the backend and the kernel registry directly, and every
 * intermediate is released with `backend.disposeData`.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";

/** What a kernel function receives: the registry's `{ inputs, backend, attrs }`. */
export interface KernelArgs {
  /** Named input tensors (or an array, for Concat-like kernels). */
  readonly inputs: tf.NamedTensorInfoMap;
  /** The backend the kernel runs on. */
  readonly backend: tf.KernelBackend;
  /** The kernel's attributes. */
  readonly attrs?: tf.NamedAttrMap;
}

/** The subset of the wasm backend's class this module uses (it is not exported as a type). */
interface WasmLike extends tf.KernelBackend {
  makeOutput(shape: number[], dtype: tf.DataType): tf.TensorInfo;
  typedArrayFromHeap(info: tf.TensorInfo): Float32Array;
}

/** The subset of the cpu backend's class this module uses. */
interface CpuLike extends tf.KernelBackend {
  data: { get(dataId: tf.DataId): { values: unknown } };
}

function isWasm(backend: tf.KernelBackend): backend is WasmLike {
  return typeof (backend as Partial<WasmLike>).typedArrayFromHeap === "function" &&
    typeof (backend as Partial<WasmLike>).makeOutput === "function";
}

/**
 * Kernel-level access to one backend. Views returned by {@linkcode KernelIo.view} are only valid
 * until the next allocation (a wasm heap may grow and detach them): take views after allocating.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as tf from "@tensorflow/tfjs-core";
 * import { initBackend } from "@perceptual/loss/backend";
 * import { KernelIo } from "./kernel_io.ts";
 * await initBackend("cpu");
 * const io = new KernelIo(tf.backend(), "cpu");
 * const out = io.alloc([2, 2]);
 * io.view(out).set([1, 2, 3, 4]);
 * assert.deepEqual(Array.from(io.view(out)), [1, 2, 3, 4]);
 * io.free(out);
 * ```
 */
export class KernelIo {
  /** The backend's registry name (`"wasm"`, `"cpu"`). */
  readonly name: string;
  /** The backend itself. */
  readonly backend: tf.KernelBackend;
  readonly #wasm: boolean;

  /** Wrap `backend`, registered in tfjs as `name`. */
  constructor(backend: tf.KernelBackend, name: string) {
    this.backend = backend;
    this.name = name;
    this.#wasm = isWasm(backend);
  }

  /** Run the registered kernel `kernel` of this backend; the caller owns (and frees) the result. */
  run(
    kernel: string,
    inputs: tf.NamedTensorInfoMap | tf.TensorInfo[],
    attrs: tf.NamedAttrMap = {},
  ): tf.TensorInfo {
    const config = tf.getKernel(kernel, this.name);
    if (config === undefined) {
      throw new Error(`kernel '${kernel}' is not registered for backend '${this.name}'`);
    }
    const out = config.kernelFunc({
      inputs: inputs as tf.NamedTensorInfoMap,
      backend: this.backend,
      attrs,
    });
    if (Array.isArray(out)) {
      throw new Error(`kernel '${kernel}' returned ${out.length} outputs; expected one`);
    }
    return out as tf.TensorInfo;
  }

  /** A fresh float32 tensor of `shape` with unspecified contents. */
  alloc(shape: number[]): tf.TensorInfo {
    if (this.#wasm) return (this.backend as WasmLike).makeOutput(shape, "float32");
    const values = new Float32Array(tf.util.sizeFromShape(shape));
    const dataId = this.backend.write(values, shape, "float32");
    return { dataId, shape, dtype: "float32" };
  }

  /** A fresh float32 tensor of `shape` filled with zeros. */
  zeros(shape: number[]): tf.TensorInfo {
    const out = this.alloc(shape);
    // cpu allocations are already zero; wasm's malloc is not.
    if (this.#wasm) this.view(out).fill(0);
    return out;
  }

  /** The float32 values of `info`, in place (writes go to the tensor). */
  view(info: tf.TensorInfo): Float32Array {
    if (info.dtype !== "float32") {
      throw new Error(`expected a float32 tensor, got ${info.dtype} of shape [${info.shape}]`);
    }
    if (this.#wasm) return (this.backend as WasmLike).typedArrayFromHeap(info);
    const values = (this.backend as CpuLike).data.get(info.dataId).values;
    if (values instanceof Float32Array) return values;
    // A cpu tensor not yet materialised as a Float32Array (e.g. complex): read it.
    return this.backend.readSync(info.dataId) as Float32Array;
  }

  /** A reshaped alias of `info` (shares data; free it like any other result). */
  reshape(info: tf.TensorInfo, shape: number[]): tf.TensorInfo {
    return this.run("Reshape", { x: info }, { shape });
  }

  /** Whether the backend still holds data for `dataId` (false once every tensor on it died). */
  has(dataId: tf.DataId): boolean {
    const b = this.backend as unknown as {
      dataIdMap?: { has(id: tf.DataId): boolean };
      data?: { has(id: tf.DataId): boolean };
    };
    return (b.dataIdMap ?? b.data)?.has(dataId) ?? false;
  }

  /** Release intermediates made by {@linkcode KernelIo.run} / {@linkcode KernelIo.alloc}. */
  free(...infos: (tf.TensorInfo | undefined)[]): void {
    for (const info of infos) if (info !== undefined) this.backend.disposeData(info.dataId);
  }
}
