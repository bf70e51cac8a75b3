/**
 * The training combinator: model + loss + optimizer + schedule → `step` and `fit`.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
import type * as tfl from "@tensorflow/tfjs-layers";
import { DisposedError, type Owner, TensorLeakError } from "../lifetime/mod.ts";
import type { LossFn } from "../loss/loss_result.ts";
import { type Batch, checkBatch, type TrainingData } from "./batch.ts";
import type { StepMetrics } from "./callbacks.ts";
import {
  type Checkpoint,
  type CheckpointState,
  type NamedArray,
  readCheckpoint,
} from "./checkpoint.ts";
import { TrainerStateError } from "./errors.ts";
import type { FitOptions, FitResult } from "./fit.ts";
import { fitLoop } from "./_fit_loop.ts";
import type { FitHost } from "./_fit_host.ts";
import { optimizerStep } from "./_step.ts";
import { checkStepMemory } from "./_step_memory.ts";
import { allocationFailure, isAllocationFailure } from "./memory_error.ts";
import { backendMemoryLimit } from "../backend/memory_limit.ts";
import {
  readOptimizerWeights,
  supportsMomentum,
  writeOptimizerWeights,
} from "./_optimizer_state.ts";
import { constant, type Schedule } from "./schedule.ts";
import { type Forward, layersTrainable, type Trainable, variablesTrainable } from "./trainable.ts";
import type { WeightAverageOptions } from "./weight_average.ts";
import { AVERAGE_PREFIX, type Averaged, averaged } from "./_averaged.ts";

/**
 * Options of {@linkcode trainer}. What is trained is either `model` (a tfjs-layers model) or
 * `params` with `forward` (bare variables, e.g. an image optimised pixel by pixel).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as tf from "@tensorflow/tfjs-core";
 * import { initBackend } from "@perceptual/loss/backend";
 * import { constant, trainer, type TrainerOptions } from "@perceptual/loss/train";
 * await initBackend("cpu");
 * const image = tf.variable(tf.zeros([1, 2, 2, 1])); // optimised pixel by pixel
 * const options: TrainerOptions = {
 *   params: [image],
 *   forward: () => tf.add(image, 0),
 *   project: () => image.assign(tf.clipByValue(image, 0, 1)), // keep it a valid image
 *   loss: (p, y) => ({ total: tf.mean(tf.square(tf.sub(p, y))) as tf.Scalar, terms: {} }),
 *   schedule: constant(5), // a large step (Adam: about 5 per element)
 * };
 * using t = trainer(options);
 * const target = tf.fill([1, 2, 2, 1], 2) as tf.Tensor4D; // out of range on purpose
 * await t.step({ input: target, target });
 * assert.equal(image.dataSync()[0], 1); // projected back into [0, 1]
 * tf.dispose([target, image]);
 * ```
 */
export interface TrainerOptions {
  /** The model to train (tfjs-layers). The caller keeps ownership: `dispose()` leaves it alone. */
  readonly model?: tfl.LayersModel;
  /** Instead of `model`: the variables to optimise (the caller keeps ownership). */
  readonly params?: readonly tf.Variable[];
  /** With `params`: the forward pass, `(input, training) → prediction`. */
  readonly forward?: Forward;
  /**
   * With `params`: called after each update (inside a scope) to put the variables back in range,
   * e.g. `() => image.assign(tf.clipByValue(image, 0, 1))`.
   */
  readonly project?: () => void;
  /** The loss: `(prediction, target) → { total, terms }`. */
  readonly loss: LossFn;
  /** Any tfjs optimizer. Default: `tf.train.adam` (β1 0.9, β2 0.999), owned by the trainer. */
  readonly optimizer?: tf.Optimizer;
  /** The learning-rate schedule. Default `constant(1e-3)`. */
  readonly schedule?: Schedule;
  /** Handed to resumable data sources and stored in checkpoints. Default 0. */
  readonly seed?: number;
  /** The run length, for schedules that need it when `step` is used without `fit`. */
  readonly totalSteps?: number;
  /**
   * Per-step leak check (default true): from the second step on, a step that leaves tensors
   * behind throws `TensorLeakError` naming the step and the count. It counts only tensors made
   * by the step itself, so a data source that prefetches while a step runs cannot trip it.
   */
  readonly leakCheck?: boolean;
  /** Anything JSON-serialisable to store in checkpoints (CLI flags, model config, …). */
  readonly config?: unknown;
  /**
   * Memory check (default true): before the first step of each batch shape, on a backend with a
   * known ceiling (wasm, native: 4 GiB; or `setMemoryLimit`), estimate the step's peak memory
   * from two small probe steps and throw `StepMemoryError` (how much it needs, what the backend
   * holds, which batch or crop fits) instead of running a step that cannot fit.
   */
  readonly memoryCheck?: boolean;
  /**
   * Keep an exponential moving average of every weight (batch-norm statistics included; see
   * `weightAverage`), updated after each step. Between steps — for validation, samples, callbacks,
   * after `fit` and after `dispose()` — the model holds the averaged weights; each step trains
   * the trained weights, and checkpoints keep both, so a resumed run continues exactly. Default:
   * none (the model holds the trained weights).
   */
  readonly average?: WeightAverageOptions;
}

