/**
 * The one place the library reads environment variables.
 *
 * @module
 */

/**
 * The value of environment variable `name`, or `undefined` when it is unset, blank, or cannot be
 * read (no `--allow-env`: the library then behaves as if it were unset rather than failing).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { readEnv } from "./env.ts";
 * assert.equal(readEnv("SURELY_NOT_SET_ANYWHERE_42"), undefined);
 * ```
 */
export function readEnv(name: string): string | undefined {
  try {
    const value = Deno.env.get(name);
    return value === undefined || value.trim() === "" ? undefined : value;
  } catch {
    return undefined;
  }
}
