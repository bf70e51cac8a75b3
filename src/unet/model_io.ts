/**
 * Saving and loading tfjs-layers models as files, in TensorFlow.js's standard layers format
 * (`model.json` with `modelTopology` and `weightsManifest`, plus a binary weights file), from Deno.
 * The same directory loads in a browser with stock TensorFlow.js after `registerLayers()`.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
import * as tfl from "@tensorflow/tfjs-layers";
import { OutsideFolderError, readFileInside, writeFileAtomic } from "../_internal/fs.ts";
import { sha256Hex } from "../_internal/hash.ts";
import { ModelFilesError, ModelTopologyError } from "./model_files_error.ts";
import { checkModelJson } from "./_model_json_check.ts";
import { registerLayers } from "./register.ts";
import {
  describeNonFinite,
  manifestEntryBytes,
  nonFiniteStored,
  shardPathProblem,
} from "../_internal/weight_checks.ts";

/** The name of the topology file. */
export const MODEL_JSON = "model.json";

export { ModelFilesError, ModelTopologyError };

function join(dir: string, name: string): string {
  return dir.endsWith("/") ? `${dir}${name}` : `${dir}/${name}`;
}

async function readJson(path: string): Promise<unknown> {
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) {
      throw new ModelFilesError(path, "it does not exist; save a model there first (saveModel)");
    }
    throw new ModelFilesError(path, `cannot be read: ${(e as Error).message}`);
  }
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new ModelFilesError(path, `is not JSON: ${(e as Error).message}`);
  }
}

const WEIGHTS_FILE = /^weights-[0-9a-f]{16}\.bin$/;

function manifestPaths(json: unknown): string[] {
  const manifest = (json as { weightsManifest?: unknown } | null)?.weightsManifest;
  if (!Array.isArray(manifest)) return [];
  return manifest.flatMap((g) =>
    Array.isArray(g?.paths) ? g.paths.filter((p: unknown) => typeof p === "string") : []
  );
}

/**
 * A `tf.io.IOHandler` that saves to and loads from a directory: `model.json` plus one weights
 * file named after its content (`weights-<sha256 prefix>.bin`). Each file is written to a
 * temporary name and renamed; the weights go first and `model.json` last, so the directory
 * always holds a complete model (the old or the new one); weight files the old `model.json`
 * named are removed after the switch. Loading reads every path of the manifest (so files
 * converted by the tfjs tools, in shards, load too).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as tfl from "@tensorflow/tfjs-layers";
 * import { initBackend } from "@perceptual/loss/backend";
 * import { fileSystemHandler } from "@perceptual/loss/unet";
 * await initBackend("cpu");
 * const model = tfl.sequential({ layers: [tfl.layers.dense({ units: 1, inputShape: [2] })] });
 * const dir = await Deno.makeTempDir();
 * await model.save(fileSystemHandler(dir));
 * const again = await tfl.loadLayersModel(fileSystemHandler(dir));
 * assert.equal(again.layers.length, 1);
 * ```
 */
export function fileSystemHandler(dir: string): tf.io.IOHandler {
  return {
    save: (artifacts: tf.io.ModelArtifacts) => saveArtifacts(dir, artifacts),
    load: () => loadArtifacts(dir),
  };
}

/** The `model.json` that names the weights file `weightsName`. */
function modelJsonOf(artifacts: tf.io.ModelArtifacts, weightsName: string): tf.io.ModelJSON {
  const modelJson: tf.io.ModelJSON = {
    modelTopology: artifacts.modelTopology!,
    format: artifacts.format ?? "layers-model",
    generatedBy: artifacts.generatedBy ?? `TensorFlow.js tfjs-layers v${tfl.version_layers}`,
    convertedBy: artifacts.convertedBy ?? null,
    weightsManifest: [{ paths: [weightsName], weights: artifacts.weightSpecs ?? [] }],
  };
  if (artifacts.trainingConfig !== undefined) {
    modelJson.trainingConfig = artifacts.trainingConfig;
  }
  if (artifacts.userDefinedMetadata !== undefined) {
    modelJson.userDefinedMetadata = artifacts.userDefinedMetadata;
  }
  return modelJson;
}

