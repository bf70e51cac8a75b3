/**
 * A trained image-to-image model applied to whole photos, as a run's last step: each photo is
 * predicted in one pass with reflection padding, written beside a panel photo | output |
 * reference (with a ×4 inset where photo and output differ most), and scored by the caller.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
import type * as tfl from "@tensorflow/tfjs-layers";
import {
  bicubicResizePixels,
  comparisonPanel,
  cropPixels,
  type Pixels,
  pixelsToTensor,
  stackPixels,
  tensorToPixels,
  writePixels,
} from "../data/mod.ts";
import { predictImage } from "../unet/mod.ts";
import { withWinograd } from "../backend/mod.ts";

/** Pixels of reflection padding around each photo by default (Johnson's network pads likewise). */
export const REFLECT_MARGIN = 48;

/** Options of {@linkcode predictWholeImages}. */
export interface WholeImageOptions {
  /** The run directory: writes `<dir>/<name><marker>.png` and `samples/panel-<name><marker>.png`. */
  readonly runDir: string;
  /** The folder of the outputs inside the run directory (default `outputs`). */
  readonly dir?: string;
  /** Appended to each file name (`_random-vgg` for a random loss network); default "". */
  readonly marker?: string;
  /** What the network's input sides must be multiples of (2^depth of a U-Net); default 1. */
  readonly multiple?: number;
  /** The panels' third image (e.g. the style image), scaled to cover the photo and centred. */
  readonly reference?: Pixels;
  /** Reflection padding in pixels (default {@linkcode REFLECT_MARGIN}). */
  readonly margin?: number;
  /** Largest intermediate tensor of one forward pass, in elements (default 2^28). */
  readonly maxElements?: number;
}

/** One photo through the model: its name, `WxH` size and the seconds it took. */
export interface WholeImageRow {
  /** The photo's name (as given, e.g. its file name without extension). */
  readonly photo: string;
  /** `WxH` of the photo (and of the output). */
  readonly size: string;
  /** Seconds of the forward pass (padding and clipping included). */
  readonly seconds: number;
}

/**
 * `p` scaled (bicubic) to cover `height`×`width` and centre-cropped to it.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { coverCrop } from "@perceptual/loss/experiment";
 * const p = { width: 4, height: 2, channels: 3, data: new Float32Array(24).fill(0.5) };
 * const c = coverCrop(p, 4, 4); // scaled to 8×4, the middle 4×4 kept
 * assert.deepEqual([c.width, c.height], [4, 4]);
 * ```
 */
export function coverCrop(p: Pixels, height: number, width: number): Pixels {
  const s = Math.max(height / p.height, width / p.width);
  const [h0, w0] = [
    Math.max(height, Math.round(p.height * s)),
    Math.max(width, Math.round(p.width * s)),
  ];
  const big = h0 === p.height && w0 === p.width ? p : bicubicResizePixels(p, h0, w0);
  const [top, left] = [Math.floor((big.height - height) / 2), Math.floor((big.width - width) / 2)];
  return cropPixels(big, top, left, height, width);
}

/** `x` ([H, W, 3]) mirrored by up to `margin` on every side, the padded size a multiple of `m`. */
function mirrored(x: tf.Tensor3D, margin: number, m: number) {
  const [h, w] = x.shape;
  const pad = Math.min(margin, h - 1, w - 1);
  const extra = (n: number) => (m - (n + 2 * pad) % m) % m;
  // predictImage replicates rows for what a small photo cannot mirror.
  const bottom = Math.min(pad + extra(h), h - 1);
  const right = Math.min(pad + extra(w), w - 1);
  return { padded: tf.mirrorPad(x, [[pad, bottom], [pad, right], [0, 0]], "reflect"), pad };
}

/**
 * Every photo, whole, through `model`: reflection-padded (the borders see mirrored picture, not
 * the zeros of the convolutions' padding), predicted in one pass, clipped to [0, 1], written to
 * `<runDir>/<dir>/<name><marker>.png`, with a panel photo | output | reference (or photo |
 * output) in `<runDir>/samples/`. A photo's `input`, when given (e.g. the photo recoloured), is
 * what the model sees instead of the photo itself (same size). `score` gets each photo, its output and their tensors
 * ([1, H, W, 3], disposed afterwards) and returns the row's numbers, which follow the photo's name, size and seconds. No tensor is
 * left behind.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as tfl from "@tensorflow/tfjs-layers";
 * import { initBackend } from "@perceptual/loss/backend";
 * import { predictWholeImages } from "@perceptual/loss/experiment";
 * await initBackend("cpu");
 * const model = tfl.sequential({ layers: [tfl.layers.conv2d({ filters: 3, kernelSize: 1,
 *   inputShape: [null, null, 3], kernelInitializer: "zeros", biasInitializer: "ones" })] });
 * const photo = { width: 20, height: 12, channels: 3, data: new Float32Array(720).fill(0.3) };
 * const runDir = await Deno.makeTempDir();
 * const rows = await predictWholeImages(model, [{ name: "p", pixels: photo }], { runDir },
 *   async (_photo, output) => ({ mean: output.data.reduce((a, b) => a + b, 0) / output.data.length }));
 * assert.deepEqual([rows[0]!.photo, rows[0]!.size, rows[0]!.mean], ["p", "20x12", 1]); // bias 1, clipped
 * assert.ok((await Deno.stat(`${runDir}/outputs/p.png`)).isFile);
 * assert.ok((await Deno.stat(`${runDir}/samples/panel-p.png`)).isFile);
 * model.dispose();
 * ```
 */
export async function predictWholeImages<R extends object>(
  model: tfl.LayersModel,
  photos: readonly { readonly name: string; readonly pixels: Pixels; readonly input?: Pixels }[],
  options: WholeImageOptions,
  score: (photo: Pixels, output: Pixels, y: tf.Tensor4D, x: tf.Tensor4D) => Promise<R>,
): Promise<(WholeImageRow & R)[]> {
  const { runDir, dir = "outputs", marker = "", multiple = 1 } = options;
  const rows: (WholeImageRow & R)[] = [];
  for (const { name, pixels: p, input } of photos) {
    const start = performance.now();
    const x = pixelsToTensor(input ?? p) as tf.Tensor3D;
    const y = withWinograd(() =>
      tf.tidy(() => {
        const { padded, pad } = mirrored(x, options.margin ?? REFLECT_MARGIN, multiple);
        const maxElements = options.maxElements ?? 2 ** 28;
        const whole = predictImage(model, padded, { maxElements });
        return tf.clipByValue(tf.slice(whole, [pad, pad, 0], [p.height, p.width, 3]), 0, 1);
      })
    );
    const seconds = (performance.now() - start) / 1000;
    const output = await tensorToPixels(y);
    x.dispose();
    // The photo itself (not the model's input) is what the output is scored against.
    const [y4, x4] = [tf.expandDims(y, 0) as tf.Tensor4D, stackPixels([p])];
    let scores: R;
    try {
      scores = await score(p, output, y4, x4);
    } finally {
      tf.dispose([y, x4, y4]);
    }
    await writePixels(`${runDir}/${dir}/${name}${marker}.png`, output);
    const ref = options.reference;
    const images = ref === undefined ? [p, output] : [p, output, coverCrop(ref, p.height, p.width)];
    const panel = comparisonPanel(images, { compare: [1, 0] });
    await writePixels(`${runDir}/samples/panel-${name}${marker}.png`, panel.pixels);
    rows.push({ photo: name, size: `${p.width}x${p.height}`, seconds, ...scores });
  }
  return rows;
}
