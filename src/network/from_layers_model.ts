/**
 * Any TensorFlow.js layers model as a loss network (pluggable feature extractor).
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
import * as tfl from "@tensorflow/tfjs-layers";
import { DisposedError } from "../lifetime/mod.ts";
import { UnknownLayerError } from "./errors.ts";
import { nearestName } from "../_internal/did_you_mean.ts";
import type { InputConvention, LossNetwork } from "./loss_network.ts";
import { applyAffine, channelAffine, checkInput, checkInputConvention } from "./preprocess.ts";
import type { InputCheckSettings } from "./preprocess.ts";

/**
 * Options of {@linkcode fromLayersModel}.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as tfl from "@tensorflow/tfjs-layers";
 * import { initBackend } from "@perceptual/loss/backend";
 * import { fromLayersModel, type FromLayersModelOptions } from "@perceptual/loss/network";
 * await initBackend("cpu");
 * const input = tfl.input({ shape: [null, null, 3] });
 * const c1 = tfl.layers.conv2d({ filters: 2, kernelSize: 1, name: "c1" }).apply(input);
 * const model = tfl.model({ inputs: input, outputs: c1 as tfl.SymbolicTensor });
 * const options: FromLayersModelOptions = {
 *   name: "tiny", ownModel: false, inputConvention: { preprocessing: "none", range: "[-1,1]" },
 * };
 * fromLayersModel(model, ["c1"], options).dispose(); // the model stays usable: ownModel is false
 * assert.ok(model.getWeights().every((w) => !w.isDisposed));
 * model.dispose();
 * ```
 */
export interface FromLayersModelOptions extends InputCheckSettings {
  /** The input convention (default `{ preprocessing: "none", range: "[0,1]" }`). */
  readonly inputConvention?: InputConvention;
  /** A readable name (default the model's). */
  readonly name?: string;
  /**
   * Whether the network owns the model and disposes it in `dispose()` (default true). Pass
   * false to keep using the model after the network is gone.
   */
  readonly ownModel?: boolean;
}

/**
 * Wrap a tfjs `LayersModel` as a `LossNetwork` exposing the outputs of `layerNames` (layers
 * with 4-D NHWC outputs). `extract` builds (and caches) a sub-model with exactly the requested
 * outputs and runs it once: tfjs-layers computes only the part of the graph those outputs need,
 * so the pass stops at the deepest requested layer. Preprocessing follows `inputConvention`
 * (for `caffe` the channels are reversed to BGR after the affine map); 1-channel inputs are
 * repeated to 3 when the model takes 3.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as tf from "@tensorflow/tfjs-core";
 * import * as tfl from "@tensorflow/tfjs-layers";
 * import { initBackend } from "@perceptual/loss/backend";
 * import { fromLayersModel } from "@perceptual/loss/network";
 * await initBackend("cpu");
 * const input = tfl.input({ shape: [null, null, 3] });
 * const c1 = tfl.layers.conv2d({ filters: 4, kernelSize: 3, padding: "same", name: "c1" }).apply(input);
 * const p1 = tfl.layers.maxPooling2d({ poolSize: 2, name: "p1" }).apply(c1);
 * const model = tfl.model({ inputs: input, outputs: p1 as tfl.SymbolicTensor });
 * using net = fromLayersModel(model, ["c1", "p1"]);
 * const f = net.extract(tf.zeros([1, 8, 8, 3]), ["p1"]);
 * assert.deepEqual(net.layers, ["c1", "p1"]);
 * assert.deepEqual(f.p1.shape, [1, 4, 4, 4]);
 * f.p1.dispose();
 * ```
 */
export function fromLayersModel<const L extends string>(
  model: tfl.LayersModel,
  layerNames: readonly L[],
  options: FromLayersModelOptions = {},
): LossNetwork<L> {
  const name = options.name ?? model.name;
  const all = model.layers.map((l) => l.name);
  checkLayers(model, layerNames, name, all);
  const convention = options.inputConvention ?? { preprocessing: "none", range: "[0,1]" };
  checkInputConvention(convention);
  const affine = channelAffine(convention);
  const inShape = model.inputs[0]!.shape;
  const w: Wrapped<L> = {
    model,
    name,
    all,
    layers: [...new Set(layerNames)].sort((a, b) => all.indexOf(a) - all.indexOf(b)),
    convention,
    affine,
    identity: convention.preprocessing === "none",
    modelChannels: inShape[inShape.length - 1],
    scale: tf.tensor1d([...affine.scale]),
    offset: tf.tensor1d([...affine.offset]),
    subModels: new Map(),
    owns: options.ownModel ?? true,
    checkRange: options.checkRange ?? false,
    tolerance: options.rangeTolerance ?? 0.5,
    disposed: false,
  };
  return {
    name,
    layers: w.layers,
    inputConvention: convention,
    depthOf: (layer: L) => depthOf(w, layer),
    extract: <K extends L>(x: tf.Tensor4D, wanted: readonly K[]) => extract(w, x, wanted),
    dispose: () => disposeWrapped(w),
    [Symbol.dispose](): void {
      this.dispose();
    },
  };
}