/**
 * The trainer's progress, as plain numbers.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as tf from "@tensorflow/tfjs-core";
 * import { initBackend } from "@perceptual/loss/backend";
 * import { trainer, type TrainerState } from "@perceptual/loss/train";
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
 * await t.fit(data, { steps: 3, quiet: true });
 * const state: TrainerState = t.state;
 * assert.deepEqual([state.step, state.epoch, state.batchInEpoch, state.last?.step], [3, 1, 1, 3]);
 * image.dispose();
 * ```
 */
export interface TrainerState {
  /** Steps completed. */
  readonly step: number;
  /** The 0-based epoch of the next batch (maintained by `fit`). */
  readonly epoch: number;
  /** Batches of that epoch already consumed (maintained by `fit`). */
  readonly batchInEpoch: number;
  /** The seed handed to data factories. */
  readonly seed: number;
  /** The run length the schedule follows, when known. */
  readonly totalSteps: number | undefined;
  /** The metrics of the last step, if any. */
  readonly last: StepMetrics | undefined;
}

/**
 * A trainer: see {@linkcode trainer}.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as tf from "@tensorflow/tfjs-core";
 * import { initBackend } from "@perceptual/loss/backend";
 * import { type Trainer, trainer } from "@perceptual/loss/train";
 * async function train10(t: Trainer, batch: Parameters<Trainer["step"]>[0]): Promise<number> {
 *   let last = NaN;
 *   for (let i = 0; i < 10; i++) last = (await t.step(batch)).total;
 *   return last;
 * }
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
 * const input = tf.zeros([1, 2, 2, 3]) as tf.Tensor4D;
 * const target = tf.ones([1, 2, 2, 3]) as tf.Tensor4D;
 * const last = await train10(t, { input, target });
 * assert.equal(t.state.step, 10);
 * assert.ok(last < 1); // Adam moved the offset towards the target
 * ```
 */
export interface Trainer extends Owner {
  /** The model being trained, when it trains a tfjs-layers model. */
  readonly model: tfl.LayersModel | undefined;
  /** The forward pass being trained. */
  readonly forward: Forward;
  /** The optimizer in use. */
  readonly optimizer: tf.Optimizer;
  /** The schedule in use. */
  readonly schedule: Schedule;
  /** Progress so far. */
  readonly state: TrainerState;
  /**
   * One optimisation step on `batch` (the caller keeps ownership of its tensors). Throws
   * `NonFiniteStepError` / `NonFiniteGradientError` without updating the weights, and leaks
   * nothing when anything throws.
   */
  step(batch: Batch): Promise<StepMetrics>;
  /** Train over `data`: see {@linkcode FitOptions}. Disposes every batch it takes. */
  fit(data: TrainingData, options?: FitOptions): Promise<FitResult>;
  /** Load a checkpoint directory (weights, optimizer state, step, data position) into a fresh trainer. */
  restore(checkpointDir: string): Promise<Checkpoint>;
  /** The state a checkpoint records, read out of the engine now. */
  snapshot(): Promise<{ state: CheckpointState; model: NamedArray[]; optimizer: NamedArray[] }>;
}

