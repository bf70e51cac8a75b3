/**
 * Photos split into a training part and a held-out part, shared by the examples: training crops
 * come from the left three quarters of each photo, held-out crops from the right quarter, so the
 * final scores are on pixels the model never trained on.
 *
 * @module
 */
import {
  cropPixels,
  imageFolder,
  ImageFolderError,
  type Pixels,
  readPixels,
} from "../../src/data/mod.ts";
import { UsageError } from "../../src/experiment/mod.ts";

/**
 * The images of the folder a flag names; a folder that is absent, not a folder or holds no
 * image is a bad path on the command line: a {@linkcode UsageError} (exit status 2).
 */
export async function usableFolder(flag: string, dir: string): Promise<string[]> {
  try {
    return await imageFolder(dir);
  } catch (e) {
    if (e instanceof ImageFolderError) throw new UsageError(`${flag} ${dir}: ${e.message}`);
    throw e;
  }
}

/** A photo split into a training region (left) and a held-out region (right). */
export interface SplitImage {
  /** Where the photo came from. */
  readonly path: string;
  /** The left part, for training crops. */
  readonly train: Pixels;
  /** The right part (at least a crop wide), for held-out crops. */
  readonly heldOut: Pixels;
}

/**
 * `p` split into its right quarter (at least `crop` wide) and the rest, or undefined when either
 * part would be narrower or lower than `crop`.
 */
export function splitPixels(path: string, p: Pixels, crop: number): SplitImage | undefined {
  const heldWidth = Math.max(Math.ceil(p.width / 4), crop);
  const trainWidth = p.width - heldWidth;
  if (p.height < crop || trainWidth < crop) return undefined;
  return {
    path,
    train: cropPixels(p, 0, 0, p.height, trainWidth),
    heldOut: cropPixels(p, 0, trainWidth, p.height, heldWidth),
  };
}

/**
 * Load the photos of `dir` as RGB and split each one. Photos too small for `crop`, or for which
 * `skip` (given the pixels and the path) gives a reason, are left out with a note; none left is
 * a {@linkcode UsageError}.
 */
export async function loadSplitImages(
  dir: string,
  crop: number,
  skip: (p: Pixels, path: string) => string | undefined = () => undefined,
): Promise<SplitImage[]> {
  const files = await usableFolder("--data", dir);
  const out: SplitImage[] = [];
  for (const path of files) {
    const p = await readPixels(path, { channels: 3 });
    const split = splitPixels(path, p, crop);
    const why = split === undefined
      ? `is ${p.width}x${p.height}, too small for --crop ${crop}`
      : skip(p, path);
    if (split === undefined || why !== undefined) {
      console.log(`note: ${path} ${why}; left out of training and evaluation`);
      continue;
    }
    out.push(split);
  }
  if (out.length === 0) {
    throw new UsageError(
      `--data ${dir}: no usable photo (each needs height >= crop and width >= 2 x crop: a ` +
        "training part and a held-out part); use a smaller --crop or other photos",
    );
  }
  return out;
}

/** `count` fixed held-out crops, spread over the images and down each held-out strip. */
export function heldOutCrops(images: readonly SplitImage[], count: number, crop: number): Pixels[] {
  const rounds = Math.ceil(count / images.length);
  return Array.from({ length: count }, (_, i) => {
    const img = images[i % images.length]!.heldOut;
    const round = Math.floor(i / images.length);
    const top = Math.floor(((img.height - crop) * (round + 1)) / (rounds + 1));
    const left = Math.floor((img.width - crop) / 2);
    return cropPixels(img, top, left, crop, crop);
  });
}

/** Fixed crops from the training parts, cut the way {@linkcode heldOutCrops} cuts held-out ones. */
export function trainingCrops(
  images: readonly SplitImage[],
  count: number,
  crop: number,
): Pixels[] {
  return heldOutCrops(images.map((i) => ({ ...i, heldOut: i.train })), count, crop);
}
