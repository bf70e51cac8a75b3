/**
 * Reading and restoring model weights and optimizer state, and setting per-step hyperparameters.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
import type { NamedArray, StoredDtype } from "./checkpoint.ts";
import { CheckpointError, CheckpointMismatchError } from "./errors.ts";

/** The private fields of tfjs 4.x's `AdamOptimizer` that the trainer drives (see below). */
interface AdamInternals {
  learningRate: number;
  beta1: number;
  beta2: number;
  accBeta1: tf.Variable;
  accBeta2: tf.Variable;
}

function adamInternals(optimizer: tf.Optimizer): AdamInternals | undefined {
  const o = optimizer as unknown as Partial<AdamInternals>;
  const isAdam = optimizer.getClassName() === "Adam" && typeof o.beta1 === "number" &&
    typeof o.beta2 === "number" && o.accBeta1 instanceof tf.Variable &&
    o.accBeta2 instanceof tf.Variable;
  return isAdam ? (o as AdamInternals) : undefined;
}

/**
 * Whether the trainer can set β1 of this optimizer each step (tfjs `Adam` only).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as tf from "@tensorflow/tfjs-core";
 * import { initBackend } from "../backend/mod.ts";
 * import { supportsMomentum } from "./_optimizer_state.ts";
 * await initBackend("cpu");
 * assert.ok(supportsMomentum(tf.train.adam(1e-3)));
 * assert.equal(supportsMomentum(tf.train.sgd(1)), false);
 * ```
 */
export function supportsMomentum(optimizer: tf.Optimizer): boolean {
  return adamInternals(optimizer) !== undefined;
}

/**
 * Set the learning rate (and, for Adam, β1) used by the optimizer's next `applyGradients`.
 *
 * For tfjs's Adam the bias-correction accumulators are also set, to β1^t and β2^t with t the
 * number of the coming update: tfjs keeps them as running products, which is only right while β1
 * never changes and drifts (in float32) from a freshly restored optimizer. Setting them from
 * (β, t) gives PyTorch's and fastai's bias correction under momentum cycling, and makes a resumed
 * run bit-identical to an uninterrupted one. Depends on AdamOptimizer's field names in tfjs 4.x;
 * they are checked, and an optimizer without them is left to its own bookkeeping.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as tf from "@tensorflow/tfjs-core";
 * import { initBackend } from "../backend/mod.ts";
 * import { setHyperparameters } from "./_optimizer_state.ts";
 * await initBackend("cpu");
 * const adam = tf.train.adam(1e-3);
 * setHyperparameters(adam, 3e-4, 0.9);
 * assert.equal(adam.getConfig().learningRate, 0.0003);
 * ```
 */
export function setHyperparameters(
  optimizer: tf.Optimizer,
  lr: number,
  momentum: number | undefined,
): void {
  const o = optimizer as unknown as {
    setLearningRate?: (lr: number) => void;
    learningRate: number;
  };
  // SGD (and Momentum) keep -lr as a kept scalar; their setLearningRate replaces it.
  if (typeof o.setLearningRate === "function") o.setLearningRate(lr);
  else o.learningRate = lr;
  const adam = adamInternals(optimizer);
  if (adam === undefined) return;
  if (momentum !== undefined) adam.beta1 = momentum;
  const t = optimizer.iterations + 1;
  tf.tidy(() => {
    adam.accBeta1.assign(tf.scalar(adam.beta1 ** t));
    adam.accBeta2.assign(tf.scalar(adam.beta2 ** t));
  });
}

async function readArray(name: string, t: tf.Tensor): Promise<NamedArray> {
  if (t.dtype !== "float32" && t.dtype !== "int32") {
    throw new CheckpointError(
      `cannot checkpoint '${name}': dtype ${t.dtype} (float32 and int32 only)`,
    );
  }
  const data = await t.data();
  return {
    name,
    shape: [...t.shape],
    dtype: t.dtype as StoredDtype,
    data: t.dtype === "int32" ? Int32Array.from(data as Int32Array) : Float32Array.from(data),
  };
}

/**
 * Named tensors copied out of the engine, in order.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as tf from "@tensorflow/tfjs-core";
 * import { initBackend } from "../backend/mod.ts";
 * import { readArrays } from "./_optimizer_state.ts";
 * await initBackend("cpu");
 * const w = tf.zeros([3, 2]);
 * assert.deepEqual((await readArrays([{ name: "w", value: w }]))[0]!.shape, [3, 2]);
 * w.dispose();
 * ```
 */
export async function readArrays(
  named: readonly { readonly name: string; readonly value: tf.Tensor }[],
): Promise<NamedArray[]> {
  const out: NamedArray[] = [];
  for (const { name, value } of named) out.push(await readArray(name, value));
  return out;
}

/**
 * The optimizer's state (`getWeights()`: iteration count and slots), copied out of the engine.
 * Temporary tensors `getWeights` makes are disposed; the optimizer's own variables are not.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as tf from "@tensorflow/tfjs-core";
 * import { initBackend } from "../backend/mod.ts";
 * import { readOptimizerWeights } from "./_optimizer_state.ts";
 * await initBackend("cpu");
 * assert.deepEqual((await readOptimizerWeights(tf.train.adam(1e-3))).map((w) => w.name), ["iter"]);
 * ```
 */
