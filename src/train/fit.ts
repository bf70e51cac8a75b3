/**
 * The `fit` loop: epochs/steps over a data source, validation, callbacks, checkpoints, resume.
 *
 * @module
 */
import type * as tfl from "@tensorflow/tfjs-layers";
import { leakGuard } from "../lifetime/mod.ts";
import type { LossFn } from "../loss/loss_result.ts";
import { type Batch, disposeBatch, inputTarget, type TrainingData } from "./batch.ts";
import type {
  Callback,
  FitEndEvent,
  FitStartEvent,
  StepEndEvent,
  StepMetrics,
} from "./callbacks.ts";
import {
  type Checkpoint,
  type CheckpointState,
  latestCheckpoint,
  type NamedArray,
  pruneCheckpoints,
  removeStaleTemps,
  writeCheckpoint,
} from "./checkpoint.ts";
import { CheckpointError, CheckpointMismatchError, TrainingDataError } from "./errors.ts";
import { metricsCsv } from "./metrics_csv.ts";
import { progressBar, type ProgressOptions } from "./progress.ts";
import { prepareRunDir } from "./run_dir.ts";
import { sampleImages, type SampleOptions } from "./samples.ts";
import type { Schedule } from "./schedule.ts";
import { type MetricsFn, validate, type ValidationData } from "./validation.ts";

/** Validation during `fit`. */
export interface FitValidation {
  /** Held-out batches; a function that makes them afresh is best (each batch is disposed). */
  readonly data: ValidationData;
  /** Every this many steps, and after the last step. */
  readonly every: number;
  /** Metrics per batch, e.g. `(p, t) => ({ psnr: psnr(p, t), ssim: ssim(p, t) })`. */
  readonly metrics?: MetricsFn;
  /** Also report the training loss on validation data as `loss` (default true). */
  readonly loss?: boolean;
  /** Use at most this many batches. */
  readonly maxBatches?: number;
}

/** Options of `Trainer.fit`. */
export interface FitOptions {
  /**
   * The run length in steps (the schedule's `totalSteps`). Training continues from the trainer's
   * current step (0, or the checkpoint's after a resume) up to this total.
   */
  readonly steps?: number;
  /** Stop after this many epochs (an epoch ends when the data ends, or after `stepsPerEpoch`). */
  readonly epochs?: number;
  /** Batches per epoch; with `epochs` it also gives the run length when `steps` is absent. */
  readonly stepsPerEpoch?: number;
  /** Validation data, interval and metrics. */
  readonly validation?: FitValidation;
  /** Your callbacks, called after the built-in ones. */
  readonly callbacks?: readonly Callback[];
  /**
   * The run directory: `run.json` (marker), `metrics.csv`, `checkpoints/step-NNNNNNNN/`,
   * `samples/`. Created if absent; an existing non-empty directory is refused unless it holds a
   * previous run and `resume` is true. Nothing that is not ours is ever changed there.
   */
  readonly runDir?: string;
  /** Write a checkpoint every this many steps (one is always written at the end). */
  readonly checkpointEvery?: number;
  /** Keep the newest this many checkpoints (default 3). */
  readonly keepCheckpoints?: number;
  /** Continue the run in `runDir` from its newest complete checkpoint (fresh start if none). */
  readonly resume?: boolean;
  /** Sample images: see `SampleOptions`. */
  readonly samples?: SampleOptions;
  /** The progress display (default on: a bar on a TTY, plain lines otherwise); false = quiet. */
  readonly progress?: boolean | ProgressOptions;
  /** Same as `progress: false`. */
  readonly quiet?: boolean;
  /** Stop cleanly after the current step (a checkpoint is written when `runDir` is set). */
  readonly signal?: AbortSignal;
  /**
   * Also check the global tensor count after every step (lifetime's `leakGuard`), which catches
   * leaks in callbacks too. Off by default: a data source that prefetches makes that count
   * fluctuate. The trainer's own per-step check is always on unless `leakCheck: false`.
   */
  readonly leakGuard?: boolean;
}

/** What `fit` returns. */
export interface FitResult {
  /** Steps completed in total. */
  readonly step: number;
  /** Steps run by this call. */
  readonly stepsRun: number;
  /** `done` or `stopped` (the abort signal fired). */
  readonly reason: "done" | "stopped";
  /** The checkpoint this call resumed from, if any. */
  readonly resumedFrom: string | undefined;
  /** The last step's metrics. */
  readonly last: StepMetrics | undefined;
  /** The last validation results. */
  readonly validation: Readonly<Record<string, number>> | undefined;
  /** The last checkpoint written, if any. */
  readonly checkpoint: string | undefined;
}

