/**
 * The U-Net configuration: its type, an io-ts codec, defaults, and a decoder that names every
 * problem with its path.
 *
 * @module
 */
import * as E from "fp-ts/lib/Either.js";
import * as t from "io-ts";
import {
  boundedJson,
  isObject,
  oneOf,
  orThrow,
  pathOf,
  refined,
  show,
  unknownKeys,
} from "../_internal/decode.ts";
import { DecodeError, type DecodeIssue } from "../errors/decode_error.ts";

/**
 * How the decoder (and the super-resolution tail) doubles the spatial size.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { initBackend } from "@perceptual/loss/backend";
 * import { type UpsampleMode, unet } from "@perceptual/loss/unet";
 * await initBackend("cpu");
 * const mode: UpsampleMode = "transpose"; // r×r transposed convolutions with stride r
 * const model = unet({ depth: 1, baseFilters: 4, upsample: mode, seed: 1 });
 * assert.ok(model.layers.some((l) => l.getClassName() === "Conv2DTranspose"));
 * model.dispose();
 * ```
 */
export type UpsampleMode = "pixelShuffle" | "transpose" | "bilinear" | "resizeConv";
/**
 * Normalisation after each 3×3 convolution.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { initBackend } from "@perceptual/loss/backend";
 * import { type NormMode, unet } from "@perceptual/loss/unet";
 * await initBackend("cpu");
 * for (const norm of ["batch", "none"] as NormMode[]) {
 *   const model = unet({ depth: 1, baseFilters: 4, norm, seed: 1 });
 *   const norms = model.layers.filter((l) => l.getClassName() === "BatchNormalization");
 *   assert.equal(norms.length, norm === "batch" ? 6 : 0);
 *   model.dispose();
 * }
 * ```
 */
export type NormMode = "batch" | "instance" | "none";
/**
 * The non-linearity after each convolution.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { type ActivationName, decodeUNetConfigOrThrow } from "@perceptual/loss/unet";
 * const activation: ActivationName = "leakyRelu"; // slope 0.1
 * assert.equal(decodeUNetConfigOrThrow({ activation }).activation, "leakyRelu");
 * assert.throws(
 *   () => decodeUNetConfigOrThrow({ activation: "tanh" }),
 *   /activation: "tanh" is not one of relu \|/,
 * );
 * ```
 */
export type ActivationName = "relu" | "leakyRelu" | "elu" | "swish" | "gelu";
/**
 * Output size ÷ input size.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as tf from "@tensorflow/tfjs-core";
 * import { initBackend } from "@perceptual/loss/backend";
 * import { type UNetScale, unet } from "@perceptual/loss/unet";
 * await initBackend("cpu");
 * const scale: UNetScale = 3;
 * const model = unet({ depth: 1, baseFilters: 4, scale, seed: 1 });
 * const y = model.predict(tf.zeros([1, 8, 8, 3])) as tf.Tensor;
 * assert.deepEqual(y.shape, [1, 24, 24, 3]);
 * tf.dispose(y);
 * model.dispose();
 * ```
 */
export type UNetScale = 1 | 2 | 3 | 4;
/**
 * The interpolation of the input that the network's residual is added to.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { decodeUNetConfigOrThrow, type ResidualUpsample } from "@perceptual/loss/unet";
 * const cheap: ResidualUpsample = "bilinear"; // the residual sits on a bilinear ×2 of the input
 * const config = decodeUNetConfigOrThrow({ scale: 2, residual: true, residualUpsample: cheap });
 * assert.equal(config.residualUpsample, "bilinear");
 * assert.equal(config.upsample, "pixelShuffle");
 * ```
 */
export type ResidualUpsample = "bicubic" | "bilinear";

/**
 * Every upsample mode, in documentation order.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { UPSAMPLE_MODES } from "@perceptual/loss/unet";
 * assert.deepEqual(UPSAMPLE_MODES, ["pixelShuffle", "transpose", "bilinear", "resizeConv"]);
 * ```
 */
