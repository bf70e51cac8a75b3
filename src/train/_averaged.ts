/**
 * Internal: a trainer's weight average (`TrainerOptions.average`) — updated after every step,
 * shown in the model for validation, samples and after `fit`, kept in checkpoints beside the
 * optimizer's weights (`average/…`) so that a resumed run continues it exactly.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
import type { NamedArray } from "./checkpoint.ts";
import { CheckpointMismatchError } from "./errors.ts";
import { readArrays } from "./_optimizer_state.ts";
import type { Trainable } from "./trainable.ts";
import { type WeightAverage, weightAverage, type WeightAverageOptions } from "./weight_average.ts";

/** The prefix of the average's arrays among a checkpoint's optimizer weights. */
export const AVERAGE_PREFIX = "average/";
const COUNT = `${AVERAGE_PREFIX}count`;

/** A trainer's averaged weights and whether the model shows them. */
export interface Averaged {
  /** Fold in the weights just trained, then show the average in the model. */
  afterStep(): void;
  /** Put the average into the model, keeping the trained weights aside (no-op before step 1). */
  show(): void;
  /** Put the trained weights back (no-op when they are in). */
  hide(): void;
  /** Run `fn` with the trained weights in the model, then show the average again if it was. */
  withTrained<T>(fn: () => Promise<T>): Promise<T>;
  /** The checkpoint arrays: every averaged weight and the update count. */
  arrays(): Promise<NamedArray[]>;
  /** Load the checkpoint arrays (from `optimizer.bin`), refusing ones that do not fit. */
  restore(saved: readonly NamedArray[], dir: string): void;
  /** Release the average; a model showing it keeps showing it (the trained weights are dropped). */
  dispose(): void;
}

/** Every weight the average covers: all of a model's (batch-norm statistics too), or the params. */
function variablesOf(trainable: Trainable): tf.Variable[] {
  return trainable.model?.weights.map((w) => w.read() as tf.Variable) ?? trainable.params();
}

/**
 * Point `vars` at `values`' buffers (no copy: tfjs tensors are immutable, and every update,
 * the fused native Adam's included, writes fresh buffers).
 */
function assignAll(vars: readonly tf.Variable[], values: readonly tf.Tensor[]): void {
  vars.forEach((v, i) => v.assign(values[i]!));
}

/** The trainer's average over `trainable`'s weights. */
export function averaged(trainable: Trainable, options: WeightAverageOptions): Averaged {
  const avg: WeightAverage = weightAverage(options);
  let aside: tf.Tensor[] | undefined;
  const hide = () => {
    if (aside === undefined) return;
    assignAll(variablesOf(trainable), aside);
    tf.dispose(aside);
    aside = undefined;
  };
  const show = () => {
    if (aside !== undefined || avg.count === 0) return;
    const vars = variablesOf(trainable);
    aside = vars.map((v) => tf.clone(v));
    assignAll(vars, avg.values);
  };
  return {
    afterStep() {
      hide();
      avg.update(variablesOf(trainable));
      show();
    },
    show,
    hide,
    async withTrained(fn) {
      const shown = aside !== undefined;
      hide();
      try {
        return await fn();
      } finally {
        if (shown) show();
      }
    },
    async arrays() {
      if (avg.count === 0) return [];
      const named = avg.values.map((value, i) => ({ name: `${AVERAGE_PREFIX}${i}`, value }));
      const count: NamedArray = {
        name: COUNT,
        shape: [],
        dtype: "int32",
        data: Int32Array.of(avg.count),
      };
      return [...await readArrays(named), count];
    },
    restore(saved, dir) {
      const count = saved.find((s) => s.name === COUNT);
      const values = saved.filter((s) => s !== count);
      const vars = variablesOf(trainable);
      if (count === undefined || values.length !== vars.length) {
        throw new CheckpointMismatchError(
          dir,
          count === undefined
            ? "it holds no weight average (trained without `average`); resume without " +
              "`average` (or --ema 0), or start a new run"
            : `its weight average has ${values.length} weights, the model ${vars.length}`,
        );
      }
      values.forEach((s, i) => {
        if (`${s.shape}` !== `${vars[i]!.shape}`) {
          throw new CheckpointMismatchError(
            dir,
            `averaged weight ${i} has shape [${s.shape}], the model's ${vars[i]!.name} [${
              vars[i]!.shape
            }]`,
          );
        }
      });
      const tensors = values.map((s) => tf.tensor(s.data, [...s.shape], s.dtype));
      try {
        avg.load(tensors, Number(count.data[0]));
      } finally {
        tf.dispose(tensors);
      }
    },
    dispose() {
      tf.dispose(aside ?? []);
      aside = undefined;
      avg.dispose();
    },
  };
}
