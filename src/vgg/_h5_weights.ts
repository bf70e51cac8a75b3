/**
 * Keras `.h5` weight files (the official `*_notop.h5` and `model.save_weights` output), read
 * with h5wasm, touching only the layers asked for.
 *
 * @module
 */
import type { Dataset, Entity, Group } from "h5wasm";
import { kernelShape, type VggConvSpec } from "./_architecture.ts";
import { WeightFileError, WeightShapeError } from "./errors.ts";
import type { ConvWeights, WeightSource } from "./_weight_source.ts";

type H5Module = typeof import("h5wasm");

/** The bits of emscripten's FS this module uses. */
interface EmFS {
  filesystems?: Record<string, EmFsType>;
  mkdir(path: string): void;
  mount(type: unknown, opts: unknown, mountpoint: string): void;
  unmount(mountpoint: string): void;
  rmdir(path: string): void;
  writeFile(path: string, data: Uint8Array): void;
  unlink(path: string): void;
}

interface EmFsType {
  DIR_MODE: number;
  FILE_MODE: number;
  stream_ops: Record<string, unknown>;
  createNode(parent: unknown, name: string, mode: number, dev: number, contents?: unknown): {
    stream_ops: Record<string, unknown>;
  };
}

let h5Promise: Promise<H5Module> | undefined;

/** h5wasm, loaded on first use (its wasm is 4 MB: users without .h5 files never pay for it). */
async function loadH5(): Promise<{ h5: H5Module; fs: EmFS }> {
  h5Promise ??= import("h5wasm");
  const h5 = await h5Promise;
  await h5.default.ready;
  return { h5, fs: h5.FS as unknown as EmFS };
}

let mounts = 0;

/** An .h5 file made visible to h5wasm, and how to take it away again. */
interface Mounted {
  readonly path: string;
  readonly bytesRead: () => number;
  readonly release: () => void;
}

/**
 * Make the file at `hostPath` readable by h5wasm without copying it into memory: a read-only
 * emscripten mount whose reads are synchronous `pread`s on the host file, so HDF5 touches only
 * the metadata and the datasets it is asked for. (emscripten's WORKERFS does the same for Blobs,
 * but only inside web workers; its node ops are reused with Deno's sync file API.) Falls back to
 * copying the whole file into memory if this emscripten build lacks WORKERFS.
 */
function mount(fs: EmFS, hostPath: string): Mounted {
  const dir = `/perceptual_h5_${++mounts}`;
  const file = Deno.openSync(hostPath, { read: true });
  const size = file.statSync().size;
  let read = 0;
  const workerfs = fs.filesystems?.["WORKERFS"];
  if (workerfs === undefined) {
    file.close();
    const bytes = Deno.readFileSync(hostPath);
    read = bytes.length;
    fs.mkdir(dir);
    fs.writeFile(`${dir}/w.h5`, bytes);
    return {
      path: `${dir}/w.h5`,
      bytesRead: () => read,
      release: () => {
        fs.unlink(`${dir}/w.h5`);
        fs.rmdir(dir);
      },
    };
  }
  const type = {
    mount() {
      const root = workerfs.createNode(null, "/", workerfs.DIR_MODE, 0);
      const node = workerfs.createNode(root, "w.h5", workerfs.FILE_MODE, 0, { size });
      node.stream_ops = {
        ...workerfs.stream_ops,
        read(
          _stream: unknown,
          buffer: Uint8Array,
          offset: number,
          length: number,
          position: number,
        ): number {
          const end = Math.min(length, size - position);
          if (end <= 0) return 0;
          file.seekSync(position, Deno.SeekMode.Start);
          let n = 0;
          while (n < end) {
            const got = file.readSync(
              new Uint8Array(buffer.buffer, buffer.byteOffset + offset + n, end - n),
            );
            if (got === null || got === 0) break;
            n += got;
          }
          read += n;
          return n;
        },
      };
      return root;
    },
  };
  fs.mkdir(dir);
  fs.mount(type, {}, dir);
  return {
    path: `${dir}/w.h5`,
    bytesRead: () => read,
    release: () => {
      fs.unmount(dir);
      fs.rmdir(dir);
      file.close();
    },
  };
}

const SIGNATURE = [0x89, 0x48, 0x44, 0x46, 0x0d, 0x0a, 0x1a, 0x0a];

/**
 * Check the HDF5 superblock before HDF5 sees the file, so that the two common failures (not an
 * HDF5 file; a truncated download) become clear errors instead of HDF5's diagnostic dump. The
 * signature sits at 0, 512, 1024, 2048, …; the superblock stores the file's end address, which
 * a truncated file falls short of (this is the check HDF5 itself makes).
 */
