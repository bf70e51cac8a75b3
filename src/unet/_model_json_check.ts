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

type Json = Record<string, unknown>;

const isObject = (u: unknown): u is Json =>
  typeof u === "object" && u !== null && !Array.isArray(u);
const isIndex = (u: unknown): u is number => Number.isSafeInteger(u) && (u as number) >= 0;
const isPositiveInt = (u: unknown): u is number => Number.isSafeInteger(u) && (u as number) >= 1;
const show = (u: unknown): string => {
  let s: string;
  try {
    s = JSON.stringify(u) ?? String(u);
  } catch {
    s = String(u);
  }
  return s.length > 60 ? `${s.slice(0, 60)}…` : s;
};

/** Layers that may hand out more than one output tensor per call. */
const MULTI_OUTPUT = new Set(["LSTM", "GRU", "SimpleRNN", "RNN", "Bidirectional", "ConvLSTM2D"]);

/** The largest channel count, kernel side or factor a config may ask for. */
const MAX_SIZE = 1 << 16;

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

/** One layer of the config, its fields checked for type. */
interface LayerEntry {
  readonly name: string;
  readonly cls: string;
  readonly config: Json;
  readonly nodes: readonly (readonly unknown[])[];
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

/** A positive integer, or a list of them, up to MAX_SIZE. */
function sizes(u: unknown): number[] | undefined {
  const list = Array.isArray(u) ? u : [u];
  return list.length > 0 && list.every((v) => isPositiveInt(v) && v <= MAX_SIZE)
    ? list as number[]
    : undefined;
}

/** Why a layer's config is out of range, or undefined. Keys are as saved (snake_case). */
function configProblem(cls: string, c: Json): string | undefined {
  const positiveInt = (key: string, max = MAX_SIZE) =>
    isPositiveInt(c[key]) && (c[key] as number) <= max
      ? undefined
      : `${key} is ${show(c[key])}; it must be an integer from 1 to ${max}`;
  const optionalSizes = (...keys: string[]) => {
    for (const k of keys) {
      if (c[k] != null && sizes(c[k]) === undefined) {
        return `${k} is ${
          show(c[k])
        }; it must be a positive integer (or a list of them) up to ${MAX_SIZE}`;
      }
    }
    return undefined;
  };
  switch (cls) {
    case "PerceptualSizeCheck": {
      const d = c.divisor;
      return isPositiveInt(d) && d <= 1 << 12 && (d & (d - 1)) === 0
        ? undefined
        : `divisor is ${show(d)}; it must be a power of two from 1 to 4096 (2^depth)`;
    }
    case "PerceptualPixelShuffle":
      return positiveInt("factor", 64);
    case "PerceptualUpsample":
      return positiveInt("factor", 64) ??
        (c.method === undefined || c.method === "bilinear" || c.method === "bicubic"
          ? undefined
          : `method is ${show(c.method)}; it must be "bilinear" or "bicubic"`) ??
        (c.cubic_a === undefined || Number.isFinite(c.cubic_a)
          ? undefined
          : `cubic_a is ${show(c.cubic_a)}; it must be a finite number (-0.5 as MATLAB)`);
    case "PerceptualOutputMap": {
      const r = c.range;
      if (
        r != null &&
        !(Array.isArray(r) && r.length === 2 && r.every(Number.isFinite) && r[0] < r[1])
      ) {
        return `range is ${show(r)}; it must be null or [low, high] with low < high`;
      }
      return typeof c.residual === "boolean"
        ? undefined
        : `residual is ${show(c.residual)}; it must be true or false`;
    }
    case "PerceptualInstanceNorm":
      return c.epsilon === undefined || (Number.isFinite(c.epsilon) && (c.epsilon as number) > 0)
        ? undefined
        : `epsilon is ${show(c.epsilon)}; it must be a finite number > 0`;
    case "PerceptualChromaToRgb":
      return c.luma_relative === undefined || typeof c.luma_relative === "boolean"
        ? undefined
        : `luma_relative is ${show(c.luma_relative)}; it must be true or false`;
    case "Conv2D":
    case "Conv2DTranspose":
    case "SeparableConv2D":
      return positiveInt("filters") ??
        optionalSizes("kernel_size", "strides", "dilation_rate");
    case "DepthwiseConv2D":
      return optionalSizes("kernel_size", "strides", "dilation_rate", "depth_multiplier");
    case "Dense":
      return positiveInt("units");
    case "UpSampling2D":
    case "MaxPooling2D":
    case "AveragePooling2D":
      return optionalSizes("size", "pool_size", "strides");
    default:
      return undefined;
  }
}

/** Classes nested in a config (initializers, constraints, regularizers) must be known too. */
function nestedClassProblem(u: unknown, known: Set<string>, depth = 0): string | undefined {
  if (depth > 8 || u === null || typeof u !== "object") return undefined;
  if (isObject(u) && typeof u.class_name === "string" && depth > 0 && !known.has(u.class_name)) {
    return `uses the unknown class ${show(u.class_name)} (an initializer, constraint or ` +
      "regularizer); register it before loading";
  }
  for (const v of Object.values(u)) {
    const p = nestedClassProblem(v, known, depth + 1);
    if (p !== undefined) return p;
  }
  return undefined;
}

/** One weight of a manifest group. */
interface WeightSpec {
  readonly name: string;
  readonly shape: readonly number[];
}

/** The weights a layer of a known class must have, with what its config fixes of their shapes. */
function expectedWeights(e: LayerEntry): Map<string, (number | null)[]> | undefined {
  const c = e.config;
  const k = (n: number) => {
    const s = sizes(c.kernel_size) ?? [NaN];
    return s.length === 1 ? Array(n).fill(s[0]!) as number[] : s;
  };
  const bias = c.use_bias !== false;
  switch (e.cls) {
    case "Conv2D":
      return new Map([
        ["kernel", [...k(2), null, c.filters as number]],
        ...(bias ? [["bias", [c.filters as number]] as [string, number[]]] : []),
      ]);
    case "Conv2DTranspose":
      return new Map([
        ["kernel", [...k(2), c.filters as number, null]],
        ...(bias ? [["bias", [c.filters as number]] as [string, number[]]] : []),
      ]);
    case "Dense":
      return new Map([
        ["kernel", [null, c.units as number]],
        ...(bias ? [["bias", [c.units as number]] as [string, number[]]] : []),
      ]);
    case "PerceptualInstanceNorm":
      return new Map([["gamma", [null]], ["beta", [null]]]);
    case "BatchNormalization": {
      const m = new Map<string, (number | null)[]>();
      if (c.scale !== false) m.set("gamma", [null]);
      if (c.center !== false) m.set("beta", [null]);
      m.set("moving_mean", [null]);
      m.set("moving_variance", [null]);
      return m;
    }
    default:
      // Layers of this library and stock ones without weights.
      return e.cls.startsWith("Perceptual") || WEIGHTLESS.has(e.cls) ? new Map() : undefined;
  }
}

const WEIGHTLESS = new Set([
  "InputLayer",
  "ReLU",
  "LeakyReLU",
  "ELU",
  "Softmax",
  "Activation",
  "Concatenate",
  "Add",
  "Multiply",
  "Average",
  "Maximum",
  "Minimum",
  "UpSampling2D",
  "MaxPooling2D",
  "AveragePooling2D",
  "GlobalAveragePooling2D",
  "GlobalMaxPooling2D",
  "Dropout",
  "Flatten",
  "Reshape",
  "ZeroPadding2D",
  "Cropping2D",
]);

/** Manifest weights name layers of the topology and fit what their configs say. */
function checkWeights(path: string, entries: readonly LayerEntry[], specs: WeightSpec[]): void {
  const names = entries.map((e) => e.name).sort((a, b) => b.length - a.length);
  const byLayer = new Map<string, Map<string, readonly number[]>>();
  const seen = new Set<string>();
  for (const s of specs) {
    if (seen.has(s.name)) {
      throw new ModelTopologyError(path, undefined, `the weight '${s.name}' is listed twice`);
    }
    seen.add(s.name);
    const owner = names.find((n) => s.name.startsWith(`${n}/`));
    if (owner === undefined) {
      throw new ModelTopologyError(
        path,
        undefined,
        `weightsManifest lists the weight ${show(s.name)}, which belongs to no layer of the ` +
          "topology; the manifest and topology come from different models, save again",
      );
    }
    const m = byLayer.get(owner) ?? new Map<string, readonly number[]>();
    m.set(s.name.slice(owner.length + 1), s.shape);
    byLayer.set(owner, m);
  }
  for (const e of entries) {
    const want = expectedWeights(e);
    if (want === undefined) continue; // a class whose weights only tfjs knows: checked later
    const got = byLayer.get(e.name) ?? new Map<string, readonly number[]>();
    for (const [w, shape] of want) {
      const g = got.get(w);
      if (g === undefined) {
        throw new ModelTopologyError(
          path,
          e.name,
          `its weight '${e.name}/${w}' is not in weightsManifest; the weights file belongs to ` +
            "another model, save again",
        );
      }
      const fits = g.length === shape.length && shape.every((d, i) => d === null || d === g[i]);
      if (!fits) {
        throw new ModelTopologyError(
          path,
          e.name,
          `weight '${e.name}/${w}' has shape [${g.join(",")}] but the layer's config implies [${
            shape.map((d) => d ?? "?").join(",")
          }]; config and weights do not belong together, save the model again`,
        );
      }
    }
    for (const w of got.keys()) {
      if (!want.has(w)) {
        throw new ModelTopologyError(
          path,
          e.name,
          `weightsManifest lists '${e.name}/${w}', a weight a ${e.cls} layer configured like ` +
            "this does not have",
        );
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
