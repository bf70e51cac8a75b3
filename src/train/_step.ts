/**
 * One optimisation step, the trainer's core: forward, loss, gradients, the finite checks, the
 * update. Internal to the trainer, which owns the state around it.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
import { memorySnapshot, scope } from "../lifetime/mod.ts";
import type { LossFn } from "../loss/loss_result.ts";
import type { Batch } from "./batch.ts";
import type { StepMetrics } from "./callbacks.ts";
import {
  DivergenceError,
  NonFiniteGradientError,
  NonFiniteStepError,
  TrainingDataError,
} from "./errors.ts";
import { PredictionRangeError } from "../loss/errors.ts";
import { setHyperparameters } from "./_optimizer_state.ts";
import { nativeAdamApply } from "../backend/native/_adam.ts";
import type { Trainable } from "./trainable.ts";

/**
 * How far outside its loss network's range a prediction may go, as a fraction of the range's
 * width: the networks' own default tolerance, so both checks agree.
 */
const PREDICTION_SLACK = 0.5;

function badBatch(step: number, field: "input" | "target"): TrainingDataError {
  return new TrainingDataError(
    `the batch of step ${step} holds NaN or infinite values in its ${field}; the weights were ` +
      "not updated. Check the data source (a decoding or normalisation step)",
  );
}

/** Whether `x` is finite everywhere, read synchronously (true when the backend cannot). */
function finiteNow(x: tf.Tensor): boolean {
  try {
    return Number.isFinite(tf.tidy(() => tf.sum(tf.mul(x, 0)).dataSync()[0]!));
  } catch {
    return true;
  }
}

/** How many statistics of the prediction and the batch follow the loss values. */
const STATS = 5;

function readValues(values: Float32Array | Int32Array | Uint8Array, n: number): number[] {
  return Array.from(values.subarray(0, n), Number);
}

/** What {@linkcode optimizerStep} did. */
export interface StepOutcome {
  /** The step's metrics. */
  readonly metrics: StepMetrics;
  /** Tensors (and bytes) the step left behind: 0 unless something leaked or slots were made. */
  readonly created: number;
  /** Bytes of those tensors. */
  readonly createdBytes: number;
}

/** The loss values, the prediction's statistics and the squared gradient norms, and the gradients. */
interface Gradients {
  readonly out: { values: tf.Tensor; grads: tf.NamedTensorMap };
  readonly termNames: string[];
}

/**
 * Forward, loss and gradients inside one scope: `values` is [total, ...terms, min(pred),
 * max(pred), sum(pred·0), sum(input·0), sum(target·0), ...|grad|²], one tensor to read back.
 */
function gradients(
  trainable: Trainable,
  loss: LossFn,
  { input, target }: Batch,
  vars: tf.Variable[],
): Gradients {
  let termNames: string[] = [];
  const out = scope(() => {
    // The term values leave the tape as one stacked tensor made here, so nothing the loss
    // returned (possibly a cached tensor of its own) is ever kept or disposed by the trainer.
    let termStack: tf.Tensor | undefined;
    // The prediction's min, max and finiteness, and the batch's finiteness, read with the loss.
    let predStats: tf.Tensor | undefined;
    const { value, grads } = tf.variableGrads(() => {
      const pred = trainable.forward(input, true);
      if (!(pred instanceof tf.Tensor) || pred.rank !== 4) {
        throw new TypeError("the model must map one NHWC tensor to one NHWC tensor");
      }
      if (pred.shape.some((d, i) => d !== target.shape[i])) {
        throw new TrainingDataError(
          `the model output has shape [${pred.shape.join(", ")}] but the target has ` +
            `[${target.shape.join(", ")}]`,
        );
      }
      // x·0 sums to 0 exactly when x is finite everywhere: NaN and ±∞ give NaN.
      const probe = (x: tf.Tensor) => tf.sum(tf.mul(x, 0));
      predStats = tf.keep(
        tf.stack([tf.min(pred), tf.max(pred), probe(pred), probe(input), probe(target)]),
      );
      const result = loss(pred as tf.Tensor4D, target);
      termNames = Object.keys(result.terms);
      for (const name of termNames) {
        const t = result.terms[name]!;
        if (t.rank !== 0) {
          throw new TypeError(`loss term '${name}' is not a scalar (shape [${t.shape}])`);
        }
      }
      if (termNames.length > 0) {
        termStack = tf.keep(tf.stack(termNames.map((k) => result.terms[k]!)));
      }
      return result.total;
    }, vars);
    const sq = vars.map((v) =>
      grads[v.name] === undefined ? tf.scalar(0) : tf.sum(tf.square(grads[v.name]!))
    );
    const values = tf.concat([
      tf.reshape(value, [1]),
      ...(termStack === undefined ? [] : [termStack]),
      predStats!,
      tf.stack(sq),
    ]);
    termStack?.dispose();
    predStats?.dispose();
    // Every trainable weight, in order, null where the loss does not reach it: tfjs optimizers
    // match slots to variables by position and skip a null gradient, so positions stay stable.
    const ordered: tf.NamedTensorMap = {};
    for (const v of vars) ordered[v.name] = grads[v.name] ?? (null as unknown as tf.Tensor);
    return { values, grads: ordered };
  });
  return { out, termNames };
}

/** The step's number and the loss network's promise, for the divergence errors. */
interface StepContext {
  readonly number: number;
  readonly use: LossFn["network"];
  readonly termNames: readonly string[];
}

