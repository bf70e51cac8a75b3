/**
 * Typed errors of the U-Net builder: bad configurations and input sizes the network cannot take.
 *
 * @module
 */
import { PerceptualError } from "../errors/perceptual_error.ts";

/**
 * Thrown when an input's height or width is not a multiple of what the U-Net's depth needs.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { UNetInputSizeError } from "@perceptual/loss/unet";
 * assert.match(new UNetInputSizeError(30, 32, 8).message, /30×32 .* not divisible by 8/);
 * ```
 */
export class UNetInputSizeError extends PerceptualError {
  /** The input height that was given. */
  readonly height: number;
  /** The input width that was given. */
  readonly width: number;
  /** What both must be a multiple of: 2^depth. */
  readonly divisor: number;
  /** Build the error from the offending size and the divisor. */
  constructor(height: number, width: number, divisor: number) {
    const up = (n: number) => Math.ceil(n / divisor) * divisor;
    const down = (n: number) => Math.max(divisor, Math.floor(n / divisor) * divisor);
    super(
      `U-Net input size ${height}×${width} (height×width) is not divisible by ${divisor}: the ` +
        `network halves the size ${Math.log2(divisor)} time(s) (depth ${Math.log2(divisor)}), so ` +
        `height and width must be multiples of ${divisor}; crop to ${down(height)}×${
          down(width)
        } or pad to ${up(height)}×${up(width)}, or build with a smaller depth`,
    );
    this.height = height;
    this.width = width;
    this.divisor = divisor;
  }
}

/**
 * An image `predictImage` cannot run: not a tensor, already disposed, or with a channel count
 * the model does not take. The message says which and the fix.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { PredictImageInputError } from "@perceptual/loss/unet";
 * const e = new PredictImageInputError("the image has 1 channel but the model takes 3");
 * assert.ok(e.message.startsWith("predictImage: the image has 1 channel"));
 * ```
 */
export class PredictImageInputError extends PerceptualError {
  /** Build the error from what is wrong with the image and its fix. */
  constructor(why: string) {
    super(`predictImage: ${why}`);
  }
}

/**
 * A model used after `dispose()`: its weights are gone, so it cannot predict; load or build it
 * again.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { ModelDisposedError } from "@perceptual/loss/unet";
 * assert.ok(new ModelDisposedError("predictImage", "unet").message.includes("'unet'"));
 * ```
 */
export class ModelDisposedError extends PerceptualError {
  /** The model's name. */
  readonly model: string;
  /** Build the error: `where` names the function that was called. */
  constructor(where: string, model: string) {
    super(
      `${where}: the model '${model}' was already disposed; its weights are freed, so it ` +
        "cannot run: dispose it only after its last use, or load it again (loadModel)",
    );
    this.model = model;
  }
}
