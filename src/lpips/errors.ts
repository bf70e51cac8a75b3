/**
 * The errors of the LPIPS module.
 *
 * @module
 */
import { PerceptualError } from "../errors/perceptual_error.ts";
import { NetworkInputError } from "../network/errors.ts";

/**
 * An input smaller than the LPIPS trunk can take: some requested tap would have no pixel left
 * (AlexNet needs 31×31 for all five taps, SqueezeNet 1.1 17×17 for all seven). Carries the
 * minimum, which applies to height and width alike.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { LpipsInputTooSmallError } from "@perceptual/loss/lpips";
 * const e = new LpipsInputTooSmallError("lpips-alex(v0.1)", [1, 16, 16, 3], 31, "relu5");
 * assert.equal(e.minSize, 31);
 * assert.ok(e instanceof Error);
 * ```
 */
export class LpipsInputTooSmallError extends NetworkInputError {
  /** The smallest height and width the requested taps need. */
  readonly minSize: number;
  /** The input's shape. */
  readonly shape: readonly number[];
  /** Build the error naming the shape, the minimum and the deepest tap asked for. */
  constructor(network: string, shape: readonly number[], minSize: number, deepestTap: string) {
    super(
      network,
      `is ${shape[1]}×${shape[2]} (shape [${shape.join(",")}]), too small: ${deepestTap} needs ` +
        `at least ${minSize}×${minSize}; upscale or pad the images, or compare larger crops`,
    );
    this.minSize = minSize;
    this.shape = shape;
  }
}

/**
 * Two batches that cannot be compared: their shapes differ.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { LpipsShapeMismatchError } from "@perceptual/loss/lpips";
 * const e = new LpipsShapeMismatchError([1, 32, 32, 3], [2, 32, 32, 3]);
 * assert.match(e.message, /\[1,32,32,3\]/);
 * ```
 */
export class LpipsShapeMismatchError extends PerceptualError {
  /** Build the error naming both shapes. */
  constructor(x: readonly number[], y: readonly number[]) {
    super(
      `lpips.distance: x has shape [${x.join(",")}] but y has [${y.join(",")}]; pass two NHWC ` +
        "batches of the same shape (same batch size, height, width and channels)",
    );
  }
}
