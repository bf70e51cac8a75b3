/**
 * Typed errors raised while choosing or starting a TensorFlow.js backend.
 *
 * @module
 */
import { PerceptualError } from "../errors/perceptual_error.ts";

/**
 * The names of the backends this library knows how to start, in default order of preference.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { BACKEND_NAMES, type BackendName } from "@perceptual/loss/backend";
 * const fallback: BackendName = "wasm";
 * assert.equal(BACKEND_NAMES.indexOf(fallback), 4); // after tensorflow, webgpu, native, native-host
 * ```
 */
export type BackendName = "tensorflow" | "webgpu" | "native" | "native-host" | "wasm" | "cpu";

/**
 * Every backend name, in the default order of preference.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { BACKEND_NAMES } from "@perceptual/loss/backend";
 * assert.equal(BACKEND_NAMES.join(", "), "tensorflow, webgpu, native, native-host, wasm, cpu");
 * ```
 */
export const BACKEND_NAMES: readonly BackendName[] = [
  "tensorflow",
  "webgpu",
  "native",
  "native-host",
  "wasm",
  "cpu",
];

/**
 * Thrown when a backend name is not one of {@linkcode BACKEND_NAMES}.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { UnknownBackendError } from "@perceptual/loss/backend";
 * const e = new UnknownBackendError("cuda", "PERCEPTUAL_BACKEND");
 * assert.match(e.message, /cuda/);
 * assert.match(e.message, /PERCEPTUAL_BACKEND/);
 * ```
 */
export class UnknownBackendError extends PerceptualError {
  /** The name that was asked for. */
  readonly requested: string;
  /** Build the error; `source` says where the bad name came from. */
  constructor(requested: string, source: string) {
    super(
      `unknown backend '${requested}' (from ${source}); valid names are: ${
        BACKEND_NAMES.join(", ")
      }`,
    );
    this.requested = requested;
  }
}

/**
 * Thrown when every requested backend failed to start; `failures` says why each one did.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { BackendUnavailableError } from "@perceptual/loss/backend";
 * const e = new BackendUnavailableError([{ name: "webgpu", why: "no GPU adapter" }]);
 * assert.match(e.message, /webgpu: no GPU adapter/);
 * ```
 */
export class BackendUnavailableError extends PerceptualError {
  /** Why each requested backend could not start. */
  readonly failures: readonly { name: BackendName; why: string }[];
  /** Build the error from the per-backend failures. */
  constructor(failures: readonly { name: BackendName; why: string }[]) {
    super(
      `no requested backend could start: ${failures.map((f) => `${f.name}: ${f.why}`).join("; ")}`,
    );
    this.failures = failures;
  }
}
