/**
 * Per-shape choice between equivalent primitives, and an optional per-primitive time profile.
 * Internal to the native backend.
 *
 * By default the choice is a fixed rule: the candidates come in the order the caller's rule
 * prefers them and the first one oneDNN can build is kept, so the same shape gets the same
 * implementation in every process on the same CPU and oneDNN version, and results are
 * bit-identical run after run. Timing the candidates on first use and keeping the fastest (what
 * cuDNN's `benchmark` mode does) is opt-in (`PERCEPTUAL_NATIVE_TUNE=1`, or
 * `initBackend(…, { nativeTune: true })`): the winner then depends on the machine's load at that
 * moment, and numbers differ in the last bits from run to run.
 *
 * @module
 */
import { readEnv } from "../../_internal/env.ts";
import type { ProfileEntry, TunedChoice } from "./tuning.ts";

/** A candidate implementation: a name for reports, and a way to free its oneDNN objects. */
export interface Candidate {
  toString(): string;
  /** Destroy the oneDNN objects it owns (called on candidates that lose the timing). */
  destroy?(): void;
}

/** The environment variable that turns on timing-based choice (`1`, `true` or `yes`). */
export const NATIVE_TUNE_ENV_VAR = "PERCEPTUAL_NATIVE_TUNE";

const choices = new Map<string, { plan: unknown; info: TunedChoice }>();

/** Timed rounds per candidate; candidates alternate, so a scheduler hiccup hits one round. */
const ROUNDS = 4;
/** A later candidate must beat the first (the rule's choice) by this factor. */
const MARGIN = 0.9;

let timed: boolean | undefined;

/** Whether candidates are timed (opt-in) rather than chosen by the fixed rule. */
export function timingOn(): boolean {
  timed ??= /^(1|true|yes|on)$/i.test(readEnv(NATIVE_TUNE_ENV_VAR) ?? "");
  return timed;
}

/**
 * Choose by timing (`true`) or by the fixed rule (`false`); `undefined` goes back to the
 * environment variable. Choices made so far are forgotten (and their primitives destroyed).
 */
export function setTiming(on: boolean | undefined): void {
  const before = timingOn();
  timed = on;
  if (timingOn() === before) return;
  for (const c of choices.values()) (c.plan as Candidate | undefined)?.destroy?.();
  choices.clear();
}

function buildAll<T extends Candidate>(
  builders: readonly (() => T | undefined)[],
  notes: string[],
  firstOnly: boolean,
): T[] {
  const built: T[] = [];
  for (const build of builders) {
    try {
      const candidate = build();
      if (candidate === undefined) notes.push("no implementation");
      else {
        built.push(candidate);
        if (firstOnly) break;
      }
    } catch (e) {
      notes.push(`build failed: ${e instanceof Error ? e.message : String(e)}`);
    }
  }
  return built;
}

/**
 * The plan for `key`. By the fixed rule: the first of `builders` (in the rule's order of
 * preference) that oneDNN can build; later ones are not even built. With timing on: every
 * candidate is built, run once (JIT and cache warm-up), then timed in alternation for a few
 * rounds; the first is kept unless another's best time beats it by 10%, and the losers'
 * oneDNN objects are destroyed. `undefined` when no candidate could be built.
 */
export function tune<T extends Candidate>(
  key: string,
  builders: readonly (() => T | undefined)[],
  run: (candidate: T) => void,
): T | undefined {
  const known = choices.get(key);
  if (known !== undefined) return known.plan as T | undefined;
  const notes: string[] = [];
  const timing = timingOn();
  const built = buildAll(builders, notes, !timing).map((candidate) => ({ candidate, ms: NaN }));
  if (timing && built.length > 1) {
    for (const b of built) {
      run(b.candidate);
      b.ms = Infinity;
    }
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
  for (const b of built) if (b !== best) b.candidate.destroy?.();
  const timings = [
    ...built.map((b) =>
      Number.isFinite(b.ms) ? `${b.candidate}: ${b.ms.toFixed(2)} ms` : String(b.candidate)
    ),
    ...notes,
  ];
  const plan = best?.candidate;
  const chosen = plan === undefined ? "none" : `${plan}${timing ? " (timed)" : ""}`;
  choices.set(key, { plan, info: { key, chosen, timings } });
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
