/**
 * Learning-rate (and momentum) schedules: pure functions of the step index and the run length.
 *
 * @module
 */
import { checkOptionKeys } from "../errors/unknown_option_error.ts";

/**
 * A learning-rate schedule: `(step, totalSteps) → lr`, where `step` is the 0-based index of the
 * step about to run and `totalSteps` the length of the run. Pure: the same arguments always give
 * the same rate, so a resumed run follows the same curve.
 *
 * `momentum`, when present, gives Adam's β1 (or SGD momentum) for the same step; `usesTotal:
 * false` says the schedule ignores `totalSteps` (so the trainer does not need to know it).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import type { Schedule } from "@perceptual/loss/train";
 * const halving: Schedule = Object.assign((step: number) => 1e-3 / 2 ** Math.floor(step / 100), {
 *   description: "halve every 100 steps",
 *   usesTotal: false,
 * });
 * assert.ok(Math.abs(halving(250, 1000) - 0.00025) < 1e-12);
 * ```
 */
export interface Schedule {
  /** The learning rate for 0-based step `step` of a run of `totalSteps` steps. */
  (step: number, totalSteps: number): number;
  /** Adam's β1 for the same step, when the schedule cycles momentum. */
  readonly momentum?: (step: number, totalSteps: number) => number;
  /** A readable description, stored with checkpoints and printed in progress output. */
  readonly description?: string;
  /** `false` when the schedule ignores `totalSteps`; anything else means it needs it. */
  readonly usesTotal?: boolean;
}

function checkPositive(name: string, value: number): void {
  if (!Number.isFinite(value) || value <= 0) {
    throw new RangeError(`${name} must be a finite number > 0, got ${value}`);
  }
}

/**
 * fastai's cosine annealing from `start` to `end` as `pos` goes from 0 to 1
 * (`SchedCos`: `start + (1 + cos(π(1 − pos))) (end − start) / 2`).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { cosineAnneal } from "@perceptual/loss/train";
 * assert.ok(Math.abs(cosineAnneal(1, 0, 0.5) - 0.5) < 1e-12);
 * ```
 */
export function cosineAnneal(start: number, end: number, pos: number): number {
  return start + (1 + Math.cos(Math.PI * (1 - pos))) * (end - start) / 2;
}

/** fastai's `combined_cos(pct, start, middle, end)` at position `pos` ∈ [0, 1]. */
function combinedCos(pct: number, start: number, middle: number, end: number, pos: number): number {
  // fastai's combine_scheds: the first phase covers [0, pct), the second [pct, 1]; a zero-length
  // phase is skipped.
  if (pos < pct) return cosineAnneal(start, middle, pos / pct);
  if (pct >= 1) return middle;
  return cosineAnneal(middle, end, Math.min(1, (pos - pct) / (1 - pct)));
}

function position(step: number, totalSteps: number, who: string): number {
  if (!Number.isFinite(totalSteps) || totalSteps <= 0) {
    throw new RangeError(
      `${who} needs the run length: got totalSteps=${totalSteps}; pass steps to fit() or ` +
        "totalSteps to trainer()",
    );
  }
  return Math.min(1, Math.max(0, step / totalSteps));
}

/**
 * The same learning rate at every step.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { constant } from "@perceptual/loss/train";
 * const s = constant(1e-3);
 * assert.ok(Math.abs(s(0, 100) - 0.001) < 1e-12);
 * assert.ok(Math.abs(s(99, 100) - 0.001) < 1e-12);
 * ```
 */
export function constant(lr: number): Schedule {
  checkPositive("constant(lr)", lr);
  return Object.assign((_step: number, _totalSteps: number) => lr, {
    description: `constant(${lr})`,
    usesTotal: false,
  });
}

/**
 * Options of {@linkcode oneCycle}; defaults are fastai's `fit_one_cycle`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { oneCycle, type OneCycleOptions } from "@perceptual/loss/train";
 * const options: OneCycleOptions = { lr: 1e-3, pctStart: 0.5, moms: null }; // peak at half-way
 * const s = oneCycle(options);
 * assert.equal(s(50, 100), 0.001);
 * assert.equal(s.momentum, undefined); // β1 left alone
 * ```
 */
export interface OneCycleOptions {
  /** The peak learning rate (as `cosine`'s `lr`); give this or `lrMax`. */
  readonly lr?: number;
  /** The peak learning rate under fastai's name; give this or `lr`. */
  readonly lrMax?: number;
  /** The start rate is `lrMax / div` (default 25). */
  readonly div?: number;
  /** The final rate is `lrMax / divFinal` (default 1e5). */
  readonly divFinal?: number;
  /** The fraction of the run spent warming up (default 0.25). */
  readonly pctStart?: number;
  /**
   * Momentum (Adam β1) start, middle and end (default [0.95, 0.85, 0.95]); `null` leaves the
   * optimizer's momentum alone.
   */
  readonly moms?: readonly [number, number, number] | null;
}

