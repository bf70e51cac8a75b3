/**
 * Reading LPIPS weights in the library's embedded format: a folder per net holding a TensorFlow.js
 * weights manifest (`weights_manifest.json`), its float32 shard(s) and a `SHA256SUMS` file that
 * every file read is checked against (required). Made by `tools/convert_lpips.py`. Internal.
 *
 * @module
 */
import { checkSha256, parseSha256Sums, SHA256SUMS_FILE } from "../vgg/sha256sums.ts";
import { NonFiniteWeightsError, WeightFileError, WeightShapeError } from "../vgg/errors.ts";
import { shardPathProblem } from "../_internal/weight_checks.ts";
import { readFileInside, writeFileAtomic } from "../_internal/fs.ts";
import { sha256HexSync } from "../_internal/hash.ts";
import { LPIPS_SLICES, type LpipsNet, tapChannels } from "./_architecture.ts";

/**
 * The manifest's file name inside a net's weight folder.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { MANIFEST_FILE } from "./_weights.ts";
 * assert.equal(
 *   `src/lpips/weights/alex/${MANIFEST_FILE}`,
 *   "src/lpips/weights/alex/weights_manifest.json",
 * );
 * ```
 */
export const MANIFEST_FILE = "weights_manifest.json";

/**
 * One weight array: row-major values (kernels HWIO) and shape.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import type { LpipsArray } from "./_weights.ts";
 * const bias: LpipsArray = { shape: [2], values: new Float32Array(2) };
 * assert.equal(bias.values.length, bias.shape.reduce((a, b) => a * b, 1)); // one value per element
 * ```
 */
export interface LpipsArray {
  readonly shape: readonly number[];
  readonly values: Float32Array;
}

/**
 * The loaded weights of one net, by name (`conv1/kernel`, `fire2/squeeze/bias`, `lin/relu1`).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import type { LpipsWeights } from "./_weights.ts";
 * const count = (w: LpipsWeights): number => w.arrays.size;
 * assert.equal(count({ source: "(memory)", arrays: new Map() }), 0);
 * ```
 */
export interface LpipsWeights {
  /** Where they came from (a folder path or URL). */
  readonly source: string;
  /** The arrays. */
  readonly arrays: ReadonlyMap<string, LpipsArray>;
}

/**
 * Every array a net needs, with its shape.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { expectedArrays } from "./_weights.ts";
 * assert.deepEqual(expectedArrays("alex").get("conv1/kernel"), [11, 11, 3, 64]);
 * ```
 */
export function expectedArrays(net: LpipsNet): Map<string, number[]> {
  const out = new Map<string, number[]>();
  const convShapes = (name: string, k: number, cin: number, cout: number): void => {
    out.set(`${name}/kernel`, [k, k, cin, cout]);
    out.set(`${name}/bias`, [cout]);
  };
  for (const ops of LPIPS_SLICES[net]) {
    for (const op of ops) {
      if (op.kind === "conv") convShapes(op.name, op.size, op.inChannels, op.outChannels);
      if (op.kind === "fire") {
        convShapes(`${op.name}/squeeze`, 1, op.inChannels, op.squeeze);
        convShapes(`${op.name}/expand1x1`, 1, op.squeeze, op.expand);
        convShapes(`${op.name}/expand3x3`, 3, op.squeeze, op.expand);
      }
    }
  }
  tapChannels(net).forEach((c, i) => out.set(`lin/relu${i + 1}`, [c]));
  return out;
}

const LITTLE_ENDIAN = new Uint8Array(new Float32Array([1]).buffer)[3] === 0x3f;

/** Reads a file of the folder (local path, file: URL or http(s): URL). */
type Reader = (name: string) => Promise<Uint8Array>;

interface Folder {
  readonly reader: Reader;
  readonly where: (f: string) => string;
  /** Whether the files come over the network (then they may be cached). */
  readonly remote: boolean;
}

