/**
 * The `fit` loop: epochs/steps over a data source, validation, callbacks, checkpoints, resume.
 *
 * @module
 */
import { leakGuard } from "../lifetime/mod.ts";
import { type Batch, checkBatch, disposeBatch, type TrainingData } from "./batch.ts";
import type {
  Callback,
  FitEndEvent,
  FitStartEvent,
  StepEndEvent,
  StepMetrics,
} from "./callbacks.ts";
import { TrainingDataError } from "./errors.ts";
import { type FitHost, openRun } from "./_fit_host.ts";
import { progressBar, type ProgressOptions } from "./progress.ts";
import { type RunDirectory, runDirectory } from "./run_dir.ts";
import { type RunReport, runReport } from "./run_report.ts";
import { sampleImages, type SampleOptions } from "./samples.ts";
import { type MetricsFn, validate, type ValidationData } from "./validation.ts";

/**
 * Validation during `fit`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as tf from "@tensorflow/tfjs-core";
 * import { initBackend } from "@perceptual/loss/backend";
 * import { trainer, type FitValidation } from "@perceptual/loss/train";
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
 * const validation: FitValidation = {
 *   data: () => [batch()], // made afresh for each validation
 *   every: 2,
 *   metrics: (p, y) => ({ maxError: tf.max(tf.abs(tf.sub(p, y))) as tf.Scalar }),
 * };
 * const result = await t.fit(data, { steps: 4, quiet: true, validation });
 * assert.deepEqual(Object.keys(result.validation ?? {}), ["loss", "maxError"]);
 * image.dispose();
 * ```
 */
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

/**
 * Options of `Trainer.fit`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as tf from "@tensorflow/tfjs-core";
 * import { initBackend } from "@perceptual/loss/backend";
 * import { trainer, type FitOptions } from "@perceptual/loss/train";
 * import { listCheckpoints } from "./checkpoint_dir.ts";
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
 * const runDir = `${await Deno.makeTempDir()}/run`;
 * const options: FitOptions = {
 *   steps: 6, runDir, checkpointEvery: 2, keepCheckpoints: 2, quiet: true,
 * };
 * await t.fit(data, options);
 * assert.deepEqual((await listCheckpoints(`${runDir}/checkpoints`)).map((c) => c.step), [6, 4]);
 * image.dispose();
 * ```
 */
export interface FitOptions {
  /**
   * The run length in steps (the schedule's `totalSteps`). Training continues from the trainer's
   * current step (0, or the checkpoint's after a resume) up to this total. When resuming it may
   * be left out: the checkpoint's run length is used, so the schedule continues where it
   * stopped; a different value extends (or shortens) the run, with a note.
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
   * previous run and `resume` is true. Nothing that is not ours is ever changed there. A path,
   * or a {@linkcode RunDirectory} (e.g. one that keeps no checkpoints).
   */
  readonly runDir?: string | RunDirectory;
  /** Write a checkpoint every this many steps (one is always written at the end). */
  readonly checkpointEvery?: number;
  /** Keep the newest this many checkpoints (default 3; for a path `runDir`). */
  readonly keepCheckpoints?: number;
  /**
   * Continue the run in `runDir` from its newest complete checkpoint (from step 0, with a note,
   * when it has none yet). A `runDir` that holds no run is refused with `RunDirError`.
   */
  readonly resume?: boolean;
  /** Sample images: see `SampleOptions`. */
  readonly samples?: SampleOptions;
  /**
   * The live `report.html` in `runDir` (plots of every loss term, validation and the learning
   * rate, and the run's images), kept up to date during training: a {@linkcode RunReport} (to
   * give it a title and add the final table with its `finish`), or false for none. Default: one
   * with default options whenever there is a `runDir`.
   */
  readonly report?: RunReport | false;
  /** The progress display (default on: a bar on a TTY, plain lines otherwise); false = quiet. */
  readonly progress?: boolean | ProgressOptions;
  /** Same as `progress: false`. */
  readonly quiet?: boolean;
  /**
   * Stop cleanly after the current step (a checkpoint is written when `runDir` is set, and
   * `run.json` and the report say the run was interrupted).
   */
  readonly signal?: AbortSignal;
  /**
   * How to continue this run, recorded in `run.json` when it stops early (default: "fit again
   * with resume: true"); a command-line tool gives its own command here.
   */
  readonly resumeHint?: string;
  /**
   * Also check the global tensor count after every step (lifetime's `leakGuard`), which catches
   * leaks in callbacks too. Off by default: a data source that prefetches makes that count
   * fluctuate. The trainer's own per-step check is always on unless `leakCheck: false`.
   */
  readonly leakGuard?: boolean;
}