export const UPSAMPLE_MODES: readonly UpsampleMode[] = [
  "pixelShuffle",
  "transpose",
  "bilinear",
  "resizeConv",
];
/**
 * Every normalisation.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { NORM_MODES } from "@perceptual/loss/unet";
 * assert.deepEqual(NORM_MODES, ["batch", "instance", "none"]);
 * ```
 */
export const NORM_MODES: readonly NormMode[] = ["batch", "instance", "none"];
/**
 * Every activation.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { ACTIVATIONS } from "@perceptual/loss/unet";
 * assert.deepEqual(ACTIVATIONS, ["relu", "leakyRelu", "elu", "swish", "gelu"]);
 * ```
 */
export const ACTIVATIONS: readonly ActivationName[] = ["relu", "leakyRelu", "elu", "swish", "gelu"];
/**
 * Every scale.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { SCALES } from "@perceptual/loss/unet";
 * assert.deepEqual(SCALES, [1, 2, 3, 4]);
 * ```
 */
export const SCALES: readonly UNetScale[] = [1, 2, 3, 4];
/**
 * Every residual interpolation.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { RESIDUAL_UPSAMPLES } from "@perceptual/loss/unet";
 * assert.deepEqual(RESIDUAL_UPSAMPLES, ["bicubic", "bilinear"]);
 * ```
 */
export const RESIDUAL_UPSAMPLES: readonly ResidualUpsample[] = ["bicubic", "bilinear"];
/**
 * The deepest U-Net the builder makes (2^6 = 64: inputs must be multiples of 64 at depth 6).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { MAX_DEPTH } from "@perceptual/loss/unet";
 * assert.equal(MAX_DEPTH, 6);
 * ```
 */
export const MAX_DEPTH = 6;

/**
 * A U-Net: an encoder of `depth` levels (two 3×3 convolutions, then 2×2 max-pooling; filters
 * `baseFilters·2^level`), a bottleneck, a decoder that upsamples and concatenates the skip
 * connection at each level, an optional super-resolution tail, and a head of `outChannels`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { initBackend } from "@perceptual/loss/backend";
 * import { defaultUNetConfig, type UNetConfig, unet } from "@perceptual/loss/unet";
 * await initBackend("cpu");
 * const config: UNetConfig = {
 *   ...defaultUNetConfig,
 *   inChannels: 1, outChannels: 3, depth: 2, baseFilters: 8, seed: 1, name: "tint",
 * };
 * const model = unet(config); // grey in, RGB out, inputs multiples of 2² = 4
 * assert.equal(model.name, "tint");
 * assert.deepEqual(model.inputs[0]!.shape, [null, null, null, 1]);
 * assert.deepEqual(model.outputs[0]!.shape, [null, null, null, 3]);
 * model.dispose();
 * ```
 */
