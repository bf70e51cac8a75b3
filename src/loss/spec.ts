/**
 * Losses as JSON: an io-ts codec, a decoder that reports every problem with its path and a fix,
 * and (in `spec_encode.ts`) an encoder that round-trips. Every registered kind can be read: the
 * fields of a term are its kind's fields, checked by their codecs.
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
 * Omitted fields take the kinds' defaults (distance `l2` for feature/style, `l1` for pixel/tv;
 * weight 1; reduction `mean`; normalisation `chw`; scale 1; delta 1; epsilon 1e-3).
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
  quoted,
  show,
  unknownKeys,
} from "../_internal/decode.ts";
import { DecodeError, type DecodeIssue } from "../errors/decode_error.ts";
import { checkOptionKeys } from "../errors/unknown_option_error.ts";
import { type LossNetwork, networkHasLayer } from "../network/loss_network.ts";
import { nearestName as suggest } from "../_internal/did_you_mean.ts";
import {
  type FieldCodec,
  type Kind,
  kindNamed,
  LayerField,
  NonEmptyText,
  NumberField,
  registeredKinds,
} from "./kind.ts";
import { type AnyLayer, type Loss, lossOf } from "./loss.ts";
import type { TermKindDef } from "./define_kind.ts";
import { NUMBER_RULES, type Term } from "./term.ts";
import {
  isVggLayerName,
  VGG_ARCHITECTURES,
  type VggArchitecture,
  vggLayers,
} from "../vgg/layers.ts";

/**
 * One term of a JSON loss spec: its `kind` and that kind's fields.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { decodeLossSpecOrThrow, type TermSpec } from "@perceptual/loss/loss";
 * const gram: TermSpec = { kind: "style", layer: "block3_conv3", normalisation: "hw", weight: 5 };
 * const [term] = decodeLossSpecOrThrow({ terms: [gram] }).terms; // absent fields take the defaults
 * assert.equal("distance" in term! && term.distance, "l2");
 * ```
 */
export interface TermSpec {
  /** The kind's name. */
  readonly kind: string;
  /** The kind's fields and the common ones (`weight`, `name`, `network`). */
  readonly [field: string]: unknown;
}

/**
 * The io-ts codec of one term of a JSON loss spec (structure only: an object with a string
 * `kind`; `decodeLossSpec` checks the fields against the kind).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { isRight } from "fp-ts/lib/Either.js";
 * import { TermSpecCodec } from "@perceptual/loss/loss";
 * assert.ok(isRight(TermSpecCodec.decode({ kind: "feature", layer: "relu2_2" })));
 * ```
 */
export const TermSpecCodec: t.Type<TermSpec, TermSpec, unknown> = t.intersection(
  [t.type({ kind: t.string }), t.UnknownRecord],
  "TermSpec",
) as unknown as t.Type<TermSpec, TermSpec, unknown>;

/**
 * A JSON loss spec.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { decodeLossSpecOrThrow, type LossSpec } from "@perceptual/loss/loss";
 * const spec: LossSpec = {
 *   network: "vgg19", // layer names are checked against VGG-19's
 *   terms: [{ kind: "feature", layer: "relu5_4", distance: "l1" }, { kind: "tv", weight: 1e-4 }],
 * };
 * assert.deepEqual(decodeLossSpecOrThrow(spec).layers, ["relu5_4"]);
 * ```
 */
export interface LossSpec {
  /** The terms, in order. */
  readonly terms: readonly TermSpec[];
  /** Which VGG the layer names are for (default `vgg16`). */
  readonly network?: VggArchitecture;
}

/**
 * The io-ts codec of a JSON loss spec (structure only: `decodeLossSpec` also checks kinds, layer
 * names, unknown keys and value ranges, and reports every problem).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { isRight } from "fp-ts/lib/Either.js";
 * import { LossSpecCodec } from "@perceptual/loss/loss";
 * assert.ok(isRight(LossSpecCodec.decode({ terms: [{ kind: "pixel" }] })));
 * ```
 */
export const LossSpecCodec: t.Type<LossSpec, LossSpec, unknown> = t.intersection(
  [t.type({ terms: t.array(TermSpecCodec) }), t.partial({ network: oneOf(VGG_ARCHITECTURES) })],
  "LossSpec",
) as unknown as t.Type<LossSpec, LossSpec, unknown>;