function trainableOf(options: TrainerOptions): Trainable {
  const { model, params, forward, project } = options;
  if (model !== undefined) {
    if (params !== undefined || forward !== undefined || project !== undefined) {
      throw new TypeError("trainer: pass either model, or params with forward, not both");
    }
    return layersTrainable(model);
  }
  if (params === undefined || forward === undefined) {
    throw new TypeError("trainer: pass model (a LayersModel), or params and forward");
  }
  return variablesTrainable({ params, forward, project });
}

/**
 * Build a trainer: `step(batch)` runs forward, loss, gradients (`tf.variableGrads` over the
 * model's trainable weights, inside `scope()`), checks the loss and gradients are finite, then
 * applies the optimizer with the schedule's learning rate (and β1). `fit(data, options)` loops
 * over batches with validation, progress, metrics CSV, sample images, checkpoints and resume.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as tf from "@tensorflow/tfjs-core";
 * import * as tfl from "@tensorflow/tfjs-layers";
 * import { initBackend } from "@perceptual/loss/backend";
 * import { trainer } from "@perceptual/loss/train";
 * await initBackend("cpu");
 * const model = tfl.sequential({
 *   layers: [tfl.layers.conv2d({ filters: 3, kernelSize: 3, padding: "same", inputShape: [8, 8, 3] })],
 * });
 * using t = trainer({
 *   model,
 *   loss: (pred, target) => {
 *     const pixel = tf.mean(tf.abs(tf.sub(pred, target))) as tf.Scalar;
 *     return { total: tf.clone(pixel), terms: { pixel } };
 *   },
 * });
 * const input = tf.randomUniform([2, 8, 8, 3]) as tf.Tensor4D;
 * const m = await t.step({ input, target: input });
 * assert.equal(m.step, 1);
 * assert.deepEqual(Object.keys(m.terms), ["pixel"]);
 * input.dispose();
 * ```
 */
export function trainer(options: TrainerOptions): Trainer {
  const c = coreOf(options);
  const snapshot = () => snapshotCore(c);
  const restore = (dirOrCheckpoint: string | Checkpoint) => restoreCore(c, dirOrCheckpoint);
  const host = fitHostOf(c.p, c.trainable, c.loss, c.schedule, {
    seedGiven: options.seed !== undefined,
    config: c.config,
    step: (batch) => guardedStep(c, batch),
    restore,
    snapshot,
  });
  const self: Trainer = {
    model: c.trainable.model,
    forward: c.trainable.forward,
    optimizer: c.optimizer,
    schedule: c.schedule,
    get state(): TrainerState {
      return { ...c.p };
    },
    step: async (batch: Batch) => {
      ensureLive(c);
      return await guardedStep(c, checkBatch(batch));
    },
    fit(data: TrainingData, fitOptions: FitOptions = {}): Promise<FitResult> {
      ensureLive(c);
      return fitLoop(host, data, fitOptions);
    },
    restore: (dir: string) => restore(dir),
    snapshot,
    dispose(): void {
      if (c.disposed) return;
      c.disposed = true;
      c.average?.dispose();
      if (c.ownsOptimizer) c.optimizer.dispose();
    },
    [Symbol.dispose](): void {
      self.dispose();
    },
  };
  return self;
}

/** A trainer's parts and its mutable state: only the functions below write it. */
interface Core {
  readonly p: Position;
  readonly trainable: Trainable;
  readonly loss: LossFn;
  readonly optimizer: tf.Optimizer;
  readonly ownsOptimizer: boolean;
  readonly schedule: Schedule;
  readonly config: CheckpointState["config"];
  readonly leakCheck: boolean;
  readonly memoryCheck: boolean;
  /** The weight average, with `average`. */
  readonly average: Averaged | undefined;
  /** Batch shapes already checked against the memory limit, with the limit they were checked at. */
  readonly checkedShapes: Set<string>;
  disposed: boolean;
  busy: boolean;
  stepsThisInstance: number;
}

