/**
 * Whole-image inference for a U-Net (or any fully convolutional tfjs-layers model) on an image of
 * any size: pad to the size the network needs, predict (in overlapping tiles when the image is
 * large), crop back. Imports only tfjs-core and tfjs-layers, so it runs in a browser as in Deno.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
import type * as tfl from "@tensorflow/tfjs-layers";
import { type ModelGeometry, modelGeometry } from "./_receptive_field.ts";
import { checkNotEmpty } from "../errors/empty_input_error.ts";
import { ModelDisposedError, PredictImageInputError } from "./errors.ts";
import { tileBudget } from "./_tile_budget.ts";

/**
 * The default budget for the largest intermediate tensor of one tile: 2^25 elements (128 MiB of
 * float32). WebGL fails above 8192² RGBA texels (2^28 elements), so this keeps an 8× margin, and
 * it keeps a phone's memory in reach.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { DEFAULT_MAX_ELEMENTS } from "@perceptual/loss/unet";
 * assert.equal(DEFAULT_MAX_ELEMENTS * 4 / 2 ** 20, 128); // (MiB of float32)
 * ```
 */
export const DEFAULT_MAX_ELEMENTS = 2 ** 25;

/**
 * Options of {@linkcode predictImage}.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as tf from "@tensorflow/tfjs-core";
 * import { initBackend } from "@perceptual/loss/backend";
 * import { predictImage, type PredictImageOptions, unet } from "@perceptual/loss/unet";
 * await initBackend("cpu");
 * const model = unet({ depth: 1, baseFilters: 4, seed: 1 });
 * const image = tf.randomUniform([40, 36, 3], 0, 1, "float32", 1) as tf.Tensor3D;
 * const whole = predictImage(model, image, { tileSize: Infinity }); // one call, untiled
 * const options: PredictImageOptions = { tileSize: 32 }; // overlap: the model's receptive field
 * const tiled = predictImage(model, image, options);
 * assert.ok(tf.tidy(() => tf.max(tf.abs(tf.sub(whole, tiled))).dataSync()[0]! < 1e-4));
 * tf.dispose([image, whole, tiled]);
 * model.dispose();
 * ```
 */
export interface PredictImageOptions {
  /**
   * The largest input tile side (overlap included) predicted in one call; larger images are cut
   * into overlapping tiles. Default: the largest multiple of `multiple` whose biggest
   * intermediate tensor stays under `maxElements`, but at least 4× the overlap (so no more than
   * 4× the work is spent on overlaps). `Infinity` predicts the whole image at once, and so does
   * the default for a model with instance normalisation (its per-image statistics make tiles
   * inexact; a `tileSize` for such a model needs an explicit `overlap`).
   */
  readonly tileSize?: number;
  /**
   * Input pixels of context kept around each tile and discarded after predicting. Default: the
   * model's receptive-field radius found from its layers, which makes tiled output equal to
   * untiled output up to float rounding; smaller values are faster and approximate.
   */
  readonly overlap?: number;
  /**
   * What the input sides (and tile origins) must be multiples of. Default: the model's
   * `PerceptualSizeCheck` divisor or its coarsest pooling stride (2^depth for a U-Net).
   */
  readonly multiple?: number;
  /**
   * The element budget for the default `tileSize`. Default: {@linkcode DEFAULT_MAX_ELEMENTS} in a
   * browser; in Deno (through `@perceptual/loss/unet`) `denoMaxElements()`, a quarter of the
   * backend's memory, so that only images too large for it are tiled.
   */
  readonly maxElements?: number;
}

/** The default element budget: the Deno side's when it set one, else the browser's. */
function defaultMaxElements(): number {
  return tileBudget() ?? DEFAULT_MAX_ELEMENTS;
}

function positiveInteger(name: string, v: number): number {
  if (!Number.isInteger(v) || v < 1) {
    throw new RangeError(`predictImage: ${name} must be a positive integer, got ${v}`);
  }
  return v;
}

function sizeCheckDivisor(model: tfl.LayersModel): number {
  let d = 1;
  for (const layer of model.layers) {
    if (layer.getClassName() === "PerceptualSizeCheck") {
      d = Math.max(d, Number(layer.getConfig().divisor));
    }
  }
  return d;
}

