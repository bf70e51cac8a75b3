/**
 * The hook through which the Deno side sets `predictImage`'s default tile budget: this file
 * imports nothing, so the browser bundle keeps the browser default. Internal.
 *
 * @module
 */

let budget: (() => number) | undefined;

/** Set (or, with `undefined`, clear) the function giving the default element budget. */
export function setTileBudget(f: (() => number) | undefined): void {
  budget = f;
}

/** The default element budget set by the Deno side, or `undefined` (a browser: its own default). */
export function tileBudget(): number | undefined {
  return budget?.();
}
