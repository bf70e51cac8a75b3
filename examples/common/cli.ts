/**
 * Command-line plumbing shared by the examples: flag tables, `--help` text, io-ts validation of
 * flag values, one-line errors and the `main` wrapper that turns errors into exit statuses.
 *
 * @module
 */
import { parseArgs } from "node:util";
import * as t from "io-ts";
import { isLeft } from "fp-ts/lib/Either.js";
import { nearestName } from "../../src/text/did_you_mean.ts";
import type { VggArchitecture } from "../../src/vgg/mod.ts";

/** A bad flag or path: printed as one line, exit status 2. */
export class UsageError extends Error {
  /** @param message what is wrong and how to fix it. */
  constructor(message: string) {
    super(message);
    this.name = "UsageError";
  }
}

/** One command-line flag: its kind, default (as typed) and help. */
export interface FlagSpec {
  /** `string` flags take a value; `boolean` ones do not. */
  readonly type: "string" | "boolean";
  /** The default, as it would be typed on the command line. */
  readonly default?: string;
  /** The value's placeholder in the help, e.g. `DIR`. */
  readonly arg?: string;
  /** What the flag does. */
  readonly help: string;
}

/** The `--help` text for `flags` (shared by the examples). */
export function helpText(usage: string, what: string, flags: Record<string, FlagSpec>): string {
  const rows = Object.entries(flags).map(([name, f]) => {
    const left = `  --${name}${f.arg ? ` ${f.arg}` : ""}`;
    const dflt = f.default ? ` [${f.default}]` : "";
    return `${left.padEnd(26)} ${f.help}${dflt}`;
  });
  return `${what}\n\nUsage: ${usage}\n\nFlags:\n${rows.join("\n")}\n`;
}

// ---- validation with io-ts: strings from the command line → typed options -------------------

/** An io-ts codec from a command-line string to a number that passes `ok`; `name` reads after "is not". */
export function numberFrom(
  name: string,
  ok: (n: number) => boolean,
): t.Type<number, string, unknown> {
  return new t.Type<number, string, unknown>(
    name,
    (u): u is number => typeof u === "number" && ok(u),
    (u, c) => {
      const n = typeof u === "string" && u.trim() !== "" ? Number(u) : NaN;
      return ok(n) ? t.success(n) : t.failure(u, c);
    },
    String,
  );
}

/** An io-ts codec for one of `values`. */
export function oneOf<A extends string>(values: readonly A[]): t.Type<A, string, unknown> {
  return new t.Type<A, string, unknown>(
    `one of ${values.join(" | ")}`,
    (u): u is A => (values as readonly unknown[]).includes(u),
    (u, c) => (values as readonly unknown[]).includes(u) ? t.success(u as A) : t.failure(u, c),
    String,
  );
}

/** A flag value that must be a positive integer. */
export const PositiveInt: t.Type<number, string, unknown> = numberFrom(
  "a positive integer",
  (n) => Number.isInteger(n) && n > 0,
);
/** A flag value that must be an integer >= 0. */
export const NonNegativeInt: t.Type<number, string, unknown> = numberFrom(
  "an integer >= 0",
  (n) => Number.isInteger(n) && n >= 0,
);
/** A flag value that must be a finite number > 0. */
export const PositiveNumber: t.Type<number, string, unknown> = numberFrom(
  "a number > 0",
  (n) => Number.isFinite(n) && n > 0,
);
/** A flag value that must be a finite number >= 0. */
export const NonNegativeNumber: t.Type<number, string, unknown> = numberFrom(
  "a number >= 0",
  (n) => Number.isFinite(n) && n >= 0,
);
/** A U-Net depth. */
export const Depth: t.Type<number, string, unknown> = numberFrom(
  "an integer from 0 to 6",
  (n) => Number.isInteger(n) && n >= 0 && n <= 6,
);
/** The backends a flag may name (`auto`: initBackend's own order). */
export const BackendFlag: t.Type<
  "auto" | "tensorflow" | "webgpu" | "native" | "wasm" | "cpu",
  string,
  unknown
