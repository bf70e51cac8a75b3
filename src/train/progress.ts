/**
 * Progress on stderr: a redrawn bar with ETA and loss terms on a terminal, plain lines otherwise.
 *
 * @module
 */
import type { Callback, FitEndEvent, FitStartEvent, StepEndEvent } from "./callbacks.ts";

/**
 * Options of {@linkcode progressBar}.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as tf from "@tensorflow/tfjs-core";
 * import { initBackend } from "@perceptual/loss/backend";
 * import { trainer, type ProgressOptions } from "@perceptual/loss/train";
 * await initBackend("cpu");
 * const image = tf.variable(tf.zeros([1, 4, 4, 3])); // what is trained: one small image
 * const loss = (p: tf.Tensor4D, y: tf.Tensor4D) => {
 *   const pixel = tf.mean(tf.abs(tf.sub(p, y))) as tf.Scalar;
 *   return { total: tf.clone(pixel), terms: { pixel } };
 * };
 * using t = trainer({ params: [image], forward: () => tf.add(image, 0), loss });
 * const grey = (v: number) => tf.fill([1, 4, 4, 3], v) as tf.Tensor4D;
 * const batch = () => ({ input: grey(0), target: grey(0.5) }); // learn to output grey 0.5
 * const data = () => [batch(), batch()]; // 2 batches an epoch, made afresh
 * const lines: string[] = [];
 * const progress: ProgressOptions = {
 *   write: (text) => void lines.push(text), isTerminal: false, every: 2,
 * };
 * await t.fit(data, { steps: 4, progress });
 * assert.equal(lines.length, 5);
 * assert.equal(lines[1]!.trim(), "step 1/4 | epoch 0 | loss 0.5 | lr 0.001");
 * image.dispose();
 * ```
 */
export interface ProgressOptions {
  /** Where text goes. Default: stderr. */
  readonly write?: (text: string) => void;
  /** Draw a redrawn bar (true) or print plain lines (false). Default: whether stderr is a TTY. */
  readonly isTerminal?: boolean;
  /** Plain-line mode: a line every this many steps (default: about 20 lines per run). */
  readonly every?: number;
  /** Terminal width for the bar (default: the console's, else 100). */
  readonly columns?: number;
}

/**
 * Format a number compactly: 4 significant digits, exponent for very small or large values.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { formatNumber } from "@perceptual/loss/train";
 * assert.equal(formatNumber(0.012345), "0.01235");
 * assert.equal(formatNumber(3e-6), "3.00e-6");
 * assert.equal(formatNumber(12), "12");
 * ```
 */
export function formatNumber(x: number): string {
  if (!Number.isFinite(x)) return String(x);
  if (x === 0) return "0";
  const a = Math.abs(x);
  if (a >= 1e-3 && a < 1e5) return String(Number(x.toPrecision(4)));
  return x.toExponential(2);
}

/**
 * A duration in seconds as `1h02m`, `4m05s` or `12s`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { formatDuration } from "@perceptual/loss/train";
 * assert.equal(formatDuration(3725), "1h02m");
 * assert.equal(formatDuration(245), "4m05s");
 * assert.equal(formatDuration(12.4), "12s");
 * ```
 */
