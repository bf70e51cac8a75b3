/**
 * The `native-host` backend: the same oneDNN kernels as `native`, with tensors in host memory
 * instead of the wasm heap, so that a step may hold more than 4 GiB.
 *
 * Why host arrays (measured in Deno 2.9.6 before choosing): `native` keeps every tensor in one
 * wasm32 heap that cannot grow past 4 GiB (tfjs-backend-wasm 4.22 is not built for memory64). The
 * cpu backend's store holds one JS TypedArray per tensor, each its own ArrayBuffer outside V8's
 * heap: six 1 GiB Float32Arrays, a single 5 GiB ArrayBuffer and a Float32Array of 2³² + 16
 * elements all allocated without complaint, so the only ceiling left is the machine's memory.
 * `Deno.UnsafePointer.of` hands oneDNN those arrays in place (./_address.ts), so the kernels are
 * `native`'s own, reused; every kernel oneDNN does not run is the cpu backend's (JS, one thread),
 * except the hot element-wise kernels ./_host_kernels.ts moves onto oneDNN. The alternative, a
 * data store of `malloc`ed memory, would free tensors at once instead of at the next garbage
 * collection, but would need every JS kernel rewritten against it and would turn a late read of a
 * disposed tensor into a use-after-free; ./_host_store.ts gets the prompt freeing for the arrays
 * the backend makes itself, safely. Internal to the native backends.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
import { loadDnnl } from "./_dnnl.ts";
import { freeOnDispose } from "./_host_store.ts";

/** The backend's registry name. */
export const NATIVE_HOST = "native-host";

/** Priority below cpu's (1): tfjs never picks `native-host` on its own, only `initBackend` does. */
const NATIVE_HOST_PRIORITY = 0;

interface EngineRegistry {
  registryFactory: Record<string, { factory: () => tf.KernelBackend | Promise<tf.KernelBackend> }>;
}

/**
 * Register `native-host` with TensorFlow.js (not yet activated): a cpu backend instance under its
 * own name, carrying copies of the cpu backend's stock kernels. Idempotent.
 *
 * @param cpuStockKernels the cpu backend's own kernels (not this project's replacements), to copy.
 * @returns undefined when registered, else why not (with the command that installs oneDNN).
 */
export async function registerNativeHostBackend(
  cpuStockKernels: () => readonly tf.KernelConfig[],
): Promise<string | undefined> {
  const dnnl = loadDnnl();
  if (typeof dnnl === "string") return dnnl;
  if (tf.findBackendFactory(NATIVE_HOST) !== null) return undefined;
  try {
    await import("@tensorflow/tfjs-backend-cpu");
  } catch (e) {
    return `@tensorflow/tfjs-backend-cpu failed to load: ${e instanceof Error ? e.message : e}`;
  }
  const cpu = (tf.engine() as unknown as EngineRegistry).registryFactory["cpu"];
  if (cpu === undefined) return "the cpu backend did not register its factory";
  for (const k of cpuStockKernels()) tf.registerKernel({ ...k, backendName: NATIVE_HOST });
  // The cpu factory makes a fresh MathBackendCPU (its own store) on each call; its kernels'
  // arrays are then freed as soon as no tensor uses them (./_host_store.ts).
  const factory = async () => freeOnDispose(await cpu.factory());
  tf.registerBackend(NATIVE_HOST, factory, NATIVE_HOST_PRIORITY);
  return undefined;
}