function checkSuperblock(path: string, size: number): void {
  using f = Deno.openSync(path, { read: true });
  const head = new Uint8Array(48);
  for (let at = 0; at + 48 <= size; at = at === 0 ? 512 : at * 2) {
    f.seekSync(at, Deno.SeekMode.Start);
    let n = 0;
    while (n < head.length) {
      const got = f.readSync(head.subarray(n));
      if (got === null) break;
      n += got;
    }
    if (n < head.length || !SIGNATURE.every((b, i) => head[i] === b)) continue;
    const version = head[8]!;
    const offsets = version <= 1 ? head[13]! : head[9]!;
    const eofAt = version === 0
      ? 24 + 2 * offsets
      : version === 1
      ? 28 + 2 * offsets
      : 12 + 2 * offsets;
    const baseAt = version === 0 ? 24 : version === 1 ? 28 : 12;
    if (offsets !== 8 || eofAt + 8 > head.length) return; // unusual layout: let HDF5 judge
    const view = new DataView(head.buffer);
    const base = Number(view.getBigUint64(baseAt, true));
    const eof = Number(view.getBigUint64(eofAt, true));
    if (base + eof > size) {
      throw new WeightFileError(
        path,
        undefined,
        `is truncated: its HDF5 superblock says ${base + eof} bytes but the file has ${size}; ` +
          "an interrupted copy or download? delete it and fetch it again",
      );
    }
    return;
  }
  throw new WeightFileError(
    path,
    undefined,
    "is not an HDF5 file (no HDF5 signature); pass a Keras .h5 weight file or a tfjs model " +
      "directory",
  );
}

/** A string-array attribute, also when Keras split it into `name0`, `name1`, … (large models). */
function stringsAttr(obj: Group, name: string): string[] | undefined {
  const attrs = obj.attrs;
  const parts: unknown[] = [];
  if (name in attrs) {
    parts.push(attrs[name]!.value);
  } else {
    for (let i = 0; `${name}${i}` in attrs; i++) parts.push(attrs[`${name}${i}`]!.value);
    if (parts.length === 0) return undefined;
  }
  const out: string[] = [];
  for (const p of parts) {
    if (typeof p === "string") out.push(p);
    else if (Array.isArray(p)) out.push(...p.map(String));
    // An empty Keras list is stored as an empty float array: no names.
  }
  return out;
}

function isGroup(e: Entity | null): e is Group {
  return e !== null && typeof (e as Group).keys === "function" &&
    typeof (e as Dataset).shape === "undefined";
}

function isDataset(e: Entity | null): e is Dataset {
  return e !== null && typeof (e as Group).keys !== "function" &&
    Array.isArray((e as Dataset).shape);
}

function message(e: unknown): string {
  return (e instanceof Error ? e.message : String(e)).split("\n")[0]!.slice(0, 300);
}

/** A Keras .h5 weight file open for reading. */
export interface KerasH5Source extends WeightSource {
  /** Bytes read from the file so far (metadata and the datasets of layers read). */
  bytesRead(): number;
  /** The file's size in bytes. */
  readonly size: number;
  /** The layer groups the file lists, in its order. */
  readonly layerNames: readonly string[];
}

/**
 * Open a Keras HDF5 weight file: the legacy `save_weights` layout that the official
 * `vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5` uses (root attribute `layer_names`; one
 * group per layer with attribute `weight_names`; datasets at the paths it lists, e.g.
 * `block1_conv1/block1_conv1_W_1:0` in the Keras 1 file or `block1_conv1/block1_conv1/kernel:0`
 * from Keras 2), also inside a full-model file's `model_weights` group. Only metadata is read
 * here; {@linkcode WeightSource.read} reads one layer's datasets.
 *
 * @example
 * ```ts ignore
 * import assert from "node:assert/strict";
 * import { openKerasH5 } from "./_h5_weights.ts";
 * const src = await openKerasH5("vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5");
 * assert.ok(src.layerNames.includes("block1_conv1"));
 * src.close();
 * ```
 */
export async function openKerasH5(path: string, description = path): Promise<KerasH5Source> {
  const size = await fileSize(path);
  checkSuperblock(path, size);
  const { mounted, closeAll, file } = await openH5(path);
  let root: Group = file;
  let layerNames: string[];
  try {
    const mw = file.keys().includes("model_weights") ? file.get("model_weights") : null;
    if (isGroup(mw)) root = mw;
    layerNames = stringsAttr(root, "layer_names") ?? root.keys();
  } catch (e) {
    closeAll();
    throw new WeightFileError(path, undefined, `its layer list cannot be read (${message(e)})`);
  }
  const h: OpenH5 = { path, root, layerNames, closed: false };
  return {
    description,
    file: path,
    size,
    layerNames,
    bytesRead: mounted.bytesRead,
    absent(layer: string): string | undefined {
      if (!layerNames.includes(layer)) {
        return `the file has no layer ${layer} (it has ${layerNames.length} layer groups)`;
      }
      return undefined;
    },
    read: (spec: VggConvSpec) => readLayer(h, spec),
    close(): void {
      if (h.closed) return;
      h.closed = true;
      closeAll();
    },
  };
}

