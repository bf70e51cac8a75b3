/**
 * Losses as JSON: an io-ts codec, a decoder that reports every problem with its path and a fix,
 * and an encoder that round-trips.
 *
 * ```json
 * { "network": "vgg16",
 *   "terms": [
 *     { "kind": "pixel", "distance": "l1" },
 *     { "kind": "feature", "layer": "block2_conv2", "weight": 15 },
 *     { "kind": "style", "layer": "relu3_3", "normalisation": "chw", "weight": 5e3 },
 *     { "kind": "tv", "distance": "l2", "reduction": "sum", "weight": 1e-6 } ] }
 * ```
 *
 * Omitted fields take the constructors' defaults (distance `l2` for feature/style, `l1` for
 * pixel/tv; weight 1; reduction `mean`; normalisation `chw`; scale 1; delta 1; epsilon 1e-3).
 *
 * @module
 */
import * as E from "fp-ts/lib/Either.js";
import * as t from "io-ts";
import {
  boundedJson,
  isObject,
  type JsonLimits,
  oneOf,
  OneOfType,
  orThrow,
  pathOf,
  quoted,
  show,
  unknownKeys,
} from "../_internal/decode.ts";
import { DecodeError, type DecodeIssue } from "../errors/decode_error.ts";
import { type LossNetwork, networkHasLayer } from "../network/loss_network.ts";
import { nearestName as suggest } from "../_internal/did_you_mean.ts";
import { type KindField, KINDS, ruleOfKind } from "./_kinds.ts";
import { type AnyLayer, feature, type Loss, lossOf, pixel, style, totalVariation } from "./loss.ts";
import {
  type Distance,
  DISTANCES,
  GRAM_NORMALISATIONS,
  type GramNormalisation,
  NUMBER_RULES,
  type Reduction,
  REDUCTIONS,
  TERM_KINDS,
  type TermKind,
} from "./term.ts";
import {
  isVggLayerName,
  VGG_ARCHITECTURES,
  type VggArchitecture,
  vggLayers,
} from "../vgg/layers.ts";

type OneOf<K extends string> = OneOfType<K>;

/** The optional fields of a term and their codecs (a type alias: io-ts wants an index signature). */
type TermFields = {
  layer: t.StringC;
  distance: OneOf<Distance>;
  weight: t.NumberC;
  normalisation: OneOf<GramNormalisation>;
  reduction: OneOf<Reduction>;
  scale: t.NumberC;
  delta: t.NumberC;
  epsilon: t.NumberC;
  name: t.StringC;
};

const TERM_FIELDS: TermFields = {
  layer: t.string,
  distance: oneOf(DISTANCES),
  weight: t.number,
  normalisation: oneOf(GRAM_NORMALISATIONS),
  reduction: oneOf(REDUCTIONS),
  scale: t.number,
  delta: t.number,
  epsilon: t.number,
  name: t.string,
};

/**
 * The io-ts codec of one term of a JSON loss spec (structure only; see `decodeLossSpec`).
 *
 * @example
 * ```ts
 * import { isRight } from "fp-ts/lib/Either.js";
 * import { TermSpecCodec } from "./spec.ts";
 * console.log(isRight(TermSpecCodec.decode({ kind: "feature", layer: "relu2_2" }))); // true
 * ```
 */
export const TermSpecCodec: t.IntersectionC<
  [t.TypeC<{ kind: OneOf<TermKind> }>, t.PartialC<TermFields>]
> = t.intersection([t.type({ kind: oneOf(TERM_KINDS) }), t.partial(TERM_FIELDS)], "TermSpec");

/**
 * One term of a JSON loss spec.
 *
 * @example
 * ```ts
 * import { decodeLossSpecOrThrow, type TermSpec } from "./spec.ts";
 * const gram: TermSpec = { kind: "style", layer: "block3_conv3", normalisation: "hw", weight: 5 };
 * const [term] = decodeLossSpecOrThrow({ terms: [gram] }).terms; // absent fields take the defaults
 * console.log(term!.distance, term!.reduction); // l2 mean
 * ```
 */
export type TermSpec = t.TypeOf<typeof TermSpecCodec>;

