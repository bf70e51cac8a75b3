/**
 * The `native` TensorFlow.js backend: the wasm backend holds the tensors (so elementwise ops stay
 * on XNNPACK) and the heavy kernels run in oneDNN 2.x, loaded from the system library through
 * `Deno.dlopen`, reading and writing the wasm heap in place.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
import { DNNL_ENV_VAR, installHint, loadDnnl } from "./_dnnl.ts";
export { DnnlCallError, NativeBackendError } from "./errors.ts";
import {
  NATIVE_TUNE_ENV_VAR as NATIVE_TUNE,
  profileEntries,
  setProfiling,
  setTiming,
  timingOn,
  tunedChoices,
} from "./_tune.ts";
import { runThreads, setThreadPolicy } from "./_threads.ts";
import { setWinograd, winogradOn, withWinograd as winogradScope } from "./_winograd_conv.ts";
export type { ProfileEntry, TunedChoice } from "./tuning.ts";

/**
 * The environment variable naming a oneDNN library file (e.g. a 2.x build of your own).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { NATIVE_LIBRARY_ENV_VAR } from "@perceptual/loss/backend";
 * assert.equal(typeof NATIVE_LIBRARY_ENV_VAR, "string");
 * ```
 */
export const NATIVE_LIBRARY_ENV_VAR: string = DNNL_ENV_VAR;

/**
 * The environment variable that opts into timing-based tuning on `native` (`1`): the fastest
 * implementation per shape as timed in this process, and one thread while other processes crowd
 * the cores. Faster on some shapes, but NOT reproducible: results then differ in the last bits
 * from run to run.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { NATIVE_TUNE_ENV_VAR } from "@perceptual/loss/backend";
 * assert.equal(NATIVE_TUNE_ENV_VAR, "PERCEPTUAL_NATIVE_TUNE");
 * ```
 */
export const NATIVE_TUNE_ENV_VAR: string = NATIVE_TUNE;

/** Priority below wasm's (2): tfjs never picks `native` on its own, only `initBackend` does. */
const NATIVE_PRIORITY = 0;

interface EngineRegistry {
  registryFactory: Record<string, { factory: () => tf.KernelBackend | Promise<tf.KernelBackend> }>;
}

/**
 * Load oneDNN and register the `native` backend with TensorFlow.js (not yet activated): a second
 * wasm backend instance under its own name, carrying copies of wasm's stock kernels. Idempotent.
 *
 * @param wasmStockKernels wasm's own kernels (not this project's replacements), to copy.
 * @returns undefined when registered, else why not (with the command that installs oneDNN).
 */
export async function registerNativeBackend(
  wasmStockKernels: readonly tf.KernelConfig[],
): Promise<string | undefined> {
  const dnnl = loadDnnl();
  if (typeof dnnl === "string") return dnnl;
  if (tf.findBackendFactory("native") !== null) return undefined;
  try {
    await import("@tensorflow/tfjs-backend-wasm");
  } catch (e) {
    return `@tensorflow/tfjs-backend-wasm failed to load: ${e instanceof Error ? e.message : e}`;
  }
  const wasm = (tf.engine() as unknown as EngineRegistry).registryFactory["wasm"];
  if (wasm === undefined) return "the wasm backend did not register its factory";
  for (const k of wasmStockKernels) tf.registerKernel({ ...k, backendName: "native" });
  // The wasm factory makes a fresh wasm module each call: `native` owns its own heap.
  tf.registerBackend("native", wasm.factory, NATIVE_PRIORITY);
  return undefined;
}

/**
 * What the native backend runs on.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import type { NativeInfo } from "@perceptual/loss/backend";
 * const info: NativeInfo = {
 *   version: "2.6.3", path: "/usr/lib/libdnnl.so.2", primitives: [], threads: 2, tuning: "rule",
 *   winograd: true,
 * };
 * assert.equal(`oneDNN ${info.version}: ${info.primitives.length} tuned`, "oneDNN 2.6.3: 0 tuned");
 * ```
 */
export interface NativeInfo {
  /** oneDNN's version, e.g. `2.6.3`. */
  readonly version: string;
  /** The library file opened. */
  readonly path: string;
  /** The primitive chosen for each shape so far (implementation, weight layout, timings). */
  readonly primitives: readonly import("./tuning.ts").TunedChoice[];
  /** OpenMP threads of large primitives for the whole run (0: OpenMP not found). */
  readonly threads: number;
  /**
   * `rule` (reproducible: implementation by a fixed rule per shape, fixed thread count) or
   * `timed` (opt-in: fastest as timed in this process, load-aware threads; not reproducible).
   */
  readonly tuning: "rule" | "timed";
  /** Whether {@linkcode withWinograd} may use Winograd ({@linkcode NativeOptions.winograd}). */
  readonly winograd: boolean;
}

