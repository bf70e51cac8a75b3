/**
 * A run's options as stored in its `config.json`: path flags stored absolute, and `--resume
 * --out DIR` reading them back (with the flags that may change on resume).
 *
 * @module
 */
import { resolve } from "node:path";
import { isLeft } from "fp-ts/lib/Either.js";
import type { Flags, FlagValues } from "./flag_table.ts";
import { UsageError } from "./errors.ts";

/**
 * Flags whose values are paths: stored absolute in `config.json` (see {@linkcode absolutePaths}),
 * so `--resume --out DIR` works from any working directory; messages keep the paths as typed.
 */
export const PATH_FLAGS: ReadonlySet<string> = new Set([
  "data",
  "out",
  "eval",
  "loss",
  "vgg",
  "style",
  "content",
]);

/** Values of path flags that are not paths. */
const NOT_A_PATH = new Set(["", "auto", "random"]);

function absolute(v: unknown): unknown {
  if (typeof v === "string") return NOT_A_PATH.has(v) ? v : resolve(v);
  if (Array.isArray(v)) return v.map(absolute);
  return v;
}

/**
 * `o` with every path flag ({@linkcode PATH_FLAGS}) resolved against the working directory.
 *
 * @example
 * ```ts
 * import { absolutePaths } from "@perceptual/loss/experiment";
 * import assert from "node:assert/strict";
 *
 * const o = absolutePaths({ data: "photos", vgg: "auto", steps: 3 });
 * assert.equal(o.data, `${Deno.cwd()}/photos`);
 * assert.equal(o.vgg, "auto");
 * ```
 */
export function absolutePaths<O>(o: O): O {
  const out: Record<string, unknown> = { ...(o as Record<string, unknown>) };
  for (const name of PATH_FLAGS) if (name in out) out[name] = absolute(out[name]);
  return out as O;
}

/**
 * Flags a resumed run may be given with another value than it had: the run length (which
 * extends or shortens the run), and what does not change the training (display, backend,
 * folders scored after training).
 */
export const MAY_CHANGE_ON_RESUME: ReadonlySet<string> = new Set([
  "steps",
  "quiet",
  "backend",
  "eval",
  "out",
  "resume",
  "help",
]);

/**
 * The `config.json` of the run in `out`, for `--resume`: a {@linkcode UsageError} naming the
 * folder when it is absent, holds no run, or lacks its config.
 *
 * @example
 * ```ts
 * import { readRunConfig } from "@perceptual/loss/experiment";
 * import assert from "node:assert/strict";
 *
 * await assert.rejects(readRunConfig("/no/such/run"), /there is no such folder/);
 * ```
 */
export async function readRunConfig(out: string): Promise<Record<string, unknown>> {
  if (out === "") throw new UsageError("--resume needs --out DIR: the run directory to continue");
  const stat = await Deno.stat(out).catch(() => undefined);
  if (stat === undefined || !stat.isDirectory) {
    throw new UsageError(
      `--resume --out ${out}: ${stat === undefined ? "there is no such folder" : "not a folder"}` +
        "; check the path (a new run needs no --resume)",
    );
  }
  const marker = await Deno.stat(`${out}/run.json`).catch(() => undefined);
  if (marker === undefined) {
    throw new UsageError(
      `--resume --out ${out}: the folder holds no training run (no run.json); check the path ` +
        "(a new run needs no --resume)",
    );
  }
  let config: unknown;
  try {
    config = JSON.parse(await Deno.readTextFile(`${out}/config.json`));
  } catch (e) {
    throw new UsageError(
      `--resume --out ${out}: cannot read ${out}/config.json, which holds the run's options ` +
        `(${e instanceof Error ? e.message : String(e)}); start a new run instead`,
    );
  }
  if (config === null || typeof config !== "object" || Array.isArray(config)) {
    throw new UsageError(`--resume --out ${out}: ${out}/config.json is not a JSON object`);
  }
  return config as Record<string, unknown>;
}

