/**
 * The command-line layer of an experiment (the examples' and any training script's): each flag declared once (codec, default, help)
 * in a table that `node:util` parseArgs, `--help` and validation all read; one-line errors and
 * the `main` wrapper that turns errors into exit statuses.
 *
 * @module
 */
import { parseArgs } from "node:util";
import { isLeft } from "fp-ts/lib/Either.js";
import { nearestName } from "../_internal/did_you_mean.ts";
import { type Flags, type FlagValues, toggle } from "./flag_table.ts";
import { InterruptedError, UsageError } from "./errors.ts";
import { resumeOptions } from "./run_options.ts";

/**
 * The `--help` text for `flags`.
 *
 * @example
 * ```ts
 * import { helpText, text } from "@perceptual/loss/experiment";
 * import assert from "node:assert/strict";
 *
 * const help = helpText("deno run -A x.ts [flags]", "Does x.", { data: text("d", "DIR", "photos") });
 * assert.match(help, /--data DIR +photos \[d\]/);
 * ```
 */
export function helpText(usage: string, what: string, flags: Flags): string {
  const rows = Object.entries(flags).map(([name, f]) => {
    const left = `  --${name}${f.arg ? ` ${f.arg}` : ""}`;
    const dflt = f.default ? ` [${f.default}]` : "";
    return `${left.padEnd(26)} ${f.help}${dflt}`;
  });
  return `${what}\n\nUsage: ${usage}\n\nFlags:\n${rows.join("\n")}\n`;
}

/**
 * Parse `args` with `node:util` parseArgs (strict: unknown flags and stray arguments are errors),
 * fill in defaults, and decode every flag with its codec. Returns `"help"` for `--help`.
 *
 * @throws {UsageError} one line naming every bad flag and what it needs.
 *
 * @example
 * ```ts
 * import { parseFlags, text } from "@perceptual/loss/experiment";
 * import assert from "node:assert/strict";
 *
 * assert.throws(() => parseFlags(["--dta", "x"], { data: text("", "DIR", "photos") }), /did you mean --data/);
 * ```
 */
export function parseFlags<F extends Flags>(
  args: readonly string[],
  flags: F,
): FlagValues<F> | "help" {
  const parsed = parseGiven(args, flags);
  return parsed === "help" ? parsed : parsed.options;
}

/**
 * `--steps -1` as `--steps=-1`: parseArgs takes a value that starts with "-" for a flag and
 * refuses it as "ambiguous", where the codec would say what is wrong with the value.
 */
function joinValues(args: readonly string[], flags: Flags): string[] {
  const out: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    const name = /^--([^=]+)$/.exec(a)?.[1];
    const next = args[i + 1];
    if (name !== undefined && flags[name]?.type === "string" && next?.startsWith("-")) {
      out.push(`${a}=${next}`);
      i++;
    } else out.push(a);
  }
  return out;
}

