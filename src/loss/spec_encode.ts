/**
 * A loss as its JSON spec: the inverse of `decodeLossSpec`, writing only what differs from the
 * term defaults.
 *
 * @module
 */
import type { VggArchitecture } from "../vgg/layers.ts";
import { type KindField, layerOf, ruleOfKind } from "./_kinds.ts";
import type { Loss } from "./loss.ts";
import type { LossSpec, TermSpec } from "./spec.ts";
import { type Term, TERM_DEFAULTS } from "./term.ts";

/**
 * Options of {@linkcode encodeLossSpec}.
 *
 * @example
 * ```ts
 * import { pixel } from "./loss.ts";
 * import { encodeLossSpec, type EncodeOptions } from "./spec_encode.ts";
 * const options: EncodeOptions = { network: "vgg19" }; // which VGG the layer names are for
 * console.log(JSON.stringify(encodeLossSpec(pixel(), options)));
 * // {"terms":[{"kind":"pixel","distance":"l1","weight":1}],"network":"vgg19"}
 * ```
 */
export interface EncodeOptions {
  /** The `network` field to write (absent by default). */
  readonly network?: VggArchitecture;
}

function encodeTerm(term: Term<string>): TermSpec {
  const fields = ruleOfKind(term.kind).fields;
  const own = term as unknown as Record<KindField, unknown>;
  const d = TERM_DEFAULTS;
  const out: Record<string, unknown> = { kind: term.kind };
  const layer = layerOf(term);
  if (layer !== undefined) out.layer = layer;
  out.distance = term.distance;
  out.weight = term.weight;
  if (fields.includes("normalisation")) out.normalisation = own.normalisation;
  if (term.reduction !== d.reduction) out.reduction = term.reduction;
  if (fields.includes("scale") && own.scale !== d.scale) out.scale = own.scale;
  if (term.delta !== d.delta) out.delta = term.delta;
  if (term.epsilon !== d.epsilon) out.epsilon = term.epsilon;
  if (term.name !== undefined) out.name = term.name;
  return out as TermSpec;
}

/**
 * The JSON spec of a loss: `decodeLossSpec(encodeLossSpec(loss))` gives back an equal loss.
 *
 * @example
 * ```ts
 * import { encodeLossSpec } from "./spec_encode.ts";
 * import { feature } from "./loss.ts";
 * console.log(JSON.stringify(encodeLossSpec(feature("block2_conv2"))));
 * // {"terms":[{"kind":"feature","layer":"block2_conv2","distance":"l2","weight":1}]}
 * ```
 */
export function encodeLossSpec(loss: Loss<string>, options: EncodeOptions = {}): LossSpec {
  const spec: LossSpec = { terms: loss.terms.map(encodeTerm) };
  return options.network === undefined ? spec : { ...spec, network: options.network };
}
