/**
 * `vgg16(options)` and `vgg19(options)`: build a loss network from ImageNet weights (downloaded
 * once), a local `.h5` file, a tfjs model directory, or seeded random weights.
 *
 * @module
 */
import { type VggConvSpec, vggOps, type VggOpSpec } from "./_architecture.ts";
import { cachedDownload, type DownloadProgress, type ProgressSink } from "./download.ts";
import { MissingWeightsError, NonFiniteWeightsError, WeightFileError } from "./errors.ts";
import { describeNonFinite, nonFinite } from "../_internal/weight_checks.ts";
import { UnknownLayerError } from "../network/errors.ts";
import { nearestName } from "../_internal/did_you_mean.ts";
import { show } from "../_internal/show.ts";
import { openKerasH5 } from "./_h5_weights.ts";
import {
  canonicalVggLayer,
  type Vgg16LayerName,
  type Vgg19LayerName,
  vggAlias,
  type VggArchitecture,
  type VggLayerNameOf,
  vggLayers,
} from "./layers.ts";
import type { InputRange, Preprocessing } from "../network/loss_network.ts";
import { checkInputConvention, type InputCheckSettings } from "../network/preprocess.ts";
import { randomWeights } from "./_random_weights.ts";
import { openTfjsDir } from "./_tfjs_weights.ts";
import type { Vgg16Network, Vgg19Network, VggNetwork } from "./vgg_network.ts";
import { createVggNetwork } from "./_vgg_net.ts";
import type { ConvWeights, WeightSource } from "./_weight_source.ts";
import { checkPrecision, type Precision } from "../backend/native/precision.ts";

export type { DownloadProgress };

/**
 * Where the weights come from.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { initBackend } from "@perceptual/loss/backend";
 * import { vgg16, type VggWeights } from "@perceptual/loss/vgg";
 * await initBackend("cpu");
 * const offline: VggWeights = { random: 7 }; // or "imagenet", or a path to an .h5 file or tfjs dir
 * using net = await vgg16({ weights: offline, upTo: "block1_conv2" });
 * assert.equal(net.weightsSource, "random:7");
 * ```
 */
export type VggWeights =
  /** The official Keras ImageNet notop weights, downloaded once into the cache. */
  | "imagenet"
  /** A Keras `.h5` file, or a TensorFlow.js layers-model directory (or its `model.json`). */
  | string
  /** Seeded He-scaled random weights (deterministic; for tests and offline runs). */
  | { readonly random: number };

/**
 * Options of {@linkcode vgg16} and {@linkcode vgg19}.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { initBackend } from "@perceptual/loss/backend";
 * import { vgg19, type VggOptions } from "@perceptual/loss/vgg";
 * await initBackend("cpu");
 * const options: VggOptions<"relu2_1"> = {
 *   weights: { random: 42 },
 *   upTo: "relu2_1", // loads block1 and block2_conv1 only
 *   inputRange: "[-1,1]", // images from a tanh output, say
 * };
 * using net = await vgg19(options);
 * assert.equal(net.layers.at(-1), "block2_conv1");
 * assert.equal(net.inputConvention.range, "[-1,1]");
 * ```
 */
export interface VggOptions<L extends string = string> extends InputCheckSettings {
  /** `"imagenet"`, a path to an `.h5` file or tfjs model directory, or `{ random: seed }`. */
  readonly weights: VggWeights;
  /** The range the caller's images are in (default `"[0,1]"`). */
  readonly inputRange?: InputRange;
  /**
   * The preprocessing the weights need (default `"caffe"`, right for Keras' ImageNet weights;
   * `"torch"` for weights converted from torchvision).
   */
  readonly preprocessing?: Preprocessing;
  /**
   * The deepest layer to load; only the layers up to it are read, and `extract` can go no
   * deeper. Default: every layer the weights have (for a tfjs directory whose deeper shards
   * are absent, the layers before the first absent one).
   */
  readonly upTo?: L;
  /** Cache directory for `"imagenet"` (default `$PERCEPTUAL_CACHE`, else the user cache dir). */
  readonly cacheDir?: string;
  /** Download URL for `"imagenet"` (a mirror); default Keras' own. */
  readonly url?: string;
  /** The md5 the downloaded file must have (default Keras' published one; set it for mirrors
   * that serve another file). */
  readonly md5?: string;
  /** Download progress; default a progress line on stderr; `false` for silence. */
  readonly onProgress?: ProgressSink;
  /**
   * The arithmetic of the frozen convs: `"f32"` (default) or `"bf16"` — bfloat16 activations
   * and weights with float32 accumulation (the first conv, which sees the image, stays f32),
   * about 1.7× faster on a perceptual loss's forward and backward; loss values within 1e-4 of
   * f32, input gradients within a few % (an L1 distance's sign flips where prediction and
   * target features are within bf16's rounding). `"bf16"` needs `initBackend("native")` on a CPU with AVX512-BF16 or AMX,
   * and throws `PrecisionUnavailableError` (from `@perceptual/loss/backend`) elsewhere, saying why.
   */
  readonly precision?: Precision;
}

