/**
 * Training pairs: random crops of a folder of images, degraded into inputs, batched as tensors,
 * deterministic for a seed, with the next batch prepared while the consumer works.
 *
 * @module
 */
import { EmptyInputError } from "../errors/empty_input_error.ts";
import * as tf from "@tensorflow/tfjs-core";
import { setImmediate } from "node:timers";
import {
  cropShape,
  type CropSize,
  type FlipOptions,
  randomCropWindow,
  randomDihedral,
} from "./augment.ts";
import type { BicubicOptions } from "./bicubic.ts";
import {
  bicubicDegradation,
  chainDegradations,
  type Degradation,
  jpegDegradation,
} from "./degrade.ts";
import type { Batch } from "./batch.ts";
import { ImageShapeError } from "./errors.ts";
import { imageFolder } from "./image_folder.ts";
import {
  type ChannelCount,
  cropSamples,
  decodeSamples,
  type LoadImageOptions,
  readImageBytes,
  type Samples,
} from "./image_io.ts";
import { checkPixels, flipPixels, type Pixels, stackPixels } from "./pixels.ts";
import { deriveSeed, mulberry32, shuffledIndices } from "./rng.ts";

/**
 * Where the images come from and how they are cut and ordered. Give one of dir, files, images.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as tf from "@tensorflow/tfjs-core";
 * import { initBackend } from "@perceptual/loss/backend";
 * import { grayscaleDegradation, imagePairs, type PairStreamOptions } from "@perceptual/loss/data";
 * await initBackend("cpu");
 * const source: PairStreamOptions = {
 *   dir: "examples/data", crop: [32, 48], batchSize: 2, seed: 7, batches: 1, augment: false,
 * };
 * for await (const batch of imagePairs({ ...source, degrade: grayscaleDegradation() })) {
 *   assert.deepEqual(batch.target.shape, [2, 32, 48, 3]);
 *   tf.dispose(batch);
 * }
 * ```
 */
export interface PairStreamOptions {
  /** A folder of PNG/JPEG images (see {@linkcode imageFolder}). */
  readonly dir?: string;
  /** Explicit image files. */
  readonly files?: readonly string[];
  /** Images already in memory. */
  readonly images?: readonly Pixels[];
  /** With `dir`: include sub-folders (default false). */
  readonly recursive?: boolean;
  /** Channels to load (default 3). */
  readonly channels?: ChannelCount;
  /** Pixel limit per image file, checked from its header (default 40 Mpx; see `loadImage`). */
  readonly maxPixels?: number;
  /** Target crop size; every image must be at least this large. */
  readonly crop: CropSize;
  /** Crops per batch. */
  readonly batchSize: number;
  /** The seed: same seed, same options, same images → the same batches. */
  readonly seed: number;
  /** Random flips (and transposes of square crops); default true, `false` for none. */
  readonly augment?: boolean | FlipOptions;
  /** Crops taken from each image per epoch (default 1). */
  readonly cropsPerImage?: number;
  /** Stop after this many epochs (epoch = every image `cropsPerImage` times, in shuffled order). */
  readonly epochs?: number;
  /** Stop after this many batches (counted from `startBatch`). Default: never stop. */
  readonly batches?: number;
  /** Start at this batch index, e.g. to resume training at step N with the same data. */
  readonly startBatch?: number;
  /** Prepare the next batch while the consumer works on this one (default true). */
  readonly prefetch?: boolean;
}

/**
 * Options of {@linkcode imagePairs}.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as tf from "@tensorflow/tfjs-core";
 * import { initBackend } from "@perceptual/loss/backend";
 * import { grayscaleDegradation, type ImagePairsOptions, imagePairs } from "@perceptual/loss/data";
 * await initBackend("cpu");
 * const photo = { height: 16, width: 16, channels: 3, data: new Float32Array(768).fill(0.5) };
 * const options: ImagePairsOptions = {
 *   images: [photo], crop: 8, batchSize: 4, seed: 1, batches: 1, degrade: grayscaleDegradation(),
 * };
 * for await (const batch of imagePairs(options)) {
 *   assert.deepEqual(batch.input.shape, [4, 8, 8, 1]);
 *   assert.deepEqual(batch.target.shape, [4, 8, 8, 3]);
 *   tf.dispose(batch);
 * }
 * ```
 */