/** Mutable trainer state shared between `step` and the fit loop. */
export interface TrainerInternals {
  /** Steps completed. */
  step: number;
  /** 0-based epoch of the next batch. */
  epoch: number;
  /** Batches of that epoch consumed. */
  batchInEpoch: number;
  /** Seed for data factories. */
  seed: number;
  /** Run length, when known. */
  totalSteps: number | undefined;
  /** Last step's metrics. */
  last: StepMetrics | undefined;
  /** The caller's config, stored in checkpoints. */
  readonly config: unknown;
}

/** What the fit loop needs from a trainer. */
export interface FitHost {
  /** The model. */
  readonly model: tfl.LayersModel;
  /** The loss (for validation). */
  readonly loss: LossFn;
  /** The schedule (for its description). */
  readonly schedule: Schedule;
  /** Shared state. */
  readonly internals: TrainerInternals;
  /** Whether the caller chose the seed (then a checkpoint with another seed is refused). */
  readonly seedGiven: boolean;
  /** One step. */
  step(batch: Batch): Promise<StepMetrics>;
  /** Load a checkpoint. */
  restore(checkpoint: Checkpoint): Promise<Checkpoint>;
  /** Read the state to checkpoint. */
  snapshot(): Promise<{ state: CheckpointState; model: NamedArray[]; optimizer: NamedArray[] }>;
}

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

