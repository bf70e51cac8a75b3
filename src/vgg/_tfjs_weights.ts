/**
 * TensorFlow.js layers-model directories (`model.json` + binary shards), read group by group so
 * that shards of layers never asked for may be absent.
 *
 * @module
 */
import { kernelShape, type VggConvSpec } from "./_architecture.ts";
import { WeightFileError, WeightShapeError } from "./errors.ts";
import { checkSha256, parseSha256Sums, SHA256SUMS_FILE } from "./sha256sums.ts";
import type { ConvWeights, WeightSource } from "./_weight_source.ts";
import { manifestEntryBytes, shardPathProblem } from "../_internal/weight_checks.ts";
import { OutsideFolderError, pathKind, readFileInside } from "../_internal/fs.ts";

/** One entry of a tfjs weights manifest group. */
interface ManifestWeight {
  name: string;
  shape: number[];
  dtype: string;
  quantization?: { dtype: string; scale?: number; min?: number };
}

/** One group of a tfjs weights manifest: its shard files and the weights packed in them. */
interface ManifestGroup {
  paths: string[];
  weights: ManifestWeight[];
}

/** Where one weight lives: its group, byte range within the group's concatenated shards. */
interface Located {
  readonly group: number;
  readonly offset: number;
  readonly bytes: number;
  readonly entry: ManifestWeight;
}

function join(dir: string, file: string): string {
  return dir.endsWith("/") ? dir + file : `${dir}/${file}`;
}

function dirname(path: string): string {
  const i = path.lastIndexOf("/");
  return i < 0 ? "." : i === 0 ? "/" : path.slice(0, i);
}

function parseManifest(modelJson: string, text: string): ManifestGroup[] {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new WeightFileError(modelJson, undefined, `is not valid JSON (${(e as Error).message})`);
  }
  const manifest = (json as { weightsManifest?: unknown })?.weightsManifest;
  if (!Array.isArray(manifest)) {
    throw new WeightFileError(
      modelJson,
      undefined,
      "has no weightsManifest array; is it a TensorFlow.js layers model.json?",
    );
  }
  manifest.forEach((g, i) => {
    const ok = g !== null && typeof g === "object" && Array.isArray(g.paths) &&
      g.paths.every((p: unknown) => typeof p === "string") && Array.isArray(g.weights) &&
      g.weights.every((w: ManifestWeight) =>
        w !== null && typeof w.name === "string" && Array.isArray(w.shape) &&
        w.shape.every((d) => Number.isInteger(d) && d >= 0) && typeof w.dtype === "string"
      );
    if (!ok) {
      throw new WeightFileError(
        modelJson,
        undefined,
        `weightsManifest[${i}] is malformed: each group needs paths: string[] and weights: ` +
          "{ name, shape: int[], dtype }[]",
      );
    }
  });
  manifest.forEach((g: ManifestGroup, i) =>
    g.paths.forEach((p, j) => {
      const why = shardPathProblem(p);
      if (why !== undefined) {
        throw new WeightFileError(
          modelJson,
          undefined,
          `weightsManifest[${i}].paths[${j}] ${JSON.stringify(p.slice(0, 200))} is refused: ` +
            `${why}. Shards must be files beside model.json; is this manifest tampered with?`,
        );
      }
    })
  );
  return manifest as ManifestGroup[];
}

/** IEEE half → float. */
function halfToFloat(h: number): number {
  const s = h & 0x8000 ? -1 : 1;
  const e = (h >> 10) & 0x1f;
  const f = h & 0x3ff;
  if (e === 0) return s * 2 ** -14 * (f / 1024);
  if (e === 31) return f ? NaN : s * Infinity;
  return s * 2 ** (e - 15) * (1 + f / 1024);
}

