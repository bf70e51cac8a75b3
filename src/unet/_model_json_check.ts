/**
 * Checks of a tfjs layers `model.json` made before TensorFlow.js builds anything from it. tfjs
 * rebuilds a functional model by re-queueing every layer call whose inputs do not exist yet
 * until all exist: an inbound node that names a missing layer, the layer itself, a node index
 * the layer never gets, or any cycle makes that loop spin forever (100 % CPU, deaf to SIGTERM).
 * Other malformed files fail deep inside tfjs with untyped errors (an empty `AssertionError`,
 * `Array buffer allocation failed`) after building half a model whose variables are never
 * freed. Here every such file is refused with a {@linkcode ModelTopologyError} naming the file
 * and the layer. Internal.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
import { nearestName } from "../_internal/did_you_mean.ts";
import { ModelTopologyError } from "./model_files_error.ts";
import { configProblem, nestedClassProblem } from "./_model_json_configs.ts";
import { checkWeights, type WeightSpec } from "./_model_json_weights.ts";
import { isIndex, isObject, type Json, type LayerEntry, show } from "./_model_json_values.ts";

/** Layers that may hand out more than one output tensor per call. */
const MULTI_OUTPUT = new Set(["LSTM", "GRU", "SimpleRNN", "RNN", "Bidirectional", "ConvLSTM2D"]);

/** The class names this process can deserialize (stock tfjs plus whatever is registered). */
function knownClasses(): Set<string> {
  return new Set(Object.keys(tf.serialization.SerializationMap.getMap().classNameMap));
}

/**
 * The functional or sequential config inside a `modelTopology` (Keras' `model_config` wrapper
 * unwrapped), as tfjs reads it.
 */
function modelConfig(path: string, topology: unknown): { cls: string; config: Json } {
  let t = topology;
  if (isObject(t) && t.model_config != null) t = t.model_config;
  if (!isObject(t) || typeof t.class_name !== "string") {
    throw new ModelTopologyError(
      path,
      undefined,
      "modelTopology has no class_name: not a tfjs layers model.json (graph models load with " +
        "tf.loadGraphModel, not here)",
    );
  }
  const cls = t.class_name;
  if (cls !== "Model" && cls !== "Functional" && cls !== "Sequential") {
    throw new ModelTopologyError(
      path,
      undefined,
      `modelTopology's class_name is ${show(cls)}; a layers model is "Model", "Functional" ` +
        'or "Sequential"',
    );
  }
  // A Sequential config may be the bare list of layers.
  const config = Array.isArray(t.config) ? { layers: t.config } : t.config;
  if (!isObject(config) || !Array.isArray(config.layers) || config.layers.length === 0) {
    throw new ModelTopologyError(
      path,
      undefined,
      "modelTopology.config.layers is missing or empty; save the model again",
    );
  }
  return { cls, config };
}

function layerEntries(path: string, layers: readonly unknown[], functional: boolean): LayerEntry[] {
  const known = knownClasses();
  const seen = new Set<string>();
  return layers.map((l, i) => {
    const where = `layers[${i}]`;
    if (!isObject(l) || typeof l.class_name !== "string" || !isObject(l.config)) {
      throw new ModelTopologyError(
        path,
        where,
        "is not a {class_name, config} object; the file is corrupt or hand-edited, save again",
      );
    }
    const name = typeof l.name === "string" ? l.name : l.config.name;
    if (typeof name !== "string" || name === "") {
      throw new ModelTopologyError(path, where, "has no name; every layer needs a unique one");
    }
    if (seen.has(name)) {
      throw new ModelTopologyError(path, name, "the name is used by two layers; rename one");
    }
    seen.add(name);
    if (!known.has(l.class_name)) {
      const hint = nearestName(l.class_name, [...known]);
      throw new ModelTopologyError(
        path,
        name,
        `class ${show(l.class_name)} is not a layer this TensorFlow.js knows${
          hint === undefined ? "" : ` (did you mean "${hint}"?)`
        }; a custom layer must be registered (tf.serialization.registerClass) before loading, ` +
          "and this library's own are (registerLayers)",
      );
    }
    const nodes = functional ? l.inbound_nodes : [];
    if (!Array.isArray(nodes)) {
      throw new ModelTopologyError(path, name, "inbound_nodes is not a list; save the model again");
    }
    return { name, cls: l.class_name, config: l.config, nodes };
  });
}

