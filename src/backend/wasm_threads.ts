/**
 * Opt-in multi-threaded wasm under Deno (experimental; tied to @tensorflow/tfjs-backend-wasm
 * 4.22.0's internals).
 *
 * TensorFlow.js never starts its threaded wasm build outside a browser: its
 * `WASM_HAS_MULTITHREAD_SUPPORT` flag is false whenever it detects Node (Deno looks like Node),
 * and when forced, emscripten hands `node:worker_threads` a `blob:` URL for the pthread worker,
 * which Deno rejects (`ERR_WORKER_PATH`). {@linkcode enableWasmThreads} works around both: it
 * writes the pthread worker script to a real `.cjs` file (patched to load the threaded module
 * from the package's own `wasm-out/` file instead of a Blob, and to tolerate Deno's read-only
 * `location`), serves that path instead of the Blob URL, forces the flag, and lets emscripten see
 * enough cores for the requested thread count (tfjs uses half the logical cores). The pthread
 * workers are unref'd so they do not keep the process alive.
 *
 * Needs `--allow-read`, `--allow-write` (a temporary file), `--allow-sys=cpus` and
 * `--allow-env`. Call it BEFORE the wasm backend first starts (before `initBackend("wasm")`).
 *
 * @module
 */
import { PerceptualError } from "../errors/perceptual_error.ts";
import * as tf from "@tensorflow/tfjs-core";
import { startedBackend } from "../_internal/engine.ts";
import { createRequire } from "node:module";

/**
 * Options of {@linkcode enableWasmThreads}.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import type { WasmThreadsOptions } from "@perceptual/loss/backend";
 * function threadsFrom(value: string | undefined): WasmThreadsOptions {
 *   const n = Number(value);
 *   return Number.isInteger(n) && n > 1 ? { threads: n } : {}; // {}: all cores, at most 8
 * }
 * assert.deepEqual(threadsFrom("4"), { threads: 4 });
 * assert.deepEqual(threadsFrom(undefined), {});
 * ```
 */
export interface WasmThreadsOptions {
  /** Worker threads for XNNPACK's thread pool (default: the machine's logical cores, at most 8). */
  readonly threads?: number;
}

/**
 * What {@linkcode enableWasmThreads} started.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import type { WasmThreadsInfo } from "@perceptual/loss/backend";
 * const info: WasmThreadsInfo = { threads: 4, initMs: 180 }; // as enableWasmThreads returns it
 * assert.equal(`${info.threads} threads, up in ${info.initMs} ms`, "4 threads, up in 180 ms");
 * ```
 */
export interface WasmThreadsInfo {
  /** Threads the wasm backend reports (`getThreadsCount()`). */
  readonly threads: number;
  /** Milliseconds spent starting the threaded backend. */
  readonly initMs: number;
}

/**
 * Thrown when threaded wasm cannot be started; the message says why and what to do.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { WasmThreadsError } from "@perceptual/loss/backend";
 * import { PerceptualError } from "@perceptual/loss";
 * const e = new WasmThreadsError("no SharedArrayBuffer; run with a thread count of 1");
 * assert.ok(e instanceof PerceptualError);
 * ```
 */
export class WasmThreadsError extends PerceptualError {
  /** Build the error. */
  constructor(message: string) {
    super(message);
  }
}

interface WasmPackage {
  setThreadsCount(n: number): void;
  getThreadsCount(): number;
}

interface PThreadLike {
  unusedWorkers: { unref?: () => void }[];
  runningWorkers: { unref?: () => void }[];
}

// The exact source fragments patched below (tfjs-backend-wasm 4.22.0's pthread worker).
const LOCATION_ASSIGN = "location:{href:__filename},";
const BLOB_IMPORT = 'if(typeof e.data.urlOrBlob=="string"){importScripts(e.data.urlOrBlob)}' +
  "else{var objectUrl=URL.createObjectURL(e.data.urlOrBlob);importScripts(objectUrl);" +
  "URL.revokeObjectURL(objectUrl)}";

let started: WasmThreadsInfo | undefined;