export interface ImagePairsOptions extends PairStreamOptions {
  /** Makes the input from the target crop, e.g. {@linkcode grayscaleDegradation}. */
  readonly degrade: Degradation;
}

/**
 * Options of {@linkcode srPairs}.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as tf from "@tensorflow/tfjs-core";
 * import { initBackend } from "@perceptual/loss/backend";
 * import { srPairs, type SrPairsOptions } from "@perceptual/loss/data";
 * await initBackend("cpu");
 * const photo = { height: 32, width: 32, channels: 3, data: new Float32Array(3072).fill(0.5) };
 * const options: SrPairsOptions = {
 *   images: [photo], scale: 4, crop: 16, batchSize: 2, seed: 1, batches: 1, jpegQuality: [30, 90],
 * };
 * for await (const batch of srPairs(options)) {
 *   assert.deepEqual(batch.input.shape, [2, 4, 4, 3]);
 *   assert.deepEqual(batch.target.shape, [2, 16, 16, 3]);
 *   tf.dispose(batch);
 * }
 * ```
 */
export interface SrPairsOptions extends PairStreamOptions {
  /** Downscale factor; `crop` must be a multiple of it. */
  readonly scale: number;
  /**
   * The bicubic downscale's options; default `{ quantize: "uint8" }`, which makes low-res crops
   * exactly as the standard test sets' LR files were made.
   */
  readonly bicubic?: BicubicOptions;
  /** Also JPEG-compress the low-res crops at this quality, or one drawn from `[min, max]`. */
  readonly jpegQuality?: number | readonly [number, number];
}

/**
 * Facts about a stream, known once its images are decoded.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { initBackend } from "@perceptual/loss/backend";
 * import { type PairStreamInfo, srPairs } from "@perceptual/loss/data";
 * await initBackend("cpu");
 * const photo = { height: 16, width: 16, channels: 3, data: new Float32Array(768).fill(0.5) };
 * const stream = srPairs({
 *   images: [photo, photo, photo], scale: 2, crop: 8, batchSize: 4, seed: 1,
 *   cropsPerImage: 2, // 6 crops an epoch
 *   epochs: 2, // 12 crops: 3 batches of 4
 * });
 * const info: PairStreamInfo = await stream.prepare();
 * assert.deepEqual(info.sources, ["images[0]", "images[1]", "images[2]"]);
 * assert.equal(info.samplesPerEpoch, 6);
 * assert.equal(info.batchesPerEpoch, 1.5);
 * assert.equal(info.batches, 3);
 * ```
 */
export interface PairStreamInfo {
  /** The images, as file paths (or `images[i]` for in-memory ones), in sampling order. */
  readonly sources: readonly string[];
  /** Crops per epoch: images × `cropsPerImage`. */
  readonly samplesPerEpoch: number;
  /** `samplesPerEpoch / batchSize` (batches run across epoch boundaries, so it may be fractional). */
  readonly batchesPerEpoch: number;
  /** Batches one iteration yields (`Infinity` when unbounded). */
  readonly batches: number;
}

/**
 * A re-iterable stream of batches. Each `for await` starts again at `startBatch` and yields the
 * same batches; images are decoded once (on the first iteration or {@linkcode PairStream.prepare})
 * and cached as 8-bit samples. Every batch yielded belongs to the consumer, who must dispose it
 * (`tf.dispose(batch)`); a batch prepared ahead is disposed by the stream when the loop ends.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as tf from "@tensorflow/tfjs-core";
 * import { initBackend } from "@perceptual/loss/backend";
 * import { type PairStream, srPairs } from "@perceptual/loss/data";
 * await initBackend("cpu");
 * const photo = { height: 16, width: 16, channels: 3, data: new Float32Array(768).fill(0.5) };
 * const options = { images: [photo], scale: 2, crop: 8, batchSize: 2, seed: 1, batches: 3 };
 * const stream: PairStream = srPairs(options);
 * let n = 0;
 * for (let pass = 0; pass < 2; pass++) {
 *   for await (const batch of stream) {
 *     n++;
 *     tf.dispose(batch);
 *   }
 * }
 * assert.equal(n, 6); // each pass yields the same 3 batches
 * ```
 */
