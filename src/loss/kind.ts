/**
 * Term kinds as public values: what a kind of term reads, how it represents one side (prediction
 * or target), how it compares the two, how calibration treats it, and its JSON fields. The four
 * built-in kinds (`feature`, `style`, `pixel`, `tv`, in `kinds/`) are written with
 * {@linkcode defineTermKind} like any kind a researcher adds; `evaluate`, `precomputeTarget`,
 * `calibrate` and the JSON spec read nothing but these values.
 *
 * @module
 */
import type * as tf from "@tensorflow/tfjs-core";
import * as t from "io-ts";
import { PerceptualError } from "../errors/perceptual_error.ts";
import { InvalidTermOptionError } from "./errors.ts";
import { nearestName } from "../_internal/did_you_mean.ts";
import { show } from "../_internal/show.ts";
import { OneOfType } from "../_internal/decode.ts";
import type { NumberRule, TermCommon } from "./term.ts";
import type { LossNetwork } from "../network/loss_network.ts";

/**
 * What a kind computes from one side of an evaluation and compares: one tensor, or several by
 * name (LPIPS: one normalised feature map per tap).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as tf from "@tensorflow/tfjs-core";
 * import { initBackend } from "@perceptual/loss/backend";
 * import type { Representation } from "@perceptual/loss/loss";
 * await initBackend("cpu");
 * const moments: Representation = { mean: tf.zeros([1, 1, 1, 8]), std: tf.ones([1, 1, 1, 8]) };
 * assert.deepEqual(Object.keys(moments), ["mean", "std"]);
 * tf.dispose(moments);
 * ```
 */
export type Representation = tf.Tensor | Readonly<Record<string, tf.Tensor>>;

/**
 * One side (prediction or target) of an evaluation, as a kind sees it. Activations come from ONE
 * pass of the term's network over that side, shared by every term; tensors a kind makes from
 * them are disposed by the evaluation (return them, never dispose them yourself).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as tf from "@tensorflow/tfjs-core";
 * import { initBackend } from "@perceptual/loss/backend";
 * import type { SideView } from "@perceptual/loss/loss";
 * // what a mean-of-channels kind does with a side
 * const channelMeans = (side: SideView) => tf.mean(side.tap("relu2_2"), [1, 2]);
 * await initBackend("cpu");
 * const image = tf.ones([1, 4, 4, 3]) as tf.Tensor4D;
 * const side: SideView = {
 *   image, role: "prediction", network: undefined,
 *   tap: () => tf.fill([1, 2, 2, 8], 0.5) as tf.Tensor4D,
 *   memo: (_key, make) => make(),
 * };
 * assert.deepEqual(Array.from(channelMeans(side).dataSync()), new Array(8).fill(0.5));
 * ```
 */
export interface SideView {
  /** The side's NHWC image, in the caller's range. */
  readonly image: tf.Tensor4D;
  /** Which side this is. */
  readonly role: "prediction" | "target";
  /**
   * The network the term reads (undefined for a kind without taps): a kind may use its
   * parameters (LPIPS reads its learned channel weights from it).
   */
  readonly network: LossNetwork<string> | undefined;
  /** The activation at `layer` of the term's network (one of the kind's `taps`). */
  tap(layer: string): tf.Tensor4D;
  /** A tensor made once per side and evaluation under `key` (shared by every term). */
  memo<T extends Representation>(key: string, make: () => T): T;
}

/**
 * How `calibrate` treats a kind: `scale` kinds have one tap and a numeric `scale` field that
 * divides its activations (calibration sets it to the tap's mean |activation|); `skip` kinds are
 * left as they are (pixel terms, LPIPS, anything already normalised).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import type { CalibrationRule } from "@perceptual/loss/loss";
 * const lpips: CalibrationRule = "skip"; // unit-normalised features: nothing to rescale
 * assert.equal(lpips, "skip");
 * ```
 */
export type CalibrationRule = "scale" | "skip";

/**
 * The rule of one field a kind owns: its io-ts codec (used for JSON and for option objects; the
 * codec's `name` reads after "it must be") and its default (absent: the field is required).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as t from "io-ts";
 * import type { FieldRule } from "@perceptual/loss/loss";
 * const eps: FieldRule<number> = { codec: t.number, default: 1e-5 };
 * assert.ok(eps.codec.is(0.1));
 * assert.equal(eps.default, 1e-5);
 * ```
 */
export interface FieldRule<A> {
  /** Checks a value (from JSON or from an options object); any io-ts codec is one. */
  readonly codec: FieldCodec<A>;
  /** The value when absent; without one the field is required. */
  readonly default?: A;
}

