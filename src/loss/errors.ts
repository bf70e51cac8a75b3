/**
 * The errors the loss algebra throws. Each message names the bad input and the fix.
 *
 * @module
 */
import { PerceptualError } from "../errors/perceptual_error.ts";
import { show } from "../_internal/show.ts";
import { InputRangeError } from "../network/errors.ts";

/**
 * A weight that is negative, NaN or infinite. Perceptual terms are distances: a negative weight
 * would reward moving away from the target, which is never what a training loss wants.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { InvalidWeightError } from "@perceptual/loss/loss";
 * assert.match(new InvalidWeightError("feature:block2_conv2", -1).message, /feature:block2_conv2/);
 * ```
 */
export class InvalidWeightError extends PerceptualError {
  /** The offending weight. */
  readonly weight: number;
  /** Build the error; `where` names the term or the call. */
  constructor(where: string, weight: number) {
    super(
      `${where}: weight ${weight} is not allowed; a weight must be 0 (switches the term off) or ` +
        "a number from 1.2e-38 to 3.4e38 (losses are computed in float32)",
    );
    this.weight = weight;
  }
}

/**
 * An option of a term that is out of its domain (a non-positive Huber delta, a bad scale, …).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { InvalidTermOptionError } from "@perceptual/loss/loss";
 * assert.match(new InvalidTermOptionError("pixel", "delta", 0, "a number > 0").message, /pixel/);
 * ```
 */
export class InvalidTermOptionError extends PerceptualError {
  /** The option's name. */
  readonly option: string;
  /** Build the error naming the term, the option, its value and what it must be. */
  constructor(where: string, option: string, value: unknown, expected: string) {
    super(`${where}: ${option} ${show(value)} is not allowed; it must be ${expected}`);
    this.option = option;
  }
}

/**
 * Inputs the loss cannot use: wrong rank, prediction and target of different shapes, a
 * precomputed target whose batch cannot broadcast over the prediction's batch, …
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { LossInputError } from "@perceptual/loss/loss";
 * assert.match(
 *   new LossInputError("pred [2,8,8,3] and target [2,8,9,3] differ").message,
 *   /pred \[2,8,8,3\] and target \[2,8,9,3\] differ/,
 * );
 * ```
 */
export class LossInputError extends PerceptualError {
  /** Build the error from a message that names the inputs and the fix. */
  constructor(message: string) {
    super(message);
  }
}

/**
 * A term evaluated to NaN or ±Infinity. Names every such term and says whether an input already
 * held non-finite values, so a training loop can stop with a useful message.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { NonFiniteLossError } from "@perceptual/loss/loss";
 * assert.match(new NonFiniteLossError(["pixel"], ["pred holds NaN"]).message, /pred holds NaN/);
 * ```
 */
export class NonFiniteLossError extends PerceptualError {
  /** The names of the terms that were not finite. */
  readonly terms: readonly string[];
  /** Build the error from the bad term names and what was found in the inputs. */
  constructor(terms: readonly string[], inputs: readonly string[]) {
    super(
      `loss term(s) ${terms.map((t) => `"${t}"`).join(", ")} became NaN or infinite` +
        (inputs.length > 0
          ? ` because ${inputs.join(" and ")}; check the data and the model's output`
          : " although the inputs are finite; lower the learning rate or check the weights"),
    );
    this.terms = terms;
  }
}

/**
 * The loss network refused the PREDICTION's values (NaN, or clearly outside its declared range)
 * inside `evaluate`. Still an `InputRangeError` with the same message; it also names the terms
 * that needed the network, so a training loop can report a diverging model rather than bad
 * images.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { InputRangeError } from "@perceptual/loss/network";
 * import { PredictionRangeError } from "@perceptual/loss/loss";
 * const cause = new InputRangeError("vgg16", "has values in [-3, 9]", -3, 9);
 * const e = new PredictionRangeError(cause, ["feature:block2_conv2"]);
 * assert.deepEqual(e.terms, ["feature:block2_conv2"]);
 * assert.ok(e instanceof InputRangeError);
 * ```
 */
export class PredictionRangeError extends InputRangeError {
  /** The terms computed from the network's activations of the prediction. */
  readonly terms: readonly string[];
  /** Wrap the network's error about the prediction. */
  constructor(cause: InputRangeError, terms: readonly string[]) {
    super(cause.network, cause.problem, cause.min, cause.max);
    this.terms = terms;
    this.cause = cause;
  }
}