/** The options checked and the defaults filled in: a trainer that has not stepped. */
function coreOf(options: TrainerOptions): Core {
  const trainable = trainableOf(options);
  const schedule = options.schedule ?? constant(1e-3);
  const optimizer = options.optimizer ?? tf.train.adam(1e-3);
  checkMomentum(schedule, optimizer);
  return {
    p: {
      step: 0,
      epoch: 0,
      batchInEpoch: 0,
      seed: options.seed ?? 0,
      totalSteps: options.totalSteps,
      last: undefined,
    },
    trainable,
    loss: options.loss,
    optimizer,
    ownsOptimizer: options.optimizer === undefined,
    schedule,
    config: (options.config ?? null) as CheckpointState["config"],
    leakCheck: options.leakCheck ?? true,
    memoryCheck: options.memoryCheck ?? true,
    average: options.average === undefined ? undefined : averaged(trainable, options.average),
    checkedShapes: new Set(),
    disposed: false,
    busy: false,
    stepsThisInstance: 0,
  };
}

function ensureLive(c: Core): void {
  if (c.disposed) throw new DisposedError("trainer");
}

/** Refuse, before it runs, a step whose estimated peak does not fit the backend. */
function checkMemory(c: Core, { input, target }: Batch): void {
  if (!c.memoryCheck) return;
  const key = `${input.shape}|${target.shape}|${backendMemoryLimit().bytes}`;
  if (c.checkedShapes.has(key)) return;
  // Optimizer slots are made on the first update: count them as Adam's two per weight.
  const pendingBytes = c.stepsThisInstance === 0
    ? 2 * c.trainable.params().reduce((a, v) => a + v.size * 4, 0)
    : 0;
  checkStepMemory(c.trainable, c.loss, { input, target }, pendingBytes);
  c.checkedShapes.add(key);
}

/** One step on a checked batch, one at a time, with the memory and leak checks around it. */
async function guardedStep(c: Core, batch: Batch): Promise<StepMetrics> {
  ensureLive(c);
  if (c.busy) {
    throw new TrainerStateError("trainer.step() called while another step runs; await each step");
  }
  c.busy = true;
  try {
    c.average?.hide();
    checkMemory(c, batch);
    let outcome: Awaited<ReturnType<typeof stepAt>>;
    try {
      outcome = await stepAt(c.p, c.trainable, c.loss, c.optimizer, c.schedule, batch);
    } catch (e) {
      if (!isAllocationFailure(e)) throw e;
      throw allocationFailure(e, batch.target.shape, c.p.step + 1);
    }
    const { metrics, created, createdBytes } = outcome;
    c.average?.afterStep();
    c.stepsThisInstance++;
    // The first step of a trainer may create long-lived tensors: optimizer slots, lazy caches.
    if (c.leakCheck && c.stepsThisInstance > 1 && created > 0) {
      throw new TensorLeakError(`step ${metrics.step}`, created, createdBytes);
    }
    return metrics;
  } finally {
    c.busy = false;
  }
}

function snapshotCore(
  c: Core,
): Promise<{ state: CheckpointState; model: NamedArray[]; optimizer: NamedArray[] }> {
  ensureLive(c);
  const snap = () => snapshotOf(c.p, c.trainable, c.optimizer, c.schedule, c.config, c.average);
  return c.average === undefined ? snap() : c.average.withTrained(snap);
}

async function restoreCore(c: Core, dirOrCheckpoint: string | Checkpoint): Promise<Checkpoint> {
  ensureLive(c);
  if (c.stepsThisInstance > 0) {
    throw new TrainerStateError(
      "restore() needs a trainer that has not stepped yet; create a new trainer",
    );
  }
  return await restoreInto(c.p, c.trainable, c.optimizer, dirOrCheckpoint, c.average);
}

/** What `fitLoop` sees of a trainer: its parts, its position, and how to move it. */
function fitHostOf(
  p: Position,
  trainable: Trainable,
  loss: LossFn,
  schedule: Schedule,
  rest: Pick<FitHost, "seedGiven" | "config" | "step" | "restore" | "snapshot">,
): FitHost {
  return {
    trainable,
    loss,
    schedule,
    ...rest,
    position: () => ({
      step: p.step,
      epoch: p.epoch,
      batchInEpoch: p.batchInEpoch,
      seed: p.seed,
      last: p.last,
    }),
    setRunLength(total: number): void {
      p.totalSteps = total;
    },
    setPosition(e: number, b: number): void {
      p.epoch = e;
      p.batchInEpoch = b;
    },
  };
}

/** A trainer's position in its run (what `state` reports, and checkpoints keep). */
interface Position {
  step: number;
  epoch: number;
  batchInEpoch: number;
  seed: number;
  totalSteps: number | undefined;
  last: StepMetrics | undefined;
}

