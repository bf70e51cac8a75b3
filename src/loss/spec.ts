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
import type { LossNetwork } from "../network/loss_network.ts";
import { LossSpecError, type LossSpecIssue } from "./errors.ts";
import { networkHasLayer } from "../network/loss_network.ts";
import {
  type AnyLayer,
  concatLoss,
  emptyLoss,
  feature,
  type Loss,
  pixel,
  style,
  totalVariation,
} from "./loss.ts";
import { nearestName as suggest } from "../text/did_you_mean.ts";
import {
  type Distance,
  DISTANCES,
  GRAM_NORMALISATIONS,
  type GramNormalisation,
  type Reduction,
  REDUCTIONS,
  type Term,
  TERM_KINDS,
  type TermKind,
} from "./term.ts";
import { NETWORK_NAMES, type NetworkName, vggCatalog } from "./vgg_catalog.ts";

function keyof<K extends string>(keys: readonly K[], name: string): t.KeyofC<Record<K, null>> {
  return t.keyof(Object.fromEntries(keys.map((k) => [k, null])) as Record<K, null>, name);
}

type KeyofOf<K extends string> = t.KeyofC<Record<K, null>>;

const KindC: KeyofOf<TermKind> = keyof(TERM_KINDS, "kind");
const DistanceC: KeyofOf<Distance> = keyof(DISTANCES, "distance");
const NormalisationC: KeyofOf<GramNormalisation> = keyof(GRAM_NORMALISATIONS, "normalisation");
const ReductionC: KeyofOf<Reduction> = keyof(REDUCTIONS, "reduction");
const NetworkC: KeyofOf<NetworkName> = keyof(NETWORK_NAMES, "network");

/** The optional fields of a term and their codecs (a type alias: io-ts wants an index signature). */
type TermFields = {
  layer: t.StringC;
  distance: KeyofOf<Distance>;
  weight: t.NumberC;
  normalisation: KeyofOf<GramNormalisation>;
  reduction: KeyofOf<Reduction>;
  scale: t.NumberC;
  delta: t.NumberC;
  epsilon: t.NumberC;
  name: t.StringC;
};

const TERM_FIELDS: TermFields = {
  layer: t.string,
  distance: DistanceC,
  weight: t.number,
  normalisation: NormalisationC,
  reduction: ReductionC,
  scale: t.number,
  delta: t.number,
  epsilon: t.number,
  name: t.string,
};

/** The io-ts codec of one term of a JSON loss spec (structure only; see `decodeLossSpec`). */
export const TermSpecCodec: t.IntersectionC<
  [t.TypeC<{ kind: KeyofOf<TermKind> }>, t.PartialC<TermFields>]
> = t.intersection([t.type({ kind: KindC }), t.partial(TERM_FIELDS)], "TermSpec");

/** One term of a JSON loss spec. */
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
    t.PartialC<{ network: KeyofOf<NetworkName> }>,
  ]
> = t.intersection(
  [t.type({ terms: t.array(TermSpecCodec) }), t.partial({ network: NetworkC })],
  "LossSpec",
);

/** A JSON loss spec. */
export type LossSpec = t.TypeOf<typeof LossSpecCodec>;

/** The layer names a spec may use, and how to name the network in messages. */
interface Catalog {
  readonly label: string;
  readonly names: readonly string[];
  has(layer: string): boolean;
}

function netCatalog<L extends string>(net: LossNetwork<L>): Catalog {
  return {
    label: net.name,
    names: net.layers,
    has: (layer) => networkHasLayer(net, layer),
  };
}

function quoteAll(xs: readonly string[]): string {
  return xs.map((x) => `"${x}"`).join(", ");
}

function describe(v: unknown): string {
  if (v === undefined) return "missing";
  if (v === null) return "null";
  if (Array.isArray(v)) return "an array";
  return typeof v === "string"
    ? `the string ${JSON.stringify(v)}`
    : `${typeof v} ${JSON.stringify(v)}`;
}

/** Path of an io-ts error context, skipping the members of intersections. */
function pathOf(context: t.Context): string {
  let path = "";
  for (let i = 1; i < context.length; i++) {
    const parent = context[i - 1]!.type;
    const key = context[i]!.key;
    if (parent instanceof t.IntersectionType) continue;
    path += parent instanceof t.ArrayType ? `[${key}]` : path === "" ? key : `.${key}`;
  }
  return path === "" ? "(root)" : path;
}

