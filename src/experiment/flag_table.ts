/**
 * The examples' flag table: a flag is its codec (command-line text to a value), its default as
 * typed, its placeholder and its help, declared once; the codecs the examples share.
 *
 * @module
 */
import * as t from "io-ts";
import { isLeft } from "fp-ts/lib/Either.js";

/** One command-line flag: how its text becomes a value, its default (as typed) and its help. */
export interface Flag<A> {
  /** `boolean` flags take no value. */
  readonly type: "string" | "boolean";
  /** From the command-line text (or `true`/`false`) to the typed value. */
  readonly codec: t.Decoder<unknown, A>;
  /** The default, as it would be typed on the command line. */
  readonly default: string;
  /** The value's placeholder in the help, e.g. `DIR`. */
  readonly arg: string;
  /** What the flag does. */
  readonly help: string;
}

/** A table of flags; the parsed values get their types from it. */
export type Flags = Readonly<Record<string, Flag<unknown>>>;

/** The values a flag table parses to. */
export type FlagValues<F extends Flags> = {
  [K in keyof F]: F[K] extends Flag<infer A> ? A : never;
};

/**
 * A flag that takes a value, decoded by `codec`.
 *
 * @example
 * ```ts
 * import { flag, numberFrom, parseFlags } from "@perceptual/loss/experiment";
 * import assert from "node:assert/strict";
 *
 * const even = numberFrom("an even number", (n) => n % 2 === 0);
 * const o = parseFlags(["--size", "8"], { size: flag(even, "4", "N", "an even size") });
 * assert.ok(o !== "help" && o.size === 8);
 * assert.throws(() => parseFlags(["--size", "3"], { size: flag(even, "4", "N", "size") }), /is not an even number/);
 * ```
 */
export function flag<A>(
  codec: t.Decoder<unknown, A>,
  dflt: string,
  arg: string,
  help: string,
): Flag<A> {
  return { type: "string", codec, default: dflt, arg, help };
}

/**
 * A flag that takes a value and keeps it as text.
 *
 * @example
 * ```ts
 * import { parseFlags, text } from "@perceptual/loss/experiment";
 * import assert from "node:assert/strict";
 *
 * const o = parseFlags([], { data: text("photos", "DIR", "training photos") });
 * assert.ok(o !== "help" && o.data === "photos");
 * ```
 */
export function text(dflt: string, arg: string, help: string): Flag<string> {
  return flag(t.string, dflt, arg, help);
}

/**
 * A switch: absent is false.
 *
 * @example
 * ```ts
 * import { parseFlags, toggle } from "@perceptual/loss/experiment";
 * import assert from "node:assert/strict";
 *
 * const o = parseFlags(["--quiet"], { quiet: toggle("no progress"), dry: toggle("dry run") });
 * assert.ok(o !== "help" && o.quiet && !o.dry);
 * ```
 */
export function toggle(help: string): Flag<boolean> {
  return { type: "boolean", codec: t.boolean, default: "", arg: "", help };
}

/** A decimal number as people write it: sign, digits, point, exponent (`-0.5`, `.5`, `2E1`). */
const DECIMAL = /^[+-]?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?$/i;

/**
 * A codec from command-line text to a number that passes `ok`; `name` reads after "is not".
 * Only decimal text is read: `Number()` would also take `0x10` (16), `0o20`, `0b10000`,
 * `Infinity` and surrounding blanks, which nobody means on a command line.
 *
 * @example
 * ```ts
 * import { numberFrom } from "@perceptual/loss/experiment";
 * import { isRight } from "fp-ts/lib/Either.js";
 * import assert from "node:assert/strict";
 *
 * const half = numberFrom("a number in [0, 0.5]", (n) => n >= 0 && n <= 0.5);
 * assert.ok(isRight(half.decode("0.25")));
 * assert.ok(!isRight(half.decode("0x10")), "only decimal text");
 * ```
 */
export function numberFrom(name: string, ok: (n: number) => boolean): t.Type<number, unknown> {
  return new t.Type<number, unknown, unknown>(
    name,
    (u): u is number => typeof u === "number" && ok(u),
    (u, c) => {
      if (typeof u !== "string" || !DECIMAL.test(u)) {
        const other = typeof u === "string" && u.trim() !== "" ? Number(u) : NaN;
        return Number.isFinite(other)
          ? t.failure(
            u,
            c,
            `is not ${name} written in decimal (hex, octal and binary are refused); write ` +
              `${other} if that is what you meant`,
          )
          : t.failure(u, c);
      }
      const n = Number(u);
      return ok(n) ? t.success(n) : t.failure(u, c);
    },
    String,
  );
}

/**
 * `codec`, or NaN when the flag is left empty (the default then depends on other flags).
 *
 * @example
 * ```ts
 * import { orNaN, PositiveNumber } from "@perceptual/loss/experiment";
 * import assert from "node:assert/strict";
 *
 * const r = orNaN(PositiveNumber).decode("");
 * assert.ok(r._tag === "Right" && Number.isNaN(r.right));
 * ```
 */
export function orNaN(codec: t.Decoder<unknown, number>): t.Decoder<unknown, number> {
  return {
    name: codec.name,
    validate: (u, c) => u === "" ? t.success(NaN) : codec.validate(u, c),
    decode: (u) => u === "" ? t.success(NaN) : codec.decode(u),
  };
}

