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
import { cut, show } from "./show.ts";

export { cut, quoted, show } from "./show.ts";

/**
 * A codec of one of `values`, named so messages read "… is not one of a | b | c".
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { oneOf } from "./decode.ts";
 * assert.ok(oneOf(["a", "b"]).is("b"));
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
 * import assert from "node:assert/strict";
 * import { refined } from "./decode.ts";
 * const Even = refined<number>("an even number", (u) => typeof u === "number" && u % 2 === 0);
 * assert.ok(Even.is(4));
 * assert.equal(Even.is(3), false);
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
 * import assert from "node:assert/strict";
 * import * as t from "io-ts";
 * import { isLeft } from "fp-ts/lib/Either.js";
 * import { pathOf } from "./decode.ts";
 * const r = t.type({ xs: t.array(t.number) }).decode({ xs: [1, "2"] });
 * assert.ok(isLeft(r));
 * if (isLeft(r)) assert.equal(pathOf(r.left[0]!.context), "xs[1]");
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
 * Whether `v` is a plain object (not null, not an array).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { isObject } from "./decode.ts";
 * assert.ok(isObject({}));
 * assert.equal(isObject([]), false);
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
 * import assert from "node:assert/strict";
 * import { unknownKeys } from "./decode.ts";
 * assert.deepEqual(unknownKeys({ wieght: 1 }, ["weight"], "terms[0]")[0], {
 *   path: "terms[0].wieght",
 *   message: 'unknown field; did you mean "weight"?',
 * });
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
 * import assert from "node:assert/strict";
 * import { parseIfText } from "./decode.ts";
 * assert.deepEqual(parseIfText('{"a":1}'), { _tag: "Right", right: { a: 1 } });
 * ```
 */
export function parseIfText(json: unknown): E.Either<DecodeIssue, unknown> {
  if (typeof json !== "string") return E.right(json);
  try {
    return E.right(JSON.parse(json));
  } catch (e) {
    return E.left({ path: "(root)", message: `is not JSON: ${cut((e as Error).message, 120)}` });
  }
}

/** How much a decoder reads before it refuses the input (a guard against hostile input). */
export interface JsonLimits {
  /** Characters of JSON text, or the estimated JSON size of a value. */
  readonly chars: number;
  /** Nesting depth of objects and arrays (the root object is depth 1). */
  readonly depth: number;
  /** Characters in one string or key. */
  readonly stringChars: number;
  /** Elements of one array. */
  readonly arrayLength: number;
}

/**
 * The value of `json` (JSON text, or a value) as a fresh copy made only of plain JSON data,
 * or every reason it cannot be one: text or a value larger, deeper or longer than `limits`,
 * a cycle, a function, a class instance, a getter that throws. Later decoding works on the
 * copy, so it cannot be surprised by getters, proxies or shared mutation; it reads each
 * value once, so its cost is linear in the input and bounded by `limits`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { boundedJson } from "./decode.ts";
 * const limits = { chars: 100, depth: 4, stringChars: 20, arrayLength: 10 };
 * const a: Record<string, unknown> = {};
 * a.self = a;
 * const r = boundedJson(a, limits);
 * assert.equal(r._tag, "Left");
 * if (r._tag === "Left") assert.equal(r.left[0]!.path, "self"); // a cycle, reported where it closes
 * ```
 */
export function boundedJson(
  json: unknown,
  limits: JsonLimits,
): E.Either<DecodeIssue[], unknown> {
  if (typeof json === "string") {
    if (json.length > limits.chars) {
      return E.left([{
        path: "(root)",
        message: `is ${json.length} characters of text; at most ${limits.chars} are read ` +
          "(nothing was parsed)",
      }]);
    }
    const parsed = parseIfText(json);
    if (E.isLeft(parsed)) return E.left([parsed.left]);
    json = parsed.right;
  }
  const c: Copier = { limits, issues: [], size: 0, over: false, onPath: new Map() };
  const value = copy(c, json, "", 0);
  if (c.issues.length >= 50) {
    c.issues.push({ path: "(root)", message: "reading stopped after 50 problems" });
  }
  return c.issues.length > 0 ? E.left(c.issues) : E.right(value);
}

/** {@linkcode boundedJson}'s walk: the limits, the problems so far, the size read, the objects on the path. */
interface Copier {
  readonly limits: JsonLimits;
  readonly issues: DecodeIssue[];
  size: number;
  /** The size limit was passed: nothing more is read. */
  over: boolean;
  /** The objects from the root to the current value, with their paths (for cycles). */
  readonly onPath: Map<object, string>;
}

function at(path: string, key: string | number): string {
  return typeof key === "number"
    ? `${path}[${key}]`
    : path === ""
    ? cut(key, 40)
    : `${path}.${cut(key, 40)}`;
}