/** The loop behind `Trainer.fit`. */
export async function fitLoop(
  host: FitHost,
  data: TrainingData,
  options: FitOptions,
): Promise<FitResult> {
  const started = performance.now();
  const elapsed = (): number => performance.now() - started;
  const s = host.internals;
  const { steps, epochs, stepsPerEpoch, runDir, checkpointEvery, signal } = options;
  checkCount("steps", steps, 1);
  checkCount("epochs", epochs, 1);
  checkCount("stepsPerEpoch", stepsPerEpoch, 1);
  checkCount("checkpointEvery", checkpointEvery, 1);
  checkCount("keepCheckpoints", options.keepCheckpoints, 1);
  checkCount("validation.every", options.validation?.every, 1);
  if (runDir === undefined && (options.resume || checkpointEvery !== undefined)) {
    throw new RangeError("fit: resume and checkpointEvery need a runDir to keep checkpoints in");
  }
  if (steps === undefined && epochs === undefined) {
    throw new RangeError("fit needs steps (the run length) or epochs");
  }
  const keep = options.keepCheckpoints ?? 3;
  const totalSteps = steps ??
    (epochs !== undefined && stepsPerEpoch !== undefined ? epochs * stepsPerEpoch : undefined);
  if (totalSteps !== undefined) s.totalSteps = totalSteps;

  // Run directory and resume, before anything is written.
  let resumedFrom: string | undefined;
  const notes: string[] = [];
  const ckDir = runDir === undefined ? undefined : `${runDir}/checkpoints`;
  if (runDir !== undefined && ckDir !== undefined) {
    const status = await prepareRunDir(runDir, {
      resume: options.resume ?? false,
      info: { seed: s.seed, schedule: host.schedule.description ?? null, config: s.config },
    });
    if (status.previousRun) {
      for (const t of await removeStaleTemps(ckDir)) notes.push(`removed half-written ${t}`);
      if (s.step === 0) {
        const found = await latestCheckpoint(ckDir);
        for (const k of found.skipped) notes.push(`skipped ${k.dir}: ${k.why}`);
        if (found.checkpoint !== undefined) {
          const c = found.checkpoint;
          if (host.seedGiven && c.state.seed !== s.seed) {
            throw new CheckpointMismatchError(
              c.dir,
              `it was trained with seed ${c.state.seed}, this trainer has seed ${s.seed}; drop ` +
                "the seed option to take the checkpoint's, or start a new run",
            );
          }
          await host.restore(c);
          resumedFrom = c.dir;
        } else if (found.skipped.length > 0) {
          throw new CheckpointError(
            `no complete checkpoint in ${ckDir}: ${
              found.skipped.map((k) => k.why).join("; ")
            }; nothing was changed`,
          );
        }
      }
    }
  }

  const before: Callback[] = [];
  if (runDir !== undefined) {
    before.push(
      metricsCsv(`${runDir}/metrics.csv`, {
        onBackup: (p) => notes.push(`metrics past the checkpoint kept in ${p}`),
      }),
    );
  }
  if (options.samples !== undefined) before.push(sampleImages(options.samples, runDir));
  const after: Callback[] = [];
  if (!options.quiet && options.progress !== false) {
    after.push(
      progressBar(
        options.progress === true || options.progress === undefined ? {} : options.progress,
      ),
    );
  }
  after.push(...(options.callbacks ?? []));
  const all = [...before, ...after];

  const startStep = s.step;
  const target = totalSteps ?? Number.POSITIVE_INFINITY;
  const guard = options.leakGuard ? leakGuard() : undefined;
  let guardSteps = 0;
  let lastCheckpoint: string | undefined;
  let lastCheckpointStep = -1;
  let lastValidation: Record<string, number> | undefined;
  let stopped = false;
  let failure: { error: unknown } | undefined;

  async function checkpointNow(): Promise<string> {
    const snap = await host.snapshot();
    const dir = await writeCheckpoint(ckDir!, snap.state, snap.model, snap.optimizer);
    await pruneCheckpoints(ckDir!, keep);
    lastCheckpoint = dir;
    lastCheckpointStep = s.step;
    return dir;
  }

  async function runValidation(): Promise<Record<string, number>> {
    const v = options.validation!;
    lastValidation = await validate(host.model, v.data, {
      metrics: v.metrics,
      loss: v.loss === false ? undefined : host.loss,
      maxBatches: v.maxBatches,
    });
    return lastValidation;
  }

  async function loop(): Promise<void> {
    const isFactory = typeof data === "function";
    outer: while (s.step < target && (epochs === undefined || s.epoch < epochs)) {
      const epoch = s.epoch;
      const startBatch = s.batchInEpoch;
      const iterable = isFactory
        ? (data as (
          p: { seed: number; epoch: number; batch: number },
        ) => AsyncIterable<Batch> | Iterable<Batch>)({
          seed: s.seed,
          epoch,
          batch: startBatch,
        })
        : (data as AsyncIterable<Batch> | Iterable<Batch>);
      const it = iteratorOf(iterable);
      // A plain iterable cannot start mid-epoch: replay it and drop what was already trained on.
      let skip = isFactory ? 0 : startBatch;
      let yielded = 0;
      try {
        while (true) {
          if (stepsPerEpoch !== undefined && s.batchInEpoch >= stepsPerEpoch) break;
          if (s.step >= target) break outer;
          if (signal?.aborted) {
            stopped = true;
            break outer;
          }
          const r = await it.next();
          if (r.done) break;
          yielded++;
          const raw = r.value;
          if (skip > 0) {
            disposeBatch(raw);
            skip--;
            continue;
          }
          try {
            const batch = inputTarget(raw, `batch ${s.batchInEpoch} of epoch ${epoch + 1}`);
            const metrics = await host.step(raw);
            s.batchInEpoch++;
            const isLast = s.step >= target;
            const validation = options.validation !== undefined &&
                (metrics.step % options.validation.every === 0 || isLast)
              ? await runValidation()
              : undefined;
            const event: StepEndEvent = {
              metrics,
              validation,
              epoch,
              totalSteps,
              elapsedMs: elapsed(),
              batch,
              model: host.model,
              runDir,
              checkpoint: undefined,
            };
            for (const cb of before) await cb.onStepEnd?.(event);
            let checkpoint: string | undefined;
            if (
              ckDir !== undefined &&
              (isLast || signal?.aborted ||
                (checkpointEvery !== undefined && metrics.step % checkpointEvery === 0))
            ) {
              checkpoint = await checkpointNow();
            }
            const withCheckpoint = { ...event, checkpoint, elapsedMs: elapsed() };
            for (const cb of after) await cb.onStepEnd?.(withCheckpoint);
          } finally {
            disposeBatch(raw);
          }
          if (guard !== undefined) guard.check(++guardSteps);
        }
      } finally {
        await it.return?.();
      }
      if (skip > 0) {
        throw new TrainingDataError(
          `data ended after ${yielded} batches while replaying epoch ${epoch + 1} up to batch ` +
            `${startBatch}; a plain iterable must yield the same batches every time to resume ` +
            "(or pass a DataFactory)",
        );
      }
      if (yielded === 0 && startBatch === 0) {
        throw new TrainingDataError(
          `the data yielded no batches in epoch ${epoch + 1}; a generator can be iterated only ` +
            "once: pass a DataFactory ((position) => generator) or a re-iterable source",
        );
      }
      s.epoch++;
      s.batchInEpoch = 0;
    }
    if (ckDir !== undefined && s.step > startStep && lastCheckpointStep !== s.step) {
      await checkpointNow();
    }
  }

  const startEvent: FitStartEvent = {
    startStep,
    totalSteps,
    epochs,
    runDir,
    resumedFrom,
    schedule: host.schedule.description,
    notes,
  };
  try {
    for (const cb of all) await cb.onFitStart?.(startEvent);
    await loop();
  } catch (error) {
    failure = { error };
  }
  const endEvent: FitEndEvent = {
    step: s.step,
    reason: failure !== undefined ? "error" : stopped ? "stopped" : "done",
    ...(failure !== undefined ? { error: failure.error } : {}),
    elapsedMs: elapsed(),
    checkpoint: lastCheckpoint,
  };
  for (const cb of all) {
    try {
      await cb.onFitEnd?.(endEvent);
    } catch (e) {
      failure ??= { error: e };
    }
  }
  if (failure !== undefined) throw failure.error;
  return {
    step: s.step,
    stepsRun: s.step - startStep,
    reason: stopped ? "stopped" : "done",
    resumedFrom,
    last: s.last,
    validation: lastValidation,
    checkpoint: lastCheckpoint,
  };
}
