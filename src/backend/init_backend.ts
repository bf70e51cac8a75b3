/**
 * Choosing and starting the best TensorFlow.js backend present.
 *
 * @module
 */
import { readEnv } from "../_internal/env.ts";
import * as tf from "@tensorflow/tfjs-core";
import {
  BACKEND_NAMES,
  type BackendName,
  BackendUnavailableError,
  UnknownBackendError,
} from "./errors.ts";
import { installTrainingKernels, stockKernels } from "./training_kernels.ts";
import {
  configureNative,
  nativeInfo,
  type NativeOptions,
  registerNativeBackend,
} from "./native/mod.ts";
import { NATIVE_HOST, registerNativeHostBackend } from "./native/_host_backend.ts";
import { keepFreedMemory } from "./native/_host_malloc.ts";
import { loadDnnl } from "./native/_dnnl.ts";
import { adviseWasmHeap } from "./native/_huge_pages.ts";
import { wasmHeapBase } from "./native/_address.ts";
import { guardWebgpuSyncReads } from "./webgpu_sync_read.ts";
import { enableWasmThreads } from "./wasm_threads.ts";

/**
 * The environment variable that picks the backend when `initBackend` is called without one.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { BACKEND_ENV_VAR } from "@perceptual/loss/backend";
 * assert.equal(BACKEND_ENV_VAR, "PERCEPTUAL_BACKEND");
 * ```
 */
export const BACKEND_ENV_VAR: string = "PERCEPTUAL_BACKEND";

/**
 * A backend that was not chosen, and why.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { describeBackend, type SkippedBackend } from "@perceptual/loss/backend";
 * const webgpu: SkippedBackend = { name: "webgpu", why: "navigator.gpu is absent" };
 * const line = describeBackend({ name: "cpu", reason: "by name", skipped: [webgpu], kernels: [] });
 * assert.equal(line, "backend cpu (by name); skipped webgpu: navigator.gpu is absent");
 * // backend cpu (by name); skipped webgpu: navigator.gpu is absent
 * ```
 */
export interface SkippedBackend {
  /** The backend's name. */
  readonly name: BackendName;
  /** Why it was skipped: the real error text where it failed to start. */
  readonly why: string;
}

/**
 * What {@linkcode initBackend} chose.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { type BackendChoice, initBackend } from "@perceptual/loss/backend";
 * const choice: BackendChoice = await initBackend("cpu");
 * assert.equal(choice.name, "cpu");
 * assert.equal(choice.reason, "asked for by name");
 * assert.equal(choice.skipped.length, 0);
 * ```
 */
export interface BackendChoice {
  /** The backend now active in TensorFlow.js. */
  readonly name: BackendName;
  /** Why this one: asked for by name, by environment variable, or first to start in order. */
  readonly reason: string;
  /** The backends tried before it, or passed over, with the reason for each. */
  readonly skipped: readonly SkippedBackend[];
  /** Training kernels this library registered on it (e.g. `Conv2DBackpropFilter` on wasm). */
  readonly kernels: readonly string[];
}

/**
 * Turn a user-supplied string into a backend name, or throw {@linkcode UnknownBackendError}.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseBackendName } from "@perceptual/loss/backend";
 * assert.equal(parseBackendName(" WASM ", "--backend"), "wasm");
 * ```
 */
export function parseBackendName(text: string, source: string): BackendName {
  const name = text.trim().toLowerCase();
  if ((BACKEND_NAMES as readonly string[]).includes(name)) return name as BackendName;
  throw new UnknownBackendError(text, source);
}

function errorText(e: unknown): string {
  const text = e instanceof Error ? e.message : String(e);
  return text.split("\n")[0]!.slice(0, 400);
}

