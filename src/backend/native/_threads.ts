/**
 * How many OpenMP threads each oneDNN primitive gets. Internal to the native backend.
 *
 * Two threads only pay when both run at once. A small primitive (a U-Net conv at 8×8, a Gram
 * gradient) finishes before the second thread's share outweighs the barrier, and on a machine
 * whose cores are busy with other processes every barrier waits for a descheduled partner: a
 * training step measured 2.3–2.5 s with two threads and 0.5–0.9 s with one at load 9–12 on two
 * cores, where the idle-machine step takes ~0.2 s with two. So small primitives always run on
 * one thread, and all of them do while the 1-minute load average says the cores are crowded.
 * A primitive is created and run under the same thread count (oneDNN sizes its per-thread
 * scratch buffers when it is created), so the count is part of each primitive's cache key.
 *
 * @module
 */

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
const SMALL_FLOPS = 2e7;
/** How often the load average is read. */
const LOAD_EVERY_MS = 2000;

let current = 0;
let crowdedUntil = 0;
let crowded = false;

/** Whether other processes crowd the cores (1-minute load above ours + 1.5), re-read every 2 s. */
function coresCrowded(omp: OpenMp): boolean {
  const now = performance.now();
  if (now < crowdedUntil) return crowded;
  crowdedUntil = now + LOAD_EVERY_MS;
  try {
    crowded = Deno.loadavg()[0]! > omp.maxThreads + 1.5;
  } catch {
    crowded = false; // no --allow-sys: assume idle cores
  }
  return crowded;
}

/**
 * The thread count for a primitive of `flops` work (0: leave OpenMP alone), and a tag for its
 * cache key.
 */
export function threadsFor(omp: OpenMp | undefined, flops: number): number {
  if (omp === undefined || omp.maxThreads <= 1) return 0;
  return flops < SMALL_FLOPS || coresCrowded(omp) ? 1 : omp.maxThreads;
}

/** Run `f` with OpenMP set to `n` threads (0: as it is). */
export function withThreads<T>(omp: OpenMp | undefined, n: number, f: () => T): T {
  if (omp !== undefined && n > 0 && n !== current) {
    omp.setThreads(n);
    current = n;
  }
  return f();
}