export interface PairStream extends AsyncIterable<Batch> {
  /** Decode and check every image now (idempotent); errors name the bad file. */
  prepare(): Promise<PairStreamInfo>;
}

interface Prepared {
  readonly info: PairStreamInfo;
  readonly images: readonly Samples[];
}

function positiveInt(v: number | undefined, name: string, where: string): void {
  if (v !== undefined && (!Number.isInteger(v) || v <= 0)) {
    throw new ImageShapeError(`${where}: ${name} must be a positive integer, got ${v}`);
  }
}

async function decodeAll(
  paths: readonly string[],
  options: LoadImageOptions,
): Promise<Samples[]> {
  const out: Samples[] = new Array(paths.length);
  let next = 0;
  // sharp decodes on libuv's pool: a few at a time keeps the cores busy without a memory spike.
  const worker = async (): Promise<void> => {
    while (next < paths.length) {
      const i = next++;
      const path = paths[i]!;
      out[i] = await decodeSamples(await readImageBytes(path, options.maxPixels), path, options);
    }
  };
  await Promise.all(Array.from({ length: Math.min(4, paths.length) }, worker));
  return out;
}

function pairStream(
  options: PairStreamOptions,
  degrade: Degradation,
  where: string,
): PairStream {
  const settings = checkOptions(options, where);
  let preparing: Promise<Prepared> | undefined;
  const prepare = (): Promise<Prepared> => {
    preparing ??= loadImages(options, settings, where);
    // A failed preparation may be retried (e.g. after fixing the folder).
    preparing.catch(() => (preparing = undefined));
    return preparing;
  };
  return {
    async prepare(): Promise<PairStreamInfo> {
      return (await prepare()).info;
    },
    async *[Symbol.asyncIterator](): AsyncGenerator<Batch, void, undefined> {
      const sampler: Sampler = {
        ...settings,
        ...(await prepare()),
        degrade,
        permEpoch: -1,
        perm: new Int32Array(0),
      };
      yield* batches(sampler, options.prefetch !== false);
    },
  };
}

/** A pair stream's options, checked, with their defaults. */
interface Settings {
  readonly cropH: number;
  readonly cropW: number;
  readonly startBatch: number;
  readonly channels: ChannelCount;
  readonly flips: FlipOptions | undefined;
  readonly batchSize: number;
  readonly seed: number;
}

function checkOptions(options: PairStreamOptions, where: string): Settings {
  const sourcesGiven = [options.dir, options.files, options.images].filter((s) => s !== undefined);
  if (sourcesGiven.length !== 1) {
    throw new ImageShapeError(`${where}: give exactly one of dir, files or images`);
  }
  const [cropH, cropW] = cropShape(options.crop, where);
  positiveInt(options.batchSize, "batchSize", where);
  positiveInt(options.cropsPerImage, "cropsPerImage", where);
  positiveInt(options.epochs, "epochs", where);
  positiveInt(options.batches, "batches", where);
  if (options.epochs !== undefined && options.batches !== undefined) {
    throw new ImageShapeError(`${where}: give epochs or batches, not both`);
  }
  const startBatch = options.startBatch ?? 0;
  if (!Number.isInteger(startBatch) || startBatch < 0) {
    throw new ImageShapeError(`${where}: startBatch must be an integer >= 0, got ${startBatch}`);
  }
  if (!Number.isFinite(options.seed)) {
    throw new ImageShapeError(`${where}: seed must be a finite number, got ${options.seed}`);
  }
  const flips: FlipOptions | undefined = options.augment === false
    ? undefined
    : options.augment === true || options.augment === undefined
    ? {}
    : options.augment;
  return {
    cropH,
    cropW,
    startBatch,
    channels: options.channels ?? 3,
    flips,
    batchSize: options.batchSize,
    seed: options.seed,
  };
}

