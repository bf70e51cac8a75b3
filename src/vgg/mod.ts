/**
 * Loss networks: VGG-16 / VGG-19 with typed layer names, one truncated forward pass, and real
 * weight loading (Keras ImageNet download, `.h5`, tfjs model directories, seeded random), plus
 * {@linkcode fromLayersModel} to use any tfjs model as the feature extractor.
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs-core";
 * import { initBackend } from "../backend/mod.ts";
 * import { beforePools, vgg16 } from "./mod.ts";
 * await initBackend("cpu");
 * using net = await vgg16({ weights: { random: 42 }, upTo: "block3_conv3" });
 * const [b1, b2, b3] = beforePools(net);
 * const feats = net.extract(tf.zeros([1, 32, 32, 3]), [b1, b2, b3]);
 * console.log(feats.block3_conv3.shape); // [1, 8, 8, 256]
 * tf.dispose(feats);
 * ```
 *
 * @module
 */
export * from "./loss_network.ts";
export * from "./layers.ts";
export * from "./errors.ts";
export * from "./architecture.ts";
export * from "./vgg_network.ts";
export * from "./vgg.ts";
export * from "./from_layers_model.ts";
export { CACHE_ENV_VAR, cachedDownload, defaultCacheDir } from "./download.ts";
export type {
  CachedDownloadOptions,
  CachedFile,
  CacheRecord,
  DownloadProgress,
  ProgressSink,
} from "./download.ts";
export { openKerasH5 } from "./h5_weights.ts";
export type { KerasH5Source } from "./h5_weights.ts";
export { openTfjsDir, type TfjsDirOptions } from "./tfjs_weights.ts";
export {
  checkSha256,
  parseSha256Sums,
  sha256Hex,
  SHA256SUMS_FILE,
  WeightHashError,
} from "./sha256sums.ts";
export type { ConvWeights, WeightSource } from "./weight_source.ts";
export { heConv, randomWeights } from "./random_weights.ts";
