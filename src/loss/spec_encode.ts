/**
 * A loss as its JSON spec: the inverse of `decodeLossSpec`, for every kind (a kind's fields are
 * its JSON fields).
 *
 * @module
 */
import type { VggArchitecture } from "../vgg/layers.ts";
import { kindOf } from "./kind.ts";
import type { Loss } from "./loss.ts";
import type { LossSpec, TermSpec } from "./spec.ts";
import type { TermCommon } from "./term.ts";

/**
 * Options of {@linkcode encodeLossSpec}.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { encodeLossSpec, type EncodeOptions, pixel } from "@perceptual/loss/loss";
 * const options: EncodeOptions = { network: "vgg19" }; // which VGG the layer names are for
 * assert.deepEqual(encodeLossSpec(pixel(), options), {
 *   terms: [{ kind: "pixel", distance: "l1", weight: 1 }],
 *   network: "vgg19",
 * });
 * ```
 */
export interface EncodeOptions {
  /** The `network` field to write (absent by default). */
  readonly network?: VggArchitecture;
}

/** Fields always written, even at their default: they say what the term compares and how much. */
const ALWAYS = new Set(["layer", "distance", "normalisation"]);

function encodeTerm(term: TermCommon): TermSpec {
  const kind = kindOf(term);
  const own = term as unknown as Record<string, unknown>;
  const out: Record<string, unknown> = { kind: term.kind };
  // What is compared, how, and how much first; then whatever differs from its default.
  const first = ["layer", "distance"].filter((f) => f in kind.fields);
  for (const f of first) if (own[f] !== undefined) out[f] = own[f];
  out.weight = term.weight;
  for (const [field, rule] of Object.entries(kind.fields)) {
    const v = own[field];
    if (v === undefined || first.includes(field)) continue;
    if (ALWAYS.has(field) || rule.default === undefined || v !== rule.default) out[field] = v;
  }
  if (term.name !== undefined) out.name = term.name;
  if (term.network !== undefined) out.network = term.network;
  return out as TermSpec;
}

/**
 * The JSON spec of a loss: `decodeLossSpec(encodeLossSpec(loss))` gives back an equal loss
 * (kinds of your own must be registered, or given to the decoder).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { encodeLossSpec, feature } from "@perceptual/loss/loss";
 * assert.deepEqual(encodeLossSpec(feature("block2_conv2")), {
 *   terms: [{ kind: "feature", layer: "block2_conv2", distance: "l2", weight: 1 }],
 * });
 * ```
 */
export function encodeLossSpec(loss: Loss<string>, options: EncodeOptions = {}): LossSpec {
  const spec: LossSpec = { terms: loss.terms.map(encodeTerm) };
  return options.network === undefined ? spec : { ...spec, network: options.network };
}
