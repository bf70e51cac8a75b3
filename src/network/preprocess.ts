/**
 * Input checks and the per-channel affine map from the caller's range to what the weights need.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
import { InputRangeError, NetworkInputError } from "./errors.ts";
import { checkNotEmpty } from "../errors/empty_input_error.ts";
import type {
  ChannelNormalisation,
  InputConvention,
  InputRange,
  LossNetwork,
  Preprocessing,
} from "./loss_network.ts";

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
 * import assert from "node:assert/strict";
 * import { RANGE_BOUNDS } from "@perceptual/loss/network";
 * assert.deepEqual(RANGE_BOUNDS["[-1,1]"], [-1, 1]);
 * ```
 */
export const RANGE_BOUNDS: Readonly<
  Record<"[0,1]" | "[0,255]" | "[-1,1]", readonly [number, number]>
> = {
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
 * import assert from "node:assert/strict";
 * import { channelAffine } from "@perceptual/loss/network";
 * const a = channelAffine({ preprocessing: "caffe", range: "[0,1]" });
 * assert.equal(a.scale[0], 255);
 * assert.ok(Math.abs(a.offset[0] + 123.68) < 1e-4);
 * assert.ok(a.bgr);
 * ```
 */
/**
 * The bounds of an input range, named or custom.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { rangeBounds } from "@perceptual/loss/network";
 * assert.deepEqual(rangeBounds("[-1,1]"), [-1, 1]);
 * assert.deepEqual(rangeBounds([0, 4095]), [0, 4095]);
 * ```
 */
export function rangeBounds(range: InputRange): readonly [number, number] {
  return typeof range === "string" ? RANGE_BOUNDS[range] : range;
}

/**
 * An input range as text for messages and records (`[0,1]`).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { rangeText } from "@perceptual/loss/network";
 * assert.equal(rangeText([0, 4095]), "[0,4095]");
 * ```
 */
export function rangeText(range: InputRange): string {
  return typeof range === "string" ? range : `[${range[0]},${range[1]}]`;
}

/**
 * Throws a TypeError unless `convention` is a valid input convention (named or custom range and
 * preprocessing), naming what is wrong.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { checkInputConvention } from "@perceptual/loss/network";
 * checkInputConvention({ preprocessing: { mean: [0.5, 0.5, 0.5], std: [0.5, 0.5, 0.5] }, range: [0, 1] });
 * assert.equal("ok", "ok");
 * ```
 */
export function checkInputConvention(convention: InputConvention): void {
  const r = convention?.range;
  const okRange = typeof r === "string"
    ? r in RANGE_BOUNDS
    : Array.isArray(r) && r.length === 2 && r.every(Number.isFinite) && r[0] < r[1];
  if (!okRange) {
    throw new TypeError(
      `input range ${JSON.stringify(r)} is not one of ${Object.keys(RANGE_BOUNDS).join(", ")} ` +
        "or a [lo, hi] pair of finite numbers with lo < hi",
    );
  }
  const p: Preprocessing = convention.preprocessing;
  if (typeof p === "string") {
    if (!["caffe", "torch", "none"].includes(p)) {
      throw new TypeError(
        `preprocessing ${JSON.stringify(p)} is not caffe, torch, none or { mean, std }`,
      );
    }
    return;
  }
  const triple = (v: unknown) =>
    Array.isArray(v) && v.length === 3 && v.every((x) => typeof x === "number" && isFinite(x));
  if (!triple(p?.mean) || !triple(p?.std) || !p.std.every((x) => x > 0)) {
    throw new TypeError(
      `preprocessing ${JSON.stringify(p)}: mean and std must be three finite numbers (RGB), ` +
        "std > 0",
    );
  }
  if (p.scale !== undefined && !(Number.isFinite(p.scale) && p.scale > 0)) {
    throw new TypeError(`preprocessing scale ${p.scale} must be a finite number > 0`);
  }
}

function normalisationAffine(
  n: ChannelNormalisation,
  lo: number,
  hi: number,
): ChannelAffine {
  const a = (n.scale ?? 1) / (hi - lo);
  return {
    scale: n.std.map((sd) => a / sd) as never,
    offset: n.mean.map((m, c) => (-lo * a - m) / n.std[c]!) as never,
    bgr: n.bgr ?? false,
  };
}

export function channelAffine(convention: InputConvention): ChannelAffine {
  const [lo, hi] = rangeBounds(convention.range);
  if (typeof convention.preprocessing === "object") {
    return normalisationAffine(convention.preprocessing, lo, hi);
  }
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
 * import assert from "node:assert/strict";
 * import * as tf from "@tensorflow/tfjs-core";
 * import { initBackend } from "@perceptual/loss/backend";
 * import { vgg16 } from "@perceptual/loss/vgg";
 * import type { InputCheckSettings } from "@perceptual/loss/network";
 * await initBackend("cpu");
 * const debugging: InputCheckSettings = { checkRange: true, rangeTolerance: 0.1 };
 * using net = await vgg16({ weights: { random: 0 }, upTo: "block1_conv1", ...debugging });
 * const x = tf.fill([1, 4, 4, 3], 255) as tf.Tensor4D; // 0–255 values; the network expects [0,1]
 * try {
 *   net.extract(x, ["block1_conv1"]);
 * } catch (e) {
 *   assert.equal((e as Error).name, "InputRangeError");
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
 * import assert from "node:assert/strict";
 * import * as tf from "@tensorflow/tfjs-core";
 * import { initBackend } from "@perceptual/loss/backend";
 * import { checkInput } from "@perceptual/loss/network";
 * await initBackend("cpu");
 * const opts = { checkRange: true, rangeTolerance: 0.5, minSize: 1 };
 * assert.throws(
 *   () => checkInput("vgg16", tf.fill([1, 4, 4, 3], 200), "[0,1]", opts),
 *   { name: "InputRangeError" },
 * );
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
  const [lo, hi] = rangeBounds(range);
  const slack = (hi - lo) * tolerance;
  if (min < lo - slack || max > hi + slack) {
    const hint = max > 2 && hi <= 1
      ? ' (0–255 images? declare inputRange "[0,255]" or divide by 255)'
      : min < -0.5 && lo === 0
      ? ' (images in [-1,1]? declare inputRange "[-1,1]")'
      : "";
    throw new InputRangeError(
      network,
      `has values in [${min}, ${max}], clearly outside the declared range ${
        rangeText(range)
      }${hint}; ` +
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
 * import assert from "node:assert/strict";
 * import * as tf from "@tensorflow/tfjs-core";
 * import { initBackend } from "@perceptual/loss/backend";
 * import { type LossNetwork, assertInputRange } from "@perceptual/loss/network";
 * await initBackend("cpu");
 * const net = { name: "net", inputConvention: { preprocessing: "none", range: "[0,1]" } };
 * await assert.rejects(
 *   assertInputRange(net as LossNetwork<string>, tf.fill([1, 2, 2, 3], 200)),
 *   /net\.extract: the input has values in \[200, 200\]/,
 * );
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
 * import assert from "node:assert/strict";
 * import * as tf from "@tensorflow/tfjs-core";
 * import { initBackend } from "@perceptual/loss/backend";
 * import { applyAffine } from "@perceptual/loss/network";
 * await initBackend("cpu");
 * const s = tf.tensor1d([1, 2, 3]);
 * const o = tf.tensor1d([0, 0, 1]);
 * assert.deepEqual(
 *   Array.from(applyAffine(tf.ones([1, 1, 1, 1]) as tf.Tensor4D, s, o).dataSync()),
 *   [1, 2, 4],
 * );
 * ```
 */
export function applyAffine(x: tf.Tensor4D, scale: tf.Tensor1D, offset: tf.Tensor1D): tf.Tensor4D {
  return tf.add(tf.mul(x, scale), offset) as tf.Tensor4D;
}
