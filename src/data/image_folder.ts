/**
 * Listing the images of a folder.
 *
 * @module
 */
import { ImageFolderError } from "./errors.ts";

/**
 * File extensions {@linkcode imageFolder} picks up (compared case-insensitively).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { IMAGE_EXTENSIONS } from "@perceptual/loss/data";
 * assert.ok(IMAGE_EXTENSIONS.includes(".png"));
 * ```
 */
export const IMAGE_EXTENSIONS: readonly string[] = [".png", ".jpg", ".jpeg"];

/**
 * Options of {@linkcode imageFolder}.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { imageFolder, type ImageFolderOptions } from "@perceptual/loss/data";
 * const options: ImageFolderOptions = { recursive: true }; // also examples/data/colour and /style
 * const all = await imageFolder("examples/data", options);
 * const top = await imageFolder("examples/data");
 * assert.equal(all.length - top.length, 4); // two colour photos, two style images
 * ```
 */
export interface ImageFolderOptions {
  /** Also list images in sub-folders (default false). */
  readonly recursive?: boolean;
}

function isImage(name: string): boolean {
  const lower = name.toLowerCase();
  return !name.startsWith(".") && IMAGE_EXTENSIONS.some((ext) => lower.endsWith(ext));
}

async function walk(dir: string, recursive: boolean, out: string[]): Promise<void> {
  for await (const entry of Deno.readDir(dir)) {
    const path = dir.endsWith("/") ? `${dir}${entry.name}` : `${dir}/${entry.name}`;
    if (entry.isDirectory && recursive) await walk(path, true, out);
    else if ((entry.isFile || entry.isSymlink) && isImage(entry.name)) out.push(path);
  }
}

/**
 * The PNG and JPEG files of `dir` (paths that start with `dir`), sorted by code point so the order
 * is the same on every machine. A missing folder, a file, or a folder without images throws
 * {@linkcode ImageFolderError} naming it.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { imageFolder } from "@perceptual/loss/data";
 * const files = await imageFolder("examples/data");
 * assert.equal(files[0], "examples/data/skimage_astronaut.png");
 * ```
 */
export async function imageFolder(
  dir: string,
  options: ImageFolderOptions = {},
): Promise<string[]> {
  let info: Deno.FileInfo;
  try {
    info = await Deno.stat(dir);
  } catch (e) {
    const problem = e instanceof Deno.errors.NotFound
      ? "does not exist"
      : `cannot be read (${e instanceof Error ? e.message : e})`;
    throw new ImageFolderError(dir, problem, e);
  }
  if (!info.isDirectory) throw new ImageFolderError(dir, "is a file, not a folder");
  const files: string[] = [];
  try {
    await walk(dir, options.recursive === true, files);
  } catch (e) {
    throw new ImageFolderError(dir, `cannot be listed (${e instanceof Error ? e.message : e})`, e);
  }
  if (files.length === 0) {
    throw new ImageFolderError(
      dir,
      `holds no ${IMAGE_EXTENSIONS.join(", ")} file${
        options.recursive ? "" : " (sub-folders not searched)"
      }`,
    );
  }
  return files.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
}
