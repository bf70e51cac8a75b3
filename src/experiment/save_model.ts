/**
 * The final model of a run, saved so that a failed save never leaves a half-written folder.
 *
 * @module
 */
import type * as tfl from "@tensorflow/tfjs-layers";
import { RunFileError } from "../train/mod.ts";
import { saveModel } from "../unet/mod.ts";

/**
 * Save the final model into `dir` atomically: written into a temporary folder beside it, then
 * renamed into place (an older `dir` is moved aside first and removed), so a failed save (disk
 * full) never leaves an empty or half-written `model/`. File-system failures become a
 * {@linkcode RunFileError} naming the folder and the fix.
 *
 * @example
 * ```ts
 * import * as tfl from "@tensorflow/tfjs-layers";
 * import { initBackend } from "@perceptual/loss/backend";
 * import { saveModelAtomically } from "@perceptual/loss/experiment";
 * import assert from "node:assert/strict";
 *
 * await initBackend("cpu");
 * const model = tfl.sequential({ layers: [tfl.layers.dense({ inputShape: [2], units: 1 })] });
 * const dir = `${await Deno.makeTempDir()}/model`;
 * await saveModelAtomically(model, dir);
 * assert.ok((await Deno.stat(`${dir}/model.json`)).isFile);
 * model.dispose();
 * ```
 */
export async function saveModelAtomically(model: tfl.LayersModel, dir: string): Promise<void> {
  const suffix = crypto.randomUUID().slice(0, 8);
  const tmp = `${dir}.tmp-${suffix}`;
  const old = `${dir}.old-${suffix}`;
  try {
    await Deno.mkdir(tmp);
    await saveModel(model, tmp);
    const hadOld = await Deno.stat(dir).then(() => true, () => false);
    if (hadOld) await Deno.rename(dir, old);
    await Deno.rename(tmp, dir);
    if (hadOld) await Deno.remove(old, { recursive: true });
  } catch (e) {
    await Deno.remove(tmp, { recursive: true }).catch(() => {});
    throw new RunFileError(dir, "save the model", e);
  }
}
