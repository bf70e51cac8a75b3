/**
 * The VGG loss networks: VGG-16 / VGG-19 with typed layer names, one truncated forward pass, and
 * real weight loading (Keras ImageNet download, `.h5`, tfjs model directories, seeded random).
 * They implement the `LossNetwork` contract of the `network` module (whose `fromLayersModel`
 * wraps any other tfjs model).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as tf from "@tensorflow/tfjs-core";
 * import { initBackend } from "@perceptual/loss/backend";
 * import { beforePools, vgg16 } from "@perceptual/loss/vgg";
 * await initBackend("cpu");
 * using net = await vgg16({ weights: { random: 42 }, upTo: "block3_conv3" });
 * const [b1, b2, b3] = beforePools(net);
 * const feats = net.extract(tf.zeros([1, 32, 32, 3]), [b1, b2, b3]);
 * assert.deepEqual(feats.block3_conv3.shape, [1, 8, 8, 256]);
 * tf.dispose(feats);
 * ```
 *
 * @module
 */
export {
  beforePools,
  canonicalVggLayer,
  type HasVggArchitecture,
  isVggLayerName,
  johnsonStyle,
  type JohnsonStyleLayers,
  VGG16_LAYERS,
  type Vgg16Alias,
  type Vgg16BeforePools,
  type Vgg16Layer,
  type Vgg16LayerName,
  VGG19_LAYERS,
  type Vgg19Alias,
  type Vgg19BeforePools,
  type Vgg19Layer,
  type Vgg19LayerName,
  VGG_ARCHITECTURES,
  vggAlias,
  type VggAliasOf,
  type VggArchitecture,
  type VggLayerNameOf,
  type VggLayerOf,
  vggLayers,
} from "./layers.ts";
export {
  DownloadError,
  HashMismatchError,
  LayerNotLoadedError,
  MissingWeightsError,
  NonFiniteWeightsError,
  WeightFileError,
  WeightShapeError,
} from "./errors.ts";
export { type Vgg16Network, type Vgg19Network, type VggNetwork } from "./vgg_network.ts";
export {
  KERAS_IMAGENET_WEIGHTS,
  type KerasWeightsFile,
  vgg16,
  vgg19,
  type VggOptions,
  type VggWeights,
} from "./vgg.ts";
export {
  CACHE_ENV_VAR,
  cachedDownload,
  type CachedDownloadOptions,
  type CachedFile,
  type CacheRecord,
  defaultCacheDir,
} from "./download.ts";
export type { DownloadProgress, ProgressSink } from "./download.ts";
export { checkSha256, parseSha256Sums, SHA256SUMS_FILE, WeightHashError } from "./sha256sums.ts";