/**
 * The official Keras notop weight files: name, URL and the md5 Keras checks.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { KERAS_IMAGENET_WEIGHTS, type KerasWeightsFile } from "@perceptual/loss/vgg";
 * const keras: KerasWeightsFile = KERAS_IMAGENET_WEIGHTS.vgg16;
 * const mirror: KerasWeightsFile = { ...keras, url: "https://example.org/vgg16_notop.h5" };
 * // vgg16({ weights: "imagenet", url: mirror.url, md5: mirror.md5 }) fetches it from there
 * assert.equal(mirror.fileName, "vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5");
 * ```
 */
export interface KerasWeightsFile {
  /** The file name Keras caches it under. */
  readonly fileName: string;
  /** Where Keras downloads it from. */
  readonly url: string;
  /** The md5 Keras verifies (keras/applications/vgg16.py, vgg19.py `file_hash`). */
  readonly md5: string;
}

/**
 * The Keras ImageNet notop weight files for each architecture.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { KERAS_IMAGENET_WEIGHTS } from "@perceptual/loss/vgg";
 * assert.equal(KERAS_IMAGENET_WEIGHTS.vgg16.md5, "6d6bbae143d832006294945121d1f1fc");
 * ```
 */
export const KERAS_IMAGENET_WEIGHTS: Readonly<Record<VggArchitecture, KerasWeightsFile>> = {
  vgg16: {
    fileName: "vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5",
    url: "https://storage.googleapis.com/tensorflow/keras-applications/vgg16/" +
      "vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5",
    md5: "6d6bbae143d832006294945121d1f1fc",
  },
  vgg19: {
    fileName: "vgg19_weights_tf_dim_ordering_tf_kernels_notop.h5",
    url: "https://storage.googleapis.com/tensorflow/keras-applications/vgg19/" +
      "vgg19_weights_tf_dim_ordering_tf_kernels_notop.h5",
    md5: "253f8cb515780f3b799900260a226db6",
  },
};

async function openSource(
  arch: VggArchitecture,
  options: VggOptions,
): Promise<WeightSource> {
  const w = options.weights;
  if (typeof w === "object" && w !== null && "random" in w) return randomWeights(w.random);
  if (w === "imagenet") {
    const official = KERAS_IMAGENET_WEIGHTS[arch];
    const file = await cachedDownload({
      url: options.url ?? official.url,
      md5: options.md5 ?? official.md5,
      fileName: official.fileName,
      ...(options.cacheDir === undefined ? {} : { cacheDir: options.cacheDir }),
      ...(options.onProgress === undefined ? {} : { onProgress: options.onProgress }),
    });
    return await openKerasH5(file.path, "imagenet");
  }
  if (typeof w !== "string" || w === "") {
    throw new TypeError(
      `weights must be "imagenet", a path to an .h5 file or tfjs model directory, or ` +
        `{ random: seed }; got ${show(w)}`,
    );
  }
  let isDir = false;
  try {
    isDir = (await Deno.stat(w)).isDirectory;
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) {
      throw new WeightFileError(w, undefined, "no such file or directory; check the path");
    }
    throw e;
  }
  return isDir || w.endsWith(".json") ? await openTfjsDir(w) : await openKerasH5(w);
}

function checkOptions(arch: VggArchitecture, options: VggOptions): void {
  if (options === null || typeof options !== "object" || !("weights" in options)) {
    throw new TypeError(
      `${arch}(options) needs options.weights: "imagenet", a path, or { random: seed }`,
    );
  }
  const range = options.inputRange ?? "[0,1]";
  const pre = options.preprocessing ?? "caffe";
  try {
    checkInputConvention({ range, preprocessing: pre });
  } catch (e) {
    // Name the option as the caller wrote it.
    throw new TypeError((e as Error).message.replace(/^input range/, "inputRange"));
  }
  checkPrecision(options.precision ?? "f32");
  const tol = options.rangeTolerance;
  if (tol !== undefined && !(tol >= 0)) {
    throw new TypeError(`rangeTolerance ${tol} must be a number >= 0`);
  }
}

