/**
 * Estimate a training step's peak tensor memory before running it, and refuse a step that the
 * backend cannot hold. Internal to the trainer.
 *
 * The estimate is taken from the step's own graph on small crops of the batch: two probes (one
 * image at two crop sizes, or one and two images at the full crop when crops are small) run
 * forward, loss and backward with the engine's byte count sampled at every tensor made; the
 * peaks give the bytes per target pixel (activations, kept tensors, gradients) and the fixed
 * part (parameter gradients, derived kernels). Every activation of a convolutional step scales
 * with the pixel count, so the peak at the real size is `fixed + perPixel · batch · height ·
 * width`; optimizer slots not yet made are added. Probes change nothing: variables that the
 * forward pass updates (batch-norm statistics)
 * are restored, and the probes' tensors are freed.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
import { scope } from "../lifetime/mod.ts";
import { onTensorCreated } from "../_internal/engine.ts";
import type { LossFn } from "../loss/loss_result.ts";
import type { Batch } from "./batch.ts";
import type { Trainable } from "./trainable.ts";
import { backendMemoryLimit } from "../backend/memory_limit.ts";
import { allocationFailure, isAllocationFailure, StepMemoryError } from "./memory_error.ts";

/** An estimate of a step's peak tensor memory. */
export interface StepMemoryEstimate {
  /** Peak bytes of tensors during the step, those held before it included. */
  readonly bytes: number;
  /** Bytes held before the step. */
  readonly inUse: number;
  /** Bytes each image of the batch adds. */
  readonly perImage: number;
}

/** Safety margin on the estimate: scratch memory of kernels and the allocator's slack. */
const MARGIN = 1.1;

/** A probe batch: one or two images, cropped to 1/k of each side from the top-left. */
function probeBatch({ input, target }: Batch, images: number, k: number): Batch {
  const crop = (x: tf.Tensor4D) =>
    tf.slice(x, [0, 0, 0, 0], [images, x.shape[1] / k, x.shape[2] / k, x.shape[3]]);
  return { input: crop(input), target: crop(target) };
}

/** The engine's count of tensor bytes now. */
function engineBytes(): number {
  return (tf.engine() as unknown as { state: { numBytes: number } }).state.numBytes;
}

/**
 * Peak bytes above the start while forward, loss and backward run on `batch`, sampled each time
 * a tensor is made. (Not `tf.profile`: in tfjs 4.22 a kernel that throws under it leaves the
 * engine in profiling mode and rejects a promise nobody awaits.)
 */
function probePeak(trainable: Trainable, loss: LossFn, batch: Batch): number {
  const start = engineBytes();
  let peak = start;
  const stop = onTensorCreated((t) => {
    peak = Math.max(peak, engineBytes() + t.size * (t.dtype === "bool" ? 1 : 4));
  });
  try {
    scope(() => {
      const { value, grads } = tf.variableGrads(
        () => loss(trainable.forward(batch.input, true) as tf.Tensor4D, batch.target).total,
        trainable.params(),
      );
      tf.dispose([value, grads]);
      return undefined as unknown as tf.TensorContainer;
    });
  } finally {
    stop();
  }
  return Math.max(0, peak - start);
}

/** The crop reduction factor for the probes, or undefined when the crops are too small. */
function reduction({ input, target }: Batch): number | undefined {
  const [, hi, wi] = input.shape;
  const [, ht, wt] = target.shape;
  for (const k of [8, 4]) {
    const ok = (d: number, multiple: number) => d % (k * multiple) === 0;
    if (ok(hi, 16) && ok(wi, 16) && ok(ht, 1) && ok(wt, 1) && ht / k >= 32 && wt / k >= 32) {
      return k;
    }
  }
  return undefined;
}

/** Clones of every registered variable, to put back after the probes. */
function saveVariables(): () => void {
  const saved = Object.values(tf.engine().registeredVariables).map((v) => ({
    v,
    copy: tf.clone(v),
  }));
  return () => {
    for (const { v, copy } of saved) {
      if (!v.isDisposed) v.assign(copy);
      copy.dispose();
    }
  };
}

/**
 * Estimate the peak bytes of one step of `trainable` with `loss` on `batch` (see the module
 * doc). `pendingBytes` are bytes the step will add that the probes do not see (optimizer slots
 * made on the first update).
 */
export function estimateStepMemory(
  trainable: Trainable,
  loss: LossFn,
  batch: Batch,
  pendingBytes: number,
): StepMemoryEstimate {
  const inUse = tf.memory().numBytes;
  const [n, ht, wt] = batch.target.shape;
  const restore = saveVariables();
  const probes: Batch[] = [];
  try {
    const k = reduction(batch);
    // [pixels per probe, probe]: two sizes give the fixed part and the part per pixel.
    const plan: [number, Batch][] = k !== undefined
      ? [
        [(ht * wt) / (k * k), probeBatch(batch, 1, k)],
        [(ht * wt * 4) / (k * k), probeBatch(batch, 1, k / 2)],
      ]
      : n >= 2
      ? [[ht * wt, probeBatch(batch, 1, 1)], [2 * ht * wt, probeBatch(batch, 2, 1)]]
      : [[ht * wt, probeBatch(batch, 1, 1)]];
    probes.push(...plan.map(([, b]) => b));
    const peaks: number[] = [];
    for (const [, b] of plan) peaks.push(probePeak(trainable, loss, b));
    let perPixel: number;
    let fixed: number;
    if (plan.length === 2) {
      const [p1, p2] = [plan[0]![0], plan[1]![0]];
      perPixel = Math.max(0, (peaks[1]! - peaks[0]!) / (p2 - p1));
      fixed = Math.max(0, peaks[0]! - perPixel * p1);
    } else {
      perPixel = peaks[0]! / (ht * wt);
      fixed = 0;
    }
    const perImage = perPixel * ht * wt * MARGIN;
    const bytes = inUse + pendingBytes + fixed * MARGIN + perImage * n;
    return { bytes, inUse, perImage };
  } finally {
    for (const b of probes) tf.dispose([b.input, b.target]);
    restore();
  }
}

/**
 * Throw {@linkcode StepMemoryError} (`when: "before"`) when the step on `batch` would not fit in
 * the backend's limit; do nothing (and probe nothing) when the backend has no known limit, and
 * return `undefined` when the probes cannot run (see below).
 * An allocation failure of the probes themselves is reported as `when: "during"`.
 */
export function checkStepMemory(
  trainable: Trainable,
  loss: LossFn,
  batch: Batch,
  pendingBytes: number,
): StepMemoryEstimate | undefined {
  const limit = backendMemoryLimit();
  if (limit.bytes === undefined) return undefined;
  const [n, h, w] = batch.target.shape;
  let est: StepMemoryEstimate;
  try {
    est = estimateStepMemory(trainable, loss, batch, pendingBytes);
  } catch (e) {
    // A loss or model that cannot run on the probes' smaller batch (a target tensor of fixed
    // batch size, a model with fixed input size): no estimate; the step itself still reports
    // an allocation failure as a StepMemoryError.
    if (!isAllocationFailure(e)) return undefined;
    throw allocationFailure(e, batch.target.shape);
  }
  if (est.bytes > limit.bytes) {
    throw new StepMemoryError({
      when: "before",
      batch: n,
      height: h,
      width: w,
      limitBytes: limit.bytes,
      limitSource: limit.source,
      backend: limit.backend,
      needBytes: est.bytes,
      inUseBytes: est.inUse,
      perImageBytes: est.perImage,
    });
  }
  return est;
}
