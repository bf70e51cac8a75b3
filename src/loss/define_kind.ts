/**
 * `defineTermKind`: the one way to make a kind of term, used by the built-in kinds and by
 * researchers alike. A kind is a value; its terms are plain data that carry it.
 *
 * @module
 */
import type * as tf from "@tensorflow/tfjs-core";
import { oneOf } from "../_internal/decode.ts";
import { nearestName } from "../_internal/did_you_mean.ts";
import { InvalidTermOptionError, LossInputError } from "./errors.ts";
import { distance as elementwiseDistance } from "./_kernels.ts";
import {
  type CalibrationRule,
  type FieldRule,
  fieldWant,
  type Kind,
  KIND_OF_TERM,
  kindOf,
  NonEmptyText,
  NumberField,
  type Representation,
  type SideView,
} from "./kind.ts";
import { type AnyLayer, type Loss, lossOf } from "./loss.ts";
import {
  checkWeight,
  type Distance,
  DISTANCES,
  NUMBER_RULES,
  REDUCTIONS,
  TERM_DEFAULTS,
  type TermBase,
  type TermCommon,
} from "./term.ts";

/** The fields of element-wise kinds: `distance`, `reduction`, `delta`, `epsilon`. */
type ElementwiseKey = "distance" | "reduction" | "delta" | "epsilon";

/**
 * The fields a kind owns: those of its term type besides the common and element-wise ones.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import type { FeatureTerm, OwnFields } from "@perceptual/loss/loss";
 * const own: OwnFields<FeatureTerm<string>>[] = ["layer", "scale"];
 * assert.deepEqual(own, ["layer", "scale"]);
 * ```
 */
export type OwnFields<T> = Exclude<keyof T, keyof TermCommon | ElementwiseKey>;

/**
 * The options a kind's constructor takes: the common ones, and any of its own fields (those
 * without a default are required at run time).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import type { KindOptions, StyleTerm } from "@perceptual/loss/loss";
 * const o: KindOptions<StyleTerm<string>> = { layer: "relu2_2", normalisation: "hw", weight: 5 };
 * assert.equal(o.normalisation, "hw");
 * ```
 */
export type KindOptions<T> =
  & { readonly weight?: number; readonly name?: string; readonly network?: string }
  & { readonly [K in Extract<keyof T, ElementwiseKey>]?: T[K] }
  & { readonly [K in OwnFields<T>]?: T[K] };

/**
 * What `defineTermKind` takes: a `name`, and either `distance` (an element-wise kind) or
 * `compare`; the rest has defaults (no taps: the kind reads the images).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as tf from "@tensorflow/tfjs-core";
 * import * as t from "io-ts";
 * import { defineTermKind, type TermCommon, type TermKindSpec } from "@perceptual/loss/loss";
 * interface Brightness extends TermCommon { readonly kind: "brightness"; readonly gain: number }
 * const spec: TermKindSpec<Brightness> = {
 *   name: "brightness",
 *   fields: { gain: { codec: t.number, default: 1 } },
 *   // |gain · mean(pred) − mean(target)|: a joint comparison of the two images
 *   compare: (term, p, q) =>
 *     tf.abs(tf.sub(tf.mul(tf.mean(p as tf.Tensor), term.gain), tf.mean(q as tf.Tensor))),
 * };
 * assert.equal(defineTermKind(spec).term({ gain: 2 }).gain, 2);
 * ```
 */
