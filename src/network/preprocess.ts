/**
 * Input checks and the per-channel affine map from the caller's range to what the weights need.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
import { InputRangeError, NetworkInputError } from "./errors.ts";
import { checkNotEmpty } from "../errors/empty_input_error.ts";
import type { InputConvention, InputRange, LossNetwork } from "./loss_network.ts";

/** ImageNet mean in RGB order, on 0–255 (Keras 'caffe' subtracts it in BGR order). */
const CAFFE_MEAN_RGB = [123.68, 116.779, 103.939] as const;
/** torchvision's ImageNet mean and std, RGB, on [0,1]. */
const TORCH_MEAN = [0.485, 0.456, 0.406] as const;
const TORCH_STD = [0.229, 0.224, 0.225] as const;

/**
 * `lo` and `hi` of each declared range.
 *
 * @example
 * ```ts
 * import { RANGE_BOUNDS } from "./preprocess.ts";
 * console.log(RANGE_BOUNDS["[-1,1]"]); // [-1, 1]
 * ```
 */
export const RANGE_BOUNDS: Readonly<Record<InputRange, readonly [number, number]>> = {
  "[0,1]": [0, 1],
  "[0,255]": [0, 255],
  "[-1,1]": [-1, 1],
};

/**
 * Per-channel `scale` and `offset` (RGB order) such that `x·scale + offset` is what the weights
 * expect, and whether the weights then want the channels reversed (BGR).
 */
export interface ChannelAffine {
  /** Multiplier per RGB channel. */
  readonly scale: readonly [number, number, number];
  /** Addend per RGB channel. */
  readonly offset: readonly [number, number, number];
  /** Whether the weights read BGR (caffe): the caller folds this into the first conv. */
  readonly bgr: boolean;
}

/**
 * The affine map of an input convention.
 *
 * @example
 * ```ts
 * import { channelAffine } from "./preprocess.ts";
 * const a = channelAffine({ preprocessing: "caffe", range: "[0,1]" });
 * console.log(a.scale[0], a.offset[0], a.bgr); // 255 -123.68 true
 * ```
 */
export function channelAffine(convention: InputConvention): ChannelAffine {
  const [lo, hi] = RANGE_BOUNDS[convention.range];
  switch (convention.preprocessing) {
    case "caffe": {
      // 0–255 from the declared range, then minus the mean.
      const a = 255 / (hi - lo);
      const s = [a, a, a] as const;
      return { scale: s, offset: CAFFE_MEAN_RGB.map((m) => -lo * a - m) as never, bgr: true };
    }
    case "torch": {
      const a = 1 / (hi - lo);
      return {
        scale: TORCH_STD.map((sd) => a / sd) as never,
        offset: TORCH_MEAN.map((m, c) => (-lo * a - m) / TORCH_STD[c]!) as never,
        bgr: false,
      };
    }
    case "none":
      return { scale: [1, 1, 1], offset: [0, 0, 0], bgr: false };
  }
}

/**
 * Options of a network's input checks.
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs-core";
 * import { initBackend } from "../backend/mod.ts";
 * import { vgg16 } from "../vgg/mod.ts";
 * import type { InputCheckSettings } from "./preprocess.ts";
 * await initBackend("cpu");
 * const debugging: InputCheckSettings = { checkRange: true, rangeTolerance: 0.1 };
 * using net = await vgg16({ weights: { random: 0 }, upTo: "block1_conv1", ...debugging });
 * const x = tf.fill([1, 4, 4, 3], 255) as tf.Tensor4D; // 0–255 values; the network expects [0,1]
 * try {
 *   net.extract(x, ["block1_conv1"]);
 * } catch (e) {
 *   console.log((e as Error).name); // InputRangeError
 * }
 * x.dispose();
 * ```
 */
export interface InputCheckSettings {
  /**
   * Check values against the declared range on every `extract` (default false: it reads the
   * device synchronously, a stall per call and an error on WebGPU; turn it on while debugging).
   */
  readonly checkRange?: boolean;
  /** How far outside the range values may go, as a fraction of its width (default 0.5). */
  readonly rangeTolerance?: number;
}

/** Options of {@linkcode checkInput}. */
export interface InputCheckOptions {
  /** Check values against the declared range (one small reduction and a read-back). */
  readonly checkRange: boolean;
  /** How far outside the range values may go, as a fraction of its width. */
  readonly rangeTolerance: number;
  /** Smallest height and width the deepest requested layer needs. */
  readonly minSize: number;
}

/**
 * Throw {@linkcode NetworkInputError} when `x` is not an NHWC float32 batch with 1 or 3 channels,
 * big enough, with finite values inside the declared range (give or take the tolerance).
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs-core";
 * import { initBackend } from "../backend/mod.ts";
 * import { checkInput } from "./preprocess.ts";
 * await initBackend("cpu");
 * const opts = { checkRange: true, rangeTolerance: 0.5, minSize: 1 };
 * try {
 *   checkInput("vgg16", tf.fill([1, 4, 4, 3], 200), "[0,1]", opts);
 * } catch (e) {
 *   console.log((e as Error).name); // NetworkInputError
 * }
 * ```
 */
