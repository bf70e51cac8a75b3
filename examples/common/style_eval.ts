/**
 * The style_transfer example's held-out evaluation: photos split like the other examples', the
 * loss terms of held-out crops before and after stylisation, and the final table.
 *
 * @module
 */
import type { Lpips } from "../../src/lpips/mod.ts";
import { lpipsMean } from "./lpips_column.ts";
import * as tf from "@tensorflow/tfjs-core";
import type * as tfl from "@tensorflow/tfjs-layers";
import {
  comparisonPanel,
  cropPixels,
  type Pixels,
  pixelsToTensor,
  readPixels,
  tensorToPixels,
  writePixels,
} from "../../src/data/mod.ts";
import { scope } from "../../src/lifetime/mod.ts";
import type { LossFn } from "../../src/loss/mod.ts";
import { predictImage } from "../../src/unet/mod.ts";
import type { ReportTable } from "../../src/train/mod.ts";
import { UsageError } from "../../src/experiment/mod.ts";
import { resizeShorterSide, WHOLE_PHOTO_MAX_ELEMENTS } from "./images.ts";
import { type StyleStats, styleStats } from "./style_stats.ts";
import { type SplitImage, splitPixels } from "./split_images.ts";
import { formatTable } from "../../src/experiment/mod.ts";
import { lossValues } from "./loss_values.ts";

/** `p` split like the other examples' photos: a training part and its right quarter. */
export function splitImage(path: string, p: Pixels, crop: number): SplitImage {
  const split = splitPixels(path, p, crop);
  if (split === undefined) {
    throw new UsageError(
      `${path} is ${p.width}x${p.height} at --size ${Math.min(p.width, p.height)}: too small ` +
        `for --crop ${crop} (it needs width >= 2 x crop); raise --size or lower --crop`,
    );
  }
  return split;
}

/** One row of the final table: the loss terms of unstylised or stylised held-out crops. */
export interface StyleRow {
  /** `unstylised` (the photos themselves) or `stylised` (the model's output). */
  readonly images: string;
  /** The content loss (against the photos themselves). */
  readonly content: number;
  /** The style loss: the sum of the style terms (against the style image's Grams). */
  readonly style: number;
  /** Every term and the total. */
  readonly terms: Record<string, number>;
  /** The standard deviation of the crops' pixel values (0: every crop one flat colour). */
  readonly pixelStd: number;
}

/** The loss terms of the held-out crops before and after stylisation. */
export async function scoreHeldOut(
  model: tfl.LayersModel,
  lossFn: LossFn,
  held: tf.Tensor4D,
): Promise<StyleRow[]> {
  const stylised = scope(() => tf.clipByValue(model.predict(held) as tf.Tensor4D, 0, 1));
  try {
    const rows: StyleRow[] = [];
    for (const [images, x] of [["unstylised", held], ["stylised", stylised]] as const) {
      const terms = await lossValues(lossFn, x, held, "total");
      const std = scope(() => tf.sqrt(tf.moments(x).variance));
      const pixelStd = (await std.data())[0]!;
      std.dispose();
      const sum = (kind: string) =>
        Object.keys(terms).filter((n) => n.startsWith(`${kind}:`)).reduce(
          (a, n) => a + terms[n]!,
          0,
        );
      rows.push({ images, content: sum("feature"), style: sum("style"), terms, pixelStd });
    }
    return rows;
  } finally {
    stylised.dispose();
  }
}

/**
 * A warning when the stylised crops came out (nearly) flat: several settings measured on the
 * default style (48-pixel crops, peak lr 1e-2, content at relu2_2) trained into one constant
 * image, whose style loss is lower than the photos' but which shows nothing.
 */
export function collapseWarning(rows: readonly StyleRow[]): string | undefined {
  const [photos, stylised] = [rows[0]!, rows[1]!];
  if (!(stylised.pixelStd < 0.01 * photos.pixelStd)) return undefined;
  return `warning: the stylised crops are flat (pixel standard deviation ` +
    `${stylised.pixelStd.toExponential(2)} vs the photos' ${photos.pixelStd.toFixed(3)}): ` +
    "training collapsed to one constant image; lower --lr, raise --content-weight or train " +
    "more steps";
}

