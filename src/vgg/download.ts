/**
 * Download-once file cache for pretrained weights: verified md5, recorded sha256, atomic writes.
 *
 * @module
 */
import { createHash } from "node:crypto";
import { readEnv } from "../_internal/env.ts";
import { removeQuietly, tempPathBeside, writeFileAtomic } from "../_internal/fs.ts";
import { fileHash } from "../_internal/hash.ts";
import { DownloadError, HashMismatchError } from "./errors.ts";

/**
 * The environment variable naming the cache directory.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { CACHE_ENV_VAR } from "@perceptual/loss/vgg";
 * assert.equal(CACHE_ENV_VAR, "PERCEPTUAL_CACHE");
 * ```
 */
export const CACHE_ENV_VAR: string = "PERCEPTUAL_CACHE";

/**
 * Progress of one download.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import type { DownloadProgress } from "@perceptual/loss/vgg";
 * const percent = (p: DownloadProgress): string =>
 *   p.total === undefined ? `${p.received} bytes` : `${Math.round((100 * p.received) / p.total)}%`;
 * const p: DownloadProgress = { url: "w.h5", received: 512, total: 2048, done: false };
 * assert.equal(percent(p), "25%");
 * ```
 */
export interface DownloadProgress {
  /** What is being fetched. */
  readonly url: string;
  /** Bytes received so far. */
  readonly received: number;
  /** Bytes expected (Content-Length), when the server says. */
  readonly total: number | undefined;
  /** True on the last call, once all bytes arrived (before the hash check). */
  readonly done: boolean;
}

/**
 * Receives download progress; `false` turns the default stderr report off.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import type { ProgressSink } from "@perceptual/loss/vgg";
 * const finished: string[] = [];
 * const onProgress: ProgressSink = (p) => p.done && finished.push(`${p.url}: ${p.received} bytes`);
 * // vgg16({ weights: "imagenet", onProgress }) calls it as bytes arrive; `false` silences it
 * if (onProgress) onProgress({ url: "w.h5", received: 58889256, total: 58889256, done: true });
 * assert.deepEqual(finished, ["w.h5: 58889256 bytes"]);
 * ```
 */
export type ProgressSink = ((p: DownloadProgress) => void) | false;

/**
 * Where weights are cached: `$PERCEPTUAL_CACHE`, else the user's cache directory
 * (`$XDG_CACHE_HOME` or `~/.cache` on Linux, `~/Library/Caches` on macOS, `%LOCALAPPDATA%` on
 * Windows) + `/perceptual-loss`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { defaultCacheDir } from "@perceptual/loss/vgg";
 * assert.ok(defaultCacheDir().endsWith("perceptual-loss") || Deno.env.get("PERCEPTUAL_CACHE") !== undefined);
 * ```
 */
export function defaultCacheDir(): string {
  const own = readEnv(CACHE_ENV_VAR);
  if (own !== undefined) return own;
  const home = readEnv("HOME") ?? readEnv("USERPROFILE");
  let base: string | undefined;
  if (Deno.build.os === "windows") base = readEnv("LOCALAPPDATA");
  else if (Deno.build.os === "darwin") base = home && `${home}/Library/Caches`;
  else base = readEnv("XDG_CACHE_HOME") ?? (home && `${home}/.cache`);
  if (base === undefined) {
    throw new Error(
      `no cache directory: set ${CACHE_ENV_VAR} (or HOME), or pass cacheDir, to say where ` +
        "downloaded weights may be kept",
    );
  }
  return `${base}/perceptual-loss`;
}

/** What is recorded next to each cached file (`<file>.json`). */
export interface CacheRecord {
  /** Where it came from. */
  readonly url: string;
  /** Its md5, hex. */
  readonly md5: string;
  /** Its sha256, hex. */
  readonly sha256: string;
  /** Its size. */
  readonly bytes: number;
  /** When it was downloaded (ISO 8601). */
  readonly downloaded: string;
}

/** Options of {@linkcode cachedDownload}. */
export interface CachedDownloadOptions {
  /** Where to fetch from. */
  readonly url: string;
  /** The md5 (hex) the file must have. */
  readonly md5: string;
  /** The file's name inside the cache directory. */
  readonly fileName: string;
  /** The cache directory (default {@linkcode defaultCacheDir}). */
  readonly cacheDir?: string;
  /** Progress receiver; default: a progress line on stderr; `false`: silent. */
  readonly onProgress?: ProgressSink;
}

/** A verified file in the cache. */
export interface CachedFile extends CacheRecord {
  /** Its path. */
  readonly path: string;
  /** Whether it was already cached (no request was made). */
  readonly fromCache: boolean;
}

async function readRecord(path: string): Promise<CacheRecord | undefined> {
  try {
    return JSON.parse(await Deno.readTextFile(`${path}.json`)) as CacheRecord;
  } catch {
    return undefined;
  }
}

function megabytes(n: number): string {
  return (n / 1e6).toFixed(1);
}

/** The default progress report: a redrawn line on a terminal, start and end lines otherwise. */
function stderrProgress(label: string): (p: DownloadProgress) => void {
  const enc = new TextEncoder();
  let tty = false;
  try {
    tty = Deno.stderr.isTerminal();
  } catch { /* no stderr */ }
  let last = 0;
  let started = false;
  return (p) => {
    const total = p.total === undefined ? "?" : megabytes(p.total);
    const pct = p.total ? ` (${Math.floor((100 * p.received) / p.total)}%)` : "";
    const line = `downloading ${label}: ${megabytes(p.received)}/${total} MB${pct}`;
    if (tty) {
      const now = Date.now();
      if (!p.done && now - last < 200) return;
      last = now;
      Deno.stderr.writeSync(enc.encode(`\r${line}${p.done ? "\n" : ""}`));
    } else if (!started || p.done) {
      started = true;
      Deno.stderr.writeSync(
        enc.encode(
          p.done ? `${line}: done\n` : `downloading ${label} from ${p.url} (${total} MB)\n`,
        ),
      );
    }
  };
}