/** Runs `tf.setBackend`, capturing the warning tfjs prints instead of throwing when init fails. */
async function activate(name: string): Promise<string | undefined> {
  const warnings: string[] = [];
  const warn = console.warn;
  console.warn = (...args: unknown[]) => warnings.push(args.map(String).join(" "));
  try {
    const ok = await tf.setBackend(name);
    await tf.ready();
    if (ok && tf.getBackend() === name) return undefined;
    return warnings.length > 0
      ? warnings.join(" ").slice(0, 400)
      : `tf.setBackend('${name}') failed`;
  } catch (e) {
    return errorText(e);
  } finally {
    console.warn = warn;
  }
}

const TENSORFLOW_PACKAGES = ["@tensorflow/tfjs-node-gpu", "@tensorflow/tfjs-node"] as const;

function installedLocally(pkg: string): boolean {
  try {
    return Deno.statSync(`node_modules/${pkg}`).isDirectory;
  } catch {
    return false;
  }
}

async function startTensorflow(): Promise<string | undefined> {
  const reasons: string[] = [];
  for (const pkg of TENSORFLOW_PACKAGES) {
    // Importing an absent npm package would make Deno download it and its 300 MB of dependencies
    // only to fail on the missing native binding: only a package the user installed is tried.
    if (!installedLocally(pkg)) {
      reasons.push(`${pkg} is not installed`);
      continue;
    }
    try {
      const specifier = `npm:${pkg}@4.22.0`;
      await import(specifier);
    } catch (e) {
      reasons.push(`${pkg}: ${errorText(e)}`);
      continue;
    }
    const failed = await activate("tensorflow");
    if (failed === undefined) return undefined;
    reasons.push(`${pkg}: ${failed}`);
  }
  return `${reasons.join("; ")} (to enable it, in your project: \`deno install ` +
    "--allow-scripts=npm:@tensorflow/tfjs-node-gpu npm:@tensorflow/tfjs-node-gpu@4.22.0` with " +
    "CUDA 11.2 + cuDNN 8.1 present, or the same with tfjs-node for the CPU build)";
}

/**
 * Mesa's Vulkan loader prints "XDG_RUNTIME_DIR is invalid or not set" on every adapter query when
 * the variable is unset (containers, CI); a private temporary directory silences it.
 */
function quietVulkanLoader(): void {
  try {
    if (readEnv("XDG_RUNTIME_DIR") === undefined) {
      Deno.env.set("XDG_RUNTIME_DIR", Deno.makeTempDirSync({ prefix: "xdg-runtime-" }));
    }
  } catch {
    // Without --allow-env/--allow-write the message merely stays.
  }
}

async function startWebgpu(byName: boolean): Promise<string | undefined> {
  const gpu = (globalThis.navigator as { gpu?: GPU } | undefined)?.gpu;
  if (gpu === undefined) return "navigator.gpu is absent in this runtime";
  quietVulkanLoader();
  let adapter: GPUAdapter | null;
  try {
    adapter = await gpu.requestAdapter();
  } catch (e) {
    return `requestAdapter failed: ${errorText(e)}`;
  }
  if (adapter === null) {
    return "no WebGPU adapter (install a GPU driver with Vulkan, or mesa-vulkan-drivers for a " +
      "software one)";
  }
  const info = adapter.info;
  const software = info.isFallbackAdapter || /llvmpipe|swiftshader|lavapipe/i.test(
    `${info.description} ${info.device} ${info.architecture}`,
  );
  if (software && !byName) {
    return `only a software adapter (${info.description || info.device || "fallback"}), ` +
      "slower than wasm; ask for 'webgpu' by name to use it anyway";
  }
  try {
    await import("@tensorflow/tfjs-backend-webgpu");
  } catch (e) {
    return `@tensorflow/tfjs-backend-webgpu failed to load: ${errorText(e)}`;
  }
  const failed = await activate("webgpu");
  // Deno has no 2D canvas for tfjs's synchronous GPU reads: make their failure say so.
  if (failed === undefined) guardWebgpuSyncReads();
  return failed;
}

