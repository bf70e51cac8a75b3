/**
 * Per-shape choice between equivalent primitives (timed once, on first use), and an optional
 * per-primitive time profile. Internal to the native backend.
 *
 * @module
 */

/** What was chosen for one primitive key, and how each candidate timed. */
export interface TunedChoice {
  /** Operation and shape, e.g. `conv_fwd+bias+relu x[4,64,64,64] w[3,3,64,64] s1,1 p1,1,1,1`. */
  readonly key: string;
  /** The chosen candidate (implementation name and weight layout). */
  readonly chosen: string;
  /** Each candidate's best time in ms (or why it could not be built). */
  readonly timings: readonly string[];
}

const choices = new Map<string, { plan: unknown; info: TunedChoice }>();

/**
 * The tuned plan for `key`: on first use, build every candidate, time `run` on each (best of two
 * after a warm-up) and keep the fastest. `undefined` when no candidate could be built.
 */
export function tune<T extends object>(
  key: string,
  builders: readonly (() => T | undefined)[],
  run: (candidate: T) => void,
): T | undefined {
  const known = choices.get(key);
  if (known !== undefined) return known.plan as T | undefined;
  let best: T | undefined;
  let bestMs = Infinity;
  const timings: string[] = [];
  for (const build of builders) {
    let candidate: T | undefined;
    try {
      candidate = build();
    } catch (e) {
      timings.push(`build failed: ${e instanceof Error ? e.message : String(e)}`);
      continue;
    }
    if (candidate === undefined) {
      timings.push("no implementation");
      continue;
    }
    // A single candidate needs no timing; the first run pays for JIT code generation anyway.
    if (builders.length === 1) {
      best = candidate;
      timings.push(String(candidate));
      break;
    }
    run(candidate);
    let ms = Infinity;
    for (let i = 0; i < 2; i++) {
      const t0 = performance.now();
      run(candidate);
      ms = Math.min(ms, performance.now() - t0);
    }
    timings.push(`${candidate}: ${ms.toFixed(2)} ms`);
    if (ms < bestMs) {
      bestMs = ms;
      best = candidate;
    }
  }
  choices.set(key, { plan: best, info: { key, chosen: String(best ?? "none"), timings } });
  return best;
}

/** Every primitive chosen so far, for reports (`DNNL_VERBOSE=1` shows the same from oneDNN). */
export function tunedChoices(): TunedChoice[] {
  return [...choices.values()].map((c) => c.info);
}

/** Accumulated time per primitive key while profiling is on. */
export interface ProfileEntry {
  readonly key: string;
  readonly calls: number;
  readonly ms: number;
}

let profiling = false;
const profile = new Map<string, { calls: number; ms: number }>();

/** Start (clearing) or stop the per-primitive time profile. */
export function setProfiling(on: boolean): void {
  profiling = on;
  if (on) profile.clear();
}

/** The profile collected since {@linkcode setProfiling}`(true)`, slowest first. */
export function profileEntries(): ProfileEntry[] {
  return [...profile.entries()].map(([key, v]) => ({ key, ...v })).sort((a, b) => b.ms - a.ms);
}

/** Run `f`, adding its time to `key` when profiling. */
export function record(key: string, f: () => void): void {
  if (!profiling) {
    f();
    return;
  }
  const t0 = performance.now();
  f();
  const e = profile.get(key) ?? { calls: 0, ms: 0 };
  e.calls++;
  e.ms += performance.now() - t0;
  profile.set(key, e);
}
