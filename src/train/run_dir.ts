/**
 * Run directories: claimed with a `run.json` marker, never reused for something they are not.
 *
 * @module
 */
import { RunDirError } from "./errors.ts";
import { listDir, pathKind, writeFileSynced } from "./fs_util.ts";

/** The marker file that says a directory is a training run made by this library. */
export const RUN_MARKER: string = "run.json";
const RUN_FORMAT = "perceptual-loss/run";

/** How a run directory was found. */
export interface RunDirStatus {
  /** The directory was absent or empty and is now a fresh run. */
  readonly fresh: boolean;
  /** The directory already held a run made by this library. */
  readonly previousRun: boolean;
}

/**
 * Make `runDir` ready for a run, or refuse without touching anything:
 * - absent or empty: created and marked with `run.json`;
 * - a previous run (has our `run.json`): allowed only with `resume` (otherwise its metrics and
 *   checkpoints would be overwritten);
 * - anything else that is not empty: refused, whatever `resume` says.
 *
 * @example
 * ```ts
 * import { prepareRunDir } from "./run_dir.ts";
 * const dir = `${await Deno.makeTempDir()}/run1`;
 * console.log(await prepareRunDir(dir, { resume: false, info: { seed: 0 } }));
 * // { fresh: true, previousRun: false }
 * ```
 */
export async function prepareRunDir(
  runDir: string,
  options: { readonly resume: boolean; readonly info: Readonly<Record<string, unknown>> },
): Promise<RunDirStatus> {
  const kind = await pathKind(runDir);
  if (kind !== undefined && kind !== "dir") {
    throw new RunDirError(`runDir ${runDir} exists and is not a directory; choose another path`);
  }
  const names = await listDir(runDir);
  if (names.length > 0) {
    let marker: unknown;
    if (names.includes(RUN_MARKER)) {
      try {
        marker = JSON.parse(await Deno.readTextFile(`${runDir}/${RUN_MARKER}`));
      } catch {
        marker = undefined;
      }
    }
    const ours = marker !== null && typeof marker === "object" &&
      (marker as Record<string, unknown>).format === RUN_FORMAT;
    if (!ours) {
      throw new RunDirError(
        `runDir ${runDir} is not empty and is not a training run (no ${RUN_MARKER} of ours; it ` +
          `holds ${names.slice(0, 5).join(", ")}${names.length > 5 ? ", …" : ""}); nothing was ` +
          "changed. Choose a new or empty directory",
      );
    }
    if (!options.resume) {
      throw new RunDirError(
        `runDir ${runDir} holds a previous run; pass resume: true to continue it, or choose a ` +
          "new directory (nothing was changed)",
      );
    }
    return { fresh: false, previousRun: true };
  }
  await Deno.mkdir(runDir, { recursive: true });
  const marker = {
    format: RUN_FORMAT,
    version: 1,
    createdAt: new Date().toISOString(),
    ...options.info,
  };
  await writeFileSynced(
    `${runDir}/${RUN_MARKER}`,
    new TextEncoder().encode(JSON.stringify(marker, null, 1) + "\n"),
  );
  return { fresh: true, previousRun: false };
}