/** {@linkcode fileSystemHandler}'s save: the weights, then `model.json`, then old weights removed. */
async function saveArtifacts(
  dir: string,
  artifacts: tf.io.ModelArtifacts,
): Promise<tf.io.SaveResult> {
  const modelPath = join(dir, MODEL_JSON);
  if (artifacts.modelTopology instanceof ArrayBuffer) {
    throw new ModelFilesError(dir, "binary (graph-model) topologies are not supported here");
  }
  await Deno.mkdir(dir, { recursive: true });
  const weights = tf.io.CompositeArrayBuffer.join(artifacts.weightData ?? new ArrayBuffer(0));
  const weightsName = `weights-${(await sha256Hex(weights)).slice(0, 16)}.bin`;
  let previous: string[] = [];
  try {
    previous = manifestPaths(JSON.parse(await Deno.readTextFile(modelPath)));
  } catch { /* no earlier model here */ }
  const json = new TextEncoder().encode(JSON.stringify(modelJsonOf(artifacts, weightsName)));
  await writeFileAtomic(join(dir, weightsName), new Uint8Array(weights));
  await writeFileAtomic(modelPath, json);
  for (const old of previous) {
    if (old !== weightsName && WEIGHTS_FILE.test(old)) {
      await Deno.remove(join(dir, old)).catch(() => {});
    }
  }
  return {
    modelArtifactsInfo: {
      dateSaved: new Date(),
      modelTopologyType: "JSON",
      modelTopologyBytes: JSON.stringify(artifacts.modelTopology).length,
      weightSpecsBytes: JSON.stringify(artifacts.weightSpecs ?? []).length,
      weightDataBytes: weights.byteLength,
    },
  };
}

/** {@linkcode fileSystemHandler}'s load: `model.json` checked, then every shard it lists. */
async function loadArtifacts(dir: string): Promise<tf.io.ModelArtifacts> {
  const modelPath = join(dir, MODEL_JSON);
  const json = await readJson(modelPath) as Partial<tf.io.ModelJSON> | null;
  if (json === null || typeof json !== "object" || json.modelTopology == null) {
    throw new ModelFilesError(modelPath, "has no modelTopology: not a tfjs layers model.json");
  }
  if (!Array.isArray(json.weightsManifest)) {
    throw new ModelFilesError(
      modelPath,
      "has no weightsManifest: not a tfjs layers model.json",
    );
  }
  json.weightsManifest.forEach((g, gi) => {
    const group = g as unknown as Record<string, unknown> | null;
    if (
      group === null || typeof group !== "object" || !Array.isArray(group.paths) ||
      !Array.isArray(group.weights)
    ) {
      throw new ModelTopologyError(
        modelPath,
        undefined,
        `weightsManifest[${gi}] is not {paths: [...], weights: [...]}; save the model again`,
      );
    }
  });
  // Before tfjs sees the topology: a malformed one can make it loop forever.
  registerLayers();
  checkModelJson(modelPath, json.modelTopology, json.weightsManifest);
  return await tf.io.getModelArtifactsForJSON(
    json as tf.io.ModelJSON,
    (manifest) => readWeights(dir, manifest),
  );
}

