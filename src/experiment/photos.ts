/**
 * Reading a run's photos at the size it works at: one file or a folder, each as RGB with its
 * shorter side brought down to a limit (smaller photos keep their size), bad paths as usage
 * errors naming the flag.
 *
 * @module
 */
import { bicubicResizePixels, imageFolder, type Pixels, readPixels } from "../data/mod.ts";
import { UsageError } from "./errors.ts";

/**
 * `path` (given on the command line as `flag`) as RGB, its shorter side resized (bicubic,
 * antialiased) to `maxSide` when it is longer. A missing file is a `UsageError`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { readPhoto } from "@perceptual/loss/experiment";
 * const p = await readPhoto("examples/data/skimage_chelsea.png", "--content", 100);
 * assert.deepEqual([p.width, p.height, p.channels], [150, 100, 3]); // 451×300 → 150×100
 * await assert.rejects(readPhoto("no/such.png", "--content", 100), /--content no\/such\.png: no such file/);
 * ```
 */
export async function readPhoto(path: string, flag: string, maxSide: number): Promise<Pixels> {
  if (!await Deno.stat(path).then((f) => f.isFile, () => false)) {
    throw new UsageError(`${flag} ${path}: no such file`);
  }
  const p = await readPixels(path, { channels: 3 });
  const s = maxSide / Math.min(p.height, p.width);
  if (s >= 1) return p;
  return bicubicResizePixels(
    p,
    Math.max(1, Math.round(p.height * s)),
    Math.max(1, Math.round(p.width * s)),
  );
}

/** The photos of a folder: their paths, names (file names without extension) and pixels. */
export interface Photos {
  /** The files, in the folder's order. */
  readonly files: readonly string[];
  /** Each file's name without its extension. */
  readonly names: readonly string[];
  /** Each photo, RGB, at most `maxSide` on its shorter side. */
  readonly pixels: readonly Pixels[];
}

/**
 * Every image of the folder `dir` (given as `flag`) except `exclude` (e.g. a style image kept in
 * the same folder), read with {@linkcode readPhoto}. A folder left empty is a `UsageError`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { readPhotos } from "@perceptual/loss/experiment";
 * const p = await readPhotos("examples/data", "--data", 64, "examples/data/skimage_rocket.jpg");
 * assert.equal(p.names.length, 5);
 * assert.ok(!p.names.includes("skimage_rocket") && p.names.includes("skimage_chelsea"));
 * assert.ok(p.pixels.every((x) => Math.min(x.width, x.height) === 64));
 * ```
 */
export async function readPhotos(
  dir: string,
  flag: string,
  maxSide: number,
  exclude?: string,
): Promise<Photos> {
  const skip = exclude === undefined
    ? undefined
    : await Deno.realPath(exclude).catch(() => exclude);
  const files: string[] = [];
  for (const f of await imageFolder(dir)) if (await Deno.realPath(f) !== skip) files.push(f);
  if (files.length === 0) {
    throw new UsageError(
      `${flag} ${dir}: no photos${exclude === undefined ? "" : ` besides ${exclude}`}`,
    );
  }
  const names = files.map((f) => f.slice(f.lastIndexOf("/") + 1).replace(/\.[^.]+$/, ""));
  return { files, names, pixels: await Promise.all(files.map((f) => readPhoto(f, flag, maxSide))) };
}
