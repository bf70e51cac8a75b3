/**
 * Internal: the loop behind `Trainer.fit`, in named steps: option checks, callback setup, one
 * epoch, one step's bookkeeping, and how the run ends (run.json, callbacks, result).
 *
 * @module
 */
import { leakGuard } from "../lifetime/mod.ts";
import { type Batch, checkBatch, disposeBatch, type TrainingData } from "./batch.ts";
import type { Callback, FitEndEvent, FitStartEvent, StepEndEvent } from "./callbacks.ts";
import { TrainingDataError } from "./errors.ts";
import { type FitHost, openRun } from "./_fit_host.ts";
import type { FitOptions, FitResult } from "./fit.ts";
import { progressBar } from "./progress.ts";
import { type RunDirectory, runDirectory } from "./run_dir.ts";
import { runReport } from "./run_report.ts";
import { sampleImages } from "./samples.ts";
import { validate } from "./validation.ts";

function checkCount(name: string, v: number | undefined, min: number): void {
  if (v !== undefined && !(Number.isInteger(v) && v >= min)) {
    throw new RangeError(`fit: ${name} must be an integer >= ${min}, got ${v}`);
  }
}

function iteratorOf(
  iterable: AsyncIterable<Batch> | Iterable<Batch>,
): AsyncIterator<Batch> | Iterator<Batch> {
  const a = (iterable as AsyncIterable<Batch>)[Symbol.asyncIterator];
  if (typeof a === "function") return a.call(iterable);
  const s = (iterable as Iterable<Batch>)[Symbol.iterator];
  if (typeof s === "function") return s.call(iterable);
  throw new TrainingDataError(
    "fit data must be a DataFactory ((position) => batches), an AsyncIterable or an Iterable",
  );
}

/** Check the counts and their combinations; the run directory they name (not opened yet). */
function checkOptions(options: FitOptions): RunDirectory | undefined {
  const { steps, epochs, checkpointEvery } = options;
  checkCount("steps", steps, 1);
  checkCount("epochs", epochs, 1);
  checkCount("stepsPerEpoch", options.stepsPerEpoch, 1);
  checkCount("checkpointEvery", checkpointEvery, 1);
  checkCount("keepCheckpoints", options.keepCheckpoints, 1);
  checkCount("validation.every", options.validation?.every, 1);
  if (typeof options.runDir === "object" && options.keepCheckpoints !== undefined) {
    throw new RangeError(
      "fit: keepCheckpoints goes to runDirectory(path, { keepCheckpoints }) when runDir is a " +
        "RunDirectory",
    );
  }
  const run = typeof options.runDir === "string"
    ? runDirectory(options.runDir, { keepCheckpoints: options.keepCheckpoints })
    : options.runDir;
  if (!(run?.checkpoints ?? false) && (options.resume || checkpointEvery !== undefined)) {
    throw new RangeError(
      "fit: resume and checkpointEvery need a runDir that keeps checkpoints",
    );
  }
  if (steps === undefined && epochs === undefined && !options.resume) {
    throw new RangeError("fit needs steps (the run length) or epochs");
  }
  return run;
}

/**
 * The callbacks in their order: `before` (metrics CSV, samples, report) see a step before its
 * checkpoint; `after` (progress, the caller's) see it with its checkpoint.
 */
function setUpCallbacks(
  options: FitOptions,
  run: RunDirectory | undefined,
  notes: string[],
): { before: Callback[]; after: Callback[] } {
  const before: Callback[] = [];
  if (run !== undefined) before.push(run.metrics((note) => notes.push(note)));
  if (options.samples !== undefined) before.push(sampleImages(options.samples, run?.path));
  // After the CSV (a resumed report reads it back) and the samples (it shows them).
  if (run !== undefined && options.report !== false) before.push(options.report ?? runReport());
  const after: Callback[] = [];
  if (!options.quiet && options.progress !== false) {
    after.push(
      progressBar(
        options.progress === true || options.progress === undefined ? {} : options.progress,
      ),
    );
  }
  after.push(...(options.callbacks ?? []));
  return { before, after };
}

/** What one `fit` call works with, and what it has done so far. */
interface Loop {
  readonly host: FitHost;
  readonly options: FitOptions;
  readonly run: RunDirectory | undefined;
  readonly checkpointing: boolean;
  readonly target: number;
  readonly totalSteps: number | undefined;
  readonly before: readonly Callback[];
  readonly after: readonly Callback[];
  readonly guard: ReturnType<typeof leakGuard> | undefined;
  readonly elapsed: () => number;
  guardSteps: number;
  lastCheckpoint: string | undefined;
  lastCheckpointStep: number;
  lastValidation: Record<string, number> | undefined;
  stopped: boolean;
}