/** Every weight group's shards (paths checked to lie beside `model.json`), each group checked. */
async function readWeights(
  dir: string,
  manifest: tf.io.WeightsManifestConfig,
): Promise<[tf.io.WeightsManifestEntry[], ArrayBuffer]> {
  const modelPath = join(dir, MODEL_JSON);
  const specs: tf.io.WeightsManifestEntry[] = [];
  const buffers: ArrayBuffer[] = [];
  for (const [gi, group] of manifest.entries()) {
    specs.push(...group.weights);
    for (const path of group.paths) {
      const why = shardPathProblem(path);
      if (why !== undefined) {
        throw new ModelFilesError(
          modelPath,
          `weightsManifest[${gi}] lists the shard ${JSON.stringify(path.slice(0, 200))}, ` +
            `refused: ${why}; shards must be files beside ${MODEL_JSON}`,
        );
      }
    }
    const parts: Uint8Array[] = [];
    for (const path of group.paths) {
      const file = join(dir, path);
      try {
        parts.push(await readFileInside(dir, path));
      } catch (e) {
        if (e instanceof OutsideFolderError) throw new ModelFilesError(file, e.message);
        throw new ModelFilesError(
          file,
          `listed in ${MODEL_JSON} but unreadable (${(e as Error).message}); copy the ` +
            "whole directory, not only model.json",
        );
      }
    }
    const group8 = concat(parts);
    checkGroup(modelPath, gi, group, group8);
    buffers.push(group8.buffer as ArrayBuffer);
  }
  return [specs, tf.io.CompositeArrayBuffer.join(buffers)];
}

function concat(parts: readonly Uint8Array[]): Uint8Array {
  const all = new Uint8Array(parts.reduce((a, p) => a + p.length, 0));
  let o = 0;
  for (const p of parts) {
    all.set(p, o);
    o += p.length;
  }
  return all;
}

/**
 * A group's shards hold exactly the bytes its manifest describes, and every float decodes to a
 * finite value: checked on the host bytes, before tfjs makes tensors of them.
 */
function checkGroup(
  modelPath: string,
  gi: number,
  group: tf.io.WeightsManifestConfig[number],
  bytes: Uint8Array,
): void {
  const sizes = group.weights.map((w) => manifestEntryBytes(w));
  const want = sizes.reduce((a, b) => a + b, 0);
  if (bytes.length !== want) {
    throw new ModelFilesError(
      modelPath,
      Number.isNaN(want)
        ? `weightsManifest[${gi}] lists a weight whose dtype has no fixed size; its shards ` +
          "cannot be checked"
        : `weightsManifest[${gi}]'s shard(s) ${group.paths.join(", ")} hold ${bytes.length} ` +
          `bytes but the manifest describes ${want}: a ${
            bytes.length < want ? "truncated" : "too long"
          } shard, or a weights file of another model; save the model again`,
    );
  }
  let offset = 0;
  group.weights.forEach((w, i) => {
    const bad = nonFiniteStored(bytes.subarray(offset, offset + sizes[i]!), w);
    if (bad !== undefined) {
      throw new ModelFilesError(
        join(directoryOf(modelPath), group.paths.join(", ")),
        `weight '${w.name}' holds ${describeNonFinite(bad)}: the model was saved after ` +
          "training diverged, or the file is corrupt; use an earlier checkpoint or save again",
      );
    }
    offset += sizes[i]!;
  });
}

function directoryOf(path: string): string {
  return path.endsWith(`/${MODEL_JSON}`)
    ? path.slice(0, -MODEL_JSON.length - 1)
    : path === MODEL_JSON
    ? "."
    : path;
}

/**
 * Save a tfjs-layers model (a U-Net or any other) into `dir` in the standard layers format.
 * Optimizer state is not saved (checkpoints keep it separately).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { initBackend } from "@perceptual/loss/backend";
 * import { saveModel, unet } from "@perceptual/loss/unet";
 * await initBackend("cpu");
 * const model = unet({ depth: 1, baseFilters: 4 });
 * const dir = await Deno.makeTempDir();
 * await saveModel(model, dir);
 * assert.ok((await Deno.stat(`${dir}/model.json`)).isFile);
 * model.dispose();
 * ```
 */
export async function saveModel(model: tfl.LayersModel, dir: string): Promise<void> {
  await model.save(fileSystemHandler(directoryOf(dir)), { includeOptimizer: false });
}