/**
 * The environment variable that asks for multi-threaded wasm (a thread count, e.g. `2`).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { WASM_THREADS_ENV_VAR } from "@perceptual/loss/backend";
 * assert.equal(WASM_THREADS_ENV_VAR, "PERCEPTUAL_WASM_THREADS");
 * ```
 */
export const WASM_THREADS_ENV_VAR: string = "PERCEPTUAL_WASM_THREADS";

/** Notes on the wasm start-up (threads asked for and what came of it), for the choice's reason. */
let wasmNote = "";

async function startWasm(): Promise<string | undefined> {
  const threads = Number(readEnv(WASM_THREADS_ENV_VAR) ?? "1");
  if (Number.isInteger(threads) && threads > 1 && tf.findBackend("wasm") === null) {
    try {
      const info = await enableWasmThreads({ threads });
      wasmNote = `; ${info.threads} threads (${WASM_THREADS_ENV_VAR})`;
    } catch (e) {
      // Threads are an optimisation: a single-threaded backend still trains correctly.
      wasmNote = `; single-threaded: ${WASM_THREADS_ENV_VAR}=${threads} failed (${errorText(e)})`;
    }
  }
  try {
    await import("@tensorflow/tfjs-backend-wasm");
  } catch (e) {
    return `@tensorflow/tfjs-backend-wasm failed to load: ${errorText(e)}`;
  }
  const failed = await activate("wasm");
  // The usual cause is a missing permission to read the .wasm binary from node_modules.
  return failed === undefined ? undefined : `${failed} (it needs --allow-read for its .wasm file)`;
}

/** Notes on the native start-up (oneDNN version, threads, tuning), for the choice's reason. */
let nativeNote = "";

async function startNative(options: NativeOptions): Promise<string | undefined> {
  // Made afresh on every start: a second initBackend("native") repeats nothing.
  let wasmThreadsNote = "";
  if (readEnv(WASM_THREADS_ENV_VAR) !== undefined && Number(readEnv(WASM_THREADS_ENV_VAR)) > 1) {
    // oneDNN's OpenMP pool already uses every core; wasm threads on top would oversubscribe them.
    wasmThreadsNote = `; ${WASM_THREADS_ENV_VAR} ignored: oneDNN uses its own threads`;
  }
  try {
    // wasm's stock kernels must be registered before they can be copied onto `native`.
    await import("@tensorflow/tfjs-backend-wasm");
  } catch (e) {
    return `@tensorflow/tfjs-backend-wasm failed to load: ${errorText(e)}`;
  }
  const why = await registerNativeBackend(stockKernels("wasm"));
  if (why !== undefined) return why;
  const failed = await activate("native");
  if (failed !== undefined) return `${failed} (it needs --allow-read for its .wasm file)`;
  configureNative(options);
  // Fresh memory costs a page fault per 4 KiB: huge pages for the heap, reuse for host memory
  // (the oneDNN kernels' weight copies and scratch buffers). Hints only: where either is not
  // available, memory is mapped as before.
  adviseWasmHeap(wasmHeapBase(tf.backend()));
  keepFreedMemory();
  nativeNote = oneDnnNote() + wasmThreadsNote;
  return undefined;
}

/** The oneDNN version, thread count and tuning mode, for a native backend's reason. */
function oneDnnNote(): string {
  const info = nativeInfo();
  return typeof info === "string"
    ? ""
    : `; oneDNN ${info.version}, ${info.threads} thread${info.threads === 1 ? "" : "s"}${
      info.tuning === "timed" ? ", timing-tuned (not reproducible)" : ""
    }${info.winograd ? "" : ", Winograd off"}`;
}

/** `native-host`: oneDNN kernels on tensors in host memory, no 4 GiB ceiling (./native/). */
async function startNativeHost(options: NativeOptions): Promise<string | undefined> {
  const why = await registerNativeHostBackend(() => stockKernels("cpu"));
  if (why !== undefined) return why;
  const failed = await activate(NATIVE_HOST);
  if (failed !== undefined) return failed;
  configureNative(options);
  nativeNote = `${oneDnnNote()}; tensors in host memory, ${keepFreedMemory()}`;
  return undefined;
}

