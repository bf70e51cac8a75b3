/**
 * The io-ts helpers every decoder shares: codecs for literal sets and refined values, paths of
 * validation errors, value descriptions, unknown-key checks with suggestions. One convention:
 * decoders return `Either<DecodeError, A>`; `…OrThrow` variants throw the `DecodeError`.
 *
 * @module
 */
import * as E from "fp-ts/lib/Either.js";
import * as t from "io-ts";
import type { DecodeError, DecodeIssue } from "../errors/decode_error.ts";
import { nearestName } from "./did_you_mean.ts";

/**
 * A codec of one of `values`, named so messages read "… is not one of a | b | c".
 *
 * @example
 * ```ts
 * import { oneOf } from "./decode.ts";
 * console.log(oneOf(["a", "b"]).is("b")); // true
 * ```
 */
export function oneOf<A extends string | number>(values: readonly A[]): OneOfType<A> {
  return new OneOfType(values);
}

/** The codec {@linkcode oneOf} makes; it knows its values, for messages that list them. */
export class OneOfType<A extends string | number> extends t.Type<A, A, unknown> {
  /** The allowed values. */
  readonly values: readonly A[];
  /** A codec of one of `values`. */
  constructor(values: readonly A[]) {
    const is = (u: unknown): u is A => (values as readonly unknown[]).includes(u);
    super(
      `one of ${values.join(" | ")}`,
      is,
      (u, c) => is(u) ? t.success(u) : t.failure(u, c),
      t.identity,
    );
    this.values = values;
  }
}

/**
 * A codec of the values that pass `test`; `name` reads after "is not", e.g. "a positive integer".
 *
 * @example
 * ```ts
 * import { refined } from "./decode.ts";
 * const Even = refined<number>("an even number", (u) => typeof u === "number" && u % 2 === 0);
 * console.log(Even.is(4), Even.is(3)); // true false
 * ```
 */
export function refined<A>(name: string, test: (u: unknown) => boolean): t.Type<A, A, unknown> {
  const is = (u: unknown): u is A => test(u);
  return new t.Type<A, A, unknown>(
    name,
    is,
    (u, c) => is(u) ? t.success(u) : t.failure(u, c),
    t.identity,
  );
}

/**
 * The path of an io-ts error context (`terms[2].layer`), skipping intersection members;
 * `(root)` for the value itself.
 *
 * @example
 * ```ts
 * import * as t from "io-ts";
 * import { isLeft } from "fp-ts/lib/Either.js";
 * import { pathOf } from "./decode.ts";
 * const r = t.type({ xs: t.array(t.number) }).decode({ xs: [1, "2"] });
 * if (isLeft(r)) console.log(pathOf(r.left[0]!.context)); // xs[1]
 * ```
 */
export function pathOf(context: t.Context): string {
  let path = "";
  for (let i = 1; i < context.length; i++) {
    const parent = context[i - 1]!.type;
    const key = context[i]!.key;
    if (parent instanceof t.IntersectionType) continue;
    path += parent instanceof t.ArrayType || /^\d+$/.test(key)
      ? `[${key}]`
      : path === ""
      ? key
      : `.${key}`;
  }
  return path === "" ? "(root)" : path;
}

/**
 * A short readable rendering of a value for messages (`"abc"`, `2.5`, `NaN`, `undefined`).
 *
 * @example
 * ```ts
 * import { show } from "./decode.ts";
 * console.log(show("x"), show(NaN)); // "x" NaN
 * ```
 */
export function show(u: unknown): string {
  if (u === undefined) return "undefined";
  if (typeof u === "number" && !Number.isFinite(u)) return String(u);
  try {
    const s = JSON.stringify(u);
    return s.length > 60 ? `${s.slice(0, 57)}...` : s;
  } catch {
    return String(u);
  }
}

/**
 * Whether `v` is a plain object (not null, not an array).
 *
 * @example
 * ```ts
 * import { isObject } from "./decode.ts";
 * console.log(isObject({}), isObject([])); // true false
 * ```
 */
export function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/**
 * An issue for each key of `obj` not in `allowed`, with the nearest allowed key as a suggestion.
 *
 * @example
 * ```ts
 * import { unknownKeys } from "./decode.ts";
 * console.log(unknownKeys({ wieght: 1 }, ["weight"], "terms[0]")[0]);
 * // { path: "terms[0].wieght", message: 'unknown field; did you mean "weight"?' }
 * ```
 */
export function unknownKeys(
  obj: Record<string, unknown>,
  allowed: readonly string[],
  at: string,
): DecodeIssue[] {
  return Object.keys(obj).filter((k) => !allowed.includes(k)).map((k) => {
    const s = nearestName(k, allowed);
    return {
      path: at === "" ? k : `${at}.${k}`,
      message: "unknown field" +
        (s === undefined
          ? `; remove it (fields: ${allowed.join(", ")})`
          : `; did you mean "${s}"?`),
    };
  });
}

/**
 * The value of JSON text, or of anything else as it is; a `Left` issue when the text is not JSON.
 *
 * @example
 * ```ts
 * import { parseIfText } from "./decode.ts";
 * console.log(parseIfText('{"a":1}')); // { _tag: "Right", right: { a: 1 } }
 * ```
 */
export function parseIfText(json: unknown): E.Either<DecodeIssue, unknown> {
  if (typeof json !== "string") return E.right(json);
  try {
    return E.right(JSON.parse(json));
  } catch (e) {
    return E.left({ path: "(root)", message: `is not JSON: ${(e as Error).message}` });
  }
}

/**
 * The `Right` of `result`, or throw its `DecodeError`: the body of every `…OrThrow` decoder.
 *
 * @example
 * ```ts
 * import * as E from "fp-ts/lib/Either.js";
 * import { orThrow } from "./decode.ts";
 * console.log(orThrow(E.right(3))); // 3
 * ```
 */
export function orThrow<A>(result: E.Either<DecodeError, A>): A {
  if (E.isLeft(result)) throw result.left;
  return result.right;
}