/**
 * Load a model saved by {@linkcode saveModel} (or by TensorFlow.js's own tools) from a directory
 * or a `model.json` path; registers this library's layers first.
 *
 * @throws {ModelFilesError} naming the missing or malformed file.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { initBackend } from "@perceptual/loss/backend";
 * import { loadModel, saveModel, unet } from "@perceptual/loss/unet";
 * await initBackend("cpu");
 * const dir = await Deno.makeTempDir();
 * const model = unet({ depth: 1, baseFilters: 4 });
 * await saveModel(model, dir);
 * const again = await loadModel(dir);
 * assert.equal(again.name, "unet");
 * ```
 */
export async function loadModel(dir: string): Promise<tfl.LayersModel> {
  registerLayers();
  const folder = directoryOf(dir);
  const artifacts = await fileSystemHandler(folder).load!();
  return await buildModel(join(folder, MODEL_JSON), artifacts);
}

/** The layer a weight name such as `enc1_conv1/kernel` belongs to. */
function layerOf(weight: string): string {
  const slash = weight.lastIndexOf("/");
  return slash > 0 ? weight.slice(0, slash) : weight;
}

/**
 * Build the model from checked artifacts, compare its weights with the manifest's names and
 * shapes, then load them. On any failure everything made so far is disposed: the model, or,
 * when tfjs failed half-way through building it, the variables its layers had registered.
 */
async function buildModel(
  path: string,
  artifacts: tf.io.ModelArtifacts,
): Promise<tfl.LayersModel> {
  const registered = () => tf.engine().state.registeredVariables;
  const before = new Set(Object.keys(registered()));
  let model: tfl.LayersModel | undefined;
  try {
    // Without weights: they are compared with what the layers built before any is loaded.
    model = await tfl.loadLayersModel(tf.io.fromMemory({
      modelTopology: artifacts.modelTopology,
      trainingConfig: artifacts.trainingConfig,
      userDefinedMetadata: artifacts.userDefinedMetadata,
    }));
    const specs = new Map((artifacts.weightSpecs ?? []).map((s) => [s.name, s]));
    for (const w of model.weights) {
      const spec = specs.get(w.originalName);
      if (spec === undefined) {
        throw new ModelTopologyError(
          path,
          layerOf(w.originalName),
          `its weight '${w.originalName}' is not in weightsManifest; the weights belong to ` +
            "another model, save again",
        );
      }
      if (spec.shape.join(",") !== w.shape.join(",")) {
        throw new ModelTopologyError(
          path,
          layerOf(w.originalName),
          `weight '${w.originalName}' is stored with shape [${spec.shape.join(",")}] but the ` +
            `layer has [${w.shape.join(",")}]; config and weights do not belong together`,
        );
      }
      specs.delete(w.originalName);
    }
    const extra = [...specs.keys()][0];
    if (extra !== undefined) {
      throw new ModelTopologyError(
        path,
        layerOf(extra),
        `weightsManifest lists '${extra}', which no layer of the model has`,
      );
    }
    if (artifacts.weightData !== undefined) {
      const values = tf.io.decodeWeights(artifacts.weightData, artifacts.weightSpecs ?? []);
      try {
        model.loadWeights(values, true);
      } finally {
        tf.dispose(Object.values(values));
      }
    }
    return model;
  } catch (e) {
    if (model !== undefined) {
      model.dispose();
    } else {
      const layers = layerNames(artifacts.modelTopology);
      for (const [name, v] of Object.entries(registered())) {
        if (!before.has(name) && layers.some((l) => name.startsWith(`${l}/`))) v.dispose();
      }
    }
    if (e instanceof ModelFilesError) throw e;
    throw new ModelTopologyError(
      path,
      undefined,
      `TensorFlow.js could not build the model (${
        (e as Error)?.message || (e as Error)?.name || String(e)
      }); the file is corrupt or was written by an incompatible tool, save the model again`,
    );
  }
}

function layerNames(topology: unknown): string[] {
  // deno-lint-ignore no-explicit-any
  const t = topology as any;
  const layers = (t?.model_config ?? t)?.config?.layers ?? (t?.model_config ?? t)?.config;
  return Array.isArray(layers)
    ? layers.map((l) => l?.name ?? l?.config?.name).filter((n) => typeof n === "string")
    : [];
}