/**
 * The io-ts codec of a JSON loss spec (structure only: `decodeLossSpec` also checks layer names,
 * unknown keys and value ranges, and reports every problem).
 *
 * @example
 * ```ts
 * import { isRight } from "fp-ts/lib/Either.js";
 * import { LossSpecCodec } from "./spec.ts";
 * console.log(isRight(LossSpecCodec.decode({ terms: [{ kind: "pixel" }] }))); // true
 * ```
 */
export const LossSpecCodec: t.IntersectionC<
  [
    t.TypeC<{ terms: t.ArrayC<typeof TermSpecCodec> }>,
    t.PartialC<{ network: OneOf<VggArchitecture> }>,
  ]
> = t.intersection(
  [t.type({ terms: t.array(TermSpecCodec) }), t.partial({ network: oneOf(VGG_ARCHITECTURES) })],
  "LossSpec",
);

/**
 * A JSON loss spec.
 *
 * @example
 * ```ts
 * import { decodeLossSpecOrThrow, type LossSpec } from "./spec.ts";
 * const spec: LossSpec = {
 *   network: "vgg19", // layer names are checked against VGG-19's
 *   terms: [{ kind: "feature", layer: "relu5_4", distance: "l1" }, { kind: "tv", weight: 1e-4 }],
 * };
 * console.log(decodeLossSpecOrThrow(spec).layers); // ["relu5_4"]
 * ```
 */
export type LossSpec = t.TypeOf<typeof LossSpecCodec>;

/** The layer names a spec may use, and how to name the network in messages. */
interface Catalog {
  readonly label: string;
  readonly names: readonly string[];
  has(layer: string): boolean;
}

function catalogOf(net: LossNetwork<string> | VggArchitecture): Catalog {
  if (typeof net !== "string") {
    return { label: net.name, names: net.layers, has: (l) => networkHasLayer(net, l) };
  }
  const label = net === "vgg16" ? "VGG-16" : "VGG-19";
  return { label, names: vggLayers(net), has: (l) => isVggLayerName(net, l) };
}

function quoteAll(xs: readonly (string | number)[]): string {
  return xs.map((x) => `"${x}"`).join(", ");
}

function structuralIssue(e: t.ValidationError): DecodeIssue {
  const path = pathOf(e.context);
  const type = e.context[e.context.length - 1]!.type;
  const v = e.value;
  if (type instanceof OneOfType) {
    const allowed: readonly string[] = type.values;
    if (typeof v === "string") {
      const s = suggest(v, allowed);
      const what = path.replace(/^.*\./, "");
      return {
        path,
        message: `${quoted(v)} is not a valid ${what}; use one of ${quoteAll(allowed)}` +
          (s === undefined ? "" : ` (did you mean "${s}"?)`),
      };
    }
    return { path, message: `is ${describe(v)}; it must be one of ${quoteAll(allowed)}` };
  }
  if (path === "(root)") {
    return { path, message: `is ${describe(v)}; a loss spec is an object like { "terms": [ … ] }` };
  }
  if (type instanceof t.ArrayType) {
    return { path, message: `is ${describe(v)}; it must be an array of terms` };
  }
  if (type instanceof t.InterfaceType || type instanceof t.IntersectionType) {
    return { path, message: `is ${describe(v)}; a term is an object like { "kind": "pixel" }` };
  }
  return { path, message: `is ${describe(v)}; it must be a ${type.name}` };
}

function describe(v: unknown): string {
  if (v === undefined) return "missing";
  if (Array.isArray(v)) return "an array";
  return typeof v === "string"
    ? `the string ${show(v)}`
    : v === null
    ? "null"
    : `${typeof v} ${show(v)}`;
}

const ROOT_KEYS = ["terms", "network"];
const TERM_KEYS = ["kind", ...Object.keys(TERM_FIELDS)];
const KIND_FIELDS: readonly KindField[] = ["layer", "scale", "normalisation"];

/** Which kinds own `field`, as "feature and style". */
function ownersOf(field: KindField): string {
  return TERM_KINDS.filter((k) => KINDS[k].fields.includes(field)).join(" and ");
}