async function checkpointNow(l: Loop): Promise<string> {
  const snap = await l.host.snapshot();
  const dir = await l.run!.saveCheckpoint(snap.state, snap.model, snap.optimizer);
  l.lastCheckpoint = dir;
  l.lastCheckpointStep = snap.state.step;
  return dir;
}

async function runValidation(l: Loop): Promise<Record<string, number>> {
  const v = l.options.validation!;
  l.lastValidation = await validate(l.host.trainable.forward, v.data, {
    metrics: v.metrics,
    loss: v.loss === false ? undefined : l.host.loss,
    maxBatches: v.maxBatches,
  });
  return l.lastValidation;
}

/** One step on `batch` and its bookkeeping: validation, callbacks, checkpoint. */
async function trainStep(
  l: Loop,
  batch: Batch,
  epoch: number,
  batchInEpoch: number,
): Promise<void> {
  const { host, options } = l;
  const metrics = await host.step(batch);
  host.setPosition(epoch, batchInEpoch + 1);
  const isLast = metrics.step >= l.target;
  const validation = options.validation !== undefined &&
      (metrics.step % options.validation.every === 0 || isLast)
    ? await runValidation(l)
    : undefined;
  const event: StepEndEvent = {
    metrics,
    validation,
    epoch,
    totalSteps: l.totalSteps,
    elapsedMs: l.elapsed(),
    batch,
    model: host.trainable.model,
    forward: host.trainable.forward,
    runDir: l.run?.path,
    checkpoint: undefined,
  };
  for (const cb of l.before) await cb.onStepEnd?.(event);
  const every = options.checkpointEvery;
  const checkpoint = l.checkpointing &&
      (isLast || options.signal?.aborted || (every !== undefined && metrics.step % every === 0))
    ? await checkpointNow(l)
    : undefined;
  const withCheckpoint = { ...event, checkpoint, elapsedMs: l.elapsed() };
  for (const cb of l.after) await cb.onStepEnd?.(withCheckpoint);
}

/**
 * One epoch from the host's position: `"end"` when the run is over (its length reached, or
 * stopped by the signal), `"next"` when the epoch ran out of batches.
 */
async function trainEpoch(l: Loop, data: TrainingData): Promise<"end" | "next"> {
  const { host, options } = l;
  const { stepsPerEpoch } = options;
  const { epoch, batchInEpoch: startBatch, seed } = host.position();
  const isFactory = typeof data === "function";
  const it = iteratorOf(isFactory ? data({ seed, epoch, batch: startBatch }) : data);
  // A plain iterable cannot start mid-epoch: replay it and drop what was already trained on.
  let skip = isFactory ? 0 : startBatch;
  let batchInEpoch = startBatch;
  let yielded = 0;
  try {
    while (stepsPerEpoch === undefined || batchInEpoch < stepsPerEpoch) {
      if (host.position().step >= l.target) return "end";
      if (options.signal?.aborted) {
        l.stopped = true;
        return "end";
      }
      const r = await it.next();
      if (r.done) break;
      yielded++;
      if (skip > 0) {
        disposeBatch(r.value);
        skip--;
        continue;
      }
      try {
        const batch = checkBatch(r.value, `batch ${batchInEpoch} of epoch ${epoch}`);
        await trainStep(l, batch, epoch, batchInEpoch++);
      } finally {
        disposeBatch(r.value);
      }
      if (l.guard !== undefined) l.guard.check(++l.guardSteps);
    }
  } finally {
    await it.return?.();
  }
  if (skip > 0) {
    throw new TrainingDataError(
      `data ended after ${yielded} batches while replaying epoch ${epoch} up to batch ` +
        `${startBatch}; a plain iterable must yield the same batches every time to resume ` +
        "(or pass a DataFactory)",
    );
  }
  if (yielded === 0 && startBatch === 0) {
    throw new TrainingDataError(
      `the data yielded no batches in epoch ${epoch}; a generator can be iterated only ` +
        "once: pass a DataFactory ((position) => generator) or a re-iterable source",
    );
  }
  host.setPosition(epoch + 1, 0);
  return "next";
}