/**
 * fastai's one-cycle policy (`Learner.fit_one_cycle`, fastai 2.x): the learning rate rises from
 * `lrMax/div` to `lrMax` by cosine over the first `pctStart` of the run, then falls by cosine to
 * `lrMax/divFinal`; momentum (Adam β1) does the opposite, 0.95 → 0.85 → 0.95. Step `i` of `n`
 * sits at position `i/n`, as fastai's `pct_train`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { oneCycle } from "@perceptual/loss/train";
 * const s = oneCycle({ lr: 1e-2 }); // the peak; fastai's name `lrMax` works too
 * assert.ok(Math.abs(s(0, 100) - 0.0004) < 1e-12); // (lr / 25)
 * assert.ok(Math.abs(s(25, 100) - 0.01) < 1e-12); // (the peak, at pctStart)
 * assert.equal(s.momentum?.(25, 100), 0.85);
 * ```
 */
export function oneCycle(options: OneCycleOptions): Schedule {
  checkOptionKeys("oneCycle", options, ["lr", "lrMax", "div", "divFinal", "pctStart", "moms"]);
  if (options.lr !== undefined && options.lrMax !== undefined && options.lr !== options.lrMax) {
    throw new RangeError(
      `oneCycle: lr ${options.lr} and lrMax ${options.lrMax} both name the peak rate; give one`,
    );
  }
  const lrMax = options.lr ?? options.lrMax;
  const { div = 25, divFinal = 1e5, pctStart = 0.25 } = options;
  if (lrMax === undefined) {
    throw new RangeError("oneCycle needs its peak learning rate: oneCycle({ lr: 1e-3 })");
  }
  checkPositive("oneCycle lr", lrMax);
  checkPositive("oneCycle div", div);
  checkPositive("oneCycle divFinal", divFinal);
  if (!(pctStart >= 0 && pctStart <= 1)) {
    throw new RangeError(`oneCycle pctStart must be in [0, 1], got ${pctStart}`);
  }
  const moms = options.moms === undefined ? [0.95, 0.85, 0.95] as const : options.moms;
  if (moms !== null) {
    for (const m of moms) {
      if (!(m >= 0 && m < 1)) throw new RangeError(`oneCycle moms must be in [0, 1), got ${m}`);
    }
  }
  const lr = (step: number, totalSteps: number): number =>
    combinedCos(
      pctStart,
      lrMax / div,
      lrMax,
      lrMax / divFinal,
      position(step, totalSteps, "oneCycle"),
    );
  const description = `oneCycle(lrMax=${lrMax}, div=${div}, divFinal=${divFinal}, ` +
    `pctStart=${pctStart}, moms=${moms === null ? "none" : moms.join("/")})`;
  if (moms === null) return Object.assign(lr, { description, usesTotal: true });
  const momentum = (step: number, totalSteps: number): number =>
    combinedCos(pctStart, moms[0], moms[1], moms[2], position(step, totalSteps, "oneCycle"));
  return Object.assign(lr, { description, usesTotal: true, momentum });
}

/**
 * Options of {@linkcode cosine}.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { cosine, type CosineOptions } from "@perceptual/loss/train";
 * const options: CosineOptions = { lr: 0.1, lrMin: 0.01, warmupSteps: 10 };
 * const s = cosine(options);
 * assert.equal(s(5, 110).toFixed(2), "0.06");
 * assert.ok(Math.abs(s(10, 110) - 0.1) < 1e-12);
 * assert.ok(Math.abs(s(110, 110) - 0.01) < 1e-12); // warm-up, peak, end
 * ```
 */
export interface CosineOptions {
  /** The starting learning rate. */
  readonly lr: number;
  /** The rate reached at the end of the run (default 0). */
  readonly lrMin?: number;
  /** Steps of linear warm-up towards `lr` before annealing starts (default 0). */
  readonly warmupSteps?: number;
}

/**
 * Cosine annealing from `lr` to `lrMin` over the run (SGDR without restarts):
 * `lrMin + (lr − lrMin)(1 + cos(π·t/T))/2`, after an optional linear warm-up of `warmupSteps`
 * steps (rate `lr·(i+1)/warmupSteps` at warm-up step `i`; `t` and `T` then count the steps after it).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { cosine } from "@perceptual/loss/train";
 * const s = cosine({ lr: 0.1 });
 * assert.ok(Math.abs(s(0, 4) - 0.1) < 1e-12);
 * assert.ok(Math.abs(s(2, 4) - 0.05) < 1e-12);
 * assert.equal(s(4, 4), 0);
 * ```
 */
export function cosine(options: CosineOptions): Schedule {
  checkOptionKeys("cosine", options, ["lr", "lrMin", "warmupSteps"]);
  const { lr, lrMin = 0, warmupSteps = 0 } = options;
  checkPositive("cosine lr", lr);
  if (!(lrMin >= 0 && lrMin <= lr)) {
    throw new RangeError(`cosine lrMin must be in [0, lr], got ${lrMin}`);
  }
  if (!(Number.isInteger(warmupSteps) && warmupSteps >= 0)) {
    throw new RangeError(`cosine warmupSteps must be an integer >= 0, got ${warmupSteps}`);
  }
  const fn = (step: number, totalSteps: number): number => {
    if (step < warmupSteps) return lr * (step + 1) / warmupSteps;
    const t = step - warmupSteps;
    const pos = position(t, totalSteps - warmupSteps, "cosine");
    return lrMin + (lr - lrMin) * (1 + Math.cos(Math.PI * pos)) / 2;
  };
  return Object.assign(fn, {
    description: `cosine(lr=${lr}, lrMin=${lrMin}, warmupSteps=${warmupSteps})`,
    usesTotal: true,
  });
}