export function checkInput(
  network: string,
  x: tf.Tensor,
  range: InputRange,
  options: InputCheckOptions,
): void {
  if (!(x instanceof tf.Tensor)) {
    throw new NetworkInputError(network, "is not a tf.Tensor; pass a 4-D NHWC tensor");
  }
  if (x.isDisposed) throw new NetworkInputError(network, "was already disposed");
  if (x.rank !== 4) {
    throw new NetworkInputError(
      network,
      `has shape [${x.shape.join(",")}] (rank ${x.rank}); pass a 4-D NHWC batch ` +
        "[batch, height, width, channels] (tf.expandDims(image, 0) for one image)",
    );
  }
  checkNotEmpty(`${network}.extract: the input`, x.shape);
  const [, h, w, c] = x.shape as number[];
  if (c !== 1 && c !== 3) {
    throw new NetworkInputError(
      network,
      `has ${c} channels (shape [${x.shape.join(",")}]); pass 1 (grey, repeated to RGB) or ` +
        "3 (RGB) channels, last axis (NHWC)",
    );
  }
  if (x.dtype !== "float32") {
    throw new NetworkInputError(
      network,
      `has dtype ${x.dtype}; cast it with tf.cast(x, "float32")`,
    );
  }
  if (h! < options.minSize || w! < options.minSize) {
    throw new NetworkInputError(
      network,
      `is ${h}×${w}, too small for the requested layers: they need at least ` +
        `${options.minSize}×${options.minSize} (each pool halves the size)`,
    );
  }
  if (!options.checkRange) return;
  const [min, max] = tf.tidy(() => tf.stack([tf.min(x), tf.max(x)]).dataSync());
  throwIfOutside(network, min!, max!, range, options.rangeTolerance);
}

function throwIfOutside(
  network: string,
  min: number,
  max: number,
  range: InputRange,
  tolerance: number,
): void {
  if (!Number.isFinite(min) || !Number.isFinite(max)) {
    throw new InputRangeError(
      network,
      `contains NaN or infinite values (min ${min}, max ${max})`,
      min,
      max,
    );
  }
  const [lo, hi] = RANGE_BOUNDS[range];
  const slack = (hi - lo) * tolerance;
  if (min < lo - slack || max > hi + slack) {
    const hint = max > 2 && hi <= 1
      ? ' (0–255 images? declare inputRange "[0,255]" or divide by 255)'
      : min < -0.5 && lo === 0
      ? ' (images in [-1,1]? declare inputRange "[-1,1]")'
      : "";
    throw new InputRangeError(
      network,
      `has values in [${min}, ${max}], clearly outside the declared range ${range}${hint}; ` +
        "declare the range the images are in",
      min,
      max,
    );
  }
}

/**
 * Throw {@linkcode NetworkInputError} when `x` holds NaN/∞ or values clearly outside the range
 * `net` declares (give or take `tolerance` × its width, default 0.5). Reads back asynchronously,
 * so it works on every backend (WebGPU included) without stalling a step: the way to check inputs
 * once, e.g. on the first batch, where the networks' own per-call `checkRange` is off.
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs-core";
 * import { initBackend } from "../backend/mod.ts";
 * import type { LossNetwork } from "./loss_network.ts";
 * import { assertInputRange } from "./preprocess.ts";
 * await initBackend("cpu");
 * const net = { name: "net", inputConvention: { preprocessing: "none", range: "[0,1]" } };
 * await assertInputRange(net as LossNetwork<string>, tf.fill([1, 2, 2, 3], 200))
 *   .catch((e) => console.log(e.message)); // net.extract: the input has values in [200, 200], …
 * ```
 */
export async function assertInputRange(
  net: LossNetwork<string>,
  x: tf.Tensor,
  tolerance = 0.5,
): Promise<void> {
  checkNotEmpty(`${net.name}: the input`, x.shape);
  const both = tf.tidy(() => tf.stack([tf.min(x), tf.max(x)]));
  try {
    const [min, max] = await both.data();
    throwIfOutside(net.name, min!, max!, net.inputConvention.range, tolerance);
  } finally {
    both.dispose();
  }
}

/**
 * `x·scale + offset` per channel; a 1-channel `x` becomes 3 channels by broadcasting (grey
 * repeated to RGB). Call inside a scope.
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs-core";
 * import { initBackend } from "../backend/mod.ts";
 * import { applyAffine } from "./preprocess.ts";
 * await initBackend("cpu");
 * const s = tf.tensor1d([1, 2, 3]);
 * const o = tf.tensor1d([0, 0, 1]);
 * console.log(applyAffine(tf.ones([1, 1, 1, 1]) as tf.Tensor4D, s, o).dataSync()); // [1, 2, 4]
 * ```
 */
export function applyAffine(x: tf.Tensor4D, scale: tf.Tensor1D, offset: tf.Tensor1D): tf.Tensor4D {
  return tf.add(tf.mul(x, scale), offset) as tf.Tensor4D;
}