async function startCpu(): Promise<string | undefined> {
  await import("@tensorflow/tfjs-backend-cpu");
  return await activate("cpu");
}

/**
 * Whether `order` asks for WebGPU before a native backend. Then oneDNN (and with it libgomp) is
 * loaded before the WebGPU probe: loaded after `navigator.gpu.requestAdapter()` had gone through
 * Mesa's Vulkan drivers, libgomp bound its worker thread to the JS thread's core instead of the
 * other one (`OMP_PROC_BIND=true`, ./native/_dnnl.ts), and every native primitive ran on one core:
 * measured on a 2-core AMD EPYC, a 256→256 conv on 128² took 170–180 ms instead of 106–110 ms,
 * and `examples/superres.ts --backend auto` (the default) evaluated 14 whole images in 35.3 s
 * instead of 21.6 s. Loading libdnnl does nothing else; where it is absent this changes nothing.
 */
function probesWebgpuBeforeNative(order: readonly BackendName[]): boolean {
  const webgpu = order.indexOf("webgpu");
  return webgpu >= 0 && order.some((n, i) => i > webgpu && (n === "native" || n === "native-host"));
}

function start(
  name: BackendName,
  byName: boolean,
  options: InitBackendOptions,
): Promise<string | undefined> {
  switch (name) {
    case "tensorflow":
      return startTensorflow();
    case "webgpu":
      return startWebgpu(byName);
    case "native":
      return startNative(nativeOptions(options));
    case "native-host":
      return startNativeHost(nativeOptions(options));
    case "wasm":
      return startWasm();
    case "cpu":
      return startCpu();
  }
}

function nativeOptions(o: InitBackendOptions): NativeOptions {
  return { tune: o.nativeTune, threads: o.nativeThreads, winograd: o.nativeWinograd };
}

/**
 * Options of {@linkcode initBackend} that tune a backend once it is chosen.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { initBackend, type InitBackendOptions } from "@perceptual/loss/backend";
 * const options: InitBackendOptions = { nativeThreads: 1 }; // ignored by backends other than native
 * assert.equal((await initBackend("cpu", options)).name, "cpu");
 * ```
 */
export interface InitBackendOptions {
  /**
   * `native` only: time the candidate implementations per shape and keep the fastest, and drop
   * to one thread while other processes crowd the cores. Faster on some shapes but NOT
   * reproducible (results differ in the last bits run to run). Default: the environment variable
   * `PERCEPTUAL_NATIVE_TUNE=1`, else off (a fixed rule per shape: bit-identical runs).
   */
  readonly nativeTune?: boolean;
  /**
   * `native` only: OpenMP threads for the whole run. Default `OMP_NUM_THREADS`, else the cores.
   * Results can depend on it, so a resumed run should pass the count it started with.
   */
  readonly nativeThreads?: number;
  /**
   * `native` only: evaluation's forward 3×3 convolutions (inside `withWinograd`) by oneDNN's
   * Winograd algorithm where it is faster. Default true; `false` keeps every convolution direct
   * (results then differ from wasm's only by summation order).
   */
  readonly nativeWinograd?: boolean;
  /**
   * In the default order (nothing asked for by name or environment variable), try `native-host`
   * before `native`: for steps that would not fit `native`'s 4 GiB wasm heap. Default false.
   */
  readonly hostMemoryFirst?: boolean;
}

