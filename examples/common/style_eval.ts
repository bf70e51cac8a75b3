/**
 * The style_transfer example's tables: held-out crops' loss terms, and every photo stylised whole
 * with the three statistics a person would check and their targets.
 *
 * @module
 */
import type * as tf from "@tensorflow/tfjs-core";
import type * as tfl from "@tensorflow/tfjs-layers";
import type { Pixels } from "../../src/data/mod.ts";
import type { Lpips } from "../../src/lpips/mod.ts";
import { colourDistance, edgeCorrelation, latticePeak } from "../../src/metrics/mod.ts";
import type { LossFn } from "../../src/loss/mod.ts";
import * as X from "../../src/experiment/mod.ts";

/** A held-out row: `content` and `style` are the sums of the feature and style terms. */
export type StyleRow = X.LossRow & { readonly content: number; readonly style: number };

/** The loss terms of the held-out crops as they are (`unstylised`) and `stylised` by `model`. */
export async function scoreHeldOut(model: tfl.LayersModel, lossFn: LossFn, held: tf.Tensor4D) {
  const rows = await X.lossTable(lossFn, held, held, { unstylised: held, stylised: model });
  return rows.map((r): StyleRow => ({ ...r, content: r.kinds.feature!, style: r.kinds.style! }));
}

/** A warning when training collapsed to one flat image (seen with 48-px crops and lr 1e-2). */
export function collapseWarning([photos, stylised]: readonly StyleRow[]): string | undefined {
  if (!(stylised!.pixelStd < 0.01 * photos!.pixelStd)) return undefined;
  return `warning: the stylised crops are flat (pixel standard deviation ` +
    `${stylised!.pixelStd.toExponential(2)} vs the photos' ${photos!.pixelStd.toFixed(3)}): ` +
    "training collapsed to one constant image; lower --lr, raise --content-weight or train more steps";
}

/** The held-out table on stdout, and the ratio of style losses the stylisation reached. */
export function printTable(rows: readonly StyleRow[], shape: readonly number[]): void {
  console.log(
    `\nheld-out crops (${shape[0]} of ${shape[1]}x${shape[2]}); style loss = sum of the style ` +
      "terms (Gram distances to the style image), content loss = feature distance to the photo:\n" +
      X.lossTableText(rows, { "style loss": "style", "content loss": "feature" }) +
      `\nstyle loss stylised / unstylised: ${(rows[1]!.style / rows[0]!.style).toFixed(3)}`,
  );
  const collapsed = collapseWarning(rows);
  if (collapsed !== undefined) console.warn(collapsed);
}

/**
 * The statistics of `stylised` against `photo` and `style` (lattice: periods 4 and 8 px), and
 * `ok`: colour distance <= half the photo's, edges >= 0.3, lattice <= max(4, 2 × the photo's).
 */
export function styleStats(photo: Pixels, stylised: Pixels, style: Pixels) {
  const lattice = (p: Pixels) => Math.max(latticePeak(p, 4), latticePeak(p, 8));
  const [photoColour, stylisedColour] = [
    colourDistance(photo, style),
    colourDistance(stylised, style),
  ];
  const [photoLattice, stylisedLattice] = [lattice(photo), lattice(stylised)];
  const edges = edgeCorrelation(photo, stylised);
  const ok = stylisedColour <= photoColour / 2 && edges >= 0.3 &&
    stylisedLattice <= Math.max(4, 2 * photoLattice);
  return { photoColour, stylisedColour, edges, photoLattice, stylisedLattice, ok };
}

/** One photo of the per-photo table. */
export type PhotoRow = ReturnType<typeof styleStats> & X.WholeImageRow & { lpips: number };

/** Every photo whole through `model` (`stylised/`, panels beside `style`), scored. */
export async function stylisePhotos(
  model: tfl.LayersModel,
  photos: readonly Pixels[],
  names: readonly string[],
  style: Pixels,
  out: { runDir: string; marker: string; multiple: number },
  metric: Lpips,
  inputs: readonly Pixels[] = photos,
): Promise<PhotoRow[]> {
  const lpips = X.lpipsMetric(metric);
  const named = photos.map((pixels, i) => ({ name: names[i]!, pixels, input: inputs[i] }));
  return await X.predictWholeImages(
    model,
    named,
    { ...out, dir: "stylised", reference: style },
    async (p, s, y, x) => ({ lpips: await lpips(y, x), ...styleStats(p, s, style) }),
  );
}

const COLUMNS = ["photo", "size", "colour dist photo", "colour dist stylised", "edge corr"]
  .concat(["lattice photo", "lattice stylised", "LPIPS to photo (alex)", "targets"]);
const cells = (
  r: PhotoRow,
) => [
  r.photo,
  r.size,
  r.photoColour,
  r.stylisedColour,
  r.edges,
  r.photoLattice,
  r.stylisedLattice,
  Number.isNaN(r.lpips) ? "n/a" : r.lpips,
  r.ok ? "met" : "MISSED",
];

/** The per-photo table for `report.html`. */
export const photoReportTable = (rows: readonly PhotoRow[]) => ({
  columns: COLUMNS,
  rows: rows.map(cells),
});

/** The per-photo table on stdout, with what each column must reach. */
export function printPhotoTable(rows: readonly PhotoRow[]): void {
  console.log(
    "\nevery photo, whole: colour dist = RGB-histogram Bhattacharyya distance to the style " +
      "image (target: stylised <= half the photo's), edge corr = correlation of 4x4-block " +
      "gradient magnitudes with the photo (>= 0.3), lattice = spectrum peak at periods 4 and " +
      `8 px over its neighbourhood (stylised <= max(4, 2x the photo's)):\n` +
      X.formatTable(COLUMNS.map((name) => ({ name })), rows.map(cells)) +
      `\n${rows.filter((r) => r.ok).length} of ${rows.length} photos meet all three targets`,
  );
}

/** The tables on stdout, `results.json`, and the report (fast mode: with the held-out table). */
export async function finish(
  s: X.Session,
  run: X.TrainedRun | undefined,
  table: readonly StyleRow[],
  shape: readonly number[],
  photos: readonly PhotoRow[],
): Promise<void> {
  if (run !== undefined) printTable(table, shape);
  printPhotoTable(photos);
  const net = { lossNetwork: s.description, lossNetworkKind: s.kind, randomLossNetwork: s.random };
  const results = run ? { heldOutCrops: shape[0], ...net, table, photos } : { photos };
  await Deno.writeTextFile(`${s.runDir}/results.json`, JSON.stringify(results, null, 2) + "\n");
  const ratio = table.length === 2 ? (table[1]!.style / table[0]!.style).toFixed(3) : "n/a";
  const met = [
    "photos meeting all three targets",
    `${photos.filter((p) => p.ok).length} of ${photos.length}`,
  ];
  const summary = [["style loss stylised / unstylised (held-out crops)", ratio], met] as [
    string,
    string,
  ][];
  await run?.report.finish({ table: photoReportTable(photos), summary });
}

/** `config.json`'s contents. */
export type Config = Record<string, unknown>;
/** `--crop` too large for a photo's split; the file name without folder and extension. */
export const tooSmall = (o: { crop: number }): never => {
  throw new X.UsageError(`--crop ${o.crop}: a photo is too small (width >= 2 x crop needed)`);
};
export const baseName = (path: string): string => path.replace(/^.*\/|\.[^.]+$/g, "");