/** Decodes (or takes) every image and checks each against the crop and the first's channels. */
async function loadImages(
  options: PairStreamOptions,
  { cropH, cropW, channels, batchSize, startBatch }: Settings,
  where: string,
): Promise<Prepared> {
  let sources: string[];
  let images: Samples[];
  if (options.images !== undefined) {
    if (options.images.length === 0) throw new EmptyInputError(`${where}: images`, [0]);
    sources = options.images.map((_, i) => `images[${i}]`);
    images = options.images.map((p, i) => {
      checkPixels(p, `${where}: images[${i}]`);
      return { ...p, max: 1 };
    });
  } else {
    sources = options.files !== undefined
      ? [...options.files]
      : await imageFolder(options.dir!, { recursive: options.recursive });
    if (sources.length === 0) throw new EmptyInputError(`${where}: files`, [0]);
    images = await decodeAll(sources, {
      channels,
      ...(options.maxPixels === undefined ? {} : { maxPixels: options.maxPixels }),
    });
  }
  images.forEach((img, i) => {
    // Checked for every image now, not when it is first drawn hours into training.
    randomCropWindow(img.height, img.width, [cropH, cropW], mulberry32(0), sources[i]);
    if (img.channels !== images[0]!.channels) {
      throw new ImageShapeError(
        `${where}: '${sources[i]}' has ${img.channels} channels, '${sources[0]}' has ` +
          `${images[0]!.channels}; load them with the same 'channels' option`,
      );
    }
  });
  const samplesPerEpoch = images.length * (options.cropsPerImage ?? 1);
  const batches = options.batches ??
    (options.epochs !== undefined
      ? Math.max(0, Math.ceil((options.epochs * samplesPerEpoch) / batchSize) - startBatch)
      : Infinity);
  return {
    images,
    info: { sources, samplesPerEpoch, batchesPerEpoch: samplesPerEpoch / batchSize, batches },
  };
}

/** One pass over the stream: the settings, the images, and the current epoch's permutation. */
interface Sampler extends Settings, Prepared {
  readonly degrade: Degradation;
  permEpoch: number;
  perm: Int32Array;
}

/** Sample `s` of the stream: crop, flips and degradation, all drawn from the seed and `s`. */
async function sample(st: Sampler, s: number): Promise<[Pixels, Pixels]> {
  const { images, info, cropH, cropW, seed } = st;
  const perEpoch = info.samplesPerEpoch;
  const epoch = Math.floor(s / perEpoch);
  if (epoch !== st.permEpoch) {
    st.perm = shuffledIndices(perEpoch, mulberry32(deriveSeed(seed, 0x5eed, epoch)));
    st.permEpoch = epoch;
  }
  const index = st.perm[s - epoch * perEpoch]! % images.length;
  const img = images[index]!;
  const rng = mulberry32(deriveSeed(seed, s));
  const { top, left } = randomCropWindow(
    img.height,
    img.width,
    [cropH, cropW],
    rng,
    info.sources[index],
  );
  let target = cropSamples(img, top, left, cropH, cropW);
  if (st.flips !== undefined) {
    const d = randomDihedral(rng, st.flips, cropH === cropW);
    if (d.horizontal || d.vertical || d.transpose) target = flipPixels(target, d);
  }
  return [await st.degrade(target, rng), target];
}

async function makeBatch(st: Sampler, k: number): Promise<Batch> {
  const pairs: [Pixels, Pixels][] = [];
  // In order: the epoch permutation cache is filled sequentially.
  for (let i = 0; i < st.batchSize; i++) pairs.push(await sample(st, k * st.batchSize + i));
  const target = stackPixels(pairs.map((p) => p[1]));
  let input: tf.Tensor4D;
  try {
    input = stackPixels(pairs.map((p) => p[0]));
  } catch (e) {
    target.dispose();
    throw e;
  }
  return { input, target };
}

