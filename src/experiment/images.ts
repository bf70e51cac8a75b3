/**
 * Pictures of a run, written as PNG files: training samples side by side, comparison panels,
 * and whole photos through the model.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
import type * as tfl from "@tensorflow/tfjs-layers";
import {
  comparisonPanel,
  type Pixels,
  pixelsToTensor,
  readPixels,
  saveImage,
  tensorToPixels,
  writePixels,
} from "../data/mod.ts";
import { predictImage } from "../unet/mod.ts";
import { WHOLE_PHOTO_MAX_ELEMENTS } from "./split_photos.ts";
import { scope } from "../lifetime/mod.ts";

/**
 * Rows `input | model | truth`, one row per sample, as one [rows*h, 3*w, 3] image (caller owns
 * it); a one-channel input is shown grey, every panel clipped to [0, 1].
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs-core";
 * import { initBackend } from "@perceptual/loss/backend";
 * import { sideBySide } from "@perceptual/loss/experiment";
 * import assert from "node:assert/strict";
 *
 * await initBackend("cpu");
 * const x = tf.zeros([2, 4, 5, 3]) as tf.Tensor4D;
 * const row = sideBySide(x, x, x);
 * assert.deepEqual(row.shape, [8, 15, 3]);
 * tf.dispose([x, row]);
 * ```
 */
export function sideBySide(
  input: tf.Tensor4D,
  prediction: tf.Tensor4D,
  target: tf.Tensor4D,
): tf.Tensor3D {
  return scope(() => {
    const rgb = input.shape[3] === 1 ? tf.tile(input, [1, 1, 1, 3]) : input;
    const clip = (x: tf.Tensor4D) => tf.clipByValue(x, 0, 1);
    const rows = tf.concat([clip(rgb), clip(prediction), clip(target)], 2);
    const [n, h, w, c] = rows.shape;
    return tf.reshape(rows, [n * h, w, c]) as tf.Tensor3D;
  });
}

/**
 * Write `image` as a PNG at `path`, then dispose it (also when writing fails).
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs-core";
 * import { initBackend } from "@perceptual/loss/backend";
 * import { saveAndDispose } from "@perceptual/loss/experiment";
 * import assert from "node:assert/strict";
 *
 * await initBackend("cpu");
 * const image = tf.ones([2, 2, 3]) as tf.Tensor3D;
 * const path = `${await Deno.makeTempDir()}/white.png`;
 * await saveAndDispose(path, image);
 * assert.ok(image.isDisposed);
 * assert.ok((await Deno.stat(path)).size > 0);
 * ```
 */
export async function saveAndDispose(
  path: string,
  image: tf.Tensor3D | tf.Tensor4D,
): Promise<void> {
  try {
    await saveImage(path, image);
  } finally {
    image.dispose();
  }
}

/**
 * Write a comparison panel (`comparisonPanel`: the images side by side, a ×4 inset below where
 * the first two differ most) of `images` — pixels, or HWC / [1, H, W, C] tensors (not disposed)
 * — as a PNG at `path`.
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs-core";
 * import { initBackend } from "@perceptual/loss/backend";
 * import { readPixels } from "@perceptual/loss/data";
 * import { writePanel } from "@perceptual/loss/experiment";
 * import assert from "node:assert/strict";
 *
 * await initBackend("cpu");
 * const a = tf.zeros([1, 8, 8, 3]) as tf.Tensor4D;
 * const b = tf.ones([8, 8, 3]) as tf.Tensor3D;
 * const path = `${await Deno.makeTempDir()}/panel.png`;
 * await writePanel(path, [a, b]);
 * assert.equal((await readPixels(path)).width, 2 * 8 + 8);
 * tf.dispose([a, b]);
 * ```
 */
export async function writePanel(
  path: string,
  images: readonly (Pixels | tf.Tensor3D | tf.Tensor4D)[],
): Promise<void> {
  const pixels = await Promise.all(images.map((x) => {
    if (!(x instanceof tf.Tensor)) return x;
    const one = (x.rank === 4 ? tf.squeeze(x, [0]) : tf.clone(x)) as tf.Tensor3D;
    return tensorToPixels(one).finally(() => one.dispose());
  }));
  await writePixels(path, comparisonPanel(pixels).pixels);
}

/** Options of {@linkcode photoPanels}. */
export interface PhotoPanelsOptions {
  /** The photos (read as RGB). */
  readonly paths: readonly string[];
  /** Where the panels go: `<dir>/panel-<photo><suffix>.png`. */
  readonly dir: string;
  /** Before `.png`, e.g. the run's `_random-vgg` marker (default none). */
  readonly suffix?: string;
  /** What the model sees of a photo (HWC in, HWC out), e.g. `toGrayscale`; caller-free. */
  readonly input: (photo: tf.Tensor3D) => tf.Tensor3D;
  /** Whether a photo's panel shows the truth too (default: always). */
  readonly withTruth?: (photo: Pixels) => boolean;
}

/**
 * Each photo whole through `model` (tiled, `WHOLE_PHOTO_MAX_ELEMENTS`): a panel `input | model
 * | truth` (see {@linkcode writePanel}) per photo. Returns the files written.
 *
 * @example
 * ```ts
 * import * as tfl from "@tensorflow/tfjs-layers";
 * import { initBackend } from "@perceptual/loss/backend";
 * import { toGrayscale } from "@perceptual/loss/data";
 * import { photoPanels } from "@perceptual/loss/experiment";
 * import assert from "node:assert/strict";
 *
 * await initBackend("cpu");
 * const model = tfl.sequential({
 *   layers: [tfl.layers.conv2d({ inputShape: [null, null, 1], filters: 3, kernelSize: 1 })],
 * });
 * const dir = await Deno.makeTempDir();
 * const paths = ["examples/data/skimage_coffee.png"];
 * const files = await photoPanels(model, { paths, dir, input: (p) => toGrayscale(p) });
 * assert.deepEqual(files, [`${dir}/panel-skimage_coffee.png`]);
 * model.dispose();
 * ```
 */
export async function photoPanels(
  model: tfl.LayersModel,
  options: PhotoPanelsOptions,
): Promise<string[]> {
  const written: string[] = [];
  const max = { maxElements: WHOLE_PHOTO_MAX_ELEMENTS };
  for (const path of options.paths) {
    const truth = await readPixels(path, { channels: 3 });
    const input = tf.tidy(() => options.input(pixelsToTensor(truth)));
    const output = tf.tidy(() => tf.clipByValue(predictImage(model, input, max), 0, 1));
    const name = path.slice(path.lastIndexOf("/") + 1).replace(/\.[^.]+$/, "");
    const file = `${options.dir}/panel-${name}${options.suffix ?? ""}.png`;
    const shown = options.withTruth?.(truth) ?? true;
    await writePanel(file, shown ? [input, output, truth] : [input, output])
      .finally(() => tf.dispose([input, output]));
    written.push(file);
  }
  return written;
}