export interface UNetConfig {
  /** Channels of the input image (1 for grayscale, 3 for RGB). */
  readonly inChannels: number;
  /** Channels of the output image (3 when colourising a grayscale input). */
  readonly outChannels: number;
  /** Number of down-sampling levels, 0 to 6; inputs must be multiples of 2^depth. */
  readonly depth: number;
  /** Filters of the first level; each deeper level doubles them. */
  readonly baseFilters: number;
  /**
   * After every 3×3 convolution: `batch` normalisation (running statistics at inference),
   * `instance` normalisation (per image and channel over height and width, the same in training
   * and inference: the usual choice for style networks), or `none` (convolutions get biases).
   */
  readonly norm: NormMode;
  /** Non-linearity after every hidden convolution (`leakyRelu` uses slope 0.1). */
  readonly activation: ActivationName;
  /**
   * `pixelShuffle`: conv to r²·filters channels with ICNR initialisation, then pixel shuffle;
   * `transpose`: r×r transposed conv with stride r; `bilinear`: bilinear resize then a 3×3 conv;
   * `resizeConv`: nearest-neighbour resize then a 3×3 conv (Odena, Dumoulin & Olah 2016,
   * "Deconvolution and checkerboard artifacts": every output pixel sees the same number of
   * source pixels, so no fixed lattice; cheaper than bilinear, same conv cost as the others).
   */
  readonly upsample: UpsampleMode;
  /** Super-resolution factor: the output is `scale` times the input's height and width. */
  readonly scale: UNetScale;
  /**
   * `null` for an unbounded output, or `[low, high]`: a sigmoid mapped onto the range (with a
   * residual, the residual is added in logit space, so the output stays inside the range).
   */
  readonly outputRange: readonly [number, number] | null;
  /**
   * Predict a residual over the input (upsampled by `scale` when scale > 1; a 1-channel input is
   * broadcast over the output channels). Needs inChannels = outChannels or inChannels = 1.
   */
  readonly residual: boolean;
  /** The interpolation of the input under the residual when scale > 1. */
  readonly residualUpsample: ResidualUpsample;
  /** Seed for the initial weights (`null`: random); the same seed builds the same weights. */
  readonly seed: number | null;
  /** The model's name (letters, digits, `_` and `-`). */
  readonly name: string;
}

/**
 * Defaults: RGB to RGB, depth 3, 32 base filters, batch norm, ReLU, pixel shuffle, scale 1, an
 * unbounded output, a residual over a bicubic upsample of the input.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { defaultUNetConfig } from "@perceptual/loss/unet";
 * assert.equal(defaultUNetConfig.depth, 3);
 * ```
 */
export const defaultUNetConfig: UNetConfig = {
  inChannels: 3,
  outChannels: 3,
  depth: 3,
  baseFilters: 32,
  norm: "batch",
  activation: "relu",
  upsample: "pixelShuffle",
  scale: 1,
  outputRange: null,
  residual: true,
  residualUpsample: "bicubic",
  seed: null,
  name: "unet",
};

const isInt = (u: unknown): u is number => typeof u === "number" && Number.isInteger(u);

const PositiveInt = refined<number>("a positive integer", (u) => isInt(u) && u > 0);
const Channels = refined<number>(
  "an integer from 1 to 4096",
  (u) => isInt(u) && u >= 1 && u <= 4096,
);
const Depth = refined<number>(
  `an integer from 0 to ${MAX_DEPTH}`,
  (u) => isInt(u) && u >= 0 && u <= MAX_DEPTH,
);
const OutputRange = refined<readonly [number, number] | null>(
  "null or a [low, high] pair of finite numbers with low < high",
  (u) =>
    u === null ||
    (Array.isArray(u) && u.length === 2 && u.every((v) => typeof v === "number" && isFinite(v)) &&
      u[0] < u[1]),
);
const Seed = refined<number | null>("null or an integer", (u) => u === null || isInt(u));
const Name = refined<string>(
  "a name of 1 to 64 letters, digits, '_' or '-'",
  (u) => typeof u === "string" && /^[A-Za-z0-9_-]{1,64}$/.test(u),
);

const fields = {
  inChannels: Channels,
  outChannels: Channels,
  depth: Depth,
  baseFilters: PositiveInt,
  norm: oneOf(NORM_MODES),
  activation: oneOf(ACTIVATIONS),
  upsample: oneOf(UPSAMPLE_MODES),
  scale: oneOf(SCALES),
  outputRange: OutputRange,
  residual: refined<boolean>("true or false", (u) => typeof u === "boolean"),
  residualUpsample: oneOf(RESIDUAL_UPSAMPLES),
  seed: Seed,
  name: Name,
};

const FIELD_NAMES = Object.keys(fields) as (keyof UNetConfig)[];