> = oneOf(["auto", "tensorflow", "webgpu", "native", "wasm", "cpu"] as const);
/** `vgg16 | vgg19`. */
export const NetFlag: t.Type<VggArchitecture, string, unknown> = oneOf(["vgg16", "vgg19"] as const);
/** A comma-separated list of layer names (empty: the example's default). */
export const LayerList: t.Type<string[], string, unknown> = new t.Type<string[], string, unknown>(
  "a comma-separated list of layer names",
  (u): u is string[] => Array.isArray(u),
  (u, c) =>
    typeof u === "string"
      ? t.success(u.split(",").map((s) => s.trim()).filter((s) => s !== ""))
      : t.failure(u, c),
  (a) => a.join(","),
);

/**
 * Parse `args` with `node:util` parseArgs (strict: unknown flags and stray arguments are errors),
 * fill in defaults, and validate with `codec`. Returns `"help"` when `--help` is given.
 *
 * @throws {UsageError} one line naming every bad flag and what it needs.
 */
export function parseFlags<C extends t.Mixed>(
  args: readonly string[],
  flags: Record<string, FlagSpec>,
  codec: C,
): t.TypeOf<C> | "help" {
  let values: Record<string, string | boolean | undefined>;
  try {
    values = parseArgs({
      args: [...args],
      options: Object.fromEntries(
        Object.entries(flags).map(([name, f]) => [name, { type: f.type }]),
      ),
      strict: true,
      allowPositionals: false,
    }).values as Record<string, string | boolean | undefined>;
  } catch (e) {
    const message = e instanceof Error ? e.message : String(e);
    const unknown = /^Unknown option '--?([^']+)'/.exec(message);
    if (unknown !== null) {
      const guess = nearestName(unknown[1]!, Object.keys(flags), 2);
      throw new UsageError(
        `unknown flag --${unknown[1]}${guess ? ` (did you mean --${guess}?)` : ""}; see --help`,
      );
    }
    throw new UsageError(`${message}; see --help`);
  }
  if (values.help === true) return "help";
  const withDefaults: Record<string, unknown> = {};
  for (const [name, f] of Object.entries(flags)) {
    withDefaults[name] = values[name] ?? (f.type === "boolean" ? false : f.default ?? "");
  }
  const decoded = codec.decode(withDefaults);
  if (isLeft(decoded)) {
    const problems = decoded.left.map((err) => {
      const key = err.context[1]?.key ?? "?";
      const type = err.context[err.context.length - 1]!.type.name;
      return `--${key}: '${String(err.value)}' is not ${type}`;
    });
    throw new UsageError(`${[...new Set(problems)].join("; ")}; see --help`);
  }
  return decoded.right;
}

/** One line for any error: the message's lines joined, never a stack trace. */
export function oneLine(e: unknown): string {
  const text = e instanceof Error ? e.message : String(e);
  return text.split("\n").map((l) => l.trim()).filter((l) => l !== "").join("; ");
}

/**
 * The shape of every example's `main`: parse, print help, run; errors become one line on stderr
 * and an exit status (1 failed, 2 bad usage), never a stack trace.
 */
export async function runMain<O>(
  program: string,
  help: string,
  parse: () => O | "help",
  run: (options: O) => Promise<void>,
): Promise<number> {
  let options: O | "help";
  try {
    options = parse();
  } catch (e) {
    console.error(`${program}: ${oneLine(e)}`);
    return 2;
  }
  if (options === "help") {
    console.log(help);
    return 0;
  }
  try {
    await run(options);
    return 0;
  } catch (e) {
    console.error(`${program}: ${oneLine(e)}`);
    return e instanceof UsageError ? 2 : 1;
  }
}

/** `20250101-120000`, for default run directory names. */
export function timestamp(): string {
  return new Date().toISOString().replace(/[-:]/g, "").replace("T", "-").slice(0, 15);
}