/** Value and cross-field checks io-ts' structure cannot express. */
function semanticIssues(raw: unknown, catalog: Catalog): DecodeIssue[] {
  const issues: DecodeIssue[] = [];
  if (!isObject(raw)) return issues;
  issues.push(...unknownKeys(raw, ROOT_KEYS, ""));
  if (!Array.isArray(raw.terms)) return issues;
  raw.terms.forEach((term: unknown, i: number) => {
    const at = `terms[${i}]`;
    if (!isObject(term)) return;
    issues.push(...unknownKeys(term, TERM_KEYS, at));
    const kind = term.kind;
    if (!(TERM_KINDS as readonly unknown[]).includes(kind)) return;
    const rule = ruleOfKind(kind as TermKind);
    const reads = rule.fields.includes("layer");
    if (reads && term.layer === undefined) {
      issues.push({
        path: `${at}.layer`,
        message: `is missing; a ${kind} term needs the layer it reads, e.g. "${
          catalog.names[1] ?? catalog.names[0]
        }"`,
      });
    }
    if (reads && typeof term.layer === "string" && !catalog.has(term.layer)) {
      const s = suggest(term.layer, catalog.names);
      issues.push({
        path: `${at}.layer`,
        message: `${quoted(term.layer)} is not a ${catalog.label} layer` +
          (s === undefined
            ? `; its layers are ${catalog.names.join(", ")}`
            : `; did you mean "${s}"?`),
      });
    }
    for (const field of KIND_FIELDS) {
      if (term[field] === undefined || rule.fields.includes(field)) continue;
      issues.push({
        path: `${at}.${field}`,
        message: field === "layer"
          ? `a ${kind} term reads no layer; remove "layer"`
          : `only ${ownersOf(field)} terms have a ${field}; remove it from this ${kind} term`,
      });
    }
    for (const [field, r] of Object.entries(NUMBER_RULES)) {
      const v = term[field];
      if (typeof v === "number" && !r.ok(v)) {
        issues.push({
          path: `${at}.${field}`,
          message: `${v} is not allowed; it must be ${r.want}`,
        });
      }
    }
    if (typeof term.name === "string" && term.name.trim() === "") {
      issues.push({ path: `${at}.name`, message: "is empty; give a name or remove the field" });
    }
  });
  return issues;
}

/** Root issues first, then by term index; stable within a term. */
function inDocumentOrder(issues: readonly DecodeIssue[]): DecodeIssue[] {
  const index = (p: string) => Number(/^terms\[(\d+)\]/.exec(p)?.[1] ?? -1);
  return issues.map((x, i) => ({ x, i, k: index(x.path) })).sort((a, b) => a.k - b.k || a.i - b.i)
    .map(({ x }) => x);
}

/** The constructor of each kind, from a decoded spec's kind-specific fields and common options. */
const CONSTRUCT: {
  readonly [K in TermKind]: (spec: TermSpec, common: Record<string, unknown>) => Loss<string>;
} = {
  feature: (spec, common) => feature(spec.layer!, common),
  style: (spec, common) => style(spec.layer!, common),
  pixel: (_, common) => pixel(common),
  tv: (_, common) => totalVariation(common),
};

function termOf(spec: TermSpec): Loss<string> {
  const { kind, layer: _layer, ...options } = spec;
  const common = Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined));
  return CONSTRUCT[kind](spec, common);
}

const WHAT = "loss spec";

/**
 * What {@linkcode decodeLossSpec} reads before refusing: a spec is a few terms of short fields,
 * so these are far above any real one while keeping a hostile input's cost (time, memory, the
 * length of the error message) small.
 *
 * @example
 * ```ts
 * import { LOSS_SPEC_LIMITS } from "./spec.ts";
 * console.log(LOSS_SPEC_LIMITS.arrayLength); // 10000
 * ```
 */
export const LOSS_SPEC_LIMITS: JsonLimits = {
  chars: 1_000_000,
  depth: 8,
  stringChars: 256,
  arrayLength: 10_000,
};