/** Every name in `layerNames` is a layer of `model` with one 4-D output. */
function checkLayers(
  model: tfl.LayersModel,
  layerNames: readonly string[],
  name: string,
  all: readonly string[],
): void {
  for (const l of layerNames) {
    if (!all.includes(l)) throw new UnknownLayerError(l, name, nearestName(l, all));
    const shape = model.getLayer(l).outputShape;
    if (!Array.isArray(shape) || Array.isArray(shape[0]) || shape.length !== 4) {
      throw new UnknownLayerError(
        `${l} (output shape ${JSON.stringify(shape)}, not one 4-D NHWC tensor)`,
        name,
      );
    }
  }
}

/** A wrapped model: its layers, its preprocessing and the sub-models made so far. */
interface Wrapped<L extends string> {
  readonly model: tfl.LayersModel;
  readonly name: string;
  /** Every layer of the model, in order. */
  readonly all: readonly string[];
  /** The layers exposed, in model order. */
  readonly layers: readonly L[];
  readonly convention: InputConvention;
  readonly affine: ReturnType<typeof channelAffine>;
  readonly identity: boolean;
  readonly modelChannels: number | null | undefined;
  readonly scale: tf.Tensor1D;
  readonly offset: tf.Tensor1D;
  readonly subModels: Map<string, tfl.LayersModel>;
  readonly owns: boolean;
  readonly checkRange: boolean;
  readonly tolerance: number;
  disposed: boolean;
}

function subModel<L extends string>(w: Wrapped<L>, names: readonly L[]): tfl.LayersModel {
  const key = names.join("\u0000");
  let m = w.subModels.get(key);
  if (m === undefined) {
    // Shares the layers (and weights) of `model`; it owns nothing, so it is never disposed.
    m = tfl.model({
      inputs: w.model.inputs,
      outputs: names.map((n) => w.model.getLayer(n).output as tfl.SymbolicTensor),
    });
    w.subModels.set(key, m);
  }
  return m;
}

function depthOf<L extends string>(w: Wrapped<L>, layer: L): number {
  const i = w.all.indexOf(layer);
  if (i < 0) throw new UnknownLayerError(layer, w.name, nearestName(layer, w.all));
  return i;
}

function extract<L extends string, K extends L>(
  w: Wrapped<L>,
  x: tf.Tensor4D,
  wanted: readonly K[],
): Record<K, tf.Tensor4D> {
  const { name, layers, all } = w;
  if (w.disposed) throw new DisposedError(name);
  const names = [...new Set(wanted)];
  for (const n of names) {
    if (!layers.includes(n)) throw new UnknownLayerError(n, name, nearestName(n, layers));
  }
  if (names.length === 0) return {} as Record<K, tf.Tensor4D>;
  checkInput(name, x, w.convention.range, {
    checkRange: w.checkRange,
    rangeTolerance: w.tolerance,
    minSize: 1,
  });
  names.sort((a, b) => all.indexOf(a) - all.indexOf(b));
  const sub = subModel(w, names);
  return tf.tidy(() => {
    let h: tf.Tensor4D = x;
    if (!w.identity || (x.shape[3] === 1 && w.modelChannels === 3)) {
      h = applyAffine(h, w.scale, w.offset);
      if (w.affine.bgr) h = tf.reverse(h, -1);
    }
    const ys = sub.apply(h, { training: false }) as tf.Tensor | tf.Tensor[];
    const list = Array.isArray(ys) ? ys : [ys];
    const out = {} as Record<K, tf.Tensor4D>;
    names.forEach((n, i) => {
      out[n] = list[i] as tf.Tensor4D;
    });
    return out;
  });
}

function disposeWrapped<L extends string>(w: Wrapped<L>): void {
  if (w.disposed) return;
  w.disposed = true;
  w.scale.dispose();
  w.offset.dispose();
  w.subModels.clear();
  if (w.owns) w.model.dispose();
}