export interface TermKindSpec<T extends TermCommon> {
  /** The `kind` of its terms (unique among registered kinds). */
  readonly name: T["kind"];
  /** The fields it owns, each with its codec and default. */
  readonly fields?: { readonly [K in OwnFields<T>]-?: FieldRule<T[K]> };
  /**
   * Give it for an element-wise kind: its terms take `distance` (this default), `reduction`,
   * `delta` and `epsilon`, and the default `compare` is that distance.
   */
  readonly distance?: Distance;
  /** Whether its terms compare with a target (default true). */
  readonly needsTarget?: boolean;
  /** What it compares, for messages (default "representation"). */
  readonly compares?: string;
  /** How `calibrate` treats it (default `skip`). */
  readonly calibration?: CalibrationRule;
  /** The layers of its network a term reads (default none: the image). */
  readonly taps?: (term: T) => readonly string[];
  /** The key of the network a term reads when its `network` is absent (default: the main one). */
  readonly network?: (term: T) => string | undefined;
  /** One side's representation (default: the image, or the single tap's activation). */
  readonly represent?: (term: T, side: SideView) => Representation;
  /** Prediction against target (default: the element-wise `distance`). */
  readonly compare?: (
    term: T,
    pred: Representation,
    target: Representation | undefined,
  ) => tf.Scalar;
  /** The default name in results (default `kind:tap1+tap2`, or `kind`). */
  readonly label?: (term: T) => string;
}

/**
 * A kind made by {@linkcode defineTermKind}: its rules, plus constructors of its terms.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { featureKind, type TermKindDef, type FeatureTerm } from "@perceptual/loss/loss";
 * const k: TermKindDef<FeatureTerm<string>> = featureKind;
 * assert.deepEqual(k.loss({ layer: "relu2_2" }).layers, ["relu2_2"]);
 * ```
 */
export interface TermKindDef<T extends TermCommon> extends Kind<T> {
  /** One term, checked (unknown options are errors, with a did-you-mean) and with defaults. */
  term(options?: KindOptions<T>): T;
  /** A loss of one term: `kind.loss({ … })` composes with `plus` and `LossMonoid`. */
  loss(options?: KindOptions<T>): Loss<AnyLayer, T>;
}

const COMMON_KEYS = ["weight", "name", "network"] as const;
const ELEMENTWISE_KEYS: readonly ElementwiseKey[] = ["distance", "reduction", "delta", "epsilon"];

/**
 * An option name a kind does not know.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { style, UnknownTermOptionError } from "@perceptual/loss/loss";
 * assert.throws(() => style("relu2_2", { weigth: 5 } as never), UnknownTermOptionError);
 * ```
 */
export class UnknownTermOptionError extends InvalidTermOptionError {
  /** Build the error naming the option, the term and the nearest known option. */
  constructor(where: string, option: string, known: readonly string[]) {
    super(where, option, undefined, "");
    const s = nearestName(option, known);
    this.message = `${where}: unknown option "${option}"` +
      (s === undefined ? `; its options are ${known.join(", ")}` : `; did you mean "${s}"?`);
  }
}

/** The kind's own field rules plus the element-wise ones, in term order. */
function fieldRulesOf(
  own: Readonly<Record<string, FieldRule<unknown>>>,
  defaultDistance: Distance | undefined,
): [string, FieldRule<unknown>][] {
  const rules: [string, FieldRule<unknown>][] = Object.entries(own);
  if (defaultDistance === undefined) return rules;
  return [
    ...rules,
    ["distance", { codec: oneOf(DISTANCES), default: defaultDistance }],
    ["reduction", { codec: oneOf(REDUCTIONS), default: TERM_DEFAULTS.reduction }],
    ["delta", { codec: new NumberField(NUMBER_RULES.delta), default: TERM_DEFAULTS.delta }],
    ["epsilon", { codec: new NumberField(NUMBER_RULES.epsilon), default: TERM_DEFAULTS.epsilon }],
  ];
}

const TEXT = new NonEmptyText();

function checkText(where: string, option: string, v: unknown): string | undefined {
  if (v === undefined) return undefined;
  if (!TEXT.is(v)) throw new InvalidTermOptionError(where, option, v, TEXT.name);
  return v;
}

