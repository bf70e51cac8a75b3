/**
 * examples/style_transfer.ts: fast (Johnson) mode and `--optimize` (Gatys) mode each run a few
 * steps on tiny images and write their run directories; bad flags give one line and status 2.
 */
import assert from "node:assert/strict";
import { resolve } from "node:path";
import { initBackend } from "../src/backend/mod.ts";
import { readPixels } from "../src/data/mod.ts";
import { assertNoLeak } from "../src/lifetime/mod.ts";
import { DEFAULT_LAYER_WEIGHTS, DEFAULT_STYLE, HELP, main } from "../examples/style_transfer.ts";
import { lpips } from "../src/lpips/mod.ts";
import { collapseWarning, scoreHeldOut, stylisePhotos } from "../examples/common/style_eval.ts";
import * as tf from "@tensorflow/tfjs-core";
import * as tfl from "@tensorflow/tfjs-layers";

async function captured<T>(fn: () => Promise<T>): Promise<{ value: T; out: string; err: string }> {
  const saved = { log: console.log, error: console.error, warn: console.warn };
  const out: string[] = [];
  const err: string[] = [];
  console.log = (...a: unknown[]) => void out.push(a.map(String).join(" "));
  console.error = (...a: unknown[]) => void err.push(a.map(String).join(" "));
  console.warn = console.error;
  try {
    const value = await fn();
    return { value, out: out.join("\n"), err: err.join("\n") };
  } finally {
    Object.assign(console, saved);
  }
}

const COMMON = ["--vgg", "random", "--backend", "wasm", "--quiet", "--sample-every", "2"];

