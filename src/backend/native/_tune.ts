/**
 * Per-shape choice between equivalent primitives (timed once, on first use), and an optional
 * per-primitive time profile. Internal to the native backend.
 *
 * @module
 */
import type { ProfileEntry, TunedChoice } from "./tuning.ts";

const choices = new Map<string, { plan: unknown; info: TunedChoice }>();

/** Timed rounds per candidate; candidates alternate, so a scheduler hiccup hits one round. */
const ROUNDS = 4;
/** A later candidate must beat the first (oneDNN's own choice of layout) by this factor. */
const MARGIN = 0.9;

/**
 * The tuned plan for `key`: on first use, build every candidate, run each once (JIT and cache
 * warm-up), then time them in alternation for a few rounds and keep the first candidate unless
 * another's best time beats it by 10% (on a shared machine a single run can be 10× off).
 * `undefined` when no candidate could be built.
 */
export function tune<T extends object>(
  key: string,
  builders: readonly (() => T | undefined)[],
  run: (candidate: T) => void,
): T | undefined {
  const known = choices.get(key);
  if (known !== undefined) return known.plan as T | undefined;
  const built: { candidate: T; ms: number }[] = [];
  const notes: string[] = [];
  for (const build of builders) {
    try {
      const candidate = build();
      if (candidate === undefined) notes.push("no implementation");
      else built.push({ candidate, ms: Infinity });
    } catch (e) {
      notes.push(`build failed: ${e instanceof Error ? e.message : String(e)}`);
    }
  }
  if (built.length > 1) {
    for (const b of built) run(b.candidate);
    for (let round = 0; round < ROUNDS; round++) {
      for (const b of built) {
        const t0 = performance.now();
        run(b.candidate);
        b.ms = Math.min(b.ms, performance.now() - t0);
      }
    }
  }
  let best = built[0];
  for (const b of built.slice(1)) if (best !== undefined && b.ms < MARGIN * best.ms) best = b;
  const timings = [
    ...built.map((
      b,
    ) => (b.ms === Infinity ? String(b.candidate) : `${b.candidate}: ${b.ms.toFixed(2)} ms`)),
    ...notes,
  ];
  const plan = best?.candidate;
  choices.set(key, { plan, info: { key, chosen: String(plan ?? "none"), timings } });
  return plan;
}

/** Every primitive chosen so far, for reports (`DNNL_VERBOSE=1` shows the same from oneDNN). */
export function tunedChoices(): TunedChoice[] {
  return [...choices.values()].map((c) => c.info);
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