function defaultRepresent(term: TermCommon, side: SideView, taps: readonly string[]) {
  if (taps.length === 0) return side.image;
  if (taps.length === 1) return side.tap(taps[0]!);
  throw new LossInputError(
    `the ${term.kind} kind reads ${taps.length} taps but defines no represent(); give it one`,
  );
}

function defaultCompare(term: TermCommon, p: Representation, q: Representation | undefined) {
  const e = term as unknown as TermBase;
  if (!(p instanceof Object) || !("shape" in p) || (q !== undefined && !("shape" in q))) {
    throw new LossInputError(
      `the ${term.kind} kind represents a side by several tensors; give it a compare()`,
    );
  }
  return elementwiseDistance(p as tf.Tensor, (q ?? p) as tf.Tensor, e, e.reduction);
}

/**
 * Define a kind of term. The result is a value: make terms with `kind.loss({ … })` (a `Loss`
 * that composes with `plus` / `LossMonoid`, shares the single network pass, works with
 * precomputed targets, `calibrate`, the trainer and `fit`), and call `registerTermKind(kind)`
 * so JSON specs can name it. Nothing in the library changes to add a kind.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as tf from "@tensorflow/tfjs-core";
 * import * as t from "io-ts";
 * import { initBackend } from "@perceptual/loss/backend";
 * import { defineTermKind, evaluate, LayerField, type TermBase } from "@perceptual/loss/loss";
 * import type { LossNetwork } from "@perceptual/loss/network";
 * // AdaIN-style: compare per-channel means and standard deviations of one layer
 * interface MeanStd extends TermBase { readonly kind: "mean_std"; readonly layer: string }
 * const meanStd = defineTermKind<MeanStd>({
 *   name: "mean_std",
 *   fields: { layer: { codec: new LayerField() } },
 *   distance: "l2",
 *   taps: (term) => [term.layer],
 *   represent: (term, side) => {
 *     const { mean, variance } = tf.moments(side.tap(term.layer), [1, 2]);
 *     return tf.concat([mean, tf.sqrt(tf.add(variance, 1e-5))], 1);
 *   },
 * });
 * await initBackend("cpu");
 * const net: LossNetwork<"id"> = {
 *   name: "identity", layers: ["id"], inputConvention: { preprocessing: "none", range: "[0,1]" },
 *   depthOf: () => 0,
 *   extract: (x, layers) => Object.fromEntries(layers.map((l) => [l, tf.clone(x)])) as never,
 *   dispose() {}, [Symbol.dispose]() {},
 * };
 * const lossFn = evaluate(meanStd.loss({ layer: "id" }), net);
 * const r = lossFn(tf.fill([1, 2, 2, 3], 0.5), tf.fill([1, 2, 2, 3], 0.25));
 * // only the means differ, by 0.25: mean of [0.25², 0.25², 0.25², 0, 0, 0] = 0.03125
 * assert.ok(Math.abs(r.total.dataSync()[0]! - 0.03125) < 1e-6);
 * ```
 */
export function defineTermKind<T extends TermCommon>(spec: TermKindSpec<T>): TermKindDef<T> {
  const name = spec.name as string;
  const own = (spec.fields ?? {}) as Readonly<Record<string, FieldRule<unknown>>>;
  checkKindSpec(spec, own);
  const rules = fieldRulesOf(own, spec.distance);
  const known = [...COMMON_KEYS, ...rules.map(([k]) => k)];
  const taps = spec.taps ?? (() => []);
  const make = (options: Record<string, unknown>): T =>
    makeTerm(kind, rules, known, options, whereOf(name, options));
  const kind: TermKindDef<T> = {
    name,
    fields: Object.freeze(Object.fromEntries(rules)),
    defaultDistance: spec.distance,
    needsTarget: spec.needsTarget ?? true,
    compares: spec.compares ?? "representation",
    calibration: spec.calibration ?? "skip",
    network: spec.network ?? (() => undefined),
    taps,
    represent: spec.represent ?? ((term, side) => defaultRepresent(term, side, taps(term))),
    compare: spec.compare ?? defaultCompare,
    label: spec.label ?? ((term) => {
      const ts = taps(term);
      return ts.length === 0 ? name : `${name}:${ts.join("+")}`;
    }),
    is: (term: TermCommon): term is T => {
      try {
        return kindOf(term) === kind;
      } catch {
        return false;
      }
    },
    term: (options = {}) => make(options as Record<string, unknown>),
    loss: (options = {}) => lossOf<AnyLayer, T>([make(options as Record<string, unknown>)]),
  };
  return kind;
}

