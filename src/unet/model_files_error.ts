/**
 * The errors of the U-Net's file loader and saver: files that cannot be read or written, and
 * `model.json` files whose topology or weights manifest is malformed.
 *
 * @module
 */
import { PerceptualError } from "../errors/perceptual_error.ts";

/**
 * Thrown when model files cannot be read or written, or are not in the tfjs layers format.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { loadModel, ModelFilesError } from "@perceptual/loss/unet";
 * await assert.rejects(loadModel("runs/no-such-run/model"), (e) => {
 *   assert.ok(e instanceof ModelFilesError);
 *   assert.equal(e.path, "runs/no-such-run/model/model.json");
 *   return true;
 * });
 * ```
 */
export class ModelFilesError extends PerceptualError {
  /** The file or directory concerned. */
  readonly path: string;
  /**
   * Build the error.
   *
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { ModelFilesError } from "@perceptual/loss/unet";
   * assert.match(
   *   new ModelFilesError("runs/x/model.json", "it does not exist").message,
   *   /runs\/x\/model\.json/,
   * );
   * ```
   */
  constructor(path: string, why: string) {
    super(`model files at ${path}: ${why}`);
    this.path = path;
  }
}

/**
 * A `model.json` whose topology or weights manifest cannot describe a working model: an inbound
 * node naming a missing layer, the layer itself or a cycle (which would make TensorFlow.js loop
 * forever), an unknown layer class, a custom layer's config out of range, or weights whose
 * names or shapes do not match the layers. Found before TensorFlow.js builds anything.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { ModelTopologyError } from "@perceptual/loss/unet";
 * const e = new ModelTopologyError("run/model/model.json", "size_check", "divisor is -7; …");
 * assert.equal(e.layer, "size_check");
 * assert.ok(e.message.includes("layer 'size_check'"));
 * ```
 */
export class ModelTopologyError extends ModelFilesError {
  /** The layer concerned, or undefined for a problem of the whole file. */
  readonly layer: string | undefined;
  /**
   * Build the error: `layer` names the layer (undefined for the whole file), `why` says what is
   * wrong and the fix.
   *
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { ModelTopologyError } from "@perceptual/loss/unet";
   * assert.equal(new ModelTopologyError("m/model.json", undefined, "no layers").layer, undefined);
   * ```
   */
  constructor(path: string, layer: string | undefined, why: string) {
    super(path, layer === undefined ? why : `layer '${layer.slice(0, 100)}': ${why}`);
    this.layer = layer;
  }
}
