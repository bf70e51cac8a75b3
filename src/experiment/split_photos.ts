/**
 * A run's photos from the command line: the images of a folder a flag names, each split into a
 * training part and a held-out part, with every photo left out said in a note and every bad
 * path a usage error (exit status 2).
 *
 * @module
 */
import {
  imageFolder,
  ImageFolderError,
  type Pixels,
  readPixels,
  resizeShorterSide,
  type SplitImage,
  splitPixels,
} from "../data/mod.ts";
import { UsageError } from "./errors.ts";

/**
 * The tile budget (elements of the largest intermediate tensor) for predicting a whole photo in
 * Deno: 2^28, a 640×480 photo in one call. `predictImage`'s default (2^25) is sized for browsers;
 * in Deno it cut the examples' photos into tiles whose overlaps (a U-Net's receptive field) cost
 * more than the pictures (the colourise panels took 3× as long on wasm).
 *
 * @example
 * ```ts
 * import { WHOLE_PHOTO_MAX_ELEMENTS } from "@perceptual/loss/experiment";
 * import assert from "node:assert/strict";
 *
 * assert.equal(WHOLE_PHOTO_MAX_ELEMENTS * 4 / 2 ** 30, 1); // GiB of float32, at most
 * ```
 */
export const WHOLE_PHOTO_MAX_ELEMENTS = 2 ** 28;

/**
 * The images of the folder a flag names; a folder that is absent, not a folder or holds no
 * image is a bad path on the command line: a {@linkcode UsageError}.
 *
 * @example
 * ```ts
 * import { usableFolder, UsageError } from "@perceptual/loss/experiment";
 * import assert from "node:assert/strict";
 *
 * await assert.rejects(usableFolder("--data", "/no/such/folder"), UsageError);
 * assert.ok((await usableFolder("--data", "examples/data")).length > 0);
 * ```
 */
export async function usableFolder(flag: string, dir: string): Promise<string[]> {
  try {
    return await imageFolder(dir);
  } catch (e) {
    if (e instanceof ImageFolderError) throw new UsageError(`${flag} ${dir}: ${e.message}`);
    throw e;
  }
}

/**
 * Load the photos of `dir` (`--data`) as RGB and split each one (`splitPixels`). Photos too
 * small for `crop`, or for which `skip` (given the pixels and the path) gives a reason, are left
 * out with a note; none left is a {@linkcode UsageError}.
 *
 * @example
 * ```ts
 * import { loadSplitImages } from "@perceptual/loss/experiment";
 * import assert from "node:assert/strict";
 *
 * const images = await loadSplitImages("examples/data", 64, () => undefined);
 * assert.ok(images.every((i) => i.heldOut.width >= 64 && i.train.width >= 64));
 * ```
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

/**
 * The photo at `path` (given as `flag`) as RGB, its shorter side resized to `side`; a missing
 * file is a {@linkcode UsageError}.
 *
 * @example
 * ```ts
 * import { readResized, UsageError } from "@perceptual/loss/experiment";
 * import assert from "node:assert/strict";
 *
 * await assert.rejects(readResized("/no/such.png", "--style", 64), UsageError);
 * ```
 */
export async function readResized(path: string, flag: string, side: number): Promise<Pixels> {
  try {
    await Deno.stat(path);
  } catch {
    throw new UsageError(`${flag} ${path}: no such file`);
  }
  return resizeShorterSide(await readPixels(path, { channels: 3 }), side);
}
