/**
 * The error for a page whose TensorFlow.js is not the copy this library's layers were built on.
 *
 * @module
 */
import { PerceptualError } from "../errors/perceptual_error.ts";

/**
 * Thrown by the browser entry's `registerLayers(tf)` when `tf` is a different TensorFlow.js copy
 * from the one the library's layer classes extend: registering there would leave
 * `loadLayersModel` failing later with `Unknown layer: PerceptualSizeCheck`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { TfjsCopyError } from "@perceptual/loss/unet";
 * assert.match(new TfjsCopyError("tf.serialization").message, /tf\.serialization/);
 * ```
 */
export class TfjsCopyError extends PerceptualError {
  /** Build the error; `what` names the part of `tf` that differs. */
  constructor(what: string) {
    super(
      `registerLayers(tf) was given a TensorFlow.js copy whose ${what} is not the one this ` +
        `library's layers are bound to, so a model loaded with it would fail with "Unknown ` +
        `layer". There must be ONE tfjs in the page: with a bundler, install ` +
        `@tensorflow/tfjs-core and @tensorflow/tfjs-layers 4.22.0 once and let the bundler ` +
        `dedupe them (do not bundle a second copy); without one, map both names in the import ` +
        `map to the page's tfjs (see examples/web/index.html and tfjs_global.js).`,
    );
  }
}