/**
 * The file `fileName` in the cache, downloading it from `url` first when it is absent or its md5
 * is not `md5`. The download streams into a temporary file in the cache directory while md5 and
 * sha256 are computed; only a complete file with the right md5 is renamed into place (atomic),
 * with a `<file>.json` record of url, md5, sha256 and size. A wrong hash, an HTTP error or a
 * connection lost mid-file throws ({@linkcode HashMismatchError} / {@linkcode DownloadError})
 * and leaves nothing in the cache. A cached file is re-hashed (md5) on every use.
 *
 * @example
 * ```ts ignore
 * import assert from "node:assert/strict";
 * import { cachedDownload } from "@perceptual/loss/vgg";
 * const f = await cachedDownload({
 *   url: "https://storage.googleapis.com/tensorflow/keras-applications/vgg16/vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5",
 *   md5: "6d6bbae143d832006294945121d1f1fc",
 *   fileName: "vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5",
 * });
 * assert.match(f.sha256, /^[0-9a-f]{64}$/); // f.path: the file in the cache
 * ```
 */
export async function cachedDownload(options: CachedDownloadOptions): Promise<CachedFile> {
  const dir = options.cacheDir ?? defaultCacheDir();
  const path = `${dir.replace(/\/+$/, "")}/${options.fileName}`;
  const md5 = options.md5.toLowerCase();
  const cached = await fromCache(path, md5, options.url);
  if (cached !== undefined) return cached;
  try {
    await Deno.mkdir(dir, { recursive: true });
  } catch (e) {
    throw new DownloadError(
      options.url,
      `the cache directory ${dir} cannot be created (${(e as Error).message}); set ` +
        `${CACHE_ENV_VAR} or pass cacheDir to choose a writable one`,
    );
  }
  const progress = options.onProgress === false
    ? () => {}
    : options.onProgress ?? stderrProgress(options.fileName);
  const tmp = tempPathBeside(path);
  try {
    const got = await download(options.url, tmp, progress);
    if (got.md5 !== md5) throw new HashMismatchError(options.url, md5, got.md5);
    const record: CacheRecord = {
      url: options.url,
      md5,
      sha256: got.sha256,
      bytes: got.bytes,
      downloaded: new Date().toISOString(),
    };
    await Deno.rename(tmp, path);
    await writeFileAtomic(`${path}.json`, JSON.stringify(record, null, 2) + "\n");
    return { ...record, path, fromCache: false };
  } finally {
    await removeQuietly(tmp);
  }
}

/**
 * The cached file at `path` when its md5 is `md5`; otherwise undefined, and a cached file with
 * another hash (damaged, or from another mirror) is removed, never used.
 */
async function fromCache(path: string, md5: string, url: string): Promise<CachedFile | undefined> {
  try {
    const st = await Deno.stat(path);
    if (st.isFile && (await fileHash(path, "md5")) === md5) {
      const rec = await readRecord(path);
      const sha256 = rec?.md5 === md5 ? rec.sha256 : await fileHash(path, "sha256");
      return {
        path,
        url: rec?.url ?? url,
        md5,
        sha256,
        bytes: st.size,
        downloaded: rec?.downloaded ?? "",
        fromCache: true,
      };
    }
    await removeQuietly(path);
    await removeQuietly(`${path}.json`);
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound)) throw e;
  }
  return undefined;
}

/** Streams `url` into the new file `tmp`, hashing as it goes; throws on any short or failed transfer. */
async function download(
  url: string,
  tmp: string,
  progress: (p: DownloadProgress) => void,
): Promise<{ md5: string; sha256: string; bytes: number }> {
  const hashMd5 = createHash("md5");
  const hashSha = createHash("sha256");
  let received = 0;
  let res: Response;
  try {
    res = await fetch(url);
  } catch (e) {
    throw new DownloadError(url, (e as Error).message);
  }
  if (!res.ok || res.body === null) {
    await res.body?.cancel();
    throw new DownloadError(url, `HTTP ${res.status} ${res.statusText}`);
  }
  const len = res.headers.get("content-length");
  const total = len === null ? undefined : Number(len);
  progress({ url, received, total, done: false });
  {
    using out = await Deno.open(tmp, { write: true, createNew: true });
    try {
      for await (const chunk of res.body) {
        hashMd5.update(chunk);
        hashSha.update(chunk);
        let w = 0;
        while (w < chunk.length) w += await out.write(chunk.subarray(w));
        received += chunk.length;
        progress({ url, received, total, done: false });
      }
      await out.sync();
    } catch (e) {
      throw new DownloadError(
        url,
        `the connection failed after ${received} bytes${total ? ` of ${total}` : ""} ` +
          `(${(e as Error).message})`,
      );
    }
  }
  if (total !== undefined && received !== total) {
    throw new DownloadError(url, `the connection closed after ${received} of ${total} bytes`);
  }
  progress({ url, received, total, done: true });
  return { md5: hashMd5.digest("hex"), sha256: hashSha.digest("hex"), bytes: received };
}
