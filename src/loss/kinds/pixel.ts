/**
 * The pixel kind: the distance between prediction and target images.
 *
 * @module
 */
import { defineTermKind, type TermKindDef } from "../define_kind.ts";
import { registerTermKind } from "../kind.ts";
import type { Loss } from "../loss.ts";
import type { PixelTerm, TermOptions } from "../term.ts";

/**
 * The `pixel` kind (default distance `l1`).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { pixelKind } from "@perceptual/loss/loss";
 * assert.equal(pixelKind.term().distance, "l1");
 * ```
 */
export const pixelKind: TermKindDef<PixelTerm> = registerTermKind(
  defineTermKind<PixelTerm>({ name: "pixel", distance: "l1", compares: "image" }),
);

/**
 * A pixel term: the distance between prediction and target images. Default distance `l1`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { pixel } from "@perceptual/loss/loss";
 * assert.equal(pixel().terms[0]!.kind, "pixel");
 * ```
 */
export function pixel(options: TermOptions = {}): Loss<never, PixelTerm> {
  return pixelKind.loss(options) as Loss<never, PixelTerm>;
}