/** Decode against the layers of `net`: the result is typed by the network's layers. */
export function decodeLossSpec<L extends string>(
  json: unknown,
  net: LossNetwork<L>,
): E.Either<DecodeError, Loss<L>>;
/**
 * Decode a JSON loss spec (an object, or a JSON string) into a `Loss`, or a
 * {@linkcode DecodeError} listing EVERY problem with its path and a fix, e.g.
 * `terms[2].layer: "block9_conv1" is not a VGG-16 layer; did you mean "block5_conv1"?`. Layer
 * names are checked against `net` when given, else against the spec's `network` (default
 * `vgg16`), aliases such as `relu2_2` included. Makes no tensors.
 *
 * @example
 * ```ts
 * import * as E from "fp-ts/lib/Either.js";
 * import { decodeLossSpec } from "./spec.ts";
 * const r = decodeLossSpec({ terms: [{ kind: "feature", layer: "block9_conv1" }, { kind: "pixle" }] });
 * if (E.isLeft(r)) console.log(r.left.issues.map((i) => i.path)); // ["terms[0].layer", "terms[1].kind"]
 * ```
 */
export function decodeLossSpec(json: unknown): E.Either<DecodeError, Loss<AnyLayer>>;
export function decodeLossSpec<L extends string>(
  json: unknown,
  net?: LossNetwork<L>,
): E.Either<DecodeError, Loss<AnyLayer>> {
  const parsed = boundedJson(json, LOSS_SPEC_LIMITS);
  if (E.isLeft(parsed)) return E.left(new DecodeError(WHAT, parsed.left));
  const raw = parsed.right;
  const network: VggArchitecture = isObject(raw) && typeof raw.network === "string" &&
      (VGG_ARCHITECTURES as readonly string[]).includes(raw.network)
    ? raw.network as VggArchitecture
    : "vgg16";
  const catalog = catalogOf(net ?? network);
  const decoded = LossSpecCodec.decode(raw);
  const issues: DecodeIssue[] = [];
  const seen = new Set<string>();
  if (E.isLeft(decoded)) {
    for (const e of decoded.left) {
      const issue = structuralIssue(e);
      if (!seen.has(issue.path)) issues.push(issue);
      seen.add(issue.path);
    }
  }
  for (const issue of semanticIssues(raw, catalog)) {
    if (!seen.has(issue.path)) issues.push(issue);
    seen.add(issue.path);
  }
  if (issues.length > 0 || E.isLeft(decoded)) {
    return E.left(new DecodeError(WHAT, inDocumentOrder(issues)));
  }
  // One loss from all the terms at once: concatenating term by term copies the list each time
  // (quadratic; 100,000 terms took 103 s).
  const terms: Loss<string>["terms"][number][] = [];
  const problems: DecodeIssue[] = [];
  decoded.right.terms.forEach((spec, i) => {
    try {
      terms.push(...termOf(spec).terms);
    } catch (e) {
      problems.push({ path: `terms[${i}]`, message: (e as Error).message });
    }
  });
  return problems.length > 0 ? E.left(new DecodeError(WHAT, problems)) : E.right(lossOf(terms));
}

/** {@linkcode decodeLossSpec} against the layers of `net`, throwing its `DecodeError`. */
export function decodeLossSpecOrThrow<L extends string>(
  json: unknown,
  net: LossNetwork<L>,
): Loss<L>;
/**
 * {@linkcode decodeLossSpec}, throwing the `DecodeError` (every problem with its path) instead of
 * returning it.
 *
 * @example
 * ```ts
 * import { decodeLossSpecOrThrow } from "./spec.ts";
 * const loss = decodeLossSpecOrThrow('{ "terms": [{ "kind": "feature", "layer": "relu2_2" }] }');
 * console.log(loss.layers); // ["relu2_2"]
 * ```
 */
export function decodeLossSpecOrThrow(json: unknown): Loss<AnyLayer>;
export function decodeLossSpecOrThrow<L extends string>(
  json: unknown,
  net?: LossNetwork<L>,
): Loss<AnyLayer> {
  return orThrow(net === undefined ? decodeLossSpec(json) : decodeLossSpec(json, net));
}
