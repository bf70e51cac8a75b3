/**
 * An options object with a key the function does not know: a misspelt option is an error, never
 * silently ignored.
 *
 * @module
 */
import { nearestName } from "../_internal/did_you_mean.ts";
import { PerceptualError } from "./perceptual_error.ts";

/**
 * An unknown option key, with the nearest known one.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { oneCycle } from "@perceptual/loss/train";
 * import { UnknownOptionError } from "@perceptual/loss";
 * assert.throws(() => oneCycle({ lr: 1e-3, pctStrat: 0.3 } as never), (e) => {
 *   assert.ok(e instanceof UnknownOptionError);
 *   assert.equal(e.message, 'oneCycle: unknown option "pctStrat"; did you mean "pctStart"?');
 *   return true;
 * });
 * ```
 */
export class UnknownOptionError extends PerceptualError {
  /** The unknown key. */
  readonly option: string;
  /** Build the error naming the function, the key and the nearest known key. */
  constructor(where: string, option: string, known: readonly string[]) {
    const s = nearestName(option, known);
    super(
      `${where}: unknown option "${option}"` +
        (s === undefined ? `; its options are ${known.join(", ")}` : `; did you mean "${s}"?`),
    );
    this.option = option;
  }
}

/** Throws {@linkcode UnknownOptionError} for the first key of `options` not in `known`. */
export function checkOptionKeys(where: string, options: object, known: readonly string[]): void {
  for (const k of Object.keys(options)) {
    if (!known.includes(k)) throw new UnknownOptionError(where, k, known);
  }
}
