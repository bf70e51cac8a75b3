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
 * import { BACKEND_NAMES, type BackendName } from "./errors.ts";
 * const fallback: BackendName = "wasm";
 * console.log(BACKEND_NAMES.indexOf(fallback)); // 3: tried after tensorflow, webgpu and native
 * ```
 */
export type BackendName = "tensorflow" | "webgpu" | "native" | "wasm" | "cpu";

/**
 * Every backend name, in the default order of preference.
 *
 * @example
 * ```ts
 * import { BACKEND_NAMES } from "./errors.ts";
 * console.log(BACKEND_NAMES.join(", ")); // tensorflow, webgpu, native, wasm, cpu
 * ```
 */
export const BACKEND_NAMES: readonly BackendName[] = [
  "tensorflow",
  "webgpu",
  "native",
  "wasm",
  "cpu",
];

/**
 * Thrown when a backend name is not one of {@linkcode BACKEND_NAMES}.
 *
 * @example
 * ```ts
 * import { UnknownBackendError } from "./errors.ts";
 * const e = new UnknownBackendError("cuda", "PERCEPTUAL_BACKEND");
 * console.log(e.message);
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
 * import { BackendUnavailableError } from "./errors.ts";
 * const e = new BackendUnavailableError([{ name: "webgpu", why: "no GPU adapter" }]);
 * console.log(e.message);
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