function diverged(
  { number, use }: StepContext,
  terms: readonly string[],
  min: number,
  max: number,
  cause?: unknown,
): DivergenceError {
  const expected = use === undefined ? undefined : { network: use.name, range: use.range };
  return new DivergenceError(
    number,
    terms,
    min,
    max,
    expected,
    cause === undefined ? {} : { cause },
  );
}

/**
 * {@linkcode gradients}, with the loss network's refusal of the prediction (its own range check,
 * when on) turned into divergence, not the advice about users' images that the network gives —
 * unless the batch itself is bad.
 */
function gradientsOrDivergence(
  trainable: Trainable,
  loss: LossFn,
  batch: Batch,
  vars: tf.Variable[],
  number: number,
): Gradients {
  try {
    return gradients(trainable, loss, batch, vars);
  } catch (e) {
    if (e instanceof PredictionRangeError) {
      // The network's check read synchronously, so this can too.
      const bad = (["input", "target"] as const).find((k) => !finiteNow(batch[k]));
      throw bad === undefined
        ? diverged({ number, use: loss.network, termNames: [] }, e.terms, e.min, e.max, e)
        : badBatch(number, bad);
    }
    throw e;
  }
}

/** The values read back from {@linkcode gradients}, checked finite. */
interface CheckedValues {
  readonly total: number;
  readonly terms: Record<string, number>;
  readonly squaredNorms: number[];
}

/**
 * Reads the loss values, the statistics and the squared gradient norms out of `data` and throws
 * the first problem: a bad batch, a diverged prediction, a non-finite loss, a non-finite gradient.
 */
function checkValues(
  data: Float32Array | Int32Array | Uint8Array,
  ctx: StepContext,
  vars: readonly tf.Variable[],
): CheckedValues {
  const { number, use, termNames } = ctx;
  const n = 1 + termNames.length;
  const lossValues = readValues(data, n);
  const named: Record<string, number> = { total: lossValues[0]! };
  const terms: Record<string, number> = {};
  termNames.forEach((name, i) => {
    terms[name] = lossValues[i + 1]!;
    named[name] = lossValues[i + 1]!;
  });
  const [min, max, probe, inputProbe, targetProbe] = readValues(data.subarray(n), STATS);
  // The batch first (bad data is not divergence), then the prediction: a diverged output
  // explains a NaN loss, not the other way round.
  if (!Number.isFinite(inputProbe)) throw badBatch(number, "input");
  if (!Number.isFinite(targetProbe)) throw badBatch(number, "target");
  if (!Number.isFinite(probe)) throw diverged(ctx, use?.terms ?? termNames, min!, max!);
  if (use !== undefined) {
    const [lo, hi] = use.bounds;
    const slack = (hi - lo) * PREDICTION_SLACK;
    if (min! < lo - slack || max! > hi + slack) throw diverged(ctx, use.terms, min!, max!);
  }
  if (lossValues.some((v) => !Number.isFinite(v))) throw new NonFiniteStepError(number, named);
  const squaredNorms = readValues(data.subarray(n + STATS), vars.length);
  const badGrad = squaredNorms.findIndex((v) => !Number.isFinite(v));
  if (badGrad >= 0) {
    throw new NonFiniteGradientError(number, vars[badGrad]!.name, lossValues[0]!);
  }
  return { total: lossValues[0]!, terms, squaredNorms };
}

/**
 * Step `trainable` once on a checked batch with `lr` (and Adam's β1 `momentum`): gradients with
 * `tf.variableGrads` inside `scope()`, loss and gradients read back and checked finite, then the
 * update and the projection. Throws `NonFiniteStepError` / `NonFiniteGradientError` before any
 * update, and leaks nothing when anything throws.
 */
export async function optimizerStep(
  trainable: Trainable,
  loss: LossFn,
  optimizer: tf.Optimizer,
  batch: Batch,
  { number, lr, momentum }: { number: number; lr: number; momentum: number | undefined },
): Promise<StepOutcome> {
  const vars = trainable.params();
  if (vars.length === 0) throw new RangeError("the model has no trainable weights");

  // Tensor counts are taken only around synchronous phases, so tensors that other code (a
  // prefetching data source) makes or frees during the await below are not counted.
  const before1 = memorySnapshot();
  setHyperparameters(optimizer, lr, momentum);
  const { out, termNames } = gradientsOrDivergence(trainable, loss, batch, vars, number);
  const after1 = memorySnapshot();
  let created = after1.tensors - before1.tensors;
  let createdBytes = after1.bytes - before1.bytes;
  let metrics: StepMetrics;
  let before2 = after1;
  try {
    const data = await out.values.data();
    before2 = memorySnapshot();
    const ctx = { number, use: loss.network, termNames };
    const { total, terms, squaredNorms } = checkValues(data, ctx, vars);
    scope(() => {
      // tfjs's Adam on `native`: the same update in oneDNN, bit for bit (else the optimizer's own).
      if (!nativeAdamApply(optimizer, out.grads)) optimizer.applyGradients(out.grads);
      trainable.project?.();
    });
    metrics = {
      step: number,
      lr,
      ...(momentum === undefined ? {} : { momentum }),
      total,
      terms,
      gradNorm: Math.sqrt(squaredNorms.reduce((a, b) => a + b, 0)),
    };
  } finally {
    tf.dispose(out);
    const after2 = memorySnapshot();
    created += after2.tensors - before2.tensors;
    createdBytes += after2.bytes - before2.bytes;
  }
  return { metrics, created, createdBytes };
}