function folderReader(folder: string | URL): Folder {
  if (folder instanceof URL && folder.protocol !== "file:") {
    const base = folder.href.endsWith("/") ? folder.href : `${folder.href}/`;
    return {
      remote: true,
      where: (f) => base + f,
      reader: async (f) => {
        const res = await fetch(new URL(f, base));
        if (!res.ok) {
          await res.body?.cancel();
          throw new Error(`HTTP ${res.status} ${res.statusText}`);
        }
        return new Uint8Array(await res.arrayBuffer());
      },
    };
  }
  const dir = (folder instanceof URL ? decodeURIComponent(folder.pathname) : folder)
    .replace(/\/+$/, "");
  return { remote: false, where: (f) => `${dir}/${f}`, reader: (f) => readFileInside(dir, f) };
}

async function readOrThrow(reader: Reader, path: string, name: string): Promise<Uint8Array> {
  try {
    return await reader(name);
  } catch (e) {
    if (e instanceof WeightFileError) throw e;
    throw new WeightFileError(
      path,
      undefined,
      e instanceof Deno.errors.NotFound
        ? "no such file; pass the folder tools/convert_lpips.py writes for this net (it holds " +
          `${MANIFEST_FILE}, group1-shard1of1 and ${SHA256SUMS_FILE})`
        : `cannot be read (${(e as Error).message})`,
    );
  }
}

interface ManifestWeight {
  readonly name: string;
  readonly shape: number[];
  readonly dtype: string;
}

function parseManifest(
  path: string,
  bytes: Uint8Array,
): { paths: string[]; weights: ManifestWeight[] }[] {
  let json: unknown;
  try {
    json = JSON.parse(new TextDecoder().decode(bytes));
  } catch (e) {
    throw new WeightFileError(path, undefined, `is not valid JSON (${(e as Error).message})`);
  }
  const ok = Array.isArray(json) &&
    json.every((g) =>
      g !== null && typeof g === "object" && Array.isArray(g.paths) &&
      g.paths.every((p: unknown) => typeof p === "string" && shardPathProblem(p) === undefined) &&
      Array.isArray(g.weights) && g.weights.every((w: ManifestWeight) =>
        w !== null && typeof w.name === "string" && w.dtype === "float32" &&
        Array.isArray(w.shape) && w.shape.every((d) => Number.isInteger(d) && d >= 0)
      )
    );
  if (!ok) {
    throw new WeightFileError(
      path,
      undefined,
      "is not a TensorFlow.js weights manifest of float32 weights with shard files beside it " +
        "([{ paths: string[], weights: { name, shape, dtype: 'float32' }[] }]); regenerate it " +
        "with tools/convert_lpips.py",
    );
  }
  return json as { paths: string[]; weights: ManifestWeight[] }[];
}

/** A listed file's bytes, checked against `sums`; remote files go through the content cache. */
async function readListed(
  src: Folder,
  name: string,
  sums: ReadonlyMap<string, string>,
  sumsPath: string,
  cacheDir: string | undefined,
): Promise<Uint8Array> {
  const hash = sums.get(name);
  const cached = src.remote && cacheDir !== undefined && hash !== undefined
    ? `${cacheDir}/${hash}`
    : undefined;
  if (cached !== undefined) {
    // Content-addressed: a file whose bytes hash to its name is the file, wherever it came from.
    const bytes = await Deno.readFile(cached).catch(() => undefined);
    if (bytes !== undefined && sha256HexSync(bytes) === hash) return bytes;
  }
  const bytes = await readOrThrow(src.reader, src.where(name), name);
  checkSha256(sums, name, bytes, src.where(name), sumsPath);
  if (cached !== undefined) {
    // Best effort: a cache that cannot be written costs a download next time, nothing else.
    await Deno.mkdir(cacheDir!, { recursive: true })
      .then(() => writeFileAtomic(cached, bytes))
      .catch(() => {});
  }
  return bytes;
}