/**
 * What a field's codec must do: name what it accepts (read after "it must be") and test values.
 * Every io-ts codec is one.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as t from "io-ts";
 * import type { FieldCodec } from "@perceptual/loss/loss";
 * const flag: FieldCodec<boolean> = t.boolean;
 * assert.equal(flag.name, "boolean");
 * assert.ok(flag.is(true));
 * ```
 */
export interface FieldCodec<A> {
  /** What it accepts, for messages. */
  readonly name: string;
  /** Whether `u` is acceptable. */
  is(u: unknown): u is A;
}

/**
 * A codec for numbers that pass a {@linkcode NumberRule}; messages say "… is not allowed; it
 * must be <want>".
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { NumberField } from "@perceptual/loss/loss";
 * const positive = new NumberField({ ok: (v) => v > 0, want: "a number > 0" });
 * assert.ok(positive.is(2));
 * assert.equal(positive.is(-1), false);
 * assert.equal(positive.is("2"), false);
 * ```
 */
export class NumberField extends t.Type<number, number, unknown> {
  /** What is allowed, read after "it must be". */
  readonly want: string;
  /** A codec accepting the numbers `rule.ok` accepts. */
  constructor(rule: NumberRule) {
    const is = (u: unknown): u is number => typeof u === "number" && rule.ok(u);
    super(rule.want, is, (u, c) => is(u) ? t.success(u) : t.failure(u, c), t.identity);
    this.want = rule.want;
  }
}

/**
 * A codec for a layer name of the term's loss network: a non-empty string. The JSON decoder
 * also checks the name against the network's layers (with a did-you-mean).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { LayerField } from "@perceptual/loss/loss";
 * const layer = new LayerField();
 * assert.ok(layer.is("relu2_2"));
 * assert.equal(layer.is(""), false);
 * ```
 */
export class LayerField extends t.Type<string, string, unknown> {
  /** A codec of non-empty strings. */
  constructor() {
    const is = (u: unknown): u is string => typeof u === "string" && u !== "";
    super(
      "a non-empty layer name",
      is,
      (u, c) => is(u) ? t.success(u) : t.failure(u, c),
      t.identity,
    );
  }
}

/**
 * A codec for a free text field: a string that is not empty or blank. Terms' `name` and
 * `network` use it, in `kind.term()` and in JSON specs alike; a kind may use it for its own
 * text fields.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { NonEmptyText } from "@perceptual/loss/loss";
 * const text = new NonEmptyText();
 * assert.ok(text.is("content"));
 * assert.equal(text.is("  "), false);
 * assert.equal(text.is(3), false);
 * ```
 */
export class NonEmptyText extends t.Type<string, string, unknown> {
  /** A codec of strings with a character other than white space. */
  constructor() {
    const is = (u: unknown): u is string => typeof u === "string" && u.trim() !== "";
    super("a non-empty string", is, (u, c) => is(u) ? t.success(u) : t.failure(u, c), t.identity);
  }
}

/**
 * Everything the library knows about one kind of term. Make one with `defineTermKind`; the
 * functions receive the kind's own terms (type `T`).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { type Kind, pixelKind } from "@perceptual/loss/loss";
 * const k: Kind = pixelKind;
 * assert.equal(k.name, "pixel");
 * assert.ok(k.needsTarget);
 * assert.equal(k.calibration, "skip");
 * ```
 */
// deno-lint-ignore no-explicit-any -- the default is any kind's terms; a kind's functions see its own
export interface Kind<T extends TermCommon = any> {
  /** The `kind` of its terms and of their JSON. */
  readonly name: string;
  /**
   * The fields its terms have besides the common ones (`weight`, `name`, `network`): its own, then
   * the element-wise `distance`, `reduction`, `delta`, `epsilon` when it takes them.
   */
  readonly fields: Readonly<Record<string, FieldRule<unknown>>>;
  /**
   * The default element-wise distance when the kind takes `distance`, `reduction`, `delta` and
   * `epsilon`; undefined when it does not (a joint comparison).
   */
  readonly defaultDistance: string | undefined;
  /** Whether its terms compare with a target (total variation does not). */
  readonly needsTarget: boolean;
  /** What it compares, for messages ("activations", "Gram matrix", "image"). */
  readonly compares: string;
  /** How `calibrate` treats it. */
  readonly calibration: CalibrationRule;
  /** The layers of its network a term reads (none: it reads the image only). */
  taps(term: T): readonly string[];
  /** The key of the network a term reads when its `network` is absent (undefined: the main one). */
  network(term: T): string | undefined;
  /** One side's representation; memoised per side, precomputable for a fixed target. */
  represent(term: T, side: SideView): Representation;
  /** The unweighted value from the two representations (`target` absent when none is needed). */
  compare(term: T, pred: Representation, target: Representation | undefined): tf.Scalar;
  /** The default name of a term in results (`feature:block2_conv2`). */
  label(term: T): string;
  /** Whether `term` is one of this kind's terms. */
  is(term: TermCommon): term is T;
}

