/**
 * What PSNR and SSIM share: their options, input checks, and reading tensors into planes.
 *
 * @module
 */
import { PerceptualError } from "../errors/perceptual_error.ts";
import type * as tf from "@tensorflow/tfjs-core";

/**
 * Options of {@linkcode psnr} and {@linkcode ssim}.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as tf from "@tensorflow/tfjs-core";
 * import { initBackend } from "@perceptual/loss/backend";
 * import { type MetricOptions, psnr } from "@perceptual/loss/metrics";
 * await initBackend("cpu");
 * const a = tf.zeros([8, 8, 3]) as tf.Tensor3D;
 * // 0.1 inside, a 2-pixel border of 1s
 * const b = tf.pad(tf.fill([4, 4, 3], 0.1), [[2, 2], [2, 2], [0, 0]], 1) as tf.Tensor3D;
 * const sr: MetricOptions = { crop: 2, yChannel: true }; // the SR tables' protocol at scale 2
 * assert.ok(Math.abs(await psnr(a, b, { crop: 2 }) - 19.99) < 1e-2);
 * assert.ok(Math.abs(await psnr(a, b, sr) - 21.32) < 1e-2);
 * tf.dispose([a, b]);
 * ```
 */
export interface MetricOptions {
  /** The value range of the inputs: 1 for [0, 1] (default), 255 for [0, 255]. */
  readonly range?: 1 | 255;
  /**
   * Score the luma Y of ITU-R BT.601 as MATLAB's `rgb2ycbcr` computes it (Y in [16, 235]/255 of
   * the range), as super-resolution tables do. Default false: all channels. A 1-channel (grey)
   * image is scored on its own values, as the MATLAB protocol behind those tables does for a
   * greyscale file (converting it to RGB and then to Y would compress its range to [16, 235] and
   * add about 1.3 dB): load grey files with 1 channel to get the published numbers. "Grey"
   * means the FILE stores one channel (`imageFileInfo(path).channels === 1` in the data module;
   * MATLAB tests `size(im, 3)`): an RGB file whose pixels happen to be grey is scored through Y
   * like any RGB file.
   */
  readonly yChannel?: boolean;
  /** Pixels shaved off every border before scoring; the SR convention is the scale (default 0). */
  readonly crop?: number;
}

/**
 * Bad metric inputs: mismatched shapes, wrong rank or channels, a crop that leaves nothing.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { MetricInputError } from "@perceptual/loss/metrics";
 * import { PerceptualError } from "@perceptual/loss";
 * const e = new MetricInputError("psnr: shapes [4,4,3] and [4,4,1] differ");
 * assert.ok(e instanceof PerceptualError);
 * assert.equal(e.message, "psnr: shapes [4,4,3] and [4,4,1] differ");
 * ```
 */
export class MetricInputError extends PerceptualError {
  /** Build the error with a message naming the metric, the bad value and the fix. */
  constructor(message: string) {
    super(message);
  }
}

/** One image's channels as separate double-precision planes, cropped, maybe converted to Y. */
export interface Planes {
  readonly height: number;
  readonly width: number;
  readonly planes: readonly Float64Array[];
}

/** MATLAB rgb2ycbcr's Y row (for RGB in [0, 1], Y = 16/255 + (row . rgb) / 255). */
export const Y_WEIGHTS: readonly [number, number, number] = [65.481, 128.553, 24.966];

/** Check the pair (their ranks and shapes) and the options. */
export function checkPair(
  a: Pick<tf.Tensor, "rank" | "shape">,
  b: Pick<tf.Tensor, "shape">,
  options: MetricOptions,
  where: string,
): void {
  if (a.rank !== 3 && a.rank !== 4) {
    throw new MetricInputError(
      `${where}: expected [height, width, channels] or [batch, height, width, channels] ` +
        `tensors, got shape [${a.shape}]`,
    );
  }
  if (a.shape.length !== b.shape.length || a.shape.some((d, i) => d !== b.shape[i])) {
    throw new MetricInputError(
      `${where}: the two images must have the same shape, got [${a.shape}] and [${b.shape}]`,
    );
  }
  const range = options.range ?? 1;
  if (range !== 1 && range !== 255) {
    throw new MetricInputError(`${where}: range must be 1 or 255, got ${range}`);
  }
  const crop = options.crop ?? 0;
  const [h, w, c] = a.shape.slice(-3) as [number, number, number];
  if (!Number.isInteger(crop) || crop < 0 || 2 * crop >= h || 2 * crop >= w) {
    throw new MetricInputError(
      `${where}: crop must be an integer >= 0 leaving pixels of the ${h}x${w} image, got ${crop}`,
    );
  }
  if (options.yChannel === true && c !== 3 && c !== 1) {
    throw new MetricInputError(
      `${where}: yChannel needs RGB (3 channels) or grey (1 channel) images, got ${c} channels`,
    );
  }
}

/** Read both tensors and split them into per-image planes (batch-major). */
export async function readPlanes(
  t: tf.Tensor,
  options: MetricOptions,
): Promise<Planes[]> {
  const values = await t.data();
  const [h, w, c] = t.shape.slice(-3) as [number, number, number];
  const n = t.rank === 4 ? t.shape[0]! : 1;
  const crop = options.crop ?? 0;
  const range = options.range ?? 1;
  const height = h - 2 * crop;
  const width = w - 2 * crop;
  const out: Planes[] = [];
  for (let i = 0; i < n; i++) {
    const base = i * h * w * c;
    const planes: Float64Array[] = [];
    // A grey image is its own luma (see MetricOptions.yChannel).
    if (options.yChannel === true && c === 3) {
      const y = new Float64Array(height * width);
      const offset = (16 * range) / 255;
      for (let r = 0; r < height; r++) {
        for (let col = 0; col < width; col++) {
          const s = base + ((r + crop) * w + col + crop) * 3;
          y[r * width + col] = offset +
            (Y_WEIGHTS[0] * values[s]! + Y_WEIGHTS[1] * values[s + 1]! +
                Y_WEIGHTS[2] * values[s + 2]!) / 255;
        }
      }
      planes.push(y);
    } else {
      for (let k = 0; k < c; k++) {
        const p = new Float64Array(height * width);
        for (let r = 0; r < height; r++) {
          for (let col = 0; col < width; col++) {
            p[r * width + col] = values[base + ((r + crop) * w + col + crop) * c + k]!;
          }
        }
        planes.push(p);
      }
    }
    out.push({ height, width, planes });
  }
  return out;
}
