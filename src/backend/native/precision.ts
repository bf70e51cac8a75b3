/**
 * The arithmetic precision of a frozen loss network: `"f32"` everywhere, or `"bf16"` (bfloat16
 * activations and weights with float32 accumulation) where the native backend runs on a CPU with
 * bf16 instructions.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
import { PerceptualError } from "../../errors/perceptual_error.ts";
import { loadDnnl } from "./_dnnl.ts";
import { bf16IsaReason } from "./_bf16.ts";

/**
 * The arithmetic of a frozen loss network's convolutions. `"f32"` (the default) everywhere;
 * `"bf16"`: inputs and weights rounded to bfloat16 (8 significant bits), products accumulated
 * and results kept in float32 (the image-facing first conv stays f32) — about 1.7× faster on
 * CPUs with AVX512-BF16 or AMX; loss values within about 1e-4 of f32, input gradients within a
 * few %. Only the frozen network changes: the model being trained stays float32.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import type { Precision } from "@perceptual/loss/backend";
 * const p: Precision = "bf16";
 * assert.equal(p, "bf16");
 * ```
 */
export type Precision = "f32" | "bf16";

/**
 * Thrown when a loss network is asked for a precision this backend or CPU cannot run; says why
 * and what to use instead.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { PrecisionUnavailableError } from "@perceptual/loss/backend";
 * const e = new PrecisionUnavailableError("bf16", "the active backend is 'wasm', not 'native'");
 * assert.equal(e.precision, "bf16");
 * assert.match(e.message, /precision "f32"/);
 * ```
 */
export class PrecisionUnavailableError extends PerceptualError {
  /** The precision asked for. */
  readonly precision: Precision;
  /** Why it cannot run here. */
  readonly reason: string;
  /** Build the error from the precision and the reason. */
  constructor(precision: Precision, reason: string) {
    super(
      `precision "${precision}" is not available: ${reason}. It needs initBackend("native") ` +
        `(oneDNN 2.x) on a CPU with AVX512-BF16 or AMX; use precision "f32" (the default) here`,
    );
    this.precision = precision;
    this.reason = reason;
  }
}

/**
 * Why `"bf16"` cannot run now, or `undefined` when it can: the active backend must be `native`
 * and oneDNN must use AVX512-BF16 (or AMX) on this CPU.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { bf16Unavailable, initBackend } from "@perceptual/loss/backend";
 * await initBackend("cpu");
 * assert.match(bf16Unavailable() ?? "", /'cpu', not 'native'/);
 * ```
 */
export function bf16Unavailable(): string | undefined {
  const backend = tf.getBackend();
  if (backend !== "native") return `the active backend is '${backend}', not 'native'`;
  const dnnl = loadDnnl();
  return typeof dnnl === "string" ? dnnl : bf16IsaReason(dnnl);
}

/**
 * Throw {@linkcode PrecisionUnavailableError} unless `precision` can run now.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { checkPrecision, initBackend, PrecisionUnavailableError } from "@perceptual/loss/backend";
 * await initBackend("cpu");
 * checkPrecision("f32"); // always available
 * assert.throws(() => checkPrecision("bf16"), PrecisionUnavailableError);
 * ```
 */
export function checkPrecision(precision: Precision): void {
  if (precision === "f32") return;
  if (precision !== "bf16") {
    throw new TypeError(`precision must be "f32" or "bf16", got ${JSON.stringify(precision)}`);
  }
  const why = bf16Unavailable();
  if (why !== undefined) throw new PrecisionUnavailableError(precision, why);
}
