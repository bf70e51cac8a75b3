/**
 * The trainer's machinery behind {@linkcode trainer}: its parts and mutable state (`Core`), the
 * guarded step, snapshots and restores, and what the fit loop sees of it. Internal.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
import { DisposedError, TensorLeakError } from "../lifetime/mod.ts";
import type { LossFn } from "../loss/loss_result.ts";
import type { Batch } from "./batch.ts";
import type { StepMetrics } from "./callbacks.ts";
import {
  type Checkpoint,
  type CheckpointState,
  type NamedArray,
  readCheckpoint,
} from "./checkpoint.ts";
import { TrainerStateError } from "./errors.ts";
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
import { layersTrainable, type Trainable, variablesTrainable } from "./trainable.ts";
import { AVERAGE_PREFIX, type Averaged, averaged } from "./_averaged.ts";

import type { TrainerOptions } from "./trainer_options.ts";

export function trainableOf(options: TrainerOptions): Trainable {
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

/** A trainer's parts and its mutable state: only the functions below write it. */
export interface Core {
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
export function coreOf(options: TrainerOptions): Core {
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

export function ensureLive(c: Core): void {
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
export async function guardedStep(c: Core, batch: Batch): Promise<StepMetrics> {
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

export function snapshotCore(
  c: Core,
): Promise<{ state: CheckpointState; model: NamedArray[]; optimizer: NamedArray[] }> {
  ensureLive(c);
  const snap = () => snapshotOf(c.p, c.trainable, c.optimizer, c.schedule, c.config, c.average);
  return c.average === undefined ? snap() : c.average.withTrained(snap);
}

export async function restoreCore(
  c: Core,
  dirOrCheckpoint: string | Checkpoint,
): Promise<Checkpoint> {
  ensureLive(c);
  if (c.stepsThisInstance > 0) {
    throw new TrainerStateError(
      "restore() needs a trainer that has not stepped yet; create a new trainer",
    );
  }
  return await restoreInto(c.p, c.trainable, c.optimizer, dirOrCheckpoint, c.average);
}

/** What `fitLoop` sees of a trainer: its parts, its position, and how to move it. */
export function fitHostOf(
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
export interface Position {
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
