/**
 * The native backend's errors: oneDNN missing, or one of its calls failing.
 *
 * @module
 */
import { PerceptualError } from "../../errors/perceptual_error.ts";

/**
 * Thrown when the native backend cannot do what it was asked (oneDNN missing or failing).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { NativeBackendError } from "@perceptual/loss/backend";
 * const e = new NativeBackendError("oneDNN is missing: apt-get install libdnnl2");
 * assert.equal(e.name, "NativeBackendError");
 * ```
 */
export class NativeBackendError extends PerceptualError {}

/**
 * Thrown when a oneDNN call fails; carries the call and its `dnnl_status_t`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { DnnlCallError } from "@perceptual/loss/backend";
 * const e = new DnnlCallError("dnnl_primitive_execute", 2);
 * assert.equal(e.call, "dnnl_primitive_execute");
 * assert.equal(e.status, 2);
 * ```
 */
export class DnnlCallError extends NativeBackendError {
  /** The failing function. */
  readonly call: string;
  /** Its `dnnl_status_t`. */
  readonly status: number;
  /** Build the error. */
  constructor(call: string, status: number) {
    super(
      `oneDNN's ${call} failed with dnnl_status ${status}; rerun with DNNL_VERBOSE=1 to see the ` +
        'primitive, and use initBackend("wasm") meanwhile',
    );
    this.call = call;
    this.status = status;
  }
}