export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return "--";
  const s = Math.round(seconds);
  if (s >= 3600) {
    return `${Math.floor(s / 3600)}h${String(Math.floor(s % 3600 / 60)).padStart(2, "0")}m`;
  }
  if (s >= 60) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, "0")}s`;
  return `${s}s`;
}

function stderrWriter(): (text: string) => void {
  const encoder = new TextEncoder();
  return (text: string) => {
    const bytes = encoder.encode(text);
    let off = 0;
    while (off < bytes.length) off += Deno.stderr.writeSync(bytes.subarray(off));
  };
}

function stderrIsTerminal(): boolean {
  try {
    return Deno.stderr.isTerminal();
  } catch {
    return false;
  }
}

function consoleColumns(): number {
  try {
    return Deno.consoleSize().columns;
  } catch {
    return 100;
  }
}

/**
 * The built-in progress callback. On a terminal it redraws one line: a bar, step/total, percent,
 * steps/s, ETA, loss and every term, learning rate; validation results are printed on their own
 * line. Elsewhere (CI, logs, pipes) it prints a plain line every `every` steps, at validations
 * and at the end. The first step (warm-up) is left out of the rate and the ETA.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as tf from "@tensorflow/tfjs-core";
 * import { initBackend } from "@perceptual/loss/backend";
 * import { progressBar, trainer } from "@perceptual/loss/train";
 * const lines: string[] = [];
 * const cb = progressBar({ write: (t) => void lines.push(t), isTerminal: false });
 * await initBackend("cpu");
 * const w = tf.variable(tf.zeros([1, 1, 1, 3]));
 * using t = trainer({
 *   params: [w],
 *   forward: (x) => tf.add(x, w),
 *   loss: (p, q) => {
 *     const pixel = tf.mean(tf.abs(tf.sub(p, q))) as tf.Scalar;
 *     return { total: tf.clone(pixel), terms: { pixel } };
 *   },
 * });
 * const data = function* () {
 *   for (;;) yield { input: tf.zeros([1, 2, 2, 3]) as tf.Tensor4D, target: tf.ones([1, 2, 2, 3]) as tf.Tensor4D };
 * };
 * await t.fit(data, { steps: 2, callbacks: [cb], progress: false });
 * assert.match(lines[0]!, /^training from step 0 to 2/);
 * assert.match(lines.at(-1)!, /^done at step 2 after/);
 * ```
 */
export function progressBar(options: ProgressOptions = {}): Callback {
  const s: BarState = {
    write: options.write ?? stderrWriter(),
    tty: options.isTerminal ?? stderrIsTerminal(),
    columns: options.columns,
    total: undefined,
    startStep: 0,
    every: options.every ?? 0,
    firstStepAt: undefined,
    stepsSinceFirst: 0,
    lastDraw: 0,
    drawn: false,
  };
  return {
    onFitStart: (e) => fitStart(s, e),
    onStepEnd: (e) => stepEnd(s, e),
    onFitEnd: (e) => fitEnd(s, e),
  };
}

/** What a progress bar remembers between events. */
interface BarState {
  readonly write: (text: string) => void;
  readonly tty: boolean;
  readonly columns: number | undefined;
  total: number | undefined;
  startStep: number;
  every: number;
  firstStepAt: number | undefined;
  stepsSinceFirst: number;
  lastDraw: number;
  drawn: boolean;
}

function rate(s: BarState, elapsedMs: number): number | undefined {
  if (s.firstStepAt === undefined || s.stepsSinceFirst === 0) return undefined;
  const seconds = (elapsedMs - s.firstStepAt) / 1000;
  return seconds > 0 ? s.stepsSinceFirst / seconds : undefined;
}

function lossText(e: StepEndEvent): string {
  const terms = Object.entries(e.metrics.terms).map(([k, v]) => `${k} ${formatNumber(v)}`);
  return `loss ${formatNumber(e.metrics.total)}${terms.length > 1 ? ` (${terms.join(", ")})` : ""}`;
}

function validationText(v: Readonly<Record<string, number>>): string {
  return "val " + Object.entries(v).map(([k, x]) => `${k} ${formatNumber(x)}`).join(", ");
}

function fitStart(s: BarState, e: FitStartEvent): void {
  s.total = e.totalSteps;
  s.startStep = e.startStep;
  if (s.every <= 0) {
    s.every = s.total === undefined ? 50 : Math.max(1, Math.round((s.total - s.startStep) / 20));
  }
  const head = e.resumedFrom !== undefined
    ? `resuming from ${e.resumedFrom} (step ${e.startStep})`
    : `training from step ${e.startStep}`;
  s.write(
    `${head}${s.total !== undefined ? ` to ${s.total}` : ""}${
      e.schedule !== undefined ? `, ${e.schedule}` : ""
    }\n`,
  );
  for (const note of e.notes) s.write(`note: ${note}\n`);
}

