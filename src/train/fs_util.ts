/**
 * Small file-system helpers for durable writes: write + fsync, directory fsync, hashes.
 *
 * @module
 */

/**
 * Write `bytes` to `path` (created or truncated) and fsync it before returning, so a later rename
 * of its directory never exposes a file whose data is still in the page cache only.
 *
 * @example
 * ```ts
 * import { writeFileSynced } from "./fs_util.ts";
 * const dir = await Deno.makeTempDir();
 * await writeFileSynced(`${dir}/a.bin`, new Uint8Array([1, 2, 3]));
 * console.log((await Deno.readFile(`${dir}/a.bin`)).length); // 3
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
 * Replace `path` atomically with `contents`: written to a temporary file beside it, fsynced, then
 * renamed over it; on any failure the temporary file is removed and `path` is left as it was.
 *
 * @example
 * ```ts
 * import { writeFileAtomic } from "./fs_util.ts";
 * const dir = await Deno.makeTempDir();
 * await writeFileAtomic(`${dir}/a.txt`, "hello\n");
 * console.log(await Deno.readTextFile(`${dir}/a.txt`)); // hello
 * ```
 */
export async function writeFileAtomic(path: string, contents: Uint8Array | string): Promise<void> {
  const bytes = typeof contents === "string" ? new TextEncoder().encode(contents) : contents;
  const tmp = `${path}.tmp-${crypto.randomUUID().slice(0, 8)}`;
  try {
    await writeFileSynced(tmp, bytes);
    await Deno.rename(tmp, path);
  } catch (e) {
    await Deno.remove(tmp).catch(() => {});
    throw e;
  }
}

/**
 * fsync a directory so that entries created or renamed in it survive a crash. Best effort: some
 * platforms (Windows) cannot open a directory for syncing; there the rename is still atomic.
 *
 * @example
 * ```ts
 * import { syncDir } from "./fs_util.ts";
 * await syncDir(await Deno.makeTempDir());
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
 * The SHA-256 of `bytes` as lowercase hex.
 *
 * @example
 * ```ts
 * import { sha256Hex } from "./fs_util.ts";
 * console.log(await sha256Hex(new TextEncoder().encode("abc")));
 * // ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad
 * ```
 */
export async function sha256Hex(bytes: Uint8Array): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", bytes as Uint8Array<ArrayBuffer>);
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, "0")).join("");
}

/**
 * What is at `path`: `"file"`, `"dir"`, another kind, or `undefined` when nothing is there.
 *
 * @example
 * ```ts
 * import { pathKind } from "./fs_util.ts";
 * console.log(await pathKind(await Deno.makeTempDir())); // dir
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
 * import { listDir } from "./fs_util.ts";
 * console.log(await listDir("/definitely/not/here")); // []
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