/**
 * What `fit` returns.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as tf from "@tensorflow/tfjs-core";
 * import { initBackend } from "@perceptual/loss/backend";
 * import { trainer, type FitResult } from "@perceptual/loss/train";
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
 * const result: FitResult = await t.fit(data, { steps: 4, quiet: true });
 * assert.equal(result.step, 4);
 * assert.equal(result.stepsRun, 4);
 * assert.equal(result.reason, "done");
 * assert.equal(result.last?.step, 4);
 * assert.equal(result.checkpoint, undefined); // no runDir, so no checkpoint
 * image.dispose();
 * ```
 */
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
  const { steps, epochs, stepsPerEpoch, checkpointEvery, signal } = options;
  checkCount("steps", steps, 1);
  checkCount("epochs", epochs, 1);
  checkCount("stepsPerEpoch", stepsPerEpoch, 1);
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
  const runDir = run?.path;
  const checkpointing = run !== undefined && run.checkpoints;
  if (!checkpointing && (options.resume || checkpointEvery !== undefined)) {
    throw new RangeError(
      "fit: resume and checkpointEvery need a runDir that keeps checkpoints",
    );
  }
  if (steps === undefined && epochs === undefined && !options.resume) {
    throw new RangeError("fit needs steps (the run length) or epochs");
  }
  let totalSteps = steps ??
    (epochs !== undefined && stepsPerEpoch !== undefined ? epochs * stepsPerEpoch : undefined);
  if (totalSteps !== undefined) host.setRunLength(totalSteps);

  // Run directory and resume, before anything is written. `openRun` takes the directory's lock
  // unless the caller holds it already; then it is released when fit returns or throws.
  const ownLock = run !== undefined && !run.locked;
  using _lock = ownLock ? { [Symbol.dispose]: () => run.release() } : undefined;
  const opened = await openRun(host, run, options.resume ?? false, totalSteps, epochs);
  const { resumedFrom, notes } = opened;
  totalSteps = opened.totalSteps;
  if (totalSteps === undefined && epochs === undefined) {
    throw new RangeError(
      "fit needs steps (the run length) or epochs: the run being resumed has no checkpoint " +
        "that records its length",
    );
  }

  const before: Callback[] = [];
  if (run !== undefined) {
    before.push(run.metrics((note) => notes.push(note)));
  }
  if (options.samples !== undefined) before.push(sampleImages(options.samples, runDir));
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
  const all = [...before, ...after];

  const startStep = host.position().step;
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
    const dir = await run!.saveCheckpoint(snap.state, snap.model, snap.optimizer);
    lastCheckpoint = dir;
    lastCheckpointStep = snap.state.step;
    return dir;
  }

  async function runValidation(): Promise<Record<string, number>> {
    const v = options.validation!;
    lastValidation = await validate(host.trainable.forward, v.data, {
      metrics: v.metrics,
      loss: v.loss === false ? undefined : host.loss,
      maxBatches: v.maxBatches,
    });
    return lastValidation;
  }

  async function loop(): Promise<void> {
    const isFactory = typeof data === "function";
    while (true) {
      const { step, epoch, batchInEpoch: startBatch, seed } = host.position();
      if (step >= target || (epochs !== undefined && epoch >= epochs)) break;
      const iterable = isFactory ? data({ seed, epoch, batch: startBatch }) : data;
      const it = iteratorOf(iterable);
      // A plain iterable cannot start mid-epoch: replay it and drop what was already trained on.
      let skip = isFactory ? 0 : startBatch;
      let batchInEpoch = startBatch;
      let yielded = 0;
      try {
        while (true) {
          if (stepsPerEpoch !== undefined && batchInEpoch >= stepsPerEpoch) break;
          if (host.position().step >= target) return;
          if (signal?.aborted) {
            stopped = true;
            return;
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
            const batch = checkBatch(raw, `batch ${batchInEpoch} of epoch ${epoch}`);
            const metrics = await host.step(batch);
            host.setPosition(epoch, ++batchInEpoch);
            const isLast = metrics.step >= target;
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
              model: host.trainable.model,
              forward: host.trainable.forward,
              runDir,
              checkpoint: undefined,
            };
            for (const cb of before) await cb.onStepEnd?.(event);
            let checkpoint: string | undefined;
            if (
              checkpointing &&
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
    await run?.setStatus({ state: "running", step: startStep });
    for (const cb of all) await cb.onFitStart?.(startEvent);
    await loop();
    const now = host.position().step;
    if (checkpointing && now > startStep && lastCheckpointStep !== now) await checkpointNow();
  } catch (error) {
    failure = { error };
  }
  if (run !== undefined) {
    // run.json says how the run ended: `running` left there means killed or crashed.
    const resume = options.resumeHint ?? "fit again with resume: true";
    const step = host.position().step;
    const error = failure === undefined
      ? undefined
      : failure.error instanceof Error
      ? failure.error.message
      : String(failure.error);
    try {
      await run.setStatus(
        error !== undefined
          ? { state: "failed", step, resume, error }
          : stopped
          ? { state: "interrupted", step, resume }
          : { state: "done", step },
      );
    } catch (e) {
      failure ??= { error: e };
    }
  }
  const endEvent: FitEndEvent = {
    step: host.position().step,
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
  const end = host.position();
  return {
    step: end.step,
    stepsRun: end.step - startStep,
    reason: stopped ? "stopped" : "done",
    resumedFrom,
    last: end.last,
    validation: lastValidation,
    checkpoint: lastCheckpoint,
  };
}