/**
 * Pick and start a TensorFlow.js backend, and install the training kernels it lacks.
 *
 * Order when nothing is asked for: `tensorflow` (tfjs-node-gpu, then tfjs-node, when installed),
 * `webgpu` (only with a hardware adapter), `native` (oneDNN 2.x through Deno FFI, when the system
 * library is present: `apt-get install libdnnl2` / `brew install onednn`, or a file named by
 * `PERCEPTUAL_DNNL`), `native-host` (the same oneDNN kernels on tensors in host memory: no 4 GiB
 * ceiling), `wasm`, `cpu`. An explicit `prefer` wins; otherwise the
 * environment variable `PERCEPTUAL_BACKEND` (a name or a comma-separated list) is honoured. A
 * backend asked for by name is tried even where automatic mode would pass it over (a software
 * WebGPU adapter, say).
 *
 * On `native`, runs are reproducible by default: each shape's implementation follows a fixed rule
 * and the thread count is fixed for the run (see {@linkcode InitBackendOptions}).
 *
 * @param prefer a backend name, or names to try in order.
 * @param options backend tuning: `nativeTune`, `nativeThreads`.
 * @returns which backend is active, why, and why each one before it was skipped.
 * @throws {UnknownBackendError} for a name that is not a backend.
 * @throws {BackendUnavailableError} when none of the requested backends starts.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { initBackend } from "@perceptual/loss/backend";
 * const choice = await initBackend("cpu");
 * assert.equal(choice.name, "cpu");
 * assert.equal(choice.reason, "asked for by name");
 * ```
 */
export async function initBackend(
  prefer?: BackendName | string | readonly (BackendName | string)[],
  options: InitBackendOptions = {},
): Promise<BackendChoice> {
  // Done here, not on import, so importing the library changes nothing. tfjs-core alone
  // registers no gradients under Deno; tfjs-layers' bundle registers them all.
  await import("@tensorflow/tfjs-layers");
  // Silences the "running TensorFlow.js in Node.js" banner and tfjs' per-op debug checks.
  tf.enableProdMode();
  let order: BackendName[];
  let reason: string;
  let byName: boolean;
  if (prefer !== undefined) {
    const list = typeof prefer === "string" ? prefer.split(",") : [...prefer];
    order = list.map((p) => parseBackendName(p, "initBackend's argument"));
    reason = "asked for by name";
    byName = true;
  } else {
    const fromEnv = readEnv(BACKEND_ENV_VAR);
    if (fromEnv !== undefined) {
      order = fromEnv.split(",").map((p) => parseBackendName(p, BACKEND_ENV_VAR));
      reason = `${BACKEND_ENV_VAR}=${fromEnv}`;
      byName = true;
    } else {
      order = [...BACKEND_NAMES];
      if (options.hostMemoryFirst === true) {
        order.splice(order.indexOf("native-host"), 1);
        order.splice(order.indexOf("native"), 0, "native-host");
      }
      reason = "first in the default order to start";
      byName = false;
    }
  }
  const skipped: SkippedBackend[] = [];
  if (probesWebgpuBeforeNative(order)) loadDnnl();
  for (const name of order) {
    const failed = await start(name, byName, options);
    if (failed === undefined) {
      const kernels = installTrainingKernels(name);
      const note = name === "wasm"
        ? wasmNote
        : name === "native" || name === "native-host"
        ? nativeNote
        : "";
      return { name, reason: reason + note, skipped, kernels };
    }
    skipped.push({ name, why: failed });
  }
  throw new BackendUnavailableError(skipped);
}

/**
 * A one-line description of a {@linkcode BackendChoice}, for logs and progress headers.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { describeBackend } from "@perceptual/loss/backend";
 * const line = describeBackend({ name: "wasm", reason: "first in the default order to start",
 *   skipped: [{ name: "webgpu", why: "no adapter" }], kernels: [] });
 * assert.equal(
 *   line,
 *   "backend wasm (first in the default order to start); skipped webgpu: no adapter",
 * );
 * ```
 */
export function describeBackend(choice: BackendChoice): string {
  const skipped = choice.skipped.map((s) => `${s.name}: ${s.why}`).join("; ");
  return `backend ${choice.name} (${choice.reason})${skipped ? `; skipped ${skipped}` : ""}`;
}