/** Decode one weight's bytes (float32, or tfjs' uint8/uint16 affine or float16 quantization). */
function decode(bytes: Uint8Array, entry: ManifestWeight): Float32Array {
  const n = entry.shape.reduce((a, b) => a * b, 1);
  const q = entry.quantization;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out = new Float32Array(n);
  if (q === undefined) {
    for (let i = 0; i < n; i++) out[i] = view.getFloat32(4 * i, true);
  } else if (q.dtype === "float16") {
    for (let i = 0; i < n; i++) out[i] = halfToFloat(view.getUint16(2 * i, true));
  } else {
    const scale = q.scale ?? 1;
    const min = q.min ?? 0;
    const wide = q.dtype === "uint16";
    for (let i = 0; i < n; i++) {
      out[i] = (wide ? view.getUint16(2 * i, true) : view.getUint8(i)) * scale + min;
    }
  }
  return out;
}

/** Options of {@linkcode openTfjsDir}. */
export interface TfjsDirOptions {
  /**
   * Checking files against a `SHA256SUMS` file beside `model.json` (`sha256sum` format):
   * `"if-present"` (default) checks `model.json` and every shard read when the file is there;
   * `"required"` also throws when it is absent; `"off"` never checks. A mismatch, or a file the
   * list leaves out, throws `WeightHashError` before the bytes are used.
   */
  readonly verify?: "if-present" | "required" | "off";
}

/** The directory's `SHA256SUMS` as name → hash, or undefined when absent and not required. */
async function readSums(
  dir: string,
  modelJson: string,
  verify: NonNullable<TfjsDirOptions["verify"]>,
): Promise<Map<string, string> | undefined> {
  if (verify === "off") return undefined;
  const file = join(dir, SHA256SUMS_FILE);
  let text: string;
  try {
    text = await Deno.readTextFile(file);
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound)) {
      throw new WeightFileError(file, undefined, `cannot be read (${(e as Error).message})`);
    }
    if (verify === "required") {
      throw new WeightFileError(
        modelJson,
        undefined,
        `no ${SHA256SUMS_FILE} beside it, and verification was required; create one with ` +
          `\`sha256sum model.json group*-shard* > ${SHA256SUMS_FILE}\` from files you trust`,
      );
    }
    return undefined;
  }
  try {
    return parseSha256Sums(text);
  } catch (e) {
    throw new WeightFileError(
      file,
      undefined,
      `${(e as Error).message}; regenerate it with \`sha256sum model.json group*-shard* > ` +
        `${SHA256SUMS_FILE}\``,
    );
  }
}

/**
 * Open a TensorFlow.js layers-model directory (or its `model.json`). Only `model.json` is read
 * here; a layer's shard files are read when that layer is, so shards of deeper layers may be
 * absent. Weight names are matched as `…/<layer>/kernel` and `…/<layer>/bias` (tfjs 0.x to 4.x,
 * with or without a model-name prefix or `:0` suffix). When a `SHA256SUMS` file lies beside
 * `model.json`, `model.json` and every shard read are checked against it (see
 * {@linkcode TfjsDirOptions}).
 *
 * @example
 * ```ts ignore
 * import assert from "node:assert/strict";
 * import { openTfjsDir } from "./_tfjs_weights.ts";
 * const src = await openTfjsDir("examples/weights/vgg19_imagenet_blocks1-3");
 * assert.equal(src.absent("block1_conv1"), undefined);
 * assert.match(src.absent("block4_conv1") ?? "", /shard .* is absent/);
 * src.close();
 * ```
 */
export async function openTfjsDir(
  dirOrModelJson: string,
  description?: string,
  options: TfjsDirOptions = {},
): Promise<WeightSource & { readonly shardsRead: () => readonly string[] }> {
  const { modelJson, modelBytes } = await readModelJson(dirOrModelJson);
  const dir = dirname(modelJson);
  // Checked before anything is parsed: a tampered manifest could point reads anywhere.
  const sums = await readSums(dir, modelJson, options.verify ?? "if-present");
  const sumsFile = join(dir, SHA256SUMS_FILE);
  const baseName = modelJson.slice(modelJson.lastIndexOf("/") + 1);
  if (sums !== undefined) checkSha256(sums, baseName, modelBytes, modelJson, sumsFile);
  const groups = parseManifest(modelJson, new TextDecoder().decode(modelBytes));
  const t: TfjsDir = {
    dir,
    modelJson,
    sums,
    sumsFile,
    groups,
    index: indexWeights(groups),
    groupBytes: new Map(),
    read: [],
    absent: new Map(),
  };
  await settleAbsent(t);
  return {
    description: description ?? dirOrModelJson,
    file: modelJson,
    shardsRead: () => t.read,
    absent(layer: string): string | undefined {
      return t.absent.has(layer) ? t.absent.get(layer) : missingReason(t, layer);
    },
    read: (spec: VggConvSpec) => readConv(t, spec),
    close(): void {
      t.groupBytes.clear();
    },
  };
}