function patchedWorkerSource(wasmOut: URL): string {
  const require = createRequire(import.meta.url);
  const workerModule = require(
    decodeURIComponent(new URL("tfjs-backend-wasm-threaded-simd.worker.js", wasmOut).pathname),
  ) as { wasmWorkerContents?: string };
  const contents = workerModule.wasmWorkerContents;
  if (
    contents === undefined || !contents.includes(LOCATION_ASSIGN) || !contents.includes(BLOB_IMPORT)
  ) {
    throw new WasmThreadsError(
      "the pthread worker of @tensorflow/tfjs-backend-wasm is not the 4.22.0 one this patch " +
        "knows; use the single-threaded wasm backend (initBackend('wasm'))",
    );
  }
  const mainScript = decodeURIComponent(
    new URL("tfjs-backend-wasm-threaded-simd.js", wasmOut).pathname,
  );
  // tfjs escapes newlines the same way before it builds its Blob.
  const source = contents.replace(/\n/g, "\\n")
    .replace(LOCATION_ASSIGN, "")
    .replace(BLOB_IMPORT, `importScripts(${JSON.stringify(mainScript)});`);
  return 'try{Object.defineProperty(globalThis,"location",{value:{href:__filename},' +
    "writable:true,configurable:true})}catch(e){}\n" + source;
}

/**
 * Start TensorFlow.js's threaded wasm build under Deno and make `wasm` the active backend. Call it
 * once, before `initBackend("wasm")` (which then finds wasm started and installs the training
 * kernels). Idempotent once it succeeded.
 *
 * @throws {WasmThreadsError} when the single-threaded wasm backend already started, the package
 *   is not the version this patch knows, a permission is missing, or the threaded build fails.
 *
 * @example
 * ```ts ignore
 * import assert from "node:assert/strict";
 * import { enableWasmThreads, initBackend } from "@perceptual/loss/backend";
 * const { threads } = await enableWasmThreads({ threads: 2 });
 * await initBackend("wasm");
 * assert.equal(threads, 2);
 * ```
 */
export async function enableWasmThreads(
  options: WasmThreadsOptions = {},
): Promise<WasmThreadsInfo> {
  if (started !== undefined) return started;
  if (startedBackend("wasm") !== undefined) {
    throw new WasmThreadsError(
      "the wasm backend already started single-threaded; call enableWasmThreads() before " +
        "initBackend('wasm') or tf.setBackend('wasm')",
    );
  }
  const pkg = await import("@tensorflow/tfjs-backend-wasm") as unknown as WasmPackage;
  const entry = new URL(import.meta.resolve("@tensorflow/tfjs-backend-wasm"));
  const wasmOut = new URL("../wasm-out/", entry);
  let os: { cpus: () => unknown[] };
  let threads: number;
  let workerPath: string;
  let dir: string;
  try {
    os = createRequire(import.meta.url)("os");
    threads = Math.max(1, Math.floor(options.threads ?? Math.min(8, os.cpus().length)));
    dir = await Deno.makeTempDir({ prefix: "perceptual-wasm-threads-" });
    workerPath = `${dir}/pthread_worker.cjs`;
    await Deno.writeTextFile(workerPath, patchedWorkerSource(wasmOut));
  } catch (e) {
    if (e instanceof WasmThreadsError) throw e;
    throw new WasmThreadsError(
      `cannot prepare the pthread worker (${e instanceof Error ? e.message : e}); it needs ` +
        "--allow-read, --allow-write, --allow-sys=cpus and --allow-env",
    );
  }
  tf.env().set("WASM_HAS_MULTITHREAD_SUPPORT", true);
  pkg.setThreadsCount(threads);
  const cpus = os.cpus;
  const createObjectURL = URL.createObjectURL;
  // emscripten sizes its pool from the core count, and tfjs then uses half of it.
  os.cpus = () => {
    const list = cpus.call(os);
    while (list.length < 2 * threads) list.push(list[0]);
    return list;
  };
  URL.createObjectURL = (obj: Blob) =>
    obj instanceof Blob && obj.type === "application/javascript"
      ? workerPath
      : createObjectURL.call(URL, obj);
  const t0 = performance.now();
  let ok = false;
  let why = "";
  try {
    ok = await tf.setBackend("wasm");
    await tf.ready();
  } catch (e) {
    why = e instanceof Error ? e.message : String(e);
  } finally {
    os.cpus = cpus;
    URL.createObjectURL = createObjectURL;
  }
  if (!ok || tf.getBackend() !== "wasm") {
    tf.env().set("WASM_HAS_MULTITHREAD_SUPPORT", false);
    throw new WasmThreadsError(`the threaded wasm backend did not start${why ? `: ${why}` : ""}`);
  }
  const backend = tf.backend() as unknown as { wasm: { PThread?: PThreadLike } };
  const pthread = backend.wasm.PThread;
  // Idle pool workers would keep Deno running after the program's last line.
  for (const w of [...(pthread?.unusedWorkers ?? []), ...(pthread?.runningWorkers ?? [])]) {
    w.unref?.();
  }
  await Deno.remove(dir, { recursive: true }).catch(() => {});
  started = { threads: pkg.getThreadsCount(), initMs: performance.now() - t0 };
  return started;
}
