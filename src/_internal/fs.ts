/**
 * Durable file writes, written once: write + fsync, atomic replace, directory fsync, and the
 * small questions (what is at a path, what is in a folder) the writers ask.
 *
 * @module
 */
import { PerceptualError } from "../errors/perceptual_error.ts";

/**
 * Write `bytes` to `path` (created or truncated) and fsync it before returning, so a later rename
 * never exposes a file whose data is still in the page cache only.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { writeFileSynced } from "./fs.ts";
 * const dir = await Deno.makeTempDir();
 * await writeFileSynced(`${dir}/a.bin`, new Uint8Array([1, 2, 3]));
 * assert.equal((await Deno.readFile(`${dir}/a.bin`)).length, 3);
 * ```
 */
export async function writeFileSynced(path: string, bytes: Uint8Array): Promise<void> {
  const file = await Deno.open(path, { write: true, create: true, truncate: true });
  try {
    let offset = 0;
    while (offset < bytes.length) offset += await file.write(bytes.subarray(offset));
    await file.sync();
  } finally {
    file.close();
  }
}

/**
 * A temporary path beside `path` (same directory, so a rename onto `path` is atomic).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { tempPathBeside } from "./fs.ts";
 * assert.ok(tempPathBeside("/data/a.json").startsWith("/data/a.json."));
 * ```
 */
export function tempPathBeside(path: string): string {
  return `${path}.${crypto.randomUUID().slice(0, 8)}.tmp`;
}

/**
 * Replace `path` atomically with `contents`: written to a temporary file beside it, fsynced, then
 * renamed over it. On any failure the temporary file is removed and `path` is left as it was, so
 * readers never see half a file.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { writeFileAtomic } from "./fs.ts";
 * const dir = await Deno.makeTempDir();
 * await writeFileAtomic(`${dir}/a.txt`, "hello\n");
 * assert.equal(await Deno.readTextFile(`${dir}/a.txt`), "hello\n");
 * ```
 */
export async function writeFileAtomic(path: string, contents: Uint8Array | string): Promise<void> {
  const bytes = typeof contents === "string" ? new TextEncoder().encode(contents) : contents;
  const tmp = tempPathBeside(path);
  try {
    await writeFileSynced(tmp, bytes);
    await Deno.rename(tmp, path);
  } catch (e) {
    await removeQuietly(tmp);
    throw e;
  }
}

/**
 * Remove `path` if it is there; never throws (for cleaning up after a failure that is already
 * being reported).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { removeQuietly } from "./fs.ts";
 * await assert.doesNotReject(removeQuietly("/definitely/not/here")); // a missing path is fine
 * ```
 */
export async function removeQuietly(path: string): Promise<void> {
  await Deno.remove(path).catch(() => {});
}

/**
 * fsync a directory so that entries created or renamed in it survive a crash. Best effort: some
 * platforms (Windows) cannot open a directory for syncing; there the rename is still atomic.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { syncDir } from "./fs.ts";
 * await assert.doesNotReject(syncDir(await Deno.makeTempDir()));
 * ```
 */
export async function syncDir(path: string): Promise<void> {
  let dir: Deno.FsFile | undefined;
  try {
    dir = await Deno.open(path, { read: true });
    await dir.sync();
  } catch {
    // Not supported here (e.g. Windows, or a file system without directory fsync).
  } finally {
    dir?.close();
  }
}

/**
 * What is at `path`: `"file"`, `"dir"`, another kind, or `undefined` when nothing is there.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { pathKind } from "./fs.ts";
 * assert.equal(await pathKind(await Deno.makeTempDir()), "dir");
 * ```
 */
export async function pathKind(path: string): Promise<"file" | "dir" | "other" | undefined> {
  try {
    const info = await Deno.stat(path);
    return info.isFile ? "file" : info.isDirectory ? "dir" : "other";
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return undefined;
    throw e;
  }
}

/**
 * The names in a directory, sorted; empty when the directory does not exist.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { listDir } from "./fs.ts";
 * assert.deepEqual(await listDir("/definitely/not/here"), []);
 * ```
 */
export async function listDir(path: string): Promise<string[]> {
  const names: string[] = [];
  try {
    for await (const entry of Deno.readDir(path)) names.push(entry.name);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return [];
    throw e;
  }
  return names.sort();
}

/**
 * Read the file `name` of folder `dir`, refusing one that, after symbolic links are followed,
 * lies outside `dir` (a shard symlinked to `/etc/passwd` must not be read as weights). Throws
 * `Deno.errors.NotFound` for a missing file and {@linkcode OutsideFolderError} for an escape.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { readFileInside } from "./fs.ts";
 * const dir = await Deno.makeTempDir();
 * await Deno.writeFile(`${dir}/a.bin`, new Uint8Array([7]));
 * assert.deepEqual(await readFileInside(dir, "a.bin"), new Uint8Array([7]));
 * ```
 */
export async function readFileInside(dir: string, name: string): Promise<Uint8Array> {
  const path = `${dir.replace(/\/+$/, "")}/${name}`;
  const [real, realDir] = await Promise.all([Deno.realPath(path), Deno.realPath(dir)]);
  if (!real.startsWith(realDir.endsWith("/") ? realDir : `${realDir}/`)) {
    throw new OutsideFolderError(path, real, realDir);
  }
  return await Deno.readFile(real);
}

/**
 * A file that a folder lists resolves, through symbolic links, to a place outside the folder.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { OutsideFolderError } from "./fs.ts";
 * assert.match(new OutsideFolderError("m/a.bin", "/etc/passwd", "/home/u/m").message, /m\/a\.bin/);
 * ```
 */
export class OutsideFolderError extends PerceptualError {
  /** The path as listed. */
  readonly path: string;
  /** Build the error. */
  constructor(path: string, real: string, dir: string) {
    super(
      `${path} is a symbolic link to ${real}, outside ${dir}; copy the file into the folder ` +
        "instead of linking to it",
    );
    this.path = path;
  }
}