/**
 * Read and check the weights of `net` from `folder` (the net's own folder). Files fetched from
 * an http(s) URL are kept in `cacheDir` (when given) under their SHA-256, so a later load fetches
 * only the small `SHA256SUMS`. Every file read must
 * be listed in the folder's `SHA256SUMS` with its hash; every array the net needs must be there
 * with its shape and finite values.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { readLpipsWeights } from "./_weights.ts";
 * const w = await readLpipsWeights("squeeze", new URL("./weights/squeeze/", import.meta.url));
 * assert.deepEqual(w.arrays.get("lin/relu7")?.shape, [512]);
 * ```
 */
export async function readLpipsWeights(
  net: LpipsNet,
  folder: string | URL,
  cacheDir?: string,
): Promise<LpipsWeights> {
  const src = folderReader(folder);
  const { reader, where } = src;
  const sumsPath = where(SHA256SUMS_FILE);
  let sums: Map<string, string>;
  try {
    sums = parseSha256Sums(
      new TextDecoder().decode(await readOrThrow(reader, sumsPath, SHA256SUMS_FILE)),
    );
  } catch (e) {
    if (e instanceof WeightFileError) throw e;
    throw new WeightFileError(sumsPath, undefined, (e as Error).message);
  }
  const manifestPath = where(MANIFEST_FILE);
  const manifestBytes = await readListed(src, MANIFEST_FILE, sums, sumsPath, cacheDir);
  const groups = parseManifest(manifestPath, manifestBytes);
  const want = expectedArrays(net);
  const arrays = new Map<string, LpipsArray>();
  for (const g of groups) {
    const parts: Uint8Array[] = [];
    for (const p of g.paths) {
      parts.push(await readListed(src, p, sums, sumsPath, cacheDir));
    }
    const total = parts.reduce((a, b) => a + b.length, 0);
    const need = g.weights.reduce((a, w) => a + 4 * w.shape.reduce((x, y) => x * y, 1), 0);
    if (total !== need) {
      throw new WeightFileError(
        where(g.paths.at(-1) ?? MANIFEST_FILE),
        undefined,
        `the shards hold ${total} bytes but the manifest lists ${need}; regenerate the folder ` +
          "with tools/convert_lpips.py",
      );
    }
    const all = new Uint8Array(total);
    parts.reduce((o, p) => (all.set(p, o), o + p.length), 0);
    const view = new DataView(all.buffer);
    let offset = 0;
    for (const w of g.weights) {
      const n = w.shape.reduce((x, y) => x * y, 1);
      // The shard is little-endian float32: a copy on little-endian hosts, else element-wise.
      const values = LITTLE_ENDIAN
        ? new Float32Array(all.buffer.slice(offset, offset + 4 * n))
        : Float32Array.from({ length: n }, (_, i) => view.getFloat32(offset + 4 * i, true));
      offset += 4 * n;
      const shape = want.get(w.name);
      if (shape === undefined) continue;
      const [layer, part] = [w.name.slice(0, w.name.lastIndexOf("/")), w.name.split("/").at(-1)!];
      if (shape.join(",") !== w.shape.join(",")) {
        throw new WeightShapeError(manifestPath, layer, part, shape, w.shape);
      }
      const bad = values.findIndex((v) => !Number.isFinite(v));
      if (bad >= 0) {
        throw new NonFiniteWeightsError(
          where(g.paths[0]!),
          layer,
          part,
          `a non-finite value (${values[bad]}) at index ${bad}`,
        );
      }
      arrays.set(w.name, { shape: w.shape, values });
    }
  }
  const missing = [...want.keys()].filter((k) => !arrays.has(k));
  if (missing.length > 0) {
    throw new WeightFileError(
      manifestPath,
      undefined,
      `lacks ${missing.slice(0, 4).join(", ")}${missing.length > 4 ? ", …" : ""}: is it the ` +
        `folder of the ${net} net? (tools/convert_lpips.py writes one folder per net)`,
    );
  }
  return { source: folder instanceof URL ? folder.href : folder, arrays };
}
