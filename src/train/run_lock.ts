/**
 * One writer per run directory: an exclusive `run.lock` (pid, host, start time), taken
 * atomically (create-new) and removed when the run ends. A lock left by a process of this
 * machine that is no longer running (killed) is taken over, and said so; a live one, or one from
 * another machine, is refused with who holds it and how to clear it.
 *
 * @module
 */
import { RunDirError, RunFileError, RunLockedError, type RunLockHolder } from "./errors.ts";
import { listDir, pathKind } from "../_internal/fs.ts";

/** The lock file of a run directory. */
export const RUN_LOCK: string = "run.lock";
const LOCK_FORMAT = "perceptual-loss/run-lock";

/**
 * A held run-directory lock; `release()` (or `using`) removes it.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { acquireRunLock } from "@perceptual/loss/train";
 * const dir = `${await Deno.makeTempDir()}/run`;
 * using lock = await acquireRunLock(dir);
 * assert.equal(lock.holder.pid, Deno.pid);
 * assert.equal(lock.tookOver, undefined);
 * ```
 */
export interface RunLock {
  /** The run directory. */
  readonly runDir: string;
  /** The lock file. */
  readonly path: string;
  /** What the lock file says (this process). */
  readonly holder: RunLockHolder;
  /** The stale lock that was taken over (its process was no longer running), if any. */
  readonly tookOver: RunLockHolder | undefined;
  /** Whether it is still held. */
  readonly held: boolean;
  /** Remove the lock file (and the run directory, when the lock created it and it is empty). */
  release(): void;
  /** Same as `release`. */
  [Symbol.dispose](): void;
}

function hostName(): string {
  try {
    return Deno.hostname();
  } catch {
    return "unknown-host";
  }
}

/** Whether process `pid` of this machine runs; `undefined` when that cannot be told. */
function processAlive(pid: number): boolean | undefined {
  if (pid === Deno.pid) return true;
  try {
    Deno.statSync("/proc/self");
  } catch {
    return undefined; // no /proc (macOS, Windows): cannot tell
  }
  try {
    const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
    // A zombie has exited; only its parent has not collected it yet.
    return !/\) Z /.test(stat);
  } catch {
    return false;
  }
}

function parseHolder(text: string): RunLockHolder | undefined {
  try {
    const j = JSON.parse(text);
    if (
      j !== null && typeof j === "object" && j.format === LOCK_FORMAT &&
      Number.isInteger(j.pid) && typeof j.host === "string" && typeof j.startedAt === "string"
    ) return { pid: j.pid, host: j.host, startedAt: j.startedAt };
  } catch {
    // Not ours, or written half-way.
  }
  return undefined;
}

function describe(h: RunLockHolder): string {
  return `process ${h.pid} on ${h.host}, started ${h.startedAt}`;
}

async function writeNew(path: string, holder: RunLockHolder): Promise<boolean> {
  let file: Deno.FsFile;
  try {
    file = await Deno.open(path, { write: true, createNew: true });
  } catch (e) {
    if (e instanceof Deno.errors.AlreadyExists) return false;
    throw new RunFileError(path, "take the run's lock", e);
  }
  try {
    const body = { format: LOCK_FORMAT, ...holder };
    await file.write(new TextEncoder().encode(JSON.stringify(body) + "\n"));
    await file.sync();
  } finally {
    file.close();
  }
  return true;
}

/**
 * Move the stale lock at `path` out of the way, atomically: renamed to a private name, then
 * checked to be the very lock judged stale (another process may have taken it over meanwhile,
 * and its fresh lock is then put back). Returns whether the stale lock is gone.
 */
async function clearStale(path: string, staleText: string): Promise<boolean> {
  const aside = `${path}.stale-${crypto.randomUUID().slice(0, 8)}`;
  try {
    await Deno.rename(path, aside);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return true; // someone else cleared it
    throw new RunFileError(path, "clear the stale lock", e);
  }
  const moved = await Deno.readTextFile(aside).catch(() => "");
  if (moved !== staleText) {
    // Not the stale lock any more: a live one, taken between our read and our rename.
    await Deno.link(aside, path).catch(() => {});
    await Deno.remove(aside).catch(() => {});
    return false;
  }
  await Deno.remove(aside).catch(() => {});
  return true;
}