/** An open tfjs weights directory: its manifest, index, checksums and the groups read so far. */
interface TfjsDir {
  readonly dir: string;
  readonly modelJson: string;
  readonly sums: Map<string, string> | undefined;
  readonly sumsFile: string;
  readonly groups: readonly ManifestGroup[];
  /** `<layer>/kernel` and `<layer>/bias` → where the weight lies. */
  readonly index: Map<string, Located>;
  /** Weight groups read, concatenated, by group index. */
  readonly groupBytes: Map<number, Uint8Array>;
  /** Shard files read, in order. */
  readonly read: string[];
  /** Why each indexed layer cannot be read (undefined when it can). */
  readonly absent: Map<string, string | undefined>;
}

/** `model.json` (given, or inside the directory given) and its bytes. */
async function readModelJson(
  dirOrModelJson: string,
): Promise<{ modelJson: string; modelBytes: Uint8Array }> {
  let modelJson = dirOrModelJson;
  try {
    if ((await Deno.stat(dirOrModelJson)).isDirectory) {
      modelJson = join(dirOrModelJson, "model.json");
    }
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) {
      throw new WeightFileError(dirOrModelJson, undefined, "no such file or directory");
    }
    throw e;
  }
  try {
    return { modelJson, modelBytes: await Deno.readFile(modelJson) };
  } catch (e) {
    throw new WeightFileError(
      modelJson,
      undefined,
      e instanceof Deno.errors.NotFound
        ? "no model.json there; pass a TensorFlow.js layers-model directory or an .h5 file"
        : `cannot be read (${(e as Error).message})`,
    );
  }
}

/** Where each `<layer>/kernel` and `<layer>/bias` lies in the manifest's groups. */
function indexWeights(groups: readonly ManifestGroup[]): Map<string, Located> {
  const index = new Map<string, Located>();
  groups.forEach((g, gi) => {
    let offset = 0;
    for (const w of g.weights) {
      const bytes = manifestEntryBytes(w);
      const m = /(?:^|\/)([^/]+)\/(kernel|bias)(?::\d+)?$/.exec(w.name);
      if (m) index.set(`${m[1]}/${m[2]}`, { group: gi, offset, bytes, entry: w });
      offset += bytes;
    }
  });
  return index;
}

function missingReason(t: TfjsDir, layer: string): string | undefined {
  const k = t.index.get(`${layer}/kernel`);
  const b = t.index.get(`${layer}/bias`);
  if (k === undefined || b === undefined) {
    return `${t.modelJson}'s weightsManifest has no ${layer}/kernel and ${layer}/bias`;
  }
  return undefined;
}

/**
 * Shard presence is what makes a layer usable: settle it for every indexed layer now (a stat
 * per shard file, no reads; once per group), so `absent` can stay synchronous.
 */
async function settleAbsent(t: TfjsDir): Promise<void> {
  const missingShard = new Map<number, string | undefined>();
  const shardStat = async (gi: number): Promise<string | undefined> => {
    if (!missingShard.has(gi)) {
      let missing: string | undefined;
      for (const p of t.groups[gi]!.paths) {
        if (await pathKind(join(t.dir, p)) !== "file") {
          missing = p;
          break;
        }
      }
      missingShard.set(gi, missing);
    }
    return missingShard.get(gi);
  };
  for (const key of t.index.keys()) {
    const layer = key.slice(0, key.lastIndexOf("/"));
    if (t.absent.has(layer)) continue;
    let why = missingReason(t, layer);
    if (why === undefined) {
      for (const part of ["kernel", "bias"]) {
        const missing = await shardStat(t.index.get(`${layer}/${part}`)!.group);
        if (missing !== undefined) {
          why = `its weight shard ${join(t.dir, missing)} is absent`;
          break;
        }
      }
    }
    t.absent.set(layer, why);
  }
}