/** A kind's name, fields, calibration and compare checked against each other. */
function checkKindSpec<T extends TermCommon>(
  spec: TermKindSpec<T>,
  own: Readonly<Record<string, FieldRule<unknown>>>,
): void {
  const name = spec.name as string;
  if (typeof name !== "string" || !/^[A-Za-z][A-Za-z0-9_-]*$/.test(name)) {
    throw new InvalidTermOptionError(
      "defineTermKind",
      "name",
      name,
      "a name of letters, digits, '_' and '-', starting with a letter",
    );
  }
  const clash = Object.keys(own).find((k) =>
    ["kind", ...COMMON_KEYS, ...ELEMENTWISE_KEYS].includes(k)
  );
  if (clash !== undefined) {
    throw new InvalidTermOptionError(
      `defineTermKind(${name})`,
      "fields",
      clash,
      `fields other than kind, ${[...COMMON_KEYS, ...ELEMENTWISE_KEYS].join(", ")} (those are ` +
        "common to every kind or come with `distance`)",
    );
  }
  if (spec.calibration === "scale" && !("scale" in own)) {
    throw new InvalidTermOptionError(
      `defineTermKind(${name})`,
      "calibration",
      "scale",
      'a kind with a numeric "scale" field (calibrate sets it); use "skip" otherwise',
    );
  }
  if (spec.compare === undefined && spec.distance === undefined) {
    throw new InvalidTermOptionError(
      `defineTermKind(${name})`,
      "compare",
      undefined,
      "given, or `distance` given (an element-wise kind compares with it)",
    );
  }
}

/** Where a term's errors say they come from: `kind:layer` when it names a layer. */
function whereOf(name: string, options: Record<string, unknown>): string {
  return typeof options?.layer === "string" ? `${name}:${options.layer}` : name;
}

/** A frozen term of `kind` from `options`, every field checked against its rule. */
function makeTerm<T extends TermCommon>(
  kind: TermKindDef<T>,
  rules: readonly [string, FieldRule<unknown>][],
  known: readonly string[],
  options: Record<string, unknown>,
  where: string,
): T {
  if (typeof options !== "object" || options === null || Array.isArray(options)) {
    throw new InvalidTermOptionError(where, "options", options, "an object of options");
  }
  for (const k of Object.keys(options)) {
    if (!known.includes(k)) throw new UnknownTermOptionError(where, k, known);
  }
  const term: Record<string | symbol, unknown> = { kind: kind.name };
  for (const [field, rule] of rules) {
    const v = options[field] ?? rule.default;
    if (v === undefined) {
      throw new InvalidTermOptionError(where, field, v, `given (${fieldWant(rule.codec)})`);
    }
    if (!rule.codec.is(v)) {
      throw new InvalidTermOptionError(where, field, v, fieldWant(rule.codec));
    }
    term[field] = v;
  }
  term.weight = checkWeight(where, (options.weight ?? TERM_DEFAULTS.weight) as number);
  const termName = checkText(where, "name", options.name);
  if (termName !== undefined) term.name = termName;
  const network = checkText(where, "network", options.network);
  if (network !== undefined) term.network = network;
  Object.defineProperty(term, KIND_OF_TERM, { value: kind, enumerable: false });
  return Object.freeze(term) as unknown as T;
}
