/**
 * What a trainer optimises: parameters and a forward pass over them. A tfjs `LayersModel` is one
 * kind; a set of bare variables with a function (pixel optimisation, Gatys et al.) is another.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
import type * as tfl from "@tensorflow/tfjs-layers";
import type { NamedArray } from "./checkpoint.ts";
import { checkWeightsFit, readArrays } from "./_optimizer_state.ts";

/**
 * The forward pass: NHWC input → NHWC prediction. `training` is true inside a training step
 * (dropout, batch-norm statistics) and false for validation and samples.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as tf from "@tensorflow/tfjs-core";
 * import * as tfl from "@tensorflow/tfjs-layers";
 * import { initBackend } from "@perceptual/loss/backend";
 * import type { Forward } from "@perceptual/loss/train";
 * await initBackend("cpu");
 * const dropout = tfl.layers.dropout({ rate: 0.5, inputShape: [2, 2, 1] });
 * const model = tfl.sequential({ layers: [dropout] });
 * const forward: Forward = (input, training) => model.apply(input, { training }) as tf.Tensor;
 * const x = tf.ones([1, 2, 2, 1]) as tf.Tensor4D;
 * const y = forward(x, false); // inference: no dropout
 * assert.deepEqual(Array.from(await y.data()), [1, 1, 1, 1]);
 * tf.dispose([x, y]);
 * model.dispose();
 * ```
 */
export type Forward = (input: tf.Tensor4D, training: boolean) => tf.Tensor;

/** Parameters and the forward pass over them, as the trainer drives them. */
export interface Trainable {
  /** The model, when the trainable is a tfjs-layers model. */
  readonly model: tfl.LayersModel | undefined;
  /** The variables gradients are taken for, in a fixed order (optimizer slots follow it). */
  params(): tf.Variable[];
  /** The forward pass. */
  readonly forward: Forward;
  /** Called after each optimizer update, inside a scope: put parameters back in range. */
  readonly project: (() => void) | undefined;
  /** Every value a checkpoint stores (trainable or not), in a fixed order, read from the engine. */
  read(): Promise<NamedArray[]>;
  /** Throw `CheckpointMismatchError` naming the first checkpointed value that does not fit. */
  check(saved: readonly NamedArray[], checkpoint: string): void;
  /** Write checkpointed values (after {@linkcode Trainable.check}). */
  write(saved: readonly NamedArray[]): void;
}

/**
 * A tfjs-layers model as a {@linkcode Trainable}: its trainable weights are the parameters, and
 * checkpoints hold every weight (batch-norm statistics included).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as tfl from "@tensorflow/tfjs-layers";
 * import { initBackend } from "@perceptual/loss/backend";
 * import { layersTrainable } from "@perceptual/loss/train";
 * await initBackend("cpu");
 * const model = tfl.sequential({ layers: [tfl.layers.dense({ units: 2, inputShape: [3] })] });
 * assert.equal(layersTrainable(model).params().length, 2);
 * ```
 */
export function layersTrainable(model: tfl.LayersModel): Trainable {
  const named = () => model.weights.map((w) => ({ name: w.name, value: w.read() }));
  return {
    model,
    params: () => model.trainableWeights.map((w) => w.read() as tf.Variable),
    forward: (input, training) => model.apply(input, { training }) as tf.Tensor,
    project: undefined,
    read: () => readArrays(named()),
    check: (saved, checkpoint) => checkWeightsFit(named(), saved, checkpoint, "model"),
    write(saved) {
      tf.tidy(() => model.setWeights(saved.map((s) => tf.tensor(s.data, [...s.shape], s.dtype))));
    },
  };
}

/** Options of {@linkcode variablesTrainable}. */
export interface VariablesTrainableOptions {
  /** The variables to optimise (the caller keeps ownership). Names must be unique. */
  readonly params: readonly tf.Variable[];
  /** The forward pass over them. */
  readonly forward: Forward;
  /** Called after each update inside a scope, e.g. `() => image.assign(tf.clipByValue(image, 0, 1))`. */
  readonly project?: () => void;
}

/**
 * Bare variables and a forward function as a {@linkcode Trainable}, e.g. an image's pixels
 * optimised directly (`forward: () => image`).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as tf from "@tensorflow/tfjs-core";
 * import { initBackend } from "@perceptual/loss/backend";
 * import { variablesTrainable } from "@perceptual/loss/train";
 * await initBackend("cpu");
 * const image = tf.variable(tf.zeros([1, 4, 4, 3]), true, "pixels");
 * const t = variablesTrainable({ params: [image], forward: () => image });
 * assert.equal((await t.read())[0]!.name, "pixels");
 * image.dispose();
 * ```
 */
export function variablesTrainable(options: VariablesTrainableOptions): Trainable {
  const params = [...options.params];
  const names = new Set(params.map((p) => p.name));
  if (params.length === 0) throw new RangeError("variablesTrainable: params is empty");
  if (names.size !== params.length) {
    throw new RangeError("variablesTrainable: two params share a name; give each its own");
  }
  const named = () => params.map((p) => ({ name: p.name, value: p as tf.Tensor }));
  // Validation and samples dispose the prediction: a forward that returns a parameter itself
  // (`() => image`) hands out a fresh handle on it instead.
  const forward: Forward = (input, training) => {
    const y = options.forward(input, training);
    return (params as tf.Tensor[]).includes(y) ? tf.clone(y) : y;
  };
  return {
    model: undefined,
    params: () => params,
    forward,
    project: options.project,
    read: () => readArrays(named()),
    check: (saved, checkpoint) => checkWeightsFit(named(), saved, checkpoint, "trainer"),
    write(saved) {
      tf.tidy(() => {
        saved.forEach((s, i) => params[i]!.assign(tf.tensor(s.data, [...s.shape], s.dtype)));
      });
    },
  };
}