/**
 * `w`, once every value is known finite: checked here, for every source, on the host arrays
 * before any tensor exists (one NaN made losses NaN on cpu and a silent 0 on wasm).
 */
function finiteWeights(source: WeightSource, layer: string, w: ConvWeights): ConvWeights {
  for (const part of ["kernel", "bias"] as const) {
    const bad = nonFinite(w[part]);
    if (bad !== undefined) {
      throw new NonFiniteWeightsError(source.file, layer, part, describeNonFinite(bad));
    }
  }
  return w;
}

async function loadVgg<A extends VggArchitecture>(
  arch: A,
  options: VggOptions<VggLayerNameOf<A>>,
): Promise<VggNetwork<A>> {
  checkOptions(arch, options);
  const all = vggLayers(arch);
  let upTo: string | undefined;
  if (options.upTo !== undefined && typeof options.upTo !== "string") {
    throw new TypeError(
      `${arch}: upTo must be a layer name such as "${all[4]}" or "relu2_2", got ${
        show(options.upTo)
      }`,
    );
  }
  if (options.upTo !== undefined) {
    upTo = canonicalVggLayer(arch, options.upTo);
    if (upTo === undefined) {
      const names = all.flatMap((l) => [l, vggAlias(l)!]);
      throw new UnknownLayerError(options.upTo, arch, nearestName(options.upTo, names));
    }
  }
  const ops = vggOps(arch);
  const last = upTo === undefined ? ops.length - 1 : all.indexOf(upTo as never);
  const source = await openSource(arch, options);
  try {
    const weights = new Map<string, ConvWeights>();
    const loaded: VggOpSpec[] = [];
    let truncation: string | undefined = upTo === undefined || last === ops.length - 1
      ? undefined
      : `upTo: "${options.upTo}"`;
    for (let i = 0; i <= last; i++) {
      const op = ops[i]!;
      if (op.kind === "conv") {
        const why = source.absent(op.name);
        if (why !== undefined) {
          // Asked for (upTo) or the very first layer: an error. Otherwise the source simply
          // ends here, which is fine until someone asks for a deeper layer.
          if (upTo !== undefined || loaded.length === 0) {
            throw new MissingWeightsError(source.file, op.name, why);
          }
          truncation = `${op.name}: ${why}`;
          break;
        }
        weights.set(op.name, finiteWeights(source, op.name, await source.read(op as VggConvSpec)));
      }
      loaded.push(op);
    }
    return createVggNetwork({
      architecture: arch,
      ops: loaded,
      weights,
      convention: {
        preprocessing: options.preprocessing ?? "caffe",
        range: options.inputRange ?? "[0,1]",
      },
      weightsSource: source.description,
      truncation,
      precision: options.precision ?? "f32",
      checks: {
        ...(options.checkRange === undefined ? {} : { checkRange: options.checkRange }),
        ...(options.rangeTolerance === undefined ? {} : { rangeTolerance: options.rangeTolerance }),
      },
    });
  } finally {
    source.close();
  }
}

/**
 * A VGG-16 loss network (Keras layer names, post-ReLU conv outputs, 'caffe' preprocessing by
 * default). Only the layers up to `upTo` (default: all the weights have) are read and kept.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as tf from "@tensorflow/tfjs-core";
 * import { initBackend } from "@perceptual/loss/backend";
 * import { vgg16 } from "@perceptual/loss/vgg";
 * await initBackend("cpu");
 * using net = await vgg16({ weights: { random: 0 }, upTo: "block2_conv2" });
 * const f = net.extract(tf.ones([2, 32, 32, 3]), ["relu2_2"]);
 * assert.deepEqual(f.relu2_2.shape, [2, 16, 16, 128]);
 * f.relu2_2.dispose();
 * ```
 */
export function vgg16(options: VggOptions<Vgg16LayerName>): Promise<Vgg16Network> {
  return loadVgg("vgg16", options);
}

/**
 * A VGG-19 loss network (Keras layer names, post-ReLU conv outputs, 'caffe' preprocessing by
 * default). Only the layers up to `upTo` (default: all the weights have) are read and kept.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as tf from "@tensorflow/tfjs-core";
 * import { initBackend } from "@perceptual/loss/backend";
 * import { vgg19 } from "@perceptual/loss/vgg";
 * await initBackend("cpu");
 * using net = await vgg19({ weights: { random: 0 }, upTo: "relu1_2" });
 * assert.deepEqual(net.layers, ["block1_conv1", "block1_conv2"]);
 * ```
 */
export function vgg19(options: VggOptions<Vgg19LayerName>): Promise<Vgg19Network> {
  return loadVgg("vgg19", options);
}