/** `[layer, node, tensor]` of an inbound node or of input_layers / output_layers. */
function reference(
  path: string,
  owner: string | undefined,
  what: string,
  ref: unknown,
  byName: ReadonlyMap<string, LayerEntry>,
): { layer: LayerEntry; node: number } {
  if (!Array.isArray(ref) || ref.length < 3 || ref.length > 4 || typeof ref[0] !== "string") {
    throw new ModelTopologyError(
      path,
      owner,
      `${what} is ${show(ref)}, not [layer name, node index, tensor index]`,
    );
  }
  const [name, node, tensor] = ref as [string, unknown, unknown];
  const layer = byName.get(name);
  if (layer === undefined) {
    const hint = nearestName(name, [...byName.keys()]);
    throw new ModelTopologyError(
      path,
      owner,
      `${what} names the layer ${show(name)}, which the file does not define${
        hint === undefined ? "" : ` (did you mean "${hint}"?)`
      }; the topology is corrupt or hand-edited, save the model again`,
    );
  }
  if (name === owner) {
    throw new ModelTopologyError(
      path,
      owner,
      `${what} names the layer itself: a layer cannot take its own output as input`,
    );
  }
  const count = layer.cls === "InputLayer" ? 1 : layer.nodes.length;
  if (!isIndex(node) || node >= count) {
    throw new ModelTopologyError(
      path,
      owner,
      `${what} asks for call ${show(node)} of layer '${name}', which is called ${count} ` +
        `time(s); use an index below ${count}`,
    );
  }
  if (!isIndex(tensor) || (tensor > 0 && !MULTI_OUTPUT.has(layer.cls))) {
    throw new ModelTopologyError(
      path,
      owner,
      `${what} asks for output ${show(tensor)} of layer '${name}', which has one output (0)`,
    );
  }
  return { layer, node };
}

/** Inbound nodes resolve, and the calls form no cycle (which would make tfjs loop forever). */
function checkGraph(path: string, entries: readonly LayerEntry[], config: Json): void {
  const byName = new Map(entries.map((e) => [e.name, e]));
  // deps.get("layer#node") = the calls that node waits for.
  const deps = new Map<string, string[]>();
  for (const e of entries) {
    if (e.cls === "InputLayer") {
      if (e.nodes.length > 0) {
        throw new ModelTopologyError(path, e.name, "an InputLayer has no inbound nodes");
      }
      deps.set(`${e.name}#0`, []);
      continue;
    }
    e.nodes.forEach((node, n) => {
      if (!Array.isArray(node) || node.length === 0) {
        throw new ModelTopologyError(
          path,
          e.name,
          `inbound_nodes[${n}] is ${show(node)}, not a non-empty list of inputs`,
        );
      }
      deps.set(
        `${e.name}#${n}`,
        node.map((ref, k) => {
          const r = reference(path, e.name, `inbound_nodes[${n}][${k}]`, ref, byName);
          return `${r.layer.name}#${r.node}`;
        }),
      );
    });
  }
  for (const key of ["input_layers", "output_layers"] as const) {
    const refs = config[key];
    if (!Array.isArray(refs) || refs.length === 0) {
      throw new ModelTopologyError(path, undefined, `modelTopology.config.${key} is missing`);
    }
    refs.forEach((ref, i) => {
      const r = reference(path, undefined, `${key}[${i}]`, ref, byName);
      if (key === "input_layers" && r.layer.cls !== "InputLayer") {
        throw new ModelTopologyError(
          path,
          r.layer.name,
          `input_layers[${i}] names it, but it is a ${r.layer.cls}, not an InputLayer`,
        );
      }
    });
  }
  // Iterative depth-first search (a hostile file may chain 100 000 layers).
  const state = new Map<string, 1 | 2>(); // 1: on the path, 2: done
  for (const start of deps.keys()) {
    if (state.has(start)) continue;
    const stack: [string, number][] = [[start, 0]];
    state.set(start, 1);
    while (stack.length > 0) {
      const top = stack[stack.length - 1]!;
      const next = deps.get(top[0])![top[1]++];
      if (next === undefined) {
        state.set(top[0], 2);
        stack.pop();
      } else if (state.get(next) === 1) {
        const cycle = [...stack.slice(stack.findIndex(([k]) => k === next)).map(([k]) => k), next]
          .map((k) => k.replace(/#0$/, ""));
        throw new ModelTopologyError(
          path,
          next.replace(/#\d+$/, ""),
          `its inputs loop back to it (${cycle.join(" → ")}): a model graph must not have ` +
            "cycles; the topology is corrupt or hand-edited, save the model again",
        );
      } else if (!state.has(next)) {
        state.set(next, 1);
        stack.push([next, 0]);
      }
    }
  }
}

/**
 * Check a `model.json`'s topology and its manifest's weight names and shapes; throws
 * {@linkcode ModelTopologyError} naming `path` and the layer. Needs the custom classes
 * registered first (they count as known).
 */
export function checkModelJson(
  path: string,
  topology: unknown,
  manifest: readonly { readonly weights?: readonly unknown[] }[],
): void {
  const { cls, config } = modelConfig(path, topology);
  const entries = layerEntries(path, config.layers as unknown[], cls !== "Sequential");
  const known = knownClasses();
  for (const e of entries) {
    const why = configProblem(e.cls, e.config) ?? nestedClassProblem(e.config, known);
    if (why !== undefined) throw new ModelTopologyError(path, e.name, why);
  }
  if (cls !== "Sequential") checkGraph(path, entries, config);
  const specs: WeightSpec[] = [];
  manifest.forEach((group, gi) => {
    (group.weights ?? []).forEach((w, wi) => {
      if (
        !isObject(w) || typeof w.name !== "string" || !Array.isArray(w.shape) ||
        !w.shape.every(isIndex)
      ) {
        throw new ModelTopologyError(
          path,
          undefined,
          `weightsManifest[${gi}].weights[${wi}] is ${show(w)}, not {name, shape, dtype} with ` +
            "a shape of integers >= 0",
        );
      }
      specs.push({ name: w.name, shape: w.shape as number[] });
    });
  });
  checkWeights(path, entries, specs);
}