/** A schedule that sets momentum needs an optimizer the trainer can set it on (Adam). */
function checkMomentum(schedule: Schedule, optimizer: tf.Optimizer): void {
  if (schedule.momentum !== undefined && !supportsMomentum(optimizer)) {
    throw new TypeError(
      `schedule ${schedule.description ?? "(custom)"} sets momentum, which the trainer applies ` +
        `to tfjs Adam only, not ${optimizer.getClassName()}; use oneCycle({ …, moms: null }) or Adam`,
    );
  }
}

/** One step on a checked batch at position `p` (advanced on success). */
async function stepAt(
  p: Position,
  trainable: Trainable,
  loss: LossFn,
  optimizer: tf.Optimizer,
  schedule: Schedule,
  { input, target }: Batch,
): Promise<{ metrics: StepMetrics; created: number; createdBytes: number }> {
  const index = p.step;
  const number = index + 1;
  if (schedule.usesTotal !== false && p.totalSteps === undefined) {
    throw new RangeError(
      `schedule ${schedule.description ?? "(custom)"} needs the run length: pass totalSteps ` +
        "to trainer() or steps to fit()",
    );
  }
  const lr = schedule(index, p.totalSteps ?? Number.NaN);
  const momentum = schedule.momentum?.(index, p.totalSteps ?? Number.NaN);
  if (!Number.isFinite(lr) || lr < 0) {
    throw new RangeError(`schedule gave learning rate ${lr} at step ${number}`);
  }
  const r = await optimizerStep(trainable, loss, optimizer, { input, target }, {
    number,
    lr,
    momentum,
  });
  p.step = number;
  p.last = r.metrics;
  return r;
}

/** What a checkpoint keeps: the position, the weights and the optimizer's state. */
async function snapshotOf(
  p: Position,
  trainable: Trainable,
  optimizer: tf.Optimizer,
  schedule: Schedule,
  config: CheckpointState["config"],
  average: Averaged | undefined,
): Promise<{ state: CheckpointState; model: NamedArray[]; optimizer: NamedArray[] }> {
  return {
    state: {
      step: p.step,
      epoch: p.epoch,
      batchInEpoch: p.batchInEpoch,
      seed: p.seed,
      totalSteps: p.totalSteps ?? null,
      schedule: schedule.description ?? null,
      optimizer: { className: optimizer.getClassName(), config: optimizer.getConfig() },
      config,
      savedAt: new Date().toISOString(),
    },
    model: await trainable.read(),
    // The average's arrays follow the optimizer's (`average/…`): state of the run, not the model.
    optimizer: [...await readOptimizerWeights(optimizer), ...await average?.arrays() ?? []],
  };
}

/** Load a checkpoint into the weights, the optimizer and the position `p`. */
async function restoreInto(
  p: Position,
  trainable: Trainable,
  optimizer: tf.Optimizer,
  dirOrCheckpoint: string | Checkpoint,
  average: Averaged | undefined,
): Promise<Checkpoint> {
  const ckpt = typeof dirOrCheckpoint === "string"
    ? await readCheckpoint(dirOrCheckpoint)
    : dirOrCheckpoint;
  const params = trainable.params();
  // Check the weights first (writing nothing), then the optimizer, then write both.
  trainable.check(ckpt.model, ckpt.dir);
  const isAverage = (a: NamedArray) => a.name.startsWith(AVERAGE_PREFIX);
  average?.restore(ckpt.optimizer.filter(isAverage), ckpt.dir);
  await writeOptimizerWeights(
    optimizer,
    ckpt.state.optimizer.className,
    ckpt.optimizer.filter((a) => !isAverage(a)),
    params.map((w) => ({ name: w.name, shape: w.shape })),
    ckpt.dir,
  );
  trainable.write(ckpt.model);
  average?.show();
  p.step = ckpt.state.step;
  p.epoch = ckpt.state.epoch;
  p.batchInEpoch = ckpt.state.batchInEpoch;
  p.seed = ckpt.state.seed;
  if (p.totalSteps === undefined && ckpt.state.totalSteps !== null) {
    p.totalSteps = ckpt.state.totalSteps;
  }
  return ckpt;
}