/**
 * Options of {@linkcode decodeLossSpec}.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { decodeLossSpec, type DecodeLossSpecOptions, pixelKind } from "@perceptual/loss/loss";
 * const options: DecodeLossSpecOptions = { kinds: [pixelKind] }; // kinds beyond the registered
 * assert.equal(decodeLossSpec({ terms: [{ kind: "pixel" }] }, options)._tag, "Right");
 * ```
 */
export interface DecodeLossSpecOptions<L extends string = string> {
  /** Check layer names against this network (default: the spec's `network`, else VGG-16). */
  readonly network?: LossNetwork<L>;
  /** Other networks, by `key`: layer names of terms that read them are checked against them. */
  readonly networks?: readonly LossNetwork<AnyLayer>[];
  /** Kinds to accept besides the registered ones (see `registerTermKind`). */
  readonly kinds?: readonly Kind[];
}

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

function describe(v: unknown): string {
  if (v === undefined) return "missing";
  if (Array.isArray(v)) return "an array";
  return typeof v === "string"
    ? `the string ${show(v)}`
    : v === null
    ? "null"
    : `${typeof v} ${show(v)}`;
}

/** The issue for a value `v` its codec refused, at `path` (`what` names the field). */
function valueIssue(
  path: string,
  what: string,
  codec: FieldCodec<unknown>,
  v: unknown,
): DecodeIssue {
  if (codec instanceof OneOfType) {
    const allowed: readonly string[] = codec.values as readonly string[];
    if (typeof v !== "string") {
      return { path, message: `is ${describe(v)}; it must be one of ${quoteAll(allowed)}` };
    }
    const s = suggest(v, allowed);
    return {
      path,
      message: `${quoted(v)} is not a valid ${what}; use one of ${quoteAll(allowed)}` +
        (s === undefined ? "" : ` (did you mean "${s}"?)`),
    };
  }
  if (codec instanceof NumberField || codec === t.number) {
    return typeof v === "number"
      ? { path, message: `${v} is not allowed; it must be ${codec.name}` }
      : { path, message: `is ${describe(v)}; it must be a number` };
  }
  return { path, message: `is ${describe(v)}; it must be ${codec.name}` };
}

/** The structural issues of the root (what io-ts sees before any kind is looked at). */
function rootIssues(raw: unknown): DecodeIssue[] {
  if (!isObject(raw)) {
    return [{
      path: "(root)",
      message: `is ${describe(raw)}; a loss spec is an object like { "terms": [ … ] }`,
    }];
  }
  const issues = unknownKeys(raw, ["terms", "network"], "");
  if (raw.network !== undefined) {
    const codec = oneOf(VGG_ARCHITECTURES);
    if (!codec.is(raw.network)) issues.push(valueIssue("network", "network", codec, raw.network));
  }
  if (!Array.isArray(raw.terms)) {
    issues.push({
      path: "terms",
      message: `is ${describe(raw.terms)}; it must be an array of terms`,
    });
  }
  return issues;
}

const COMMON = {
  weight: new NumberField(NUMBER_RULES.weight),
  name: new NonEmptyText(),
  network: new NonEmptyText(),
};

/** Context of one decode: kinds by name and layer catalogs. */
interface Context {
  kindOf(name: string): Kind | undefined;
  readonly kindNames: readonly string[];
  readonly allKinds: readonly Kind[];
  catalogFor(networkKey: string | undefined): Catalog | undefined;
}

function unknownKindIssue(at: string, kind: unknown, ctx: Context): DecodeIssue {
  if (typeof kind !== "string") {
    return {
      path: `${at}.kind`,
      message: `is ${describe(kind)}; it must be one of ${quoteAll(ctx.kindNames)}`,
    };
  }
  const s = suggest(kind, ctx.kindNames);
  return {
    path: `${at}.kind`,
    message: `${quoted(kind)} is not a valid kind; use one of ${quoteAll(ctx.kindNames)}` +
      (s === undefined
        ? "; a kind of your own must be registered first: registerTermKind(myKind), or " +
          "decodeLossSpec(json, { kinds: [myKind] })"
        : ` (did you mean "${s}"?)`),
  };
}