async function fileSize(path: string): Promise<number> {
  try {
    const st = await Deno.stat(path);
    if (!st.isFile) throw new Error("it is not a file");
    return st.size;
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) {
      throw new WeightFileError(path, undefined, "no such file; check the path");
    }
    throw new WeightFileError(path, undefined, `cannot be read: ${message(e)}`);
  }
}

/** The file opened with h5wasm on a read-only mount, and how to close both. */
async function openH5(path: string): Promise<{
  mounted: Mounted;
  file: InstanceType<H5Module["File"]>;
  closeAll: () => void;
}> {
  const { h5, fs } = await loadH5();
  const mounted = mount(fs, path);
  let file: InstanceType<H5Module["File"]>;
  try {
    file = new h5.File(mounted.path, "r");
    // h5wasm reports an unopenable file as a file id of 0 on some builds rather than throwing.
    if (file.file_id === 0n || file.file_id < 0n) throw new Error("HDF5 could not open it");
  } catch (e) {
    mounted.release();
    throw new WeightFileError(
      path,
      undefined,
      `is not a readable HDF5 file (${message(e)}); a truncated or corrupt download? ` +
        "delete it and fetch it again",
    );
  }
  const closeAll = () => {
    try {
      file.close();
    } finally {
      mounted.release();
    }
  };
  return { mounted, file, closeAll };
}

/** An open Keras weight file: the group holding the layers and the layers it lists. */
interface OpenH5 {
  readonly path: string;
  readonly root: Group;
  readonly layerNames: readonly string[];
  closed: boolean;
}

/** The 4-D kernel and the 1-D bias datasets of `layer`'s group. */
function convDatasets(h: OpenH5, layer: string): { kernel?: Dataset; bias?: Dataset } {
  const { path } = h;
  const out: { kernel?: Dataset; bias?: Dataset } = {};
  try {
    const g = h.layerNames.includes(layer) ? h.root.get(layer) : null;
    if (!isGroup(g)) {
      throw new WeightFileError(path, layer, "the layer group is missing or not a group");
    }
    const names = stringsAttr(g, "weight_names") ?? g.keys();
    for (const n of names) {
      const d = g.get(n);
      if (!isDataset(d)) {
        throw new WeightFileError(path, layer, `weight "${n}" listed but not found`);
      }
      if (d.shape!.length === 4) out.kernel = d;
      else if (d.shape!.length === 1) out.bias = d;
    }
  } catch (e) {
    if (e instanceof WeightFileError) throw e;
    throw new WeightFileError(path, layer, `cannot be read (${message(e)})`);
  }
  return out;
}

function readLayer(h: OpenH5, spec: VggConvSpec): Promise<ConvWeights> {
  const { path } = h;
  if (h.closed) throw new WeightFileError(path, spec.name, "was already closed");
  const layer = spec.name;
  const { kernel, bias } = convDatasets(h, layer);
  if (kernel === undefined || bias === undefined) {
    throw new WeightFileError(
      path,
      layer,
      "the group lacks a 4-D kernel and a 1-D bias; is this a VGG conv layer's group?",
    );
  }
  const want = kernelShape(spec);
  if (kernel.shape!.join(",") !== want.join(",")) {
    throw new WeightShapeError(path, layer, "kernel", want, kernel.shape!);
  }
  if (bias.shape![0] !== spec.outChannels) {
    throw new WeightShapeError(path, layer, "bias", [spec.outChannels], bias.shape!);
  }
  return Promise.resolve({
    kernel: values(path, layer, kernel, "kernel"),
    bias: values(path, layer, bias, "bias"),
  });
}

/** A dataset's values as a fresh Float32Array; truncated data becomes a WeightFileError. */
function values(path: string, layer: string, d: Dataset, what: string): Float32Array {
  let v: unknown;
  try {
    v = d.value;
  } catch (e) {
    throw new WeightFileError(
      path,
      layer,
      `the ${what} cannot be read (${message(e)}); the file is truncated or corrupt: delete it ` +
        "and fetch it again",
    );
  }
  const n = d.shape!.reduce((a, b) => a * b, 1);
  if (!ArrayBuffer.isView(v) || (v as Float32Array).length !== n) {
    throw new WeightFileError(path, layer, `the ${what} is not a numeric array of ${n} values`);
  }
  // Finiteness is checked by the loader, for every source alike.
  return v instanceof Float32Array
    ? v.slice()
    : Float32Array.from(v as unknown as ArrayLike<number>);
}