Deno.test("style_transfer trains a transformation network and stylises every content photo", async () => {
  await initBackend("wasm");
  const out = `${await Deno.makeTempDir()}/run`;
  const args = [
    ...COMMON,
    ...["--steps", "3", "--batch", "2", "--size", "64", "--crop", "32", "--depth", "2"],
    ...["--style-size", "64"],
    ...["--filters", "4", "--samples", "2", "--out", out],
  ];
  let r = { value: -1, out: "", err: "" };
  await assertNoLeak(async () => {
    r = await captured(() => main(args));
  });
  assert.equal(r.value, 0, r.err);
  assert.match(r.out, /RANDOM .*weights/);

  const config = JSON.parse(await Deno.readTextFile(`${out}/config.json`));
  assert.equal(config.mode, "fast (Johnson)");
  // Paths are stored absolute (the run resumes from any folder).
  assert.equal(config.options.style, resolve(DEFAULT_STYLE));
  // The Starry Night by default, and not one of the content photos.
  assert.match(config.options.style, /starry_night\.jpg$/);
  assert.ok(!config.content.some((p: string) => p.includes("starry")));
  assert.equal(config.content.length, 6); // the six photos of examples/data
  // Johnson's loss on Gatys' layers: one content term, total variation, three style terms; no
  // colour term when training (the colour transfer gives the colours; per-crop it made blobs).
  const kinds = config.loss.terms.map((t: { kind: string }) => t.kind);
  assert.deepEqual(kinds, ["feature", "tv", "style", "style", "style"]);
  // Instance norm, which keeps the default run out of the black-image collapse, at peak lr 1e-2;
  // resize-convolutions (no pixel-shuffle lattice); a residual over the recoloured photo (the
  // untrained network starts at the content, so the peak-lr steps cannot wipe it out).
  assert.equal(config.unet.norm, "instance");
  assert.equal(config.unet.upsample, "resizeConv");
  assert.equal(config.unet.residual, true);
  assert.equal(config.options.output, "residual");
  assert.equal(config.lr, 0.01);
  // Per-layer style weights: --style-weight × [50, 1, 1] on relu1_1, relu2_1, relu3_1.
  const styleWeights = config.loss.terms.filter((t: { kind: string }) => t.kind === "style")
    .map((t: { weight: number }) => t.weight);
  const sw = config.options["style-weight"];
  assert.deepEqual(styleWeights, DEFAULT_LAYER_WEIGHTS.map((w) => w * sw));

  const csv = (await Deno.readTextFile(`${out}/metrics.csv`)).trim().split("\n");
  assert.equal(csv.length, 1 + 3);
  for (
    const col of [
      "feature:block3_conv2",
      "style:block1_conv1",
      "style:block3_conv1",
      "tv",
    ]
  ) {
    assert.ok(csv[0]!.split(",").includes(col), `metrics.csv lacks ${col}`);
  }
  assert.ok(!csv[0]!.split(",").includes("colour"));

  // Whole photos, resized to a shorter side of 64, stylised at any size.
  const stylised = [...Deno.readDirSync(`${out}/stylised`)].map((e) => e.name).sort();
  const names = config.content.map((p: string) =>
    p.slice(p.lastIndexOf("/") + 1).replace(/\.[^.]+$/, "_random-vgg.png")
  ).sort();
  assert.deepEqual(stylised, names);
  const chelsea = await readPixels(`${out}/stylised/skimage_chelsea_random-vgg.png`);
  assert.deepEqual([chelsea.height, chelsea.width], [64, 96]); // 451x300 → 96x64
  // Panels photo | stylised | style, with the inset row under them.
  const panels = [...Deno.readDirSync(`${out}/samples`)].map((e) => e.name)
    .filter((n) => n.startsWith("panel-")).sort();
  assert.deepEqual(panels, names.map((n: string) => `panel-${n}`));
  const panel = await readPixels(`${out}/samples/panel-skimage_chelsea_random-vgg.png`);
  assert.equal(panel.width, 3 * 96 + 2 * 8);
  // The table: unstylised (content loss 0: the photos are their own content) and stylised,
  // numbers unquoted, and the ratio of style losses.
  assert.match(r.out, /^images\s+style loss\s+content loss\s+total\s/m);
  assert.match(r.out, /^unstylised\s+\S+\s+0\.000\s/m);
  assert.match(r.out, /^stylised\s+\d/m);
  assert.match(r.out, /style loss stylised \/ unstylised: \d+\.\d{3}/);
  assert.doesNotMatch(r.out, /"\d/);
  // The per-photo statistics: one row per photo, with the targets' verdict.
  assert.match(r.out, /^photo\s+size\s+colour dist photo\s+colour dist stylised\s+edge corr\s/m);
  assert.match(r.out, /^skimage_chelsea\s+96x64\s+\d\.\d+\s+\d\.\d+\s+-?\d\.\d+\s/m);
  assert.match(r.out, /\d of 6 photos meet all three targets/);
  // LPIPS (alex) of each stylised photo against the photo itself, before the verdict.
  assert.match(r.out, /lattice stylised\s+LPIPS to photo \(alex\)\s+targets$/m);
  const results = JSON.parse(await Deno.readTextFile(`${out}/results.json`));
  assert.equal(results.photos.length, 6);
  for (const p of results.photos) {
    for (const k of ["photoColour", "stylisedColour", "edges", "photoLattice", "stylisedLattice"]) {
      assert.ok(Number.isFinite(p[k]), `${p.photo}.${k} = ${p[k]}`);
    }
    assert.equal(typeof p.ok, "boolean");
  }
  const report = await Deno.readTextFile(`${out}/report.html`);
  assert.match(report, /colour dist stylised/);
  assert.match(report, /skimage_chelsea/);
  assert.deepEqual(results.table.map((row: { images: string }) => row.images), [
    "unstylised",
    "stylised",
  ]);
  assert.equal(results.table[0].content, 0);
  assert.ok(results.table[0].style > 0);
  const sample = await readPixels(`${out}/samples/step-000003_random-vgg.png`);
  assert.deepEqual([sample.height, sample.width], [2 * 32, 3 * 32]);
  assert.ok((await Deno.stat(`${out}/model/model.json`)).isFile);
  await Deno.remove(out, { recursive: true });
});

Deno.test("style_transfer --optimize optimises one image's pixels against the style", async () => {
  await initBackend("wasm");
  const out = `${await Deno.makeTempDir()}/run`;
  const args = [...COMMON, "--optimize", "--steps", "4", "--size", "40", "--out", out];
  let r = { value: -1, out: "", err: "" };
  await assertNoLeak(async () => {
    r = await captured(() => main(args));
  });
  assert.equal(r.value, 0, r.err);
  const config = JSON.parse(await Deno.readTextFile(`${out}/config.json`));
  assert.equal(config.mode, "optimize (Gatys)");
  assert.equal(config.lr, 0.02);
  // --optimize keeps the sliced-Wasserstein colour term (weight 2e8, 16 directions).
  const colour = config.loss.terms.at(-1);
  assert.deepEqual([colour.kind, colour.weight, colour.directions], ["colour", 2e8, 16]);

  const csv = (await Deno.readTextFile(`${out}/metrics.csv`)).trim().split("\n");
  assert.equal(csv.length, 1 + 4);
  const header = csv[0]!.split(",");
  const rows = csv.slice(1).map((l) => l.split(",").map(Number));
  const total = header.indexOf("total");
  const content = header.indexOf("feature:block3_conv2");
  // Step 1 starts from the content image itself: zero content loss, then the style pulls away.
  assert.equal(rows[0]![content], 0);
  assert.ok(rows[3]![content]! > 0);
  // Four Adam steps on the pixels lower the (style-dominated) loss.
  assert.ok(rows[3]![total]! < rows[0]![total]!, `${rows[0]![total]} -> ${rows[3]![total]}`);

  const stylised = await readPixels(`${out}/stylised_random-vgg.png`);
  assert.deepEqual([stylised.height, stylised.width], [40, 60]); // chelsea 451x300 → 60x40
  const steps = [...Deno.readDirSync(`${out}/steps`)].map((e) => e.name).sort();
  assert.deepEqual(steps, ["step-000002_random-vgg.png", "step-000004_random-vgg.png"]);
  assert.ok((await Deno.stat(`${out}/content-stylised-style_random-vgg.png`)).isFile);
  // The same three statistics as the fast mode's, for the one photo.
  const results = JSON.parse(await Deno.readTextFile(`${out}/results.json`));
  assert.deepEqual(results.photos.map((p: { photo: string; size: string }) => [p.photo, p.size]), [
    ["skimage_chelsea", "60x40"],
  ]);
  assert.ok(
    results.photos[0].edges > 0.3,
    `4 small steps keep the edges: ${results.photos[0].edges}`,
  );
  assert.match(r.out, /^skimage_chelsea\s+60x40\s/m);

  // The run directory is not reused.
  const again = await captured(() => main(args));
  assert.equal(again.value, 2);
  assert.match(again.err, /--out .* holds a previous run \(nothing was changed\)/);
  await Deno.remove(out, { recursive: true });
});

Deno.test("style_transfer: --help, and bad flags or paths give one line and a non-zero status", async () => {
  const help = await captured(() => main(["--help"]));
  assert.equal(help.value, 0);
  assert.equal(help.out.trim(), HELP.trim());
  for (
    const flag of [
      "--style",
      "--optimize",
      "--content-weight",
      "--style-weight",
      "--tv-weight",
      "--colour-weight",
      "--colour-directions",
      "--output",
      "--vgg",
    ]
  ) {
    assert.match(HELP, new RegExp(`${flag}\\b`));
  }
  const cases: [string[], RegExp, number][] = [
    [["--style-wieght", "3"], /unknown flag --style-wieght \(did you mean --style-weight\?\)/, 2],
    [["--tv-weight", "x"], /--tv-weight: 'x' is not a number >= 0/, 2],
    [["--colour-weight", "-1"], /--colour-weight: '-1' is not a number >= 0/, 2],
    [["--steps", "0"], /--steps: '0' is not a positive integer/, 2],
    [["--style", "no/such.png"], /--style no\/such\.png: no such file/, 2],
    [["--optimize", "--resume", "--out", "x"], /--resume works in training mode only/, 2],
    [["--crop", "96", "--size", "64"], /--crop 96 is larger than --size 64/, 2],
    [["--upsample", "nearest"], /--upsample: 'nearest' is not one of/, 2],
    [["--output", "residue"], /--output: 'residue' is not one of/, 2],
    [["--style-layer-weights", "1,2"], /--style-layer-weights has 2 values for 3 style layers/, 2],
    [["--style-layer-weights", "1,x,2"], /--style-layer-weights 1,x,2: give numbers >= 0/, 2],
  ];
  for (const [args, message, status] of cases) {
    const r = await captured(() => main(args));
    assert.equal(r.value, status, `${args.join(" ")}: ${r.err}`);
    const lines = r.err.split("\n").filter((l) => l.startsWith("style_transfer:"));
    assert.equal(lines.length, 1, `${args.join(" ")} should print one error line: ${r.err}`);
    assert.match(lines[0]!, message);
  }
});

Deno.test("a stylisation that collapsed to one flat image is called out, a real one is not", async () => {
  await initBackend("wasm");
  // A "model" that paints every pixel 0.5 grey: what the collapsed runs produced.
  const flat = tfl.sequential({
    layers: [tfl.layers.conv2d({
      filters: 3,
      kernelSize: 1,
      inputShape: [null, null, 3],
      kernelInitializer: "zeros",
      biasInitializer: tfl.initializers.constant({ value: 0.5 }),
    })],
  });
  const held = tf.randomUniform([2, 8, 8, 3], 0, 1, "float32", 3) as tf.Tensor4D;
  const lossFn = (x: tf.Tensor4D, y: tf.Tensor4D) => {
    const d = tf.mean(tf.abs(tf.sub(x, y)));
    return { total: d, terms: { "feature:x": tf.clone(d), "style:y": tf.mul(d, 2) } };
  };
  await assertNoLeak(async () => {
    const rows = await scoreHeldOut(flat, lossFn as never, held);
    assert.equal(rows[1]!.pixelStd, 0);
    // The photos' own spread: uniform noise in [0, 1] has std 1/√12 ≈ 0.289.
    assert.ok(Math.abs(rows[0]!.pixelStd - 0.289) < 0.05, `${rows[0]!.pixelStd}`);
    assert.match(collapseWarning(rows) ?? "", /flat .*collapsed to one constant image; lower --lr/);
    assert.equal(collapseWarning([rows[0]!, rows[0]!]), undefined);
  });
  held.dispose();
  flat.dispose();
});

Deno.test("stylisePhotos: whole photos of any size (smaller than the mirror margin too), no leak", async () => {
  await initBackend("wasm");
  // The identity as a "style network": each stylised photo must come back as the photo itself.
  const init = [tf.reshape(tf.eye(3), [1, 1, 3, 3]), tf.zeros([3])];
  const identity = tfl.sequential({
    layers: [tfl.layers.conv2d({
      filters: 3,
      kernelSize: 1,
      inputShape: [null, null, 3],
      weights: init,
    })],
  });
  tf.dispose(init);
  const photo = (w: number, h: number, seed: number) => {
    const t = tf.randomUniform([h, w, 3], 0, 1, "float32", seed);
    const data = t.dataSync() as Float32Array;
    t.dispose();
    return { width: w, height: h, channels: 3, data };
  };
  const photos = [photo(13, 10, 1), photo(9, 20, 2), photo(70, 60, 3)];
  const style = photo(16, 16, 4);
  const runDir = await Deno.makeTempDir();
  let rows: Awaited<ReturnType<typeof stylisePhotos>> = [];
  using metric = await lpips({ net: "alex" });
  await assertNoLeak(async () => {
    rows = await stylisePhotos(identity, photos, ["a", "b", "c"], style, {
      runDir,
      marker: "",
      multiple: 8,
    }, metric);
  });
  // LPIPS to the photo: 0 for the identity; not scored (NaN) under alex's 31×31 minimum.
  assert.deepEqual(rows.map((r) => Number.isNaN(r.lpips)), [true, true, false]);
  assert.ok(Math.abs(rows[2]!.lpips) < 1e-6, `identity LPIPS ${rows[2]!.lpips}`);
  assert.deepEqual(rows.map((r) => [r.photo, r.size]), [["a", "13x10"], ["b", "9x20"], [
    "c",
    "70x60",
  ]]);
  for (const [i, r] of rows.entries()) {
    assert.equal(r.edges, 1, `${r.photo}: the identity keeps every edge`);
    assert.equal(r.stylisedColour, r.photoColour);
    assert.equal(r.stylisedLattice, r.photoLattice);
    const written = await readPixels(`${runDir}/stylised/${r.photo}.png`);
    assert.deepEqual([written.width, written.height], [photos[i]!.width, photos[i]!.height]);
    // photo | stylised | style, 8-px gaps, the inset row below.
    const panel = await readPixels(`${runDir}/samples/panel-${r.photo}.png`);
    assert.equal(panel.width, 3 * photos[i]!.width + 2 * 8);
  }
  identity.dispose();
  await Deno.remove(runDir, { recursive: true });
});