/** {@linkcode parseFlags}, and the names of the flags `args` set. */
function parseGiven<F extends Flags>(
  args: readonly string[],
  flags: F,
): { options: FlagValues<F>; given: Set<string> } | "help" {
  let values: Record<string, string | boolean | undefined>;
  const given = new Set<string>();
  try {
    const parsed = parseArgs({
      args: joinValues(args, flags),
      options: Object.fromEntries(
        Object.entries(flags).map(([name, f]) => [name, { type: f.type }]),
      ),
      strict: true,
      allowPositionals: false,
      tokens: true,
    });
    values = parsed.values as Record<string, string | boolean | undefined>;
    for (const token of parsed.tokens) if (token.kind === "option") given.add(token.name);
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
  const out: Record<string, unknown> = {};
  const problems: string[] = [];
  for (const [name, f] of Object.entries(flags)) {
    const raw = values[name] ?? (f.type === "boolean" ? false : f.default);
    const decoded = f.codec.decode(raw);
    if (isLeft(decoded)) {
      const why = decoded.left.find((err) => err.message !== undefined)?.message;
      problems.push(`--${name}: '${String(raw)}' ${why ?? `is not ${f.codec.name}`}`);
    } else out[name] = decoded.right;
  }
  if (problems.length > 0) throw new UsageError(`${problems.join("; ")}; see --help`);
  return { options: out as FlagValues<F>, given };
}

/**
 * The text of an error for a one-line message. A `SuppressedError` (an error thrown while
 * `using` disposed something after another error) says only "An error was suppressed during
 * disposal": its two errors are printed instead, the original first.
 */
function errorText(e: unknown): string {
  if (typeof SuppressedError === "function" && e instanceof SuppressedError) {
    const original = errorText(e.suppressed);
    const later = errorText(e.error);
    return original === later ? original : `${original} (then, while cleaning up: ${later})`;
  }
  return e instanceof Error ? e.message : String(e);
}

/**
 * One line for any error: the message's lines joined, never a stack trace.
 *
 * @example
 * ```ts
 * import { oneLine } from "@perceptual/loss/experiment";
 * import assert from "node:assert/strict";
 *
 * assert.equal(oneLine(new Error("first\n  second")), "first; second");
 * ```
 */
export function oneLine(e: unknown): string {
  const text = errorText(e);
  return text.split("\n").map((l) => l.trim()).filter((l) => l !== "").join("; ");
}

/**
 * The shape of every example's `main`: parse, print help, run; errors become one line on stderr
 * and an exit status (1 failed, 2 bad usage), never a stack trace.
 *
 * @example
 * ```ts
 * import { runMain, UsageError } from "@perceptual/loss/experiment";
 * import assert from "node:assert/strict";
 *
 * const bad = async () => {
 *   throw new UsageError("--x: bad");
 * };
 * assert.equal(await runMain("x", "help", () => ({}), bad), 2);
 * assert.equal(await runMain("x", "help", () => "help", bad), 0);
 * ```
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
    // Under a SuppressedError, the error that stopped the run is the suppressed one.
    const cause = typeof SuppressedError === "function" && e instanceof SuppressedError
      ? e.suppressed
      : e;
    if (cause instanceof InterruptedError) return cause.exitCode;
    return cause instanceof UsageError ? 2 : 1;
  }
}

/** An example's command line: its `--help` text, its parser and its `main`. */
export interface Command<O> {
  /** The text `--help` prints. */
  readonly help: string;
  /** Parse and validate `args`; `"help"` for `--help`. Throws {@linkcode UsageError}. */
  readonly parse: (args: readonly string[]) => O | "help";
  /** Parse, run, and return the exit status (0 done, 1 failed, 2 bad usage). */
  readonly main: (args: string[]) => Promise<number>;
}

/**
 * The script that runs `program`: `program` itself when it is a path to a `.ts` file (a user's
 * script, e.g. `train_jpeg.ts`), else the example `examples/<program>.ts`.
 *
 * @example
 * ```ts
 * import { programName, scriptOf } from "@perceptual/loss/experiment";
 * import assert from "node:assert/strict";
 *
 * assert.equal(scriptOf("superres"), "examples/superres.ts");
 * assert.equal(scriptOf("tools/train_jpeg.ts"), "tools/train_jpeg.ts");
 * assert.equal(programName("tools/train_jpeg.ts"), "train_jpeg");
 * ```
 */
export function scriptOf(program: string): string {
  return program.endsWith(".ts") ? program : `examples/${program}.ts`;
}

/**
 * `program`'s name: the script's file name without its folder and `.ts` (see {@linkcode scriptOf}).
 *
 * @example
 * ```ts
 * import { programName } from "@perceptual/loss/experiment";
 * import assert from "node:assert/strict";
 *
 * assert.equal(programName("superres"), "superres");
 * ```
 */
export function programName(program: string): string {
  return program.replace(/^.*\//, "").replace(/\.ts$/, "");
}

/**
 * The command line of a training script: `program` (an example's name, or the path of a script
 * as it is run, see {@linkcode scriptOf}), `what` it does, its `flags` (plus `--help`), and
 * `run`. With `--resume`, the options stored in the run directory's `config.json` fill in every
 * flag not given (see {@linkcode resumeOptions}).
 *
 * @example
 * ```ts
 * import { command, text, toggle } from "@perceptual/loss/experiment";
 * import assert from "node:assert/strict";
 *
 * const seen: string[] = [];
 * const cli = command("greet.ts", "Says hello.", {
 *   name: text("world", "NAME", "who to greet"),
 *   resume: toggle("continue"),
 * }, async (o) => {
 *   seen.push(o.name);
 * });
 * assert.equal(await cli.main(["--name", "you"]), 0);
 * assert.deepEqual(seen, ["you"]);
 * assert.equal(await cli.main(["--nmae", "x"]), 2); // one line on stderr: did you mean --name?
 * assert.match(cli.help, /--name NAME/);
 * ```
 */
export function command<F extends Flags>(
  program: string,
  what: string,
  flags: F,
  run: (options: FlagValues<F>) => Promise<void>,
): Command<FlagValues<F>> {
  // Every command takes --help, listed last.
  const all = { ...flags, help: toggle("print this help") };
  const help = helpText(`deno run -A ${scriptOf(program)} [flags]`, what, all);
  const parse = (args: readonly string[]) => parseFlags(args, all) as FlagValues<F> | "help";
  let given = new Set<string>();
  const parseNoting = (args: readonly string[]) => {
    const p = parseGiven(args, all);
    if (p === "help") return p;
    given = p.given;
    return p.options as FlagValues<F>;
  };
  // `--resume`: the run directory's options, not the defaults, fill in what is not given.
  const resumed = async (o: FlagValues<F>) =>
    run((o as { resume?: unknown }).resume === true ? await resumeOptions(all, o, given) : o);
  return {
    help,
    parse,
    main: (args) => runMain(programName(program), help, () => parseNoting(args), resumed),
  };
}

/**
 * `20250101-120000`, for default run directory names.
 *
 * @example
 * ```ts
 * import { timestamp } from "@perceptual/loss/experiment";
 * import assert from "node:assert/strict";
 *
 * assert.match(timestamp(), /^\d{8}-\d{6}$/);
 * ```
 */
export function timestamp(): string {
  return new Date().toISOString().replace(/[-:]/g, "").replace("T", "-").slice(0, 15);
}