/** The issues of one term's fields against its kind. */
function fieldIssues(at: string, term: Record<string, unknown>, kind: Kind, ctx: Context) {
  const issues: DecodeIssue[] = [];
  const own = Object.entries(kind.fields);
  const allowed = ["kind", ...Object.keys(COMMON), ...own.map(([k]) => k)];
  for (const key of Object.keys(term)) {
    if (allowed.includes(key)) continue;
    const owners = ctx.allKinds.filter((k) => k.fields[key] !== undefined).map((k) => k.name);
    if (owners.length === 0) {
      issues.push(...unknownKeys({ [key]: term[key] }, allowed, at));
    } else if (key === "layer") {
      issues.push({
        path: `${at}.layer`,
        message: `a ${kind.name} term reads no layer; remove "layer"`,
      });
    } else {
      issues.push({
        path: `${at}.${key}`,
        message: `only ${owners.join(" and ")} terms have a ${key}; remove it from this ` +
          `${kind.name} term`,
      });
    }
  }
  for (const [key, codec] of Object.entries(COMMON)) {
    const v = term[key];
    if (v === undefined || codec.is(v)) continue;
    issues.push(
      key === "weight"
        ? valueIssue(`${at}.${key}`, key, codec, v)
        : typeof v === "string"
        ? { path: `${at}.${key}`, message: "is empty or blank; give a name or remove the field" }
        : { path: `${at}.${key}`, message: `is ${describe(v)}; it must be a string` },
    );
  }
  const key = typeof term.network === "string" ? term.network : undefined;
  for (const [field, rule] of own) {
    const v = term[field];
    const path = `${at}.${field}`;
    if (v === undefined) {
      if (rule.default !== undefined) continue;
      const example = rule.codec instanceof LayerField
        ? `the layer it reads, e.g. "${ctx.catalogFor(key)?.names[1] ?? "block2_conv2"}"`
        : `a ${field} (${rule.codec.name})`;
      issues.push({ path, message: `is missing; a ${kind.name} term needs ${example}` });
    } else if (!rule.codec.is(v)) {
      issues.push(valueIssue(path, field, rule.codec, v));
    } else if (rule.codec instanceof LayerField) {
      const catalog = ctx.catalogFor(key);
      if (catalog !== undefined && !catalog.has(v as string)) {
        const s = suggest(v as string, catalog.names);
        issues.push({
          path,
          message: `${quoted(v as string)} is not a ${catalog.label} layer` +
            (s === undefined
              ? `; its layers are ${catalog.names.join(", ")}`
              : `; did you mean "${s}"?`),
        });
      }
    }
  }
  return issues;
}

/** Value and cross-field checks of every term. */
function termIssues(raw: Record<string, unknown>, ctx: Context): DecodeIssue[] {
  const issues: DecodeIssue[] = [];
  if (!Array.isArray(raw.terms)) return issues;
  raw.terms.forEach((term: unknown, i: number) => {
    const at = `terms[${i}]`;
    if (!isObject(term)) {
      issues.push({
        path: at,
        message: `is ${describe(term)}; a term is an object like { "kind": "pixel" }`,
      });
      return;
    }
    const kind = typeof term.kind === "string" ? ctx.kindOf(term.kind) : undefined;
    if (kind === undefined) {
      issues.push(unknownKindIssue(at, term.kind, ctx));
      issues.push(...unknownKeys(
        Object.fromEntries(Object.entries(term).filter(([k]) => !knownAnywhere(k, ctx))),
        ["kind", ...Object.keys(COMMON)],
        at,
      ));
      return;
    }
    issues.push(...fieldIssues(at, term, kind, ctx));
  });
  return issues;
}

function knownAnywhere(key: string, ctx: Context): boolean {
  return key === "kind" || key in COMMON || ctx.allKinds.some((k) => k.fields[key] !== undefined);
}

/** Root issues first, then by term index; stable within a term. */
function inDocumentOrder(issues: readonly DecodeIssue[]): DecodeIssue[] {
  const index = (p: string) => Number(/^terms\[(\d+)\]/.exec(p)?.[1] ?? -1);
  return issues.map((x, i) => ({ x, i, k: index(x.path) })).sort((a, b) => a.k - b.k || a.i - b.i)
    .map(({ x }) => x);
}

const WHAT = "loss spec";

/**
 * What {@linkcode decodeLossSpec} reads before refusing: a spec is a few terms of short fields,
 * so these are far above any real one while keeping a hostile input's cost (time, memory, the
 * length of the error message) small.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { LOSS_SPEC_LIMITS } from "@perceptual/loss/loss";
 * assert.equal(LOSS_SPEC_LIMITS.arrayLength, 10000);
 * ```
 */
export const LOSS_SPEC_LIMITS: JsonLimits = {
  chars: 1_000_000,
  depth: 8,
  stringChars: 256,
  arrayLength: 10_000,
};