/** Weight group `gi`'s shards, read once, checked against the checksums and the manifest's size. */
async function loadGroup(t: TfjsDir, gi: number, layer: string): Promise<Uint8Array> {
  const cached = t.groupBytes.get(gi);
  if (cached !== undefined) return cached;
  const { dir, sums } = t;
  const parts: Uint8Array[] = [];
  for (const p of t.groups[gi]!.paths) {
    let bytes: Uint8Array;
    try {
      bytes = await readFileInside(dir, p);
    } catch (e) {
      throw new WeightFileError(
        join(dir, p),
        layer,
        e instanceof OutsideFolderError
          ? e.message
          : e instanceof Deno.errors.NotFound
          ? "this weight shard is absent"
          : `cannot be read (${(e as Error).message})`,
      );
    }
    if (sums !== undefined) checkSha256(sums, p, bytes, join(dir, p), t.sumsFile);
    parts.push(bytes);
    t.read.push(p);
  }
  const total = parts.reduce((a, p) => a + p.length, 0);
  checkGroupSize(t, gi, total, layer);
  const all = new Uint8Array(total);
  let o = 0;
  for (const p of parts) {
    all.set(p, o);
    o += p.length;
  }
  t.groupBytes.set(gi, all);
  return all;
}

/**
 * Exactly the manifest's size: a shard longer than its manifest is as suspect as a short one
 * (another model's shard, a manifest edited by hand, appended data).
 */
function checkGroupSize(t: TfjsDir, gi: number, total: number, layer: string): void {
  const g = t.groups[gi]!;
  const want = g.weights.reduce((a, w) => a + manifestEntryBytes(w), 0);
  if (total === want) return;
  throw new WeightFileError(
    join(t.dir, g.paths.at(-1)!),
    layer,
    Number.isNaN(want)
      ? `weight group ${gi + 1} lists a weight of a dtype with no fixed size ` +
        `(${g.weights.map((w) => w.quantization?.dtype ?? w.dtype).join(", ")}); its shard ` +
        "sizes cannot be checked"
      : `weight group ${gi + 1} has ${total} bytes in its shard(s) ${g.paths.join(", ")}, ` +
        `but the manifest says ${want}: a ${total < want ? "truncated" : "too long"} shard, ` +
        "or a manifest of another model",
  );
}

/** One conv layer's kernel and bias, their shapes and dtypes checked. */
async function readConv(t: TfjsDir, spec: VggConvSpec): Promise<ConvWeights> {
  const { modelJson } = t;
  const layer = spec.name;
  const why = missingReason(t, layer);
  if (why !== undefined) throw new WeightFileError(modelJson, layer, why);
  const want = { kernel: kernelShape(spec), bias: [spec.outChannels] };
  const out: Partial<Record<"kernel" | "bias", Float32Array>> = {};
  for (const part of ["kernel", "bias"] as const) {
    const loc = t.index.get(`${layer}/${part}`)!;
    if (loc.entry.shape.join(",") !== want[part].join(",")) {
      throw new WeightShapeError(modelJson, layer, part, want[part], loc.entry.shape);
    }
    if (
      !Number.isFinite(loc.bytes) || (loc.entry.quantization === undefined &&
        loc.entry.dtype !== "float32")
    ) {
      throw new WeightFileError(
        modelJson,
        layer,
        `${part} has dtype ${loc.entry.quantization?.dtype ?? loc.entry.dtype}; expected ` +
          "float32 (or tfjs uint8/uint16/float16 quantization)",
      );
    }
    const bytes = await loadGroup(t, loc.group, layer);
    out[part] = decode(bytes.subarray(loc.offset, loc.offset + loc.bytes), loc.entry);
  }
  return { kernel: out.kernel!, bias: out.bias! };
}