/**
 * The io-ts codec of a complete {@linkcode UNetConfig} (every field present). For JSON with
 * defaults for absent fields, and path-named errors, use {@linkcode decodeUNetConfig}.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { defaultUNetConfig, UNetConfigCodec } from "@perceptual/loss/unet";
 * assert.ok(UNetConfigCodec.is(defaultUNetConfig));
 * ```
 */
export const UNetConfigCodec: t.Type<UNetConfig, UNetConfig, unknown> = t.type(
  fields,
  "UNetConfig",
);

const PartialCodec = t.partial(fields, "Partial<UNetConfig>");

/** Checks between fields, on a config whose fields are each valid. */
function crossFieldProblems(c: UNetConfig): DecodeIssue[] {
  const problems: DecodeIssue[] = [];
  if (c.residual && c.inChannels !== c.outChannels && c.inChannels !== 1) {
    problems.push({
      path: "residual",
      message: `a residual over the input needs inChannels (${c.inChannels}) = outChannels ` +
        `(${c.outChannels}) or inChannels = 1; set residual: false`,
    });
  }
  return problems;
}

const WHAT = "U-Net config";

/**
 * Decode JSON (an object, or JSON text) into a complete {@linkcode UNetConfig}: absent fields
 * take {@linkcode defaultUNetConfig}'s values; unknown fields, wrong types and values out of
 * range are all reported together, as a `DecodeError` listing every problem with its path, e.g.
 * `upsample: "nearest" is not one of pixelShuffle | transpose | bilinear | resizeConv`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as E from "fp-ts/lib/Either.js";
 * import { decodeUNetConfig } from "@perceptual/loss/unet";
 * const r = decodeUNetConfig({ depth: 2, baseFilters: 16, scale: 2 });
 * assert.ok(E.isRight(r));
 * if (E.isRight(r)) assert.equal(r.right.upsample, "pixelShuffle");
 * ```
 */
export function decodeUNetConfig(json: unknown): E.Either<DecodeError, UNetConfig> {
  // A config is a dozen short fields: anything far larger is refused before it is read.
  const parsed = boundedJson(json, { chars: 100_000, depth: 4, stringChars: 256, arrayLength: 64 });
  if (E.isLeft(parsed)) return E.left(new DecodeError(WHAT, parsed.left));
  const raw = parsed.right;
  if (!isObject(raw)) {
    return E.left(
      new DecodeError(WHAT, [{
        path: "(root)",
        message: `${show(raw)} is not an object of U-Net fields (${FIELD_NAMES.join(", ")})`,
      }]),
    );
  }
  const problems: DecodeIssue[] = [];
  const result = PartialCodec.decode(raw);
  if (E.isLeft(result)) {
    for (const e of result.left) {
      const last = e.context[e.context.length - 1]!;
      problems.push({
        path: pathOf(e.context),
        message: `${show(e.value)} is not ${last.type.name}`,
      });
    }
  }
  problems.push(...unknownKeys(raw, FIELD_NAMES, ""));
  if (problems.length > 0) return E.left(new DecodeError(WHAT, problems));
  const given = Object.fromEntries(
    Object.entries(raw).filter(([, v]) => v !== undefined).map((
      [k, v],
    ) => [k, Array.isArray(v) ? [...v] : v]),
  ) as Partial<UNetConfig>;
  const config: UNetConfig = { ...defaultUNetConfig, ...given };
  const cross = crossFieldProblems(config);
  return cross.length > 0 ? E.left(new DecodeError(WHAT, cross)) : E.right(config);
}

/**
 * {@linkcode decodeUNetConfig}, returning the config or throwing its `DecodeError`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { decodeUNetConfigOrThrow } from "@perceptual/loss/unet";
 * assert.equal(decodeUNetConfigOrThrow({ depth: 2 }).baseFilters, 32);
 * ```
 */
export function decodeUNetConfigOrThrow(json: unknown): UNetConfig {
  return orThrow(decodeUNetConfig(json));
}
