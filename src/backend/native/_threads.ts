/**
 * How many OpenMP threads each oneDNN primitive gets. Internal to the native backend.
 *
 * Reproducible by default: the run's thread count is fixed when the backend starts (from
 * `OMP_NUM_THREADS`, else the cores, or `initBackend`'s `nativeThreads`), and each primitive's
 * count follows from its shape alone. Results can depend on the count (a reduction split over
 * threads adds in another order), so it is reported with the backend and examples store it in
 * `config.json` to restore it on resume.
 *
 * Two threads only pay when both run at once. A small primitive (a U-Net conv at 8×8, a Gram
 * gradient) finishes before the second thread's share outweighs the barrier, so primitives
 * below {@linkcode SMALL_FLOPS} always run on one thread (a rule of the shape: reproducible).
 * On a machine whose cores are busy with other processes every barrier waits for a descheduled
 * partner: a training step measured 2.3–2.5 s with two threads and 0.5–0.9 s with one at load
 * 9–12 on two cores. The load-aware policy (one thread while the 1-minute load average says the
 * cores are crowded) is therefore kept, but only as an opt-in (`PERCEPTUAL_NATIVE_TUNE=1`): it
 * makes results depend on the machine's load. A primitive is created and run under the same
 * thread count (oneDNN sizes its per-thread scratch buffers when it is created), so the count is
 * part of each primitive's cache key.
 *
 * @module
 */

import { readEnv } from "../../_internal/env.ts";
import { timingOn } from "./_tune.ts";

/** libgomp's (or LLVM libomp's) thread-count controls. */
export interface OpenMp {
  setThreads(n: number): void;
  /** The pool size when the library loaded (cores, or OMP_NUM_THREADS). */
  readonly maxThreads: number;
}

function openMpCandidates(): string[] {
  switch (Deno.build.os) {
    case "darwin":
      return ["libomp.dylib", "/opt/homebrew/opt/libomp/lib/libomp.dylib", "libgomp.1.dylib"];
    case "linux":
      return ["libgomp.so.1", "libomp.so.5", "libomp.so"];
    default:
      return [];
  }
}

/** The OpenMP runtime oneDNN loaded, or undefined (then oneDNN keeps its own default). */
export function loadOpenMp(): OpenMp | undefined {
  for (const path of openMpCandidates()) {
    try {
      const lib = Deno.dlopen(path, {
        omp_set_num_threads: { parameters: ["i32"], result: "void" },
        omp_get_max_threads: { parameters: [], result: "i32" },
      });
      const maxThreads = lib.symbols.omp_get_max_threads();
      return { setThreads: (n) => lib.symbols.omp_set_num_threads(n), maxThreads };
    } catch {
      // Not this runtime: try the next name.
    }
  }
  return undefined;
}

/** Below this many flops a primitive runs on one thread (≈0.3 ms of one AVX-512 core). */
export const SMALL_FLOPS = 2e7;
/** How often the load average is read (load-aware policy only). */
const LOAD_EVERY_MS = 2000;

let current = 0;
let crowdedUntil = 0;
let crowded = false;
/** The run's thread count when set explicitly (else the OpenMP pool size). */
let fixed: number | undefined;
/** The load-aware policy, when set explicitly (else on with timing-based tuning). */
let loadAware: boolean | undefined;

/**
 * Fix the run's thread count (`undefined`: the OpenMP pool size, i.e. `OMP_NUM_THREADS` or the
 * cores) and whether the load-aware policy is on.
 */
export function setThreadPolicy(policy: { threads?: number; loadAware?: boolean }): void {
  if (
    policy.threads !== undefined && !(Number.isInteger(policy.threads) && policy.threads >= 1)
  ) {
    throw new RangeError(`native thread count must be an integer >= 1, got ${policy.threads}`);
  }
  fixed = policy.threads;
  loadAware = policy.loadAware;
}

/**
 * The default thread count: `OMP_NUM_THREADS` (its first number), else the logical cores. Read
 * here rather than from libgomp's pool size, which is not stable: after the WebGPU probe of
 * `initBackend`'s default order (Mesa's llvmpipe loaded in the process), libgomp started with a
 * pool of 1 on a 2-core machine, while a process that started `native` directly got 2.
 */
function defaultThreads(): number {
  const env = Number.parseInt(readEnv("OMP_NUM_THREADS") ?? "", 10);
  if (Number.isInteger(env) && env >= 1) return env;
  const cores = globalThis.navigator?.hardwareConcurrency;
  return typeof cores === "number" && cores >= 1 ? cores : 1;
}

/** The run's thread count: what large primitives run on (0 where OpenMP was not found). */
export function runThreads(omp: OpenMp | undefined): number {
  if (omp === undefined) return 0;
  return fixed ?? defaultThreads();
}

/** Whether other processes crowd the cores (1-minute load above ours + 1.5), re-read every 2 s. */
function coresCrowded(n: number): boolean {
  const now = performance.now();
  if (now < crowdedUntil) return crowded;
  crowdedUntil = now + LOAD_EVERY_MS;
  try {
    crowded = Deno.loadavg()[0]! > n + 1.5;
  } catch {
    crowded = false; // no --allow-sys: assume idle cores
  }
  return crowded;
}

/**
 * The thread count for a primitive of `flops` work (0: leave OpenMP alone), and a tag for its
 * cache key: one thread below {@linkcode SMALL_FLOPS}, the run's count above (or one while the
 * cores are crowded, with the load-aware policy on).
 */
export function threadsFor(omp: OpenMp | undefined, flops: number): number {
  const n = runThreads(omp);
  if (n === 0) return 0;
  if (n === 1) return 1;
  return flops < SMALL_FLOPS || ((loadAware ?? timingOn()) && coresCrowded(n)) ? 1 : n;
}

/** Run `f` with OpenMP set to `n` threads (0: as it is). */
export function withThreads<T>(omp: OpenMp | undefined, n: number, f: () => T): T {
  if (omp !== undefined && n > 0 && n !== current) {
    omp.setThreads(n);
    current = n;
  }
  return f();
}