/** The table in the examples' format, and the ratio the stylisation reached. */
export function printTable(rows: readonly StyleRow[], shape: readonly number[], random: boolean) {
  const terms = Object.keys(rows[0]!.terms);
  console.log(
    `\nheld-out crops (${shape[0]} of ${shape[1]}x${shape[2]}); style loss = sum of the style ` +
      "terms (Gram distances to the style image), content loss = feature distance to the photo:",
  );
  console.log(formatTable(
    [
      { name: "images" },
      { name: "style loss" },
      { name: "content loss" },
      ...terms.map((name) => ({ name })),
    ],
    rows.map((r) => [r.images, r.style, r.content, ...terms.map((t) => r.terms[t])]),
  ));
  const [before, after] = [rows[0]!.style, rows[1]!.style];
  console.log(`style loss stylised / unstylised: ${(after / before).toFixed(3)}`);
  const collapsed = collapseWarning(rows);
  if (collapsed !== undefined) console.warn(collapsed);
  if (random) console.log("(loss terms from a RANDOM-weight VGG: not ImageNet features)");
}

/** `path` (given as `flag`) as RGB, its shorter side resized to `side` when it is longer. */
export async function readAtMost(path: string, flag: string, side: number): Promise<Pixels> {
  let p: Pixels;
  try {
    p = await readPixels(path, { channels: 3 });
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) throw new UsageError(`${flag} ${path}: no such file`);
    throw e;
  }
  return Math.min(p.height, p.width) > side ? resizeShorterSide(p, side) : p;
}

/** `style` scaled to cover `height`×`width` and centre-cropped to it (for the panels). */
export function coverCrop(style: Pixels, height: number, width: number): Pixels {
  const s = Math.max(height / style.height, width / style.width);
  const side = Math.ceil(Math.min(style.height, style.width) * s);
  const big = resizeShorterSide(style, side);
  const h = Math.min(height, big.height);
  const w = Math.min(width, big.width);
  return cropPixels(big, Math.floor((big.height - h) / 2), Math.floor((big.width - w) / 2), h, w);
}

/** One photo of the final per-photo table: its name and size, and its three statistics. */
export interface PhotoRow extends StyleStats {
  /** The photo's file name without its extension. */
  readonly photo: string;
  /** `WxH` of the photo and of its stylised version. */
  readonly size: string;
  /** Seconds to stylise it (one forward pass). */
  readonly seconds: number;
  /**
   * LPIPS (alex) of the stylised photo against the photo: how far stylisation moved it
   * perceptually (NaN: not scored, no metric or a photo under 31×31).
   */
  readonly lpips: number;
}

/** Where {@linkcode stylisePhotos} writes. */
export interface PhotoOutput {
  /** The run directory: writes `stylised/<name>.png` and `samples/panel-<name>.png`. */
  readonly runDir: string;
  /** Appended to each file name (`_random-vgg` for a random loss network). */
  readonly marker: string;
  /** What the network's input sides must be multiples of (2^depth). */
  readonly multiple: number;
}

/** Pixels of reflection padding around each photo when it is stylised whole. */
const REFLECT_MARGIN = 48;

/**
 * Every photo, whole, through `model`: writes the stylised photo and a panel photo | stylised |
 * style (the style image scaled to cover the photo, ×4 inset where photo and stylised differ
 * most), and returns each photo's three statistics against the style image.
 */
