/**
 * The one base class of every error this library throws on purpose.
 *
 * Catch `PerceptualError` to handle any library failure, or a subclass (with `instanceof`, never by
 * matching `name` strings) for one kind. Plain bad arguments to a function throw the built-in
 * `RangeError` / `TypeError` instead. Every message says what was wrong and how to fix it.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { PerceptualError } from "@perceptual/loss";
 *
 * class CacheFullError extends PerceptualError {}
 * try {
 *   throw new CacheFullError("the cache is full; delete files under ~/.cache/perceptual");
 * } catch (e) {
 *   assert.ok(e instanceof PerceptualError);
 *   assert.equal((e as Error).name, "CacheFullError");
 * }
 * ```
 *
 * @module
 */

/**
 * Base class of the library's errors. Subclasses get their `name` from their constructor, so a
 * stack trace or a log line names the concrete kind.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { PerceptualError } from "@perceptual/loss";
 * const e = new PerceptualError("something went wrong; do this instead");
 * assert.equal(e.name, "PerceptualError");
 * assert.equal(e.message, "something went wrong; do this instead");
 * assert.ok(e instanceof Error);
 * ```
 */
export class PerceptualError extends Error {
  /** Build the error with a message that names the problem and its fix. */
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = new.target.name;
  }
}
