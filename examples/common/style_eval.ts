/**
 * The style_transfer example's held-out evaluation: photos split like the other examples', the
 * loss terms of held-out crops before and after stylisation, and the final table.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
import type * as tfl from "@tensorflow/tfjs-layers";
import type { Pixels } from "../../src/data/mod.ts";
import { scope } from "../../src/lifetime/mod.ts";
import type { LossFn } from "../../src/loss/mod.ts";
import { UsageError } from "./cli.ts";
import { type SplitImage, splitPixels } from "./split_images.ts";
import { formatTable } from "./table.ts";
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
