/**
 * The error for empty batches and zero-sized images, shared by every module that takes images.
 *
 * @module
 */
import { PerceptualError } from "./perceptual_error.ts";

/**
 * A batch with no images, or an image with no pixels (a zero height, width or channel count).
 * Thrown where such a tensor enters (`evaluate`, `calibrate`, `featureScales`, a network's
 * `extract`, `trainer.step`, the data pipeline) before anything is computed: reductions over an
 * empty tensor give 0, NaN or whatever memory held, never an error of their own.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { EmptyInputError } from "@perceptual/loss";
 * const e = new EmptyInputError("evaluate: pred", [0, 32, 32, 3]);
 * assert.ok(e.message.startsWith("evaluate: pred is empty (shape [0,32,32,3]: a batch of 0 images)"));
 * ```
 */
export class EmptyInputError extends PerceptualError {
  /** The shape that was empty. */
  readonly shape: readonly number[];
  /** Build the error: `where` names the function and the argument. */
  constructor(where: string, shape: readonly number[]) {
    const what = shape.length === 1
      ? "no images"
      : shape.length === 4 && shape[0] === 0
      ? "a batch of 0 images"
      : "an image without pixels";
    super(
      `${where} is empty (shape [${shape.join(",")}]: ${what}); pass at least one image of at ` +
        "least 1×1 pixels with 1 or more channels (an empty folder, a crop of 0, or a filter " +
        "that dropped every image upstream?)",
    );
    this.shape = [...shape];
  }
}

/**
 * Throw {@linkcode EmptyInputError} when `shape` has a zero dimension.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { checkNotEmpty, EmptyInputError } from "@perceptual/loss";
 * checkNotEmpty("example", [1, 2, 2, 3]); // fine
 * assert.throws(() => checkNotEmpty("example", [0, 2, 2, 3]), EmptyInputError);
 * ```
 */
export function checkNotEmpty(where: string, shape: readonly number[]): void {
  if (shape.some((d) => d === 0)) throw new EmptyInputError(where, shape);
}