/** A stored option as it would be typed (NaN was stored as null). */
function asTyped(v: unknown): unknown {
  if (typeof v === "boolean") return v;
  if (v === null) return "";
  if (Array.isArray(v)) return v.join(",");
  return String(v);
}

/**
 * The options of the run in `o.out` (its `config.json`), with the flags `given` on the command
 * line: those must agree with the run unless they are in {@linkcode MAY_CHANGE_ON_RESUME};
 * changes that are allowed are printed.
 *
 * @throws {UsageError} naming every flag that disagrees, or a run directory that cannot be read.
 *
 * @example
 * ```ts
 * import { count, readRunConfig, resumeOptions, text, toggle } from "@perceptual/loss/experiment";
 * import assert from "node:assert/strict";
 *
 * const out = await Deno.makeTempDir();
 * await Deno.writeTextFile(`${out}/run.json`, "{}");
 * await Deno.writeTextFile(`${out}/config.json`, JSON.stringify({ options: { batch: 8 } }));
 * assert.ok((await readRunConfig(out)).options);
 * const flags = { batch: count("4", "crops"), out: text("", "DIR", "run"), resume: toggle("go on") };
 * const o = await resumeOptions(flags, { batch: 4, out, resume: true }, new Set(["out", "resume"]));
 * assert.equal(o.batch, 8, "the run's value, not the default");
 * ```
 */
export async function resumeOptions<F extends Flags>(
  flags: F,
  o: FlagValues<F>,
  given: ReadonlySet<string>,
): Promise<FlagValues<F>> {
  const out = String((o as Record<string, unknown>).out ?? "");
  let config: Record<string, unknown>;
  try {
    config = await readRunConfig(out);
  } catch (e) {
    // No run to read: the example says so when it opens its session (`openSession` reads the
    // same file), after its own checks of flag combinations.
    if (e instanceof UsageError) return o;
    throw e;
  }
  const stored = config.options;
  if (stored === null || typeof stored !== "object" || Array.isArray(stored)) {
    throw new UsageError(`--resume --out ${out}: ${out}/config.json has no "options" object`);
  }
  const restored: Record<string, unknown> = { ...o };
  const conflicts: string[] = [];
  const changes: string[] = [];
  for (const [name, f] of Object.entries(flags)) {
    if (name === "resume" || name === "out" || !(name in stored)) continue;
    const was = (stored as Record<string, unknown>)[name];
    const decoded = f.codec.decode(asTyped(was));
    if (isLeft(decoded)) {
      throw new UsageError(
        `--resume --out ${out}: ${out}/config.json has options.${name} = ${JSON.stringify(was)}, ` +
          `which is not ${f.codec.name}`,
      );
    }
    const now = (o as Record<string, unknown>)[name];
    // Paths are compared resolved: `--data photos` from the run's folder is the stored
    // absolute path (and a path stored relative by an older run is read from here).
    const same = JSON.stringify(now) === JSON.stringify(decoded.right) ||
      (PATH_FLAGS.has(name) &&
        JSON.stringify(absolute(now)) === JSON.stringify(absolute(decoded.right)));
    if (!given.has(name) || same) {
      restored[name] = decoded.right;
    } else if (MAY_CHANGE_ON_RESUME.has(name)) {
      changes.push(`--${name} ${asTyped(now)} (the run had ${asTyped(decoded.right)})`);
    } else {
      conflicts.push(`--${name} ${asTyped(now)} (the run has ${asTyped(decoded.right)})`);
    }
  }
  if (conflicts.length > 0) {
    throw new UsageError(
      `--resume --out ${out}: ${conflicts.join(", ")} differ from the run's options in ` +
        `${out}/config.json; drop them to continue the run as it was, or start a new run in ` +
        "another --out",
    );
  }
  console.log(
    `resuming ${out} with its options from ${out}/config.json` +
      (changes.length > 0 ? `; changed: ${changes.join(", ")}` : ""),
  );
  return restored as FlagValues<F>;
}