/** Where terms carry the kind that made them (a symbol: JSON and equality ignore it). */
export const KIND_OF_TERM: unique symbol = Symbol("perceptual-loss term kind");

/**
 * A kind name already taken by another kind, or a term whose kind is unknown.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { TermKindError } from "@perceptual/loss/loss";
 * assert.equal(new TermKindError("no kind named 'x'").name, "TermKindError");
 * ```
 */
export class TermKindError extends PerceptualError {
  /** Build the error from a message that says what was wrong and the fix. */
  constructor(message: string) {
    super(message);
  }
}

const REGISTRY = new Map<string, Kind>();

/**
 * Make `kind` known by name, so JSON specs can use it (`decodeLossSpec`) and hand-written term
 * objects without the kind attached resolve to it. Returns the kind. Registering the same value
 * twice is harmless; another kind under a taken name is a {@linkcode TermKindError}.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { registeredKinds } from "@perceptual/loss/loss";
 * assert.deepEqual(registeredKinds().slice(0, 4), ["feature", "style", "pixel", "tv"]);
 * ```
 */
export function registerTermKind<K extends Kind>(kind: K): K {
  const taken = REGISTRY.get(kind.name);
  if (taken !== undefined && taken !== kind) {
    throw new TermKindError(
      `a different term kind named "${kind.name}" is already registered; give yours another ` +
        "name (kind names are the `kind` field of JSON specs, so they must be unique)",
    );
  }
  REGISTRY.set(kind.name, kind);
  return kind;
}

/**
 * The names of the registered kinds, in registration order (the built-ins first).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { registeredKinds } from "@perceptual/loss/loss";
 * assert.ok(registeredKinds().includes("style"));
 * ```
 */
export function registeredKinds(): string[] {
  return [...REGISTRY.keys()];
}

/**
 * The registered kind named `name`, if any.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { kindNamed } from "@perceptual/loss/loss";
 * assert.equal(kindNamed("feature")?.compares, "activations");
 * ```
 */
export function kindNamed(name: string): Kind | undefined {
  return REGISTRY.get(name);
}

/**
 * The kind of `term`: the one that made it, else the registered kind of its name. Throws
 * {@linkcode TermKindError} naming the fix when there is none.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { feature, kindOf } from "@perceptual/loss/loss";
 * assert.equal(kindOf(feature("relu2_2").terms[0]!).name, "feature");
 * ```
 */
export function kindOf(term: TermCommon): Kind {
  const attached = (term as unknown as Record<symbol, Kind | undefined>)[KIND_OF_TERM];
  if (attached !== undefined) return attached;
  const kind = typeof term?.kind === "string" ? REGISTRY.get(term.kind) : undefined;
  if (kind !== undefined) return kind;
  const s = typeof term?.kind === "string" ? nearestName(term.kind, registeredKinds()) : undefined;
  throw new TermKindError(
    `the term ${show(term?.kind)} has no kind definition: make terms with a kind's constructor ` +
      "(myKind.loss({ … }) or myKind.term({ … })), or register the kind with " +
      `registerTermKind(myKind); registered kinds: ${registeredKinds().join(", ")}` +
      (s === undefined ? "" : ` (did you mean "${s}"?)`),
  );
}

/** The codec of a field, described for messages about values of the wrong type. */
export function fieldWant(codec: FieldCodec<unknown>): string {
  if (codec instanceof OneOfType) {
    return `one of ${(codec.values as readonly unknown[]).map((v) => `"${v}"`).join(", ")}`;
  }
  return codec.name;
}

/**
 * `term` with some of its kind's fields changed (each checked by the field's codec), its kind
 * kept attached.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { feature, termWith } from "@perceptual/loss/loss";
 * const t = termWith(feature("relu2_2").terms[0]!, { scale: 20 });
 * assert.equal(t.kind, "feature");
 * assert.equal(t.scale, 20);
 * assert.equal(t.layer, "relu2_2");
 * ```
 */
export function termWith<T extends TermCommon>(
  term: T,
  changes: Readonly<Record<string, unknown>>,
): T {
  const kind = kindOf(term);
  for (const [field, v] of Object.entries(changes)) {
    const rule = kind.fields[field];
    if (field === "weight" || field === "name" || field === "network") continue;
    if (rule === undefined) {
      throw new TermKindError(`a ${kind.name} term has no field "${field}"`);
    }
    if (!rule.codec.is(v)) {
      throw new InvalidTermOptionError(kind.name, field, v, fieldWant(rule.codec));
    }
  }
  const copy = Object.defineProperty({ ...term, ...changes }, KIND_OF_TERM, {
    value: kind,
    enumerable: false,
  });
  return Object.freeze(copy) as T;
}