/** A copy of `v` at `path`, or undefined with the reason in `c.issues`. */
function copy(c: Copier, v: unknown, path: string, depth: number): unknown {
  const where = path === "" ? "(root)" : path;
  if (c.over || c.issues.length >= 50) return undefined;
  if (!counted(c, v, where)) return undefined;
  if (typeof v !== "object" || v === null) return v;
  const array = plainKind(c, v, where);
  if (array === undefined || !enterable(c, v, where, depth)) return undefined;
  c.onPath.set(v, where);
  try {
    return array ? copyArray(c, v as unknown[], path, depth) : copyObject(c, v, path, depth);
  } catch (e) {
    c.issues.push({
      path: where,
      message: `cannot be read (${cut(e instanceof Error ? e.message : String(e), 80)}); ` +
        "pass plain JSON data",
    });
    return undefined;
  } finally {
    c.onPath.delete(v);
  }
}

/** Adds `v`'s own size to the total; false (with the reason) for a value that is refused. */
function counted(c: Copier, v: unknown, where: string): boolean {
  const { limits } = c;
  if (v === null || typeof v === "boolean" || typeof v === "undefined") {
    c.size += 5;
  } else if (typeof v === "number") {
    c.size += 8;
  } else if (typeof v === "string") {
    c.size += v.length + 2;
    if (v.length > limits.stringChars) {
      c.issues.push({
        path: where,
        message: `is a string of ${v.length} characters; at most ${limits.stringChars} are ` +
          "allowed here",
      });
      return false;
    }
  } else if (typeof v !== "object") {
    c.issues.push({ path: where, message: `is ${show(v)}; only JSON data is allowed` });
    return false;
  }
  if (c.size > limits.chars) {
    c.over = true;
    c.issues.push({
      path: where,
      message: `the input is larger than ${limits.chars} characters of JSON; reading stopped ` +
        "here",
    });
    return false;
  }
  return true;
}

/** Whether `v` is an array (true) or a plain object (false); undefined (with the reason) otherwise. */
function plainKind(c: Copier, v: object, where: string): boolean | undefined {
  try {
    const array = Array.isArray(v);
    const proto = Object.getPrototypeOf(v);
    if (!array && proto !== Object.prototype && proto !== null) {
      c.issues.push({ path: where, message: `is ${show(v)}; only plain JSON data is allowed` });
      return undefined;
    }
    return array;
  } catch (e) {
    c.issues.push({ path: where, message: `cannot be read (${cut(String(e), 80)})` });
    return undefined;
  }
}

/** False (with the reason) when `v` closes a cycle or lies deeper than the limit. */
function enterable(c: Copier, v: object, where: string, depth: number): boolean {
  const cycle = c.onPath.get(v);
  if (cycle !== undefined) {
    c.issues.push({
      path: where,
      message: `refers back to ${cycle === "(root)" ? "the root" : cycle} (a cycle); JSON data ` +
        "cannot contain cycles",
    });
    return false;
  }
  if (depth >= c.limits.depth) {
    c.issues.push({
      path: where,
      message: `nests deeper than ${c.limits.depth} levels; nothing below was read`,
    });
    return false;
  }
  return true;
}

function copyArray(c: Copier, xs: unknown[], path: string, depth: number): unknown[] | undefined {
  if (xs.length > c.limits.arrayLength) {
    c.issues.push({
      path: path === "" ? "(root)" : path,
      message: `is an array of ${xs.length}; at most ${c.limits.arrayLength} elements are ` +
        "allowed (nothing in it was read)",
    });
    return undefined;
  }
  const out: unknown[] = [];
  for (let i = 0; i < xs.length; i++) out.push(copy(c, xs[i], at(path, i), depth + 1));
  c.size += 2 + xs.length;
  return out;
}

function copyObject(c: Copier, v: object, path: string, depth: number): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const k of Object.keys(v)) {
    c.size += k.length + 4;
    if (k.length > c.limits.stringChars) {
      c.issues.push({
        path: at(path, k),
        message: `is a key of ${k.length} characters; at most ${c.limits.stringChars} are allowed`,
      });
      continue;
    }
    out[k] = copy(c, (v as Record<string, unknown>)[k], at(path, k), depth + 1);
  }
  return out;
}

/**
 * The `Right` of `result`, or throw its `DecodeError`: the body of every `…OrThrow` decoder.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as E from "fp-ts/lib/Either.js";
 * import { orThrow } from "./decode.ts";
 * assert.equal(orThrow(E.right(3)), 3);
 * ```
 */
export function orThrow<A>(result: E.Either<DecodeError, A>): A {
  if (E.isLeft(result)) throw result.left;
  return result.right;
}