/**
 * Take the lock of run directory `runDir` (created when absent), or throw.
 *
 * @throws {RunLockedError} when another live process holds it (or one on another machine,
 *   which cannot be checked): the message names the holder and how to clear a lock that is
 *   known to be stale.
 * @throws {RunDirError} when `runDir` is a file, or a non-empty folder that is not a run (no
 *   lock is ever written there).
 * @throws {RunFileError} when the folder cannot be created or written.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { acquireRunLock } from "@perceptual/loss/train";
 * const dir = `${await Deno.makeTempDir()}/run`;
 * const lock = await acquireRunLock(dir);
 * try {
 *   await acquireRunLock(dir); // a second writer is refused
 * } catch (e) {
 *   assert.equal((e as Error).name, "RunLockedError");
 * }
 * lock.release();
 * ```
 */
export async function acquireRunLock(runDir: string): Promise<RunLock> {
  const created = await ensureRunDir(runDir);
  const path = `${runDir}/${RUN_LOCK}`;
  const holder: RunLockHolder = {
    pid: Deno.pid,
    host: hostName(),
    startedAt: new Date().toISOString(),
  };
  let tookOver: RunLockHolder | undefined;
  for (let attempt = 0; attempt < 5; attempt++) {
    if (await writeNew(path, holder)) return heldLock(runDir, path, holder, tookOver, created);
    const text = await Deno.readTextFile(path).catch(() => undefined);
    if (text === undefined) continue; // removed meanwhile: try again
    const stale = staleHolder(runDir, path, text, holder);
    // Killed without releasing it (kill -9, a crash): safe to take over.
    if (await clearStale(path, text)) tookOver = stale;
  }
  throw new RunLockedError(
    runDir,
    path,
    undefined,
    `${runDir}: could not take ${path} (other processes keep taking it); try again`,
  );
}

/**
 * Makes `runDir` when absent (true when this call made it), or checks that the directory there
 * is empty or a run of ours.
 */
async function ensureRunDir(runDir: string): Promise<boolean> {
  let kind: Awaited<ReturnType<typeof pathKind>>;
  try {
    kind = await pathKind(runDir);
  } catch (e) {
    throw new RunFileError(runDir, "use the run directory", e);
  }
  if (kind !== undefined && kind !== "dir") {
    throw new RunDirError(`${runDir} exists and is not a directory; choose another path`);
  }
  if (kind === undefined) {
    try {
      await Deno.mkdir(runDir, { recursive: true });
      return true;
    } catch (e) {
      if (!(e instanceof Deno.errors.AlreadyExists)) {
        throw new RunFileError(runDir, "create the run directory", e);
      }
      return false;
    }
  }
  const names = (await listDir(runDir)).filter((n) => n !== RUN_LOCK);
  if (names.length > 0 && !names.includes("run.json")) {
    throw new RunDirError(
      `${runDir} is not empty and is not a training run (no run.json of ours; it holds ` +
        `${names.slice(0, 5).join(", ")}${names.length > 5 ? ", …" : ""}); nothing was ` +
        "changed. Choose a new or empty directory",
    );
  }
  return false;
}

/** The lock just written at `path`; releasing it removes `runDir` too when it made it and left it empty. */
function heldLock(
  runDir: string,
  path: string,
  holder: RunLockHolder,
  tookOver: RunLockHolder | undefined,
  created: boolean,
): RunLock {
  let held = true;
  const release = () => {
    if (!held) return;
    held = false;
    try {
      Deno.removeSync(path);
    } catch {
      // Already gone: nothing to release.
    }
    if (created) {
      try {
        Deno.removeSync(runDir); // only succeeds when empty
      } catch {
        // The run wrote files: the folder stays.
      }
    }
  };
  return {
    runDir,
    path,
    holder,
    tookOver,
    get held() {
      return held;
    },
    release,
    [Symbol.dispose]: release,
  };
}

/**
 * The holder recorded in lock file text `text` when its process is gone (on this host);
 * otherwise throws RunLockedError saying who holds the run and what to do.
 */
function staleHolder(
  runDir: string,
  path: string,
  text: string,
  holder: RunLockHolder,
): RunLockHolder {
  const other = parseHolder(text);
  if (other === undefined) {
    throw new RunLockedError(
      runDir,
      path,
      undefined,
      `${runDir} is locked by another run (${path} is unreadable: being written, or not ` +
        `ours); if no run is using ${runDir}, delete ${path} and try again`,
    );
  }
  const alive = other.host === holder.host ? processAlive(other.pid) : undefined;
  if (alive === false) return other;
  throw new RunLockedError(
    runDir,
    path,
    other,
    `${runDir} is in use by another run (${describe(other)}): one writer per run directory. ` +
      (alive === true
        ? `Wait for it to finish, or stop it (kill ${other.pid}; it checkpoints and exits)`
        : `It cannot be checked from here; if that run is no longer running, delete ${path}`) +
      ", or choose another directory",
  );
}