/** Pads the bottom and right by repeating the last row and column. */
function replicatePad(x: tf.Tensor4D, padH: number, padW: number): tf.Tensor4D {
  return tf.tidy(() => {
    let y = x;
    if (padH > 0) {
      const [b, h, w, c] = y.shape;
      const last = tf.slice(y, [0, h - 1, 0, 0], [b, 1, w, c]);
      y = tf.concat([y, tf.broadcastTo(last, [b, padH, w, c])], 1);
    }
    if (padW > 0) {
      const [b, h, w, c] = y.shape;
      const last = tf.slice(y, [0, 0, w - 1, 0], [b, h, 1, c]);
      y = tf.concat([y, tf.broadcastTo(last, [b, h, padW, c])], 2);
    }
    return y === x ? tf.clone(x) : y;
  });
}

/** One axis of the tile grid: the kept core `[core, core + size)` and the input `[from, to)`. */
interface Span {
  readonly core: number;
  readonly size: number;
  readonly from: number;
  readonly to: number;
}

function spans(length: number, tile: number, margin: number): Span[] {
  if (length <= tile) return [{ core: 0, size: length, from: 0, to: length }];
  const step = tile - 2 * margin;
  const out: Span[] = [];
  for (let core = 0; core < length; core += step) {
    const size = Math.min(step, length - core);
    out.push({
      core,
      size,
      from: Math.max(0, core - margin),
      to: Math.min(length, core + size + margin),
    });
  }
  return out;
}

function predict4d(model: tfl.LayersModel, x: tf.Tensor4D): tf.Tensor4D {
  const y = model.predict(x);
  if (Array.isArray(y) || y.rank !== 4) {
    tf.dispose(y);
    throw new TypeError(
      "predictImage needs a model with one image output [batch, height, width, channels]",
    );
  }
  return y as tf.Tensor4D;
}

/** The output/input size ratio, checked to be the same on both axes and to map pixels to pixels. */
function scaleOf(input: tf.Tensor4D, output: tf.Tensor4D, multiple: number): number {
  const r = output.shape[1] / input.shape[1];
  if (output.shape[2] / input.shape[2] !== r || !Number.isInteger(r * multiple)) {
    throw new TypeError(
      `predictImage: the model maps ${input.shape[1]}×${input.shape[2]} to ` +
        `${output.shape[1]}×${output.shape[2]}; it needs one integer scale on both axes`,
    );
  }
  return r;
}

/** What a value that is not a tensor is, in a few words. */
function describe(u: unknown): string {
  if (u === null || u === undefined) return String(u);
  if (ArrayBuffer.isView(u)) {
    return `a ${u.constructor.name} of ${(u as unknown as { length: number }).length} values`;
  }
  if (Array.isArray(u)) return `an array of ${u.length} values`;
  return typeof u === "object" ? `an object (${u.constructor?.name ?? "Object"})` : typeof u;
}

/**
 * The checks made before anything is computed: a live model, a live non-empty tensor image, and
 * the channel count the model takes.
 */
function checkImage(model: tfl.LayersModel, image: tf.Tensor): void {
  // tfjs marks a disposed layer with a reference count of 0 and then fails with "Layer
  // 'size_check' is already disposed" deep inside predict.
  const refCount = (l: unknown) => (l as { _refCount?: number | null })._refCount;
  if (refCount(model) === 0 || model.layers.some((l) => refCount(l) === 0)) {
    throw new ModelDisposedError("predictImage", model.name);
  }
  const t = image as unknown as { rank?: unknown; shape?: unknown; isDisposed?: unknown };
  if (typeof t?.rank !== "number" || !Array.isArray(t.shape)) {
    throw new PredictImageInputError(
      `the image must be a Tensor3D [height, width, channels] or a Tensor4D, got ${
        describe(image)
      }; make one with tensor3d(data, [height, width, channels]) from tfjs`,
    );
  }
  if (t.isDisposed === true) {
    throw new PredictImageInputError(
      `the image tensor [${image.shape.join(",")}] was already disposed; keep it until ` +
        "predictImage returns (dispose it after, or pass a tf.clone of it)",
    );
  }
  checkNotEmpty("predictImage: image", image.shape);
  const wanted = model.inputs.length === 1 ? model.inputs[0]!.shape.at(-1) : undefined;
  const got = image.shape.at(-1)!;
  if ((image.rank === 3 || image.rank === 4) && typeof wanted === "number" && got !== wanted) {
    const fix = got === 1 && wanted === 3
      ? "for a grey image, repeat it: tf.tile(image, [1, 1, 3]) (rank 4: [1, 1, 1, 3])"
      : wanted === 1 && got >= 3
      ? "convert it to grey first (toGrayscale from the data module)"
      : `give it ${wanted} channels`;
    throw new PredictImageInputError(
      `the image has ${got} channel${got === 1 ? "" : "s"} but the model takes ${wanted} ` +
        `(its input is [${model.inputs[0]!.shape.map((d) => d ?? "null").join(",")}]); ${fix}`,
    );
  }
}

