/**
 * `predictImage`'s default tile budget in Deno: tiles only when memory requires them.
 *
 * @module
 */
import { backendMemoryLimit } from "../backend/memory_limit.ts";
import { DEFAULT_MAX_ELEMENTS } from "./predict_image.ts";

/**
 * The element budget for the largest intermediate tensor of one `predictImage` call in Deno: a
 * quarter of what the active backend can hold (`backendMemoryLimit()`: 4 GiB on wasm and
 * native, so 2^28 elements, a 1280×850 photo through a 32-filter U-Net in one call), the rest
 * being left to the tensors alive beside it; on `cpu` and `tensorflow` a quarter of the machine's
 * memory; `webgpu` keeps the browser default ({@linkcode DEFAULT_MAX_ELEMENTS}: a GPU's texture
 * limits). A lower limit (`setMemoryLimit`, `PERCEPTUAL_MEMORY_LIMIT`) gives smaller tiles. Importing `@perceptual/loss/unet` makes it `predictImage`'s
 * default; the browser entry (`@perceptual/loss/browser`) keeps 2^25.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { initBackend, setMemoryLimit } from "@perceptual/loss/backend";
 * import { denoMaxElements } from "@perceptual/loss/unet";
 * await initBackend("wasm");
 * assert.equal(denoMaxElements(), 2 ** 28); // a quarter of the 4 GiB heap, in float32s
 * setMemoryLimit(2 ** 30);
 * assert.equal(denoMaxElements(), 2 ** 26);
 * setMemoryLimit(undefined);
 * ```
 */
export function denoMaxElements(): number {
  const limit = backendMemoryLimit();
  let bytes = limit.bytes;
  if (bytes === undefined && limit.backend !== "webgpu") {
    try {
      bytes = Deno.systemMemoryInfo().total;
    } catch {
      // Without --allow-sys the browser default stays.
    }
  }
  return bytes === undefined ? DEFAULT_MAX_ELEMENTS : Math.max(1, Math.floor(bytes / 4 / 4));
}