export async function stylisePhotos(
  model: tfl.LayersModel,
  photos: readonly Pixels[],
  names: readonly string[],
  style: Pixels,
  out: PhotoOutput,
  metric?: Lpips,
): Promise<PhotoRow[]> {
  const rows: PhotoRow[] = [];
  for (const [i, p] of photos.entries()) {
    const name = names[i]!;
    const start = performance.now();
    const x = pixelsToTensor(p);
    const y = scope(() => {
      // Reflection padding (as Johnson's network pads): the borders see mirrored picture, not
      // the zeros of the convolutions' padding, and the padded size is a multiple of the network's
      // divisor (predictImage replicates rows for what a small photo cannot mirror).
      const m = Math.min(REFLECT_MARGIN, p.height - 1, p.width - 1);
      const extra = (n: number) => (out.multiple - (n + 2 * m) % out.multiple) % out.multiple;
      const [top, left] = [m, m];
      const bottom = Math.min(m + extra(p.height), p.height - 1);
      const right = Math.min(m + extra(p.width), p.width - 1);
      const padded = tf.mirrorPad(
        x as tf.Tensor3D,
        [[top, bottom], [left, right], [0, 0]],
        "reflect",
      );
      const whole = predictImage(model, padded, { maxElements: WHOLE_PHOTO_MAX_ELEMENTS });
      return tf.clipByValue(tf.slice(whole, [top, left, 0], [p.height, p.width, 3]), 0, 1);
    });
    const seconds = (performance.now() - start) / 1000;
    const lpips = await lpipsOfPhoto(metric, y, x);
    const stylised = await tensorToPixels(y);
    tf.dispose([x, y]);
    await writePixels(`${out.runDir}/stylised/${name}${out.marker}.png`, stylised);
    const panel = comparisonPanel([p, stylised, coverCrop(style, p.height, p.width)], {
      compare: [1, 0],
    });
    await writePixels(`${out.runDir}/samples/panel-${name}${out.marker}.png`, panel.pixels);
    const size = `${stylised.width}x${stylised.height}`;
    rows.push({ photo: name, size, seconds, lpips, ...styleStats(p, stylised, style) });
  }
  return rows;
}

/** LPIPS of one stylised photo against the photo (both [H, W, 3]). */
async function lpipsOfPhoto(metric: Lpips | undefined, y: tf.Tensor, x: tf.Tensor) {
  const [a, b] = [tf.expandDims(y, 0) as tf.Tensor4D, tf.expandDims(x, 0) as tf.Tensor4D];
  try {
    return await lpipsMean(metric, a, b);
  } finally {
    tf.dispose([a, b]);
  }
}

const PHOTO_COLUMNS = [
  "photo",
  "size",
  "colour dist photo",
  "colour dist stylised",
  "edge corr",
  "lattice photo",
  "lattice stylised",
  "LPIPS to photo (alex)",
  "targets",
] as const;

function photoCells(r: PhotoRow): (string | number)[] {
  return [
    r.photo,
    r.size,
    Number(r.photoColour.toFixed(3)),
    Number(r.stylisedColour.toFixed(3)),
    Number(r.edges.toFixed(3)),
    Number(r.photoLattice.toFixed(2)),
    Number(r.stylisedLattice.toFixed(2)),
    Number.isNaN(r.lpips) ? "n/a" : Number(r.lpips.toFixed(3)),
    r.ok ? "met" : "MISSED",
  ];
}

/** The per-photo statistics as the run report's table. */
export function photoReportTable(rows: readonly PhotoRow[]): ReportTable {
  return { columns: PHOTO_COLUMNS, rows: rows.map(photoCells) };
}

/** The per-photo statistics on stdout, with what each column must reach. */
export function printPhotoTable(rows: readonly PhotoRow[]): void {
  console.log(
    "\nevery photo, whole: colour dist = RGB-histogram Bhattacharyya distance to the style " +
      "image (target: stylised <= half the photo's), edge corr = correlation of 4x4-block " +
      "gradient magnitudes with the photo (>= 0.3), lattice = spectrum peak at periods 4 and " +
      "8 px over its neighbourhood (stylised <= max(4, 2x the photo's)):",
  );
  console.log(formatTable(PHOTO_COLUMNS.map((name) => ({ name })), rows.map(photoCells)));
  const met = rows.filter((r) => r.ok).length;
  console.log(`${met} of ${rows.length} photos meet all three targets`);
}