function contextOf(raw: unknown, options: DecodeLossSpecOptions<string>): Context {
  const extra = options.kinds ?? [];
  const kindOf = (name: string) => extra.find((k) => k.name === name) ?? kindNamed(name);
  const names = [...new Set([...registeredKinds(), ...extra.map((k) => k.name)])];
  const vgg: VggArchitecture = isObject(raw) && typeof raw.network === "string" &&
      (VGG_ARCHITECTURES as readonly string[]).includes(raw.network)
    ? raw.network as VggArchitecture
    : "vgg16";
  const main = catalogOf(options.network ?? vgg);
  return {
    kindOf,
    kindNames: names,
    allKinds: names.map((n) => kindOf(n)!),
    catalogFor: (key) => {
      if (key === undefined || key === options.network?.key) return main;
      const net = options.networks?.find((n) => n.key === key);
      return net === undefined ? undefined : catalogOf(net);
    },
  };
}

/** Decode against the layers of `net`: the result is typed by the network's layers. */
export function decodeLossSpec<L extends string>(
  json: unknown,
  net: LossNetwork<L>,
): E.Either<DecodeError, Loss<L>>;
/**
 * Decode a JSON loss spec (an object, or a JSON string) into a `Loss`, or a
 * {@linkcode DecodeError} listing EVERY problem with its path and a fix, e.g.
 * `terms[2].layer: "block9_conv1" is not a VGG-16 layer; did you mean "block5_conv1"?`. Any
 * registered kind may appear (see `registerTermKind`; or pass `kinds`). Layer names are checked
 * against `network` when given, else against the spec's `network` (default `vgg16`), aliases
 * such as `relu2_2` included. Makes no tensors.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as E from "fp-ts/lib/Either.js";
 * import { decodeLossSpec } from "@perceptual/loss/loss";
 * const r = decodeLossSpec({ terms: [{ kind: "feature", layer: "block9_conv1" }, { kind: "pixle" }] });
 * assert.ok(E.isLeft(r));
 * if (E.isLeft(r)) assert.deepEqual(r.left.issues.map((i) => i.path), ["terms[0].layer", "terms[1].kind"]);
 * ```
 */
export function decodeLossSpec(
  json: unknown,
  options?: DecodeLossSpecOptions,
): E.Either<DecodeError, Loss<AnyLayer>>;
export function decodeLossSpec<L extends string>(
  json: unknown,
  netOrOptions?: LossNetwork<L> | DecodeLossSpecOptions<L>,
): E.Either<DecodeError, Loss<AnyLayer>> {
  const options: DecodeLossSpecOptions<string> = netOrOptions === undefined
    ? {}
    : "extract" in netOrOptions
    ? { network: netOrOptions as unknown as LossNetwork<string> }
    : netOrOptions as DecodeLossSpecOptions<string>;
  checkOptionKeys("decodeLossSpec", options, ["network", "networks", "kinds"]);
  const parsed = boundedJson(json, LOSS_SPEC_LIMITS);
  if (E.isLeft(parsed)) return E.left(new DecodeError(WHAT, parsed.left));
  const raw = parsed.right;
  const issues = rootIssues(raw);
  const ctx = contextOf(raw, options);
  if (isObject(raw)) issues.push(...termIssues(raw, ctx));
  if (issues.length > 0) return E.left(new DecodeError(WHAT, inDocumentOrder(issues)));
  const spec = raw as unknown as LossSpec;
  // One loss from all the terms at once: concatenating term by term copies the list each time
  // (quadratic; 100,000 terms took 103 s).
  const terms: Term<string>[] = [];
  const problems: DecodeIssue[] = [];
  spec.terms.forEach((term, i) => {
    const { kind: name, ...fields } = term;
    try {
      terms.push((ctx.kindOf(name) as TermKindDef<Term<string>>).term(fields));
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
 * import assert from "node:assert/strict";
 * import { decodeLossSpecOrThrow } from "@perceptual/loss/loss";
 * const loss = decodeLossSpecOrThrow('{ "terms": [{ "kind": "feature", "layer": "relu2_2" }] }');
 * assert.deepEqual(loss.layers, ["relu2_2"]);
 * ```
 */
export function decodeLossSpecOrThrow(
  json: unknown,
  options?: DecodeLossSpecOptions,
): Loss<AnyLayer>;
export function decodeLossSpecOrThrow<L extends string>(
  json: unknown,
  netOrOptions?: LossNetwork<L> | DecodeLossSpecOptions<L>,
): Loss<AnyLayer> {
  return orThrow(decodeLossSpec(json, netOrOptions as DecodeLossSpecOptions));
}