/**
 * Run `model` on a whole image of any height and width: the image is padded at the bottom and
 * right to a multiple of the network's size divisor by repeating its last row and column, then
 * predicted, then the output is cropped back to `scale ×` the input size. Images larger than the
 * tile size are predicted in tiles that overlap by the network's receptive-field radius; the
 * overlaps are discarded, so the result equals the untiled one up to float rounding while no
 * intermediate tensor exceeds WebGL's texture limit.
 *
 * Why replicate padding: it works for every image size (reflection needs the image to be larger
 * than the pad, which fails for a 10-pixel-wide image and a 2^6 divisor), and it is the border the
 * U-Net's own bicubic residual uses, so the residual's base over the kept pixels is exactly the
 * bicubic upscale of the unpadded image.
 *
 * @param model a fully convolutional model: a U-Net from `unet()`, loaded with
 *   `tf.loadLayersModel` after `registerLayers`, or any model of the layers this library knows
 *   (pass `overlap` and `multiple` for others).
 * @param image float pixels `[height, width, channels]` or `[batch, height, width, channels]`,
 *   in the range the model was trained on ([0, 1] for this library's examples).
 * @returns a new tensor of the same rank, `[…, height·scale, width·scale, outChannels]`; the
 *   caller owns it. Nothing else is left behind.
 * @throws {EmptyInputError} for an image with a zero height, width, channel count or batch.
 * @throws {PredictImageInputError} for an image that is not a tensor, was disposed, or has a
 *   channel count the model does not take.
 * @throws {ModelDisposedError} for a model used after `dispose()`.
 * @throws {RangeError} for an image that is not rank 3 or 4, or bad options.
 * @throws {TypeError} for a model with several outputs, a non-integer scale, or a layer whose
 *   reach is unknown when tiling needs it.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as tf from "@tensorflow/tfjs-core";
 * import { initBackend } from "@perceptual/loss/backend";
 * import { unet, predictImage } from "@perceptual/loss/unet";
 * await initBackend("cpu");
 * const model = unet({ depth: 1, baseFilters: 4, scale: 2, outputRange: [0, 1] });
 * const image = tf.randomUniform([31, 45, 3]) as tf.Tensor3D; // odd sides
 * const up = predictImage(model, image, { tileSize: 32 }); // tiled, same values as untiled
 * assert.deepEqual(up.shape, [62, 90, 3]);
 * tf.dispose([image, up]);
 * model.dispose();
 * ```
 */
export function predictImage<T extends tf.Tensor3D | tf.Tensor4D>(
  model: tfl.LayersModel,
  image: T,
  options: PredictImageOptions = {},
): T {
  checkImage(model, image);
  if (image.rank !== 3 && image.rank !== 4) {
    throw new RangeError(
      `predictImage takes [height, width, channels] or [batch, height, width, channels]; got ` +
        `shape [${image.shape.join(", ")}]`,
    );
  }
  const { multiple, margin, tile } = tilingOf(model, options);
  const roundUp = (n: number) => Math.ceil(n / multiple) * multiple;
  const batched = (image.rank === 3 ? tf.expandDims(image, 0) : image) as tf.Tensor4D;
  const [, h, w] = batched.shape;
  const padded = replicatePad(batched, roundUp(h) - h, roundUp(w) - w);
  if (batched !== image) batched.dispose();
  try {
    return predictTiles(model, padded, { multiple, margin, tile }, [h, w], image.rank) as T;
  } finally {
    padded.dispose();
  }
}

/** How an image is cut: the size divisor, each tile's overlap (margin) and its side. */
interface Tiling {
  readonly multiple: number;
  readonly margin: number;
  /** Infinity: the whole image in one piece. */
  readonly tile: number;
}