/**
 * The oneDNN library behind `native`, or why it cannot be used.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { nativeInfo } from "@perceptual/loss/backend";
 * const info = nativeInfo();
 * // a string saying why when libdnnl is absent, else the version found
 * assert.ok(typeof info === "string" ? info.length > 0 : /^\d+\.\d+/.test(info.version));
 * ```
 */
export function nativeInfo(): NativeInfo | string {
  const dnnl = loadDnnl();
  if (typeof dnnl === "string") return dnnl;
  return {
    version: dnnl.version,
    path: dnnl.path,
    primitives: tunedChoices(),
    threads: runThreads(dnnl.omp),
    tuning: timingOn() ? "timed" : "rule",
    winograd: winogradOn(),
  };
}

/**
 * How the native backend chooses; see {@linkcode configureNative}.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import type { NativeOptions } from "@perceptual/loss/backend";
 * const reproducible: NativeOptions = { tune: false, threads: 2 };
 * assert.equal(reproducible.threads, 2);
 * const direct: NativeOptions = { winograd: false }; // every convolution by the direct algorithm
 * assert.equal(direct.winograd, false);
 * ```
 */
export interface NativeOptions {
  /**
   * Time the candidate implementations per shape and keep the fastest, and drop to one thread
   * while other processes crowd the cores: faster on some shapes, NOT reproducible. Default:
   * `PERCEPTUAL_NATIVE_TUNE=1` in the environment, else off.
   */
  readonly tune?: boolean;
  /**
   * OpenMP threads for the run's large primitives. Default: the OpenMP pool size
   * (`OMP_NUM_THREADS`, else the cores). Results can depend on it: a resumed run should use the
   * count it started with.
   */
  readonly threads?: number;
  /**
   * Let {@linkcode withWinograd} run evaluation's forward 3×3 convolutions by oneDNN's Winograd
   * algorithm. Default `true`; `false` keeps every convolution direct.
   */
  readonly winograd?: boolean;
}

/**
 * Run `fn`, a synchronous evaluation computation (features of whole images, a model's
 * predictions), with the `native` backend's Winograd convolutions: forward 3×3 convolutions with
 * ≥ 64 input and output channels, stride 1, 'same' padding and ≥ 1,024 output pixels run by
 * oneDNN's Winograd algorithm (AVX-512 CPUs), 1.2–2.9× faster than the direct one. Results
 * differ from the direct convolution's by ~1e-5 of the outputs (the same bits run after run).
 * Convolutions through which a gradient is being computed stay direct, and so does everything
 * outside `fn` — a loss network's calibration, a training step's targets — so that training
 * gives the same numbers with or without it. On other backends, or after
 * `configureNative({ winograd: false })`, `fn` runs as it is. An async `fn`'s awaited parts run
 * without it.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as tf from "@tensorflow/tfjs-core";
 * import { initBackend, withWinograd } from "@perceptual/loss/backend";
 * await initBackend("cpu");
 * const x = tf.ones([1, 32, 32, 64]) as tf.Tensor4D;
 * const w = tf.fill([3, 3, 64, 64], 0.01) as tf.Tensor4D;
 * const y = withWinograd(() => tf.conv2d(x, w, 1, "same"));
 * // Pixel (1, 1), channel 0: 9 taps · 64 channels · 1 · 0.01.
 * assert.ok(Math.abs(y.dataSync()[(1 * 32 + 1) * 64]! - 5.76) < 1e-4);
 * tf.dispose([x, w, y]);
 * ```
 */
export function withWinograd<T>(fn: () => T): T {
  return winogradScope(fn);
}

/**
 * Set how `native` chooses implementations and threads (before training; choices made so far
 * are forgotten when the tuning mode changes). Leaving an option out restores its default.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { configureNative, nativeInfo } from "@perceptual/loss/backend";
 * configureNative({ threads: 1 });
 * const info = nativeInfo(); // a string saying why when oneDNN is absent
 * if (typeof info !== "string") assert.equal(`${info.threads} thread, ${info.tuning}`, "1 thread, rule");
 * configureNative({});
 * ```
 */
export function configureNative(options: NativeOptions): void {
  setThreadPolicy({ threads: options.threads });
  setTiming(options.tune);
  setWinograd(options.winograd);
}

/**
 * Start (`true`, clearing earlier figures) or stop timing every oneDNN call by operation and
 * shape; read the figures with {@linkcode nativeProfile}.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { nativeProfile, setNativeProfiling } from "@perceptual/loss/backend";
 * setNativeProfiling(true);
 * assert.equal(nativeProfile().length, 0);
 * setNativeProfiling(false);
 * ```
 */
export function setNativeProfiling(on: boolean): void {
  setProfiling(on);
}

/**
 * Time spent in oneDNN per operation and shape since profiling started, slowest first.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { nativeProfile } from "@perceptual/loss/backend";
 * for (const e of nativeProfile()) assert.ok(e.calls > 0 && e.ms >= 0, e.key);
 * ```
 */
export function nativeProfile(): import("./tuning.ts").ProfileEntry[] {
  return profileEntries();
}

export { installHint as nativeInstallHint };
