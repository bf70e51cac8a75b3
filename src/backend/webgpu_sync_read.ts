/**
 * A clear error for synchronous reads on the webgpu backend where they cannot work.
 *
 * TensorFlow.js's webgpu backend reads GPU data synchronously (`dataSync()`, `arraySync()`,
 * `bufferSync()`) by drawing it onto a 2D `OffscreenCanvas`. Deno has `OffscreenCanvas` but no 2D
 * context, so such a read fails deep inside tfjs with `Cannot read properties of null (reading
 * 'clearRect')`. Asynchronous reads (`await tensor.data()`) work. This module turns the obscure
 * failure into {@linkcode WebGpuSyncReadError}, which says what to do instead.
 *
 * @module
 */
import { PerceptualError } from "../errors/perceptual_error.ts";
import { startedBackend } from "../_internal/engine.ts";

/**
 * A synchronous read of a tensor that lives on the GPU, where the runtime cannot do one.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { WebGpuSyncReadError } from "@perceptual/loss/backend";
 * assert.equal(
 *   new WebGpuSyncReadError("Cannot read properties of null").name,
 *   "WebGpuSyncReadError",
 * );
 * ```
 */
export class WebGpuSyncReadError extends PerceptualError {
  /** @param cause the error tfjs raised. */
  constructor(cause: unknown) {
    super(
      "a synchronous read (dataSync, arraySync, bufferSync) of a tensor on the webgpu backend " +
        "failed: this runtime has no 2D canvas to read GPU data through. Read it with " +
        "`await tensor.data()` (or `array()`) instead, or use another backend " +
        `(tfjs said: ${cause instanceof Error ? cause.message : String(cause)})`,
      { cause },
    );
  }
}

const GUARDED = Symbol.for("perceptual-loss.webgpuSyncReadGuard");

interface ReadSyncBackend {
  readSync(dataId: object): unknown;
  [GUARDED]?: true;
}

/**
 * Make failed synchronous reads on the active-or-registered `webgpu` backend throw
 * {@linkcode WebGpuSyncReadError}. Reads that work (values already on the CPU; browsers) are
 * untouched. Idempotent; call it after the webgpu backend has started.
 *
 * @returns true when the backend is now guarded, false when there is no webgpu backend.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { guardWebgpuSyncReads } from "@perceptual/loss/backend";
 * // Without a started webgpu backend there is nothing to guard.
 * assert.equal(typeof guardWebgpuSyncReads(), "boolean");
 * ```
 */
export function guardWebgpuSyncReads(): boolean {
  // The registry holds started backends only (tf.findBackend would start one as a side effect).
  const backend = startedBackend("webgpu") as ReadSyncBackend | undefined;
  if (backend === undefined) return false;
  if (backend[GUARDED]) return true;
  const original = backend.readSync.bind(backend);
  backend.readSync = (dataId: object): unknown => {
    try {
      return original(dataId);
    } catch (e) {
      // The canvas path fails with a TypeError on a null 2D context; anything else is not ours.
      if (e instanceof TypeError && /clearRect|getContext|null/.test(e.message)) {
        throw new WebGpuSyncReadError(e);
      }
      throw e;
    }
  };
  backend[GUARDED] = true;
  return true;
}