export async function readOptimizerWeights(optimizer: tf.Optimizer): Promise<NamedArray[]> {
  let named: { name: string; tensor: tf.Tensor }[];
  try {
    named = await optimizer.getWeights();
  } catch (e) {
    throw new CheckpointError(
      `cannot checkpoint optimizer ${optimizer.getClassName()}: ${
        e instanceof Error ? e.message : String(e)
      }; use Adam, SGD, Momentum, RMSProp, Adagrad or Adadelta`,
    );
  }
  try {
    const out: NamedArray[] = [];
    for (const { name, tensor } of named) out.push(await readArray(name, tensor));
    return out;
  } finally {
    for (const { tensor } of named) if (!(tensor instanceof tf.Variable)) tensor.dispose();
  }
}

function shapeText(shape: readonly number[]): string {
  return `[${shape.join(", ")}]`;
}

/**
 * A weight name without tfjs's per-process counters, which it appends to layer names
 * (`conv2d_Conv2D12/kernel`) and, when a named layer is built twice in one process, to the
 * weight's own name (`enc1_conv1/kernel_1`).
 */
function stableName(name: string): string {
  return name.split("/").map((part) => part.replace(/_?\d+$/, "")).join("/");
}

/**
 * Check that checkpointed values fit `current` (a model's weights, or a trainer's variables),
 * one by one, and throw {@linkcode CheckpointMismatchError} naming the first that does not (name
 * and both shapes). Names are compared without tfjs's per-process layer counters, so the same
 * architecture built in another process matches. `what` names the receiving side ("model").
 */
export function checkWeightsFit(
  current: readonly { readonly name: string; readonly value: tf.Tensor }[],
  saved: readonly NamedArray[],
  checkpoint: string,
  what: string,
): void {
  const weights = current.map((w) => ({ name: w.name, shape: w.value.shape }));
  const n = Math.min(weights.length, saved.length);
  for (let i = 0; i < n; i++) {
    const w = weights[i]!;
    const s = saved[i]!;
    const sameShape = w.shape.length === s.shape.length &&
      w.shape.every((d, k) => d === s.shape[k]);
    if (!sameShape || stableName(w.name) !== stableName(s.name)) {
      throw new CheckpointMismatchError(
        checkpoint,
        `weight #${i} is '${s.name}' ${shapeText(s.shape)} in the checkpoint but '${w.name}' ` +
          `${shapeText(w.shape)} in the ${what}; the checkpoint was written for another ` +
          "architecture",
      );
    }
  }
  if (weights.length !== saved.length) {
    const extra = weights.length > saved.length
      ? `the ${what}'s weight #${n} '${weights[n]!.name}' ${shapeText(weights[n]!.shape)} has ` +
        "no counterpart in the checkpoint"
      : `the checkpoint's weight #${n} '${saved[n]!.name}' ${shapeText(saved[n]!.shape)} has ` +
        `no counterpart in the ${what}`;
    throw new CheckpointMismatchError(
      checkpoint,
      `the checkpoint has ${saved.length} weights, the ${what} ${weights.length}: ${extra}`,
    );
  }
}

/**
 * Load checkpointed optimizer state into a fresh optimizer, checking class and slot shapes
 * against the model's trainable weights first.
 */
export async function writeOptimizerWeights(
  optimizer: tf.Optimizer,
  className: string,
  saved: readonly NamedArray[],
  trainable: readonly { readonly name: string; readonly shape: readonly number[] }[],
  checkpoint: string,
): Promise<void> {
  if (optimizer.getClassName() !== className) {
    throw new CheckpointMismatchError(
      checkpoint,
      `it holds ${className} optimizer state, but this trainer uses ${optimizer.getClassName()}`,
    );
  }
  if (optimizer.iterations !== 0) {
    throw new CheckpointError(
      "optimizer state can only be restored into an optimizer that has not stepped yet; create " +
        "a new trainer (and optimizer) to resume",
    );
  }
  if (saved.length === 0) return;
  const slots = saved.slice(1);
  const n = trainable.length;
  if (n === 0 || slots.length % n !== 0) {
    throw new CheckpointMismatchError(
      checkpoint,
      `its ${slots.length} optimizer slots do not divide among the model's ${n} trainable weights`,
    );
  }
  for (const [j, s] of slots.entries()) {
    const w = trainable[j % n]!;
    if (w.shape.length !== s.shape.length || w.shape.some((d, k) => d !== s.shape[k])) {
      throw new CheckpointMismatchError(
        checkpoint,
        `optimizer slot '${s.name}' ${shapeText(s.shape)} does not fit trainable weight ` +
          `'${w.name}' ${shapeText(w.shape)}`,
      );
    }
  }
  const tensors = saved.map((s) => ({
    name: s.name,
    tensor: tf.tensor(s.data, [...s.shape], s.dtype),
  }));
  try {
    await optimizer.setWeights(tensors);
  } finally {
    // setWeights makes its own variables (sharing the data by reference count).
    for (const { tensor } of tensors) tensor.dispose();
  }
}