/** The options checked, and the tiling they and the model's geometry give. */
function tilingOf(model: tfl.LayersModel, options: PredictImageOptions): Tiling {
  const tileOption = options.tileSize ?? NaN;
  if (options.tileSize !== undefined && tileOption !== Infinity) {
    positiveInteger("tileSize", tileOption);
  }
  if (options.overlap !== undefined && options.overlap !== 0) {
    positiveInteger("overlap", options.overlap);
  }
  if (options.multiple !== undefined) positiveInteger("multiple", options.multiple);
  const maxElements = options.maxElements ?? defaultMaxElements();
  if (!(maxElements > 0)) {
    throw new RangeError(`predictImage: maxElements must be positive, got ${maxElements}`);
  }

  const needsGeometry = options.multiple === undefined ||
    (tileOption !== Infinity && (options.overlap === undefined || options.tileSize === undefined));
  const geometry: ModelGeometry | undefined = needsGeometry ? modelGeometry(model) : undefined;
  if (
    geometry?.global && options.tileSize !== undefined && tileOption !== Infinity &&
    options.overlap === undefined
  ) {
    throw new RangeError(
      `predictImage: this model normalises with per-image statistics (instance norm), so tiles ` +
        `of ${options.tileSize} pixels would each be normalised differently and no overlap ` +
        `makes them match the whole image; leave tileSize out to predict in one piece, or pass ` +
        `{ overlap } as well to accept approximate tiles`,
    );
  }
  // Per-image statistics: only the whole image in one piece gives the model's exact output.
  const whole = tileOption === Infinity ||
    (geometry?.global === true && options.tileSize === undefined);
  const multiple = options.multiple ??
    Math.max(geometry!.multiple, sizeCheckDivisor(model));
  const roundUp = (n: number) => Math.ceil(n / multiple) * multiple;
  const margin = whole ? 0 : roundUp(options.overlap ?? geometry!.radius);
  const budgetSide = geometry === undefined
    ? 0
    : Math.floor(Math.sqrt(maxElements / geometry.elementsPerPixel) / multiple) * multiple;
  const tile = whole
    ? Infinity
    : options.tileSize === undefined
    ? Math.max(budgetSide, roundUp(4 * margin), multiple)
    : Math.floor(tileOption / multiple) * multiple;
  if (tile !== Infinity && tile - 2 * margin < multiple) {
    throw new RangeError(
      `predictImage: tileSize ${options.tileSize ?? tile} leaves no room inside an overlap of ` +
        `${margin} pixels on each side (tiles start at multiples of ${multiple}); use a tileSize ` +
        `of at least ${2 * margin + multiple} or a smaller overlap`,
    );
  }
  return { multiple, margin, tile };
}

/**
 * The prediction of the padded batch `padded`, tile by tile, each tile's overlap discarded and
 * the result cropped to `scale ×` the unpadded `[h, w]`, of rank `rank`. A new tensor; the
 * caller owns it.
 */
function predictTiles(
  model: tfl.LayersModel,
  padded: tf.Tensor4D,
  { multiple, margin, tile }: Tiling,
  [h, w]: readonly [number, number],
  rank: number,
): tf.Tensor3D | tf.Tensor4D {
  const pieces: tf.Tensor4D[][] = [];
  let scale = 0;
  try {
    for (const row of spans(padded.shape[1], tile, margin)) {
      const line: tf.Tensor4D[] = [];
      pieces.push(line);
      for (const col of spans(padded.shape[2], tile, margin)) {
        line.push(tf.tidy(() => {
          const input = tf.slice(padded, [0, row.from, col.from, 0], [
            -1,
            row.to - row.from,
            col.to - col.from,
            -1,
          ]);
          const out = predict4d(model, input);
          if (scale === 0) scale = scaleOf(input, out, multiple);
          // Keep the core, and of the image's last tile only what lies inside the unpadded image.
          const keepH = Math.min(row.core + row.size, h) - row.core;
          const keepW = Math.min(col.core + col.size, w) - col.core;
          return tf.slice(
            out,
            [0, (row.core - row.from) * scale, (col.core - col.from) * scale, 0],
            [-1, Math.max(0, keepH) * scale, Math.max(0, keepW) * scale, -1],
          );
        }));
      }
    }
    return tf.tidy(() => {
      const rows = pieces.map((line) => line.length === 1 ? line[0]! : tf.concat(line, 2));
      const whole = rows.length === 1 ? tf.clone(rows[0]!) : tf.concat(rows, 1);
      return rank === 3 ? tf.squeeze<tf.Tensor3D>(whole, [0]) : whole;
    });
  } finally {
    for (const line of pieces) tf.dispose(line);
  }
}