/**
 * A positive integer up to `max` (a bound that says what is sensible, not what fits in memory);
 * a larger one fails with a message that gives the bound.
 *
 * @example
 * ```ts
 * import { positiveIntUpTo } from "@perceptual/loss/experiment";
 * import assert from "node:assert/strict";
 *
 * assert.equal(positiveIntUpTo(10).decode("11")._tag, "Left");
 * assert.equal(positiveIntUpTo(10).decode("10")._tag, "Right");
 * ```
 */
export function positiveIntUpTo(max: number): t.Type<number, unknown> {
  const base = numberFrom("a positive integer", (n) => Number.isInteger(n) && n > 0);
  return new t.Type<number, unknown, unknown>(
    base.name,
    (u): u is number => base.is(u) && u <= max,
    (u, c) => {
      const r = base.validate(u, c);
      if (isLeft(r) || r.right <= max) return r;
      return t.failure(u, c, `is more than ${max.toLocaleString("en")}, the most it takes`);
    },
    String,
  );
}
/**
 * A positive integer (exactly representable).
 *
 * @example
 * ```ts
 * import { PositiveInt } from "@perceptual/loss/experiment";
 * import assert from "node:assert/strict";
 *
 * assert.equal(PositiveInt.decode("0")._tag, "Left");
 * ```
 */
export const PositiveInt: t.Type<number, unknown> = numberFrom(
  "a positive integer",
  (n) => Number.isSafeInteger(n) && n > 0,
);
/**
 * An integer >= 0 (exactly representable).
 *
 * @example
 * ```ts
 * import { NonNegativeInt } from "@perceptual/loss/experiment";
 * import assert from "node:assert/strict";
 *
 * assert.equal(NonNegativeInt.decode("0")._tag, "Right");
 * ```
 */
export const NonNegativeInt: t.Type<number, unknown> = numberFrom(
  "an integer >= 0",
  (n) => Number.isSafeInteger(n) && n >= 0,
);
/**
 * A finite number > 0.
 *
 * @example
 * ```ts
 * import { PositiveNumber } from "@perceptual/loss/experiment";
 * import assert from "node:assert/strict";
 *
 * assert.equal(PositiveNumber.decode("3e-3")._tag, "Right");
 * ```
 */
export const PositiveNumber: t.Type<number, unknown> = numberFrom(
  "a number > 0",
  (n) => Number.isFinite(n) && n > 0,
);
/**
 * A finite number >= 0.
 *
 * @example
 * ```ts
 * import { NonNegativeNumber } from "@perceptual/loss/experiment";
 * import assert from "node:assert/strict";
 *
 * assert.equal(NonNegativeNumber.decode("-1")._tag, "Left");
 * ```
 */
export const NonNegativeNumber: t.Type<number, unknown> = numberFrom(
  "a number >= 0",
  (n) => Number.isFinite(n) && n >= 0,
);
/**
 * A comma-separated list (empty: the example's default).
 *
 * @example
 * ```ts
 * import { List } from "@perceptual/loss/experiment";
 * import assert from "node:assert/strict";
 *
 * assert.deepEqual(List.decode("a,b"), { _tag: "Right", right: ["a", "b"] });
 * ```
 */
export const List: t.Type<string[], unknown> = new t.Type<string[], unknown, unknown>(
  "a comma-separated list",
  (u): u is string[] => Array.isArray(u),
  (u, c) =>
    typeof u === "string"
      ? t.success(u.split(",").map((s) => s.trim()).filter((s) => s !== ""))
      : t.failure(u, c),
  (a) => a.join(","),
);

/**
 * A positive integer (a count, a size) up to `max`, with the placeholder `N`.
 *
 * @example
 * ```ts
 * import { count, parseFlags } from "@perceptual/loss/experiment";
 * import assert from "node:assert/strict";
 *
 * const o = parseFlags(["--batch", "8"], { batch: count("4", "crops per step", 64) });
 * assert.ok(o !== "help" && o.batch === 8);
 * ```
 */
export function count(dflt: string, help: string, max = 100_000): Flag<number> {
  return flag(positiveIntUpTo(max), dflt, "N", help);
}

/**
 * A comma-separated list, empty by default (the example then chooses).
 *
 * @example
 * ```ts
 * import { list, parseFlags } from "@perceptual/loss/experiment";
 * import assert from "node:assert/strict";
 *
 * const o = parseFlags(["--eval", "a,b"], { eval: list("DIR[,DIR]", "folders to score") });
 * assert.ok(o !== "help");
 * assert.deepEqual(o.eval, ["a", "b"]);
 * ```
 */
export function list(arg: string, help: string): Flag<string[]> {
  return flag(List, "", arg, help);
}

/**
 * A number >= 0 (a weight, a ratio) with the placeholder `X`.
 *
 * @example
 * ```ts
 * import { parseFlags, weight } from "@perceptual/loss/experiment";
 * import assert from "node:assert/strict";
 *
 * const o = parseFlags([], { tv: weight("0.5", "total variation weight") });
 * assert.ok(o !== "help" && o.tv === 0.5);
 * ```
 */
export function weight(dflt: string, help: string): Flag<number> {
  return flag(NonNegativeNumber, dflt, "X", help);
}