function scheduleBatch(st: Sampler, k: number): Promise<Batch> {
  // setImmediate: the work runs as soon as the consumer yields to the event loop (timers, I/O,
  // a GPU read-back), without setTimeout's extra millisecond when it never does.
  const p = new Promise<void>((resolve) => setImmediate(resolve)).then(() => makeBatch(st, k));
  p.catch(() => {}); // surfaced when awaited; never an unhandled rejection
  return p;
}

/** The batches from `startBatch` on, the next one made while the consumer works on this one. */
async function* batches(st: Sampler, prefetch: boolean): AsyncGenerator<Batch, void, undefined> {
  const end = st.startBatch + st.info.batches;
  let pending: Promise<Batch> | undefined;
  try {
    for (let k = st.startBatch; k < end; k++) {
      const batch = await (pending ?? makeBatch(st, k));
      pending = undefined;
      if (prefetch && k + 1 < end) pending = scheduleBatch(st, k + 1);
      yield batch;
    }
  } finally {
    if (pending !== undefined) {
      const left = await pending.catch(() => undefined);
      if (left !== undefined) tf.dispose(left);
    }
  }
}

/**
 * Batches of (degraded input, clean target) crops from images, for any image-to-image task:
 * random crop → random flips → `degrade`. Deterministic for a seed; see {@linkcode PairStream}
 * for ownership (the consumer disposes every batch).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as tf from "@tensorflow/tfjs-core";
 * import { initBackend } from "@perceptual/loss/backend";
 * import { grayscaleDegradation, imagePairs } from "@perceptual/loss/data";
 * await initBackend("cpu");
 * const pairs = imagePairs({
 *   dir: "examples/data", crop: 64, batchSize: 4, seed: 1, batches: 2,
 *   degrade: grayscaleDegradation(),
 * });
 * for await (const batch of pairs) {
 *   assert.deepEqual(batch.input.shape, [4, 64, 64, 1]);
 *   assert.deepEqual(batch.target.shape, [4, 64, 64, 3]);
 *   tf.dispose(batch);
 * }
 * ```
 */
export function imagePairs(options: ImagePairsOptions): PairStream {
  return pairStream(options, options.degrade, "imagePairs");
}

/**
 * Super-resolution batches: `target` is random `crop` patches (high-res) and `input` their
 * MATLAB-bicubic downscales by `scale` (low-res), both in [0, 1]. Deterministic for a seed; infinite unless
 * `epochs` or `batches` is given; the next batch is prepared while the consumer works. The
 * consumer owns and must dispose every batch (`tf.dispose(batch)`). A crop larger than an
 * image throws {@linkcode CropTooLargeError} naming it, before the first batch.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as tf from "@tensorflow/tfjs-core";
 * import { initBackend } from "@perceptual/loss/backend";
 * import { srPairs } from "@perceptual/loss/data";
 * await initBackend("cpu");
 * const data = srPairs({ dir: "examples/data", scale: 2, crop: 64, batchSize: 4, seed: 42 });
 * let step = 0;
 * for await (const batch of data) {
 *   assert.deepEqual(batch.input.shape, [4, 32, 32, 3]);
 *   assert.deepEqual(batch.target.shape, [4, 64, 64, 3]);
 *   tf.dispose(batch);
 *   if (++step === 3) break; // the stream disposes the batch it had prepared
 * }
 * ```
 */
export function srPairs(options: SrPairsOptions): PairStream {
  const { scale } = options;
  if (!Number.isInteger(scale) || scale < 1) {
    throw new ImageShapeError(`srPairs: scale must be a positive integer, got ${scale}`);
  }
  const [h, w] = cropShape(options.crop, "srPairs");
  if (h % scale !== 0 || w % scale !== 0) {
    throw new ImageShapeError(
      `srPairs: crop ${h}x${w} is not a multiple of scale ${scale}; use e.g. ${
        Math.max(scale, Math.round(h / scale) * scale)
      }`,
    );
  }
  const down = bicubicDegradation(scale, options.bicubic ?? { quantize: "uint8" });
  const degrade = options.jpegQuality === undefined
    ? down
    : chainDegradations(down, jpegDegradation(options.jpegQuality));
  return pairStream(options, degrade, "srPairs");
}