function structuralIssue(e: t.ValidationError): LossSpecIssue {
  const path = pathOf(e.context);
  const type = e.context[e.context.length - 1]!.type;
  const v = e.value;
  if (type instanceof t.KeyofType) {
    const allowed = Object.keys(type.keys);
    if (typeof v === "string") {
      const s = suggest(v, allowed);
      return {
        path,
        message: `"${v}" is not a valid ${type.name}; use one of ${quoteAll(allowed)}` +
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

const ROOT_KEYS = ["terms", "network"];
const TERM_KEYS = ["kind", ...Object.keys(TERM_FIELDS)];

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function unknownKeys(
  obj: Record<string, unknown>,
  allowed: readonly string[],
  at: string,
): LossSpecIssue[] {
  return Object.keys(obj).filter((k) => !allowed.includes(k)).map((k) => {
    const s = suggest(k, allowed);
    return {
      path: at === "" ? k : `${at}.${k}`,
      message: `unknown field` +
        (s === undefined
          ? `; remove it (fields: ${allowed.join(", ")})`
          : `; did you mean "${s}"?`),
    };
  });
}

/** Value and cross-field checks io-ts' structure cannot express. */
function semanticIssues(raw: unknown, catalog: Catalog): LossSpecIssue[] {
  const issues: LossSpecIssue[] = [];
  if (!isObject(raw)) return issues;
  issues.push(...unknownKeys(raw, ROOT_KEYS, ""));
  if (!Array.isArray(raw.terms)) return issues;
  raw.terms.forEach((term: unknown, i: number) => {
    const at = `terms[${i}]`;
    if (!isObject(term)) return;
    issues.push(...unknownKeys(term, TERM_KEYS, at));
    const kind = term.kind;
    const layered = kind === "feature" || kind === "style";
    if (layered && term.layer === undefined) {
      issues.push({
        path: `${at}.layer`,
        message: `is missing; a ${kind} term needs the layer it reads, e.g. "${
          catalog.names[1] ?? catalog.names[0]
        }"`,
      });
    }
    if (layered && typeof term.layer === "string" && !catalog.has(term.layer)) {
      const s = suggest(term.layer, catalog.names);
      issues.push({
        path: `${at}.layer`,
        message: `"${term.layer}" is not a ${catalog.label} layer` +
          (s === undefined
            ? `; its layers are ${catalog.names.join(", ")}`
            : `; did you mean "${s}"?`),
      });
    }
    if ((kind === "pixel" || kind === "tv") && term.layer !== undefined) {
      issues.push({
        path: `${at}.layer`,
        message: `a ${kind} term reads no layer; remove "layer"`,
      });
    }
    const known = (TERM_KINDS as readonly unknown[]).includes(kind);
    if (known && kind !== "style" && term.normalisation !== undefined) {
      issues.push({
        path: `${at}.normalisation`,
        message: `only style terms have a Gram normalisation; remove it from this ${
          String(kind)
        } term`,
      });
    }
    if (known && !layered && term.scale !== undefined) {
      issues.push({
        path: `${at}.scale`,
        message: `only feature and style terms have a scale; remove it`,
      });
    }
    const num = (field: string, ok: (x: number) => boolean, want: string) => {
      const v = term[field];
      if (typeof v === "number" && !ok(v)) {
        issues.push({ path: `${at}.${field}`, message: `${v} is not allowed; it must be ${want}` });
      }
    };
    num(
      "weight",
      (w) => Number.isFinite(w) && w >= 0,
      "a finite number >= 0 (0 switches the term off)",
    );
    num("scale", (w) => Number.isFinite(w) && w > 0, "a finite number > 0");
    num("delta", (w) => Number.isFinite(w) && w > 0, "a finite number > 0");
    num("epsilon", (w) => Number.isFinite(w) && w > 0, "a finite number > 0");
    if (typeof term.name === "string" && term.name.trim() === "") {
      issues.push({ path: `${at}.name`, message: "is empty; give a name or remove the field" });
    }
  });
  return issues;
}

/** Root issues first, then by term index; stable within a term. */
function inDocumentOrder(issues: readonly LossSpecIssue[]): LossSpecIssue[] {
  const index = (p: string) => Number(/^terms\[(\d+)\]/.exec(p)?.[1] ?? -1);
  return issues.map((x, i) => ({ x, i })).sort((a, b) =>
    index(a.x.path) - index(b.x.path) || a.i - b.i
  ).map(({ x }) => x);
}

function termOf(spec: TermSpec): Loss<string> {
  const common = {
    ...(spec.distance === undefined ? {} : { distance: spec.distance }),
    ...(spec.weight === undefined ? {} : { weight: spec.weight }),
    ...(spec.reduction === undefined ? {} : { reduction: spec.reduction }),
    ...(spec.delta === undefined ? {} : { delta: spec.delta }),
    ...(spec.epsilon === undefined ? {} : { epsilon: spec.epsilon }),
    ...(spec.name === undefined ? {} : { name: spec.name }),
  };
  const scale = spec.scale === undefined ? {} : { scale: spec.scale };
  switch (spec.kind) {
    case "feature":
      return feature(spec.layer!, { ...common, ...scale });
    case "style":
      return style(spec.layer!, {
        ...common,
        ...scale,
        ...(spec.normalisation === undefined ? {} : { normalisation: spec.normalisation }),
      });
    case "pixel":
      return pixel(common);
    case "tv":
      return totalVariation(common);
  }
}

/** Decode against the layers of `net`: the result is typed by the network's layers. */
export function decodeLossSpec<L extends string>(
  json: unknown,
  net: LossNetwork<L>,
): E.Either<LossSpecError, Loss<L>>;
/**
 * Decode a JSON loss spec (an object, or a JSON string) into a `Loss`, or a
 * {@linkcode LossSpecError} listing EVERY problem with its path and a fix, e.g.
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
export function decodeLossSpec(json: unknown): E.Either<LossSpecError, Loss<AnyLayer>>;
export function decodeLossSpec<L extends string>(
  json: unknown,
  net?: LossNetwork<L>,
): E.Either<LossSpecError, Loss<AnyLayer>> {
  let raw = json;
  if (typeof json === "string") {
    try {
      raw = JSON.parse(json);
    } catch (e) {
      return E.left(
        new LossSpecError([{ path: "(root)", message: `is not JSON: ${(e as Error).message}` }]),
      );
    }
  }
  const network: NetworkName = isObject(raw) && typeof raw.network === "string" &&
      (NETWORK_NAMES as readonly string[]).includes(raw.network)
    ? raw.network as NetworkName
    : "vgg16";
  const catalog = net === undefined ? vggCatalog(network) : netCatalog(net);
  const decoded = LossSpecCodec.decode(raw);
  const issues: LossSpecIssue[] = [];
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
    return E.left(new LossSpecError(inDocumentOrder(issues)));
  }
  let loss: Loss<string> = emptyLoss;
  const problems: LossSpecIssue[] = [];
  decoded.right.terms.forEach((spec, i) => {
    try {
      loss = concatLoss(loss, termOf(spec));
    } catch (e) {
      problems.push({ path: `terms[${i}]`, message: (e as Error).message });
    }
  });
  return problems.length > 0 ? E.left(new LossSpecError(problems)) : E.right(loss);
}

/** Options of {@linkcode encodeLossSpec}. */
export interface EncodeOptions {
  /** The `network` field to write (absent by default). */
  readonly network?: NetworkName;
}

function encodeTerm(term: Term<string>): TermSpec {
  const out: Record<string, unknown> = { kind: term.kind };
  if (term.kind === "feature" || term.kind === "style") out.layer = term.layer;
  out.distance = term.distance;
  out.weight = term.weight;
  if (term.kind === "style") out.normalisation = term.normalisation;
  if (term.reduction !== "mean") out.reduction = term.reduction;
  if ((term.kind === "feature" || term.kind === "style") && term.scale !== 1) {
    out.scale = term.scale;
  }
  if (term.delta !== 1) out.delta = term.delta;
  if (term.epsilon !== 1e-3) out.epsilon = term.epsilon;
  if (term.name !== undefined) out.name = term.name;
  return out as TermSpec;
}

/**
 * The JSON spec of a loss: `decodeLossSpec(encodeLossSpec(loss))` gives back an equal loss.
 *
 * @example
 * ```ts
 * import { encodeLossSpec } from "./spec.ts";
 * import { feature } from "./loss.ts";
 * console.log(JSON.stringify(encodeLossSpec(feature("block2_conv2"))));
 * // {"terms":[{"kind":"feature","layer":"block2_conv2","distance":"l2","weight":1}]}
 * ```
 */
export function encodeLossSpec(loss: Loss<string>, options: EncodeOptions = {}): LossSpec {
  const spec: LossSpec = { terms: loss.terms.map(encodeTerm) };
  return options.network === undefined ? spec : { ...spec, network: options.network };
}
