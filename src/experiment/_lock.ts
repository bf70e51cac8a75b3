/**
 * Internal: the run directory's lock, or a command-line error saying why not.
 *
 * @module
 */
import {
  acquireRunLock,
  RunDirError,
  RunFileError,
  type RunLock,
  RunLockedError,
} from "../train/mod.ts";
import { UsageError } from "./errors.ts";

/**
 * Take the run directory's lock before anything else is done, or say in command-line words why
 * not: a previous run without `--resume`, a run that is still going, a folder that is not a run.
 */
export async function lockRunDir(runDir: string, resume: boolean): Promise<RunLock> {
  if (!resume && await Deno.stat(`${runDir}/run.json`).then(() => true, () => false)) {
    throw new UsageError(
      `--out ${runDir} holds a previous run (nothing was changed): add --resume to continue it ` +
        `(--resume --out ${runDir} alone takes its options from its config.json), or choose ` +
        "another --out for a new run",
    );
  }
  const flags = resume ? `--resume --out ${runDir}` : `--out ${runDir}`;
  let lock: RunLock;
  try {
    lock = await acquireRunLock(runDir);
  } catch (e) {
    if (e instanceof RunLockedError && e.holder !== undefined) {
      const h = e.holder;
      throw new UsageError(
        `${flags}: the run is in use by process ${h.pid} on ${h.host} (started ${h.startedAt}); ` +
          "one process writes a run at a time. Wait for it to finish, or stop it with " +
          `\`kill ${h.pid}\` (it finishes its step, checkpoints and exits), then run ` +
          `--resume --out ${runDir}; or choose another --out. If no such run is going on, ` +
          `delete ${e.lockFile}`,
      );
    }
    if (e instanceof RunLockedError) throw new UsageError(`${flags}: ${e.message}`);
    if (e instanceof RunDirError) throw new UsageError(`--out ${runDir}: ${e.message}`);
    if (e instanceof RunFileError) throw new UsageError(`--out ${runDir}: ${e.message}`);
    throw e;
  }
  if (lock.tookOver !== undefined) {
    console.log(
      `note: ${lock.path} was left by process ${lock.tookOver.pid} (started ` +
        `${lock.tookOver.startedAt}), which is no longer running (killed?): taken over`,
    );
  }
  return lock;
}
