/**
 * The weight checks of a model.json: every manifest weight belongs to a layer of the topology,
 * and layers of known classes have exactly the weights their configs imply, with matching
 * shapes where the config fixes them (the input channels are checked after tfjs builds the
 * layers, by `loadModel`). Internal.
 *
 * @module
 */
import { ModelTopologyError } from "./model_files_error.ts";
import { type LayerEntry, show, sizes } from "./_model_json_values.ts";

/** One weight of a manifest group. */
export interface WeightSpec {
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
export function checkWeights(
  path: string,
  entries: readonly LayerEntry[],
  specs: WeightSpec[],
): void {
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