/** The speed and the ETA after a step, the first step (warm-up) left out. */
function pace(s: BarState, e: StepEndEvent): { speed: string; eta: string } {
  if (s.firstStepAt === undefined) s.firstStepAt = e.elapsedMs;
  else s.stepsSinceFirst++;
  const r = rate(s, e.elapsedMs);
  const remaining = s.total !== undefined && r !== undefined
    ? (s.total - e.metrics.step) / r
    : undefined;
  const speed = r === undefined
    ? ""
    : r >= 1
    ? `${r.toFixed(2)} step/s`
    : `${(1 / r).toFixed(2)} s/step`;
  const eta = remaining === undefined ? "ETA --" : `ETA ${formatDuration(remaining)}`;
  return { speed, eta };
}

function stepEnd(s: BarState, e: StepEndEvent): void {
  const { speed, eta } = pace(s, e);
  const isLast = s.total !== undefined && e.metrics.step >= s.total;
  if (s.tty) redraw(s, e, `${speed} ${eta}`, isLast);
  else printLine(s, e, speed === "" ? "" : `${speed}, ${eta}`, isLast);
}

/** On a terminal: redraw the one line (at most every 100 ms), validations on their own line. */
function redraw(s: BarState, e: StepEndEvent, pace: string, isLast: boolean): void {
  const step = e.metrics.step;
  const now = e.elapsedMs;
  if (e.validation !== undefined) {
    s.write(`\r\x1b[2Kstep ${step}: ${validationText(e.validation)}\n`);
    s.drawn = false;
  }
  if (!isLast && s.drawn && now - s.lastDraw < 100) return;
  s.lastDraw = now;
  const columns = s.columns ?? consoleColumns();
  let bar = "";
  let count = `${step}`;
  if (s.total !== undefined) {
    const frac = Math.min(
      1,
      Math.max(0, (step - s.startStep) / Math.max(1, s.total - s.startStep)),
    );
    const width = 20;
    const full = Math.round(frac * width);
    bar = `[${"█".repeat(full)}${"░".repeat(width - full)}] `;
    count = `${step}/${s.total} ${Math.floor(100 * step / s.total)}%`;
  }
  const line = `${bar}${count} ${pace} ${lossText(e)} lr ${formatNumber(e.metrics.lr)}`;
  s.write(`\r\x1b[2K${line.slice(0, Math.max(20, columns - 1))}`);
  s.drawn = true;
}

/** Elsewhere: a plain line every `every` steps, at validations and at the end. */
function printLine(s: BarState, e: StepEndEvent, pace: string, isLast: boolean): void {
  const step = e.metrics.step;
  if (step - s.startStep !== 1 && step % s.every !== 0 && !isLast && e.validation === undefined) {
    return;
  }
  const parts = [
    `step ${step}${s.total !== undefined ? `/${s.total}` : ""}`,
    // 0-based, as in metrics.csv, checkpoints and the events.
    `epoch ${e.epoch}`,
    lossText(e),
    `lr ${formatNumber(e.metrics.lr)}`,
  ];
  if (pace !== "") parts.push(pace);
  if (e.validation !== undefined) parts.push(validationText(e.validation));
  s.write(parts.join(" | ") + "\n");
}

function fitEnd(s: BarState, e: FitEndEvent): void {
  if (s.tty && s.drawn) s.write("\n");
  const why = e.reason === "error"
    ? `failed at step ${e.step + 1}: ${
      e.error instanceof Error ? e.error.message : String(e.error)
    }`
    : e.reason === "stopped"
    ? `stopped at step ${e.step}`
    : `done at step ${e.step}`;
  s.write(
    `${why} after ${formatDuration(e.elapsedMs / 1000)}${
      e.checkpoint !== undefined ? `; last checkpoint ${e.checkpoint}` : ""
    }\n`,
  );
}