/** Record how the run ended in run.json (`running` left there means killed or crashed). */
async function recordEnd(
  l: Loop,
  failure: { error: unknown } | undefined,
): Promise<{ error: unknown } | undefined> {
  if (l.run === undefined) return failure;
  const resume = l.options.resumeHint ?? "fit again with resume: true";
  const step = l.host.position().step;
  const error = failure === undefined
    ? undefined
    : failure.error instanceof Error
    ? failure.error.message
    : String(failure.error);
  const status = error !== undefined
    ? { state: "failed" as const, step, resume, error }
    : l.stopped
    ? { state: "interrupted" as const, step, resume }
    : { state: "done" as const, step };
  try {
    await l.run.setStatus(status);
  } catch (e) {
    failure ??= { error: e };
  }
  return failure;
}

/** Every callback's `onFitEnd`; the first failure (the run's, else a callback's) is kept. */
async function endCallbacks(
  l: Loop,
  all: readonly Callback[],
  failure: { error: unknown } | undefined,
): Promise<{ error: unknown } | undefined> {
  const endEvent: FitEndEvent = {
    step: l.host.position().step,
    reason: failure !== undefined ? "error" : l.stopped ? "stopped" : "done",
    ...(failure !== undefined ? { error: failure.error } : {}),
    elapsedMs: l.elapsed(),
    checkpoint: l.lastCheckpoint,
  };
  for (const cb of all) {
    try {
      await cb.onFitEnd?.(endEvent);
    } catch (e) {
      failure ??= { error: e };
    }
  }
  return failure;
}

/** The loop behind `Trainer.fit`. */
export async function fitLoop(
  host: FitHost,
  data: TrainingData,
  options: FitOptions,
): Promise<FitResult> {
  const started = performance.now();
  const { steps, epochs, stepsPerEpoch } = options;
  const run = checkOptions(options);
  let totalSteps = steps ??
    (epochs !== undefined && stepsPerEpoch !== undefined ? epochs * stepsPerEpoch : undefined);
  if (totalSteps !== undefined) host.setRunLength(totalSteps);

  // Run directory and resume, before anything is written. `openRun` takes the directory's lock
  // unless the caller holds it already; then it is released when fit returns or throws.
  using _lock = run !== undefined && !run.locked
    ? { [Symbol.dispose]: () => run.release() }
    : undefined;
  const opened = await openRun(host, run, options.resume ?? false, totalSteps, epochs);
  const { resumedFrom, notes } = opened;
  totalSteps = opened.totalSteps;
  if (totalSteps === undefined && epochs === undefined) {
    throw new RangeError(
      "fit needs steps (the run length) or epochs: the run being resumed has no checkpoint " +
        "that records its length",
    );
  }
  const l: Loop = {
    host,
    options,
    run,
    checkpointing: run !== undefined && run.checkpoints,
    target: totalSteps ?? Number.POSITIVE_INFINITY,
    totalSteps,
    ...setUpCallbacks(options, run, notes),
    guard: options.leakGuard ? leakGuard() : undefined,
    elapsed: () => performance.now() - started,
    guardSteps: 0,
    lastCheckpoint: undefined,
    lastCheckpointStep: -1,
    lastValidation: undefined,
    stopped: false,
  };
  const all = [...l.before, ...l.after];
  const startStep = host.position().step;
  const startEvent: FitStartEvent = {
    startStep,
    totalSteps,
    epochs,
    runDir: run?.path,
    resumedFrom,
    schedule: host.schedule.description,
    notes,
  };
  let failure: { error: unknown } | undefined;
  try {
    await run?.setStatus({ state: "running", step: startStep });
    for (const cb of all) await cb.onFitStart?.(startEvent);
    while (true) {
      const { step, epoch } = host.position();
      if (step >= l.target || (epochs !== undefined && epoch >= epochs)) break;
      if (await trainEpoch(l, data) === "end") break;
    }
    const now = host.position().step;
    if (l.checkpointing && now > startStep && l.lastCheckpointStep !== now) await checkpointNow(l);
  } catch (error) {
    failure = { error };
  }
  failure = await endCallbacks(l, all, await recordEnd(l, failure));
  if (failure !== undefined) throw failure.error;
  const end = host.position();
  return {
    step: end.step,
    stepsRun: end.step - startStep,
    reason: l.stopped ? "stopped" : "done",
    resumedFrom,
    last: end.last,
    validation: l.lastValidation,
    checkpoint: l.lastCheckpoint,
  };
}
