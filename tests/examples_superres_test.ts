/// <reference lib="dom" />
import assert from "node:assert/strict";
import { tinyPhotos } from "./_tiny_photos.ts";
import * as tf from "@tensorflow/tfjs-core";
import { main, parseOptions } from "../examples/superres.ts";
import { UsageError } from "../src/experiment/mod.ts";
import { quietly } from "./_quietly.ts";
import { initBackend } from "../src/backend/mod.ts";
import { bicubicDownscale, bicubicUpscale, readPixels, saveImage } from "../src/data/mod.ts";
import * as tfl from "@tensorflow/tfjs-layers";
import type { LossFn } from "../src/loss/mod.ts";
import { lpips } from "../src/lpips/mod.ts";
import { type EvalPair, scoreCrops, scoreFolder } from "./_sr_eval.ts";
import { chromiumSkipReason, readReportPage, serveDir, startChromium } from "./_chromium.ts";

Deno.test("superres: a few steps on tiny crops write a complete run directory", async () => {
  await initBackend("cpu");
  const dir = await Deno.makeTempDir({ prefix: "superres-test-" });
  try {
    // A Set5-style folder: HR images only (LR made by bicubic downscaling), one with a size the
    // U-Net's depth does not divide, to exercise padding.
    const evalDir = `${dir}/set`;
    for (const [name, h, w] of [["a", 20, 24], ["b", 18, 22]] as const) {
      const img = tf.tidy(() =>
        tf.clipByValue(tf.add(tf.randomUniform([h, w, 3], 0, 0.2, "float32", 7), 0.4), 0, 1)
      ) as tf.Tensor3D;
      await saveImage(`${evalDir}/${name}_HR.png`, img);
      img.dispose();
    }
    const runDir = `${dir}/run`;
    const photos = await Deno.makeTempDir({ dir, prefix: "photos" });
    const held = await tinyPhotos(photos);
    const args = (steps: number) => [
      "--data",
      photos,
      "--steps",
      String(steps),
      "--crop",
      "16",
      "--batch",
      "2",
      "--samples",
      "2",
      "--sample-every",
      "2",
      "--vgg",
      "random",
      "--layers",
      "block1_conv2,block2_conv2",
      "--depth",
      "1",
      "--filters",
      "4",
      "--backend",
      "cpu",
      "--eval",
      evalDir,
      "--out",
      runDir,
      "--quiet",
    ];
    const before = tf.memory().numTensors;
    const { value: code, out, err } = await quietly(() => main(args(3)));
    assert.equal(code, 0, err);
    assert.equal(tf.memory().numTensors, before, "main leaked tensors");
    assert.match(out, /backend cpu/);
    assert.match(out, /loss network: RANDOM vgg16 weights \(seed 0\).*--vgg random/);
    assert.match(out, /loss terms' shares of the total at step 1: pixel/);
    assert.match(out, /held-out crops\s+bicubic/);
    assert.match(out, /held-out crops\s+model/);
    // 16×16 crops and 20×24 images are below AlexNet's 31×31: LPIPS says n/a, not a number.
    assert.match(out, /LPIPS alex/);
    assert.match(out, /n\/a: an image under 31×31/);

    const config = JSON.parse(await Deno.readTextFile(`${runDir}/config.json`));
    assert.equal(config.example, "superres");
    assert.equal(config.randomLossNetwork, true);
    assert.equal(config.lossNetworkKind, "random");
    assert.match(config.lossNetwork, /RANDOM vgg16/);
    assert.equal(config.unet.scale, 2);
    const csv = (await Deno.readTextFile(`${runDir}/metrics.csv`)).trim().split("\n");
    assert.equal(csv.length, 4, "header + 3 steps");
    assert.match(csv[0]!, /^step,/);
    assert.match(csv[0]!, /feature:block2_conv2/);
    assert.match(csv[0]!, /val_psnr_y/);
    const samples = [...Deno.readDirSync(`${runDir}/samples`)].map((e) => e.name).sort();
    const tag = evalDir.split("/").slice(-2).join("-");
    assert.deepEqual(
      samples,
      [
        ...["a", "b"].map((n) => `panel-eval-${tag}-${n}.png`),
        ...held.sort().map((n) => `panel-heldout-${n}.png`),
        "step-000002_random-vgg.png",
        "step-000003_random-vgg.png",
      ].sort(),
    );
    // A panel: bicubic | model | truth of a 20x24 image (gap 8), the x4 inset below (6 px
    // region: min(48, 24/4, 20)).
    const panel = await readPixels(`${runDir}/samples/panel-eval-${tag}-a.png`);
    assert.deepEqual([panel.width, panel.height], [3 * 24 + 2 * 8, 20 + 8 + 6 * 4]);
    const report = await Deno.readTextFile(`${runDir}/report.html`);
    assert.match(report, /<svg/);
    assert.match(report, /data-series="feature:block2_conv2"/);
    assert.match(report, /data-series="psnr_y"/);
    assert.match(report, /src="samples\/panel-eval-/);
    assert.match(report, /<th>PSNR Y \(dB\)<\/th>/, "the final table is in the report");
    assert.match(report, /<th>LPIPS alex \(lower is better\)<\/th>/);
    assert.match(report, /class="status">finished after step 3/);
    assert.doesNotMatch(report, /http-equiv="refresh"/, "no longer reloading once finished");
    assert.match(report, /RANDOM vgg16 weights \(seed 0\)/);
    const checkpoints = [...Deno.readDirSync(`${runDir}/checkpoints`)].map((e) => e.name);
    assert.ok(checkpoints.includes("step-00000003"), checkpoints.join());
    assert.ok(Deno.statSync(`${runDir}/model/model.json`).isFile);
    const results = JSON.parse(await Deno.readTextFile(`${runDir}/results.json`));
    const sets = new Set(results.rows.map((r: { set: string }) => r.set));
    assert.equal(sets.size, 3, "held-out crops, held-out strips and the --eval folder");
    assert.match(results.lossNetwork, /RANDOM vgg16/);
    for (const r of results.rows) {
      assert.ok(Number.isFinite(r.psnrY) && r.psnrY > 10, JSON.stringify(r));
      assert.ok(r.ssimY > 0 && r.ssimY <= 1, JSON.stringify(r));
      assert.ok(Number.isFinite(r.featureL1) && r.featureL1 >= 0, JSON.stringify(r));
      assert.equal(r.lpipsAlex, null, "too small for LPIPS alex: null, not dropped or 0");
    }

    // Resume continues from the last checkpoint up to the new total.
    const resumed = await quietly(() => main([...args(4), "--resume"]));
    assert.equal(resumed.value, 0, resumed.err);
    assert.match(resumed.out, /1 steps \(4 in total\) after resuming/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("superres: bad flags and paths give one line and a non-zero exit", async () => {
  const cases: [string[], RegExp][] = [
    [["--scale", "3"], /--scale: '3' is not 2 or 4/],
    [["--stpes", "3"], /unknown flag --stpes \(did you mean --steps\?\)/],
    [["--crop", "30"], /--crop 30 is not a multiple of scale/],
    [["--data", "/nonexistent-folder"], /nonexistent-folder/],
    [["--resume"], /--resume needs --out/],
    [["--loss", "/nonexistent.json"], /--loss \/nonexistent.json: cannot read it/],
  ];
  for (const [args, message] of cases) {
    const { value, err } = await quietly(() => main(args));
    assert.notEqual(value, 0, args.join(" "));
    assert.match(err, message);
    assert.equal(err.split("\n").length, 1, `one line for ${args.join(" ")}: ${err}`);
    assert.doesNotMatch(err, /\n\s+at /);
  }
  assert.equal((await quietly(() => main(["--help"]))).value, 0);
  assert.throws(() => parseOptions(["--batch", "0"]), UsageError);
});

const skipBrowser = await chromiumSkipReason();
if (skipBrowser !== undefined) console.log(`superres report browser test skipped: ${skipBrowser}`);

Deno.test({
  name: "superres: the report.html of a tiny run in headless Chromium: plots, images, table",
  ignore: skipBrowser !== undefined,
  sanitizeResources: false, // playwright's pipes to the browser outlive single awaits
  sanitizeOps: false,
  async fn() {
    await initBackend("cpu");
    const dir = await Deno.makeTempDir({ prefix: "superres-report-" });
    const runDir = `${dir}/run`;
    const server = serveDir(runDir);
    try {
      const photos = await Deno.makeTempDir({ dir, prefix: "photos" });
      await tinyPhotos(photos);
      const args = ["--data", photos, "--steps", "4", "--crop", "16", "--batch", "2"];
      args.push("--samples", "2");
      args.push("--sample-every", "2", "--vgg", "random", "--layers", "block1_conv2");
      args.push("--depth", "1", "--filters", "4", "--backend", "cpu", "--out", runDir, "--quiet");
      const { value, err } = await quietly(() => main(args));
      assert.equal(value, 0, err);
      await using browser = await startChromium();
      const { page, errors, external } = await browser.newPage();
      await page.setViewportSize({ width: 1400, height: 900 });
      await page.goto(`${server.url}/report.html`, { waitUntil: "load" });
      const seen = await readReportPage(page);
      const by = seen.series;
      for (const s of ["pixel", "feature:block1_conv2", "style:block1_conv2", "total", "lr"]) {
        assert.equal(by[s]?.points, 4, `${s}: ${JSON.stringify(by[s])}`);
        assert.ok(by[s]!.length > 10, `${s} is drawn (length ${by[s]!.length})`);
      }
      assert.equal(by.psnr_y?.points, 2, "validation at steps 2 and 4");
      assert.equal(seen.images.length, 4, JSON.stringify(seen.images));
      assert.ok(seen.images.every((i) => i.complete && i.width > 0), JSON.stringify(seen.images));
      assert.ok(seen.images.some((i) => i.src?.startsWith("samples/panel-heldout-")));
      assert.equal(seen.rows, 4, "bicubic and model for held-out crops and strips");
      assert.match(seen.status, /finished after step 4/);
      assert.deepEqual(errors, []);
      assert.deepEqual(external, []);
      const shot = Deno.env.get("REPORT_SCREENSHOT");
      if (shot !== undefined) await page.screenshot({ path: shot });
    } finally {
      await server.close();
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test("superres table: the LPIPS (alex) column is the mean per-image LPIPS of bicubic and model", async () => {
  await initBackend("wasm");
  // A model that outputs one constant colour at twice the size: its LPIPS is far from bicubic's.
  const model = tfl.sequential({
    layers: [
      tfl.layers.upSampling2d({ size: [2, 2], inputShape: [null, null, 3] }),
      tfl.layers.conv2d({ filters: 3, kernelSize: 1 }),
    ],
  });
  const [kernel] = model.getWeights();
  const w = [tf.zerosLike(kernel!), tf.tensor1d([0.5, 0.4, 0.3])];
  model.setWeights(w);
  tf.dispose(w);
  const l1: LossFn = (p, t) =>
    tf.tidy(() => {
      const total = tf.mean(tf.abs(tf.sub(p, t))) as tf.Scalar;
      return { total, terms: { l1: tf.clone(total) } };
    });
  using metric = await lpips({ net: "alex" });
  const truth = (seed: number, h: number, w: number) =>
    tf.tidy(() => tf.randomUniform([h, w, 3], 0, 1, "float32", seed)) as tf.Tensor3D;
  const pairs: EvalPair[] = [[1, 40, 36], [2, 32, 44]].map(([seed, h, w]) => {
    const highRes = truth(seed!, h!, w!);
    return { name: `i${seed}`, highRes, lowRes: bicubicDownscale(highRes, 2) };
  });
  try {
    const before = tf.memory().numTensors;
    const rows = await scoreFolder("set", pairs, model, l1, 2, undefined, metric);
    assert.equal(tf.memory().numTensors, before, "scoreFolder with LPIPS leaked");
    // The reference: LPIPS of each image against its truth, computed here, then the mean.
    for (const method of ["bicubic", "model"] as const) {
      let sum = 0;
      for (const p of pairs) {
        const hr = tf.expandDims(p.highRes, 0) as tf.Tensor4D;
        const lr = tf.expandDims(p.lowRes, 0) as tf.Tensor4D;
        const x = method === "bicubic"
          ? tf.tidy(() => tf.clipByValue(bicubicUpscale(lr, 2), 0, 1)) as tf.Tensor4D
          : tf.tidy(() => tf.clipByValue(model.predict(lr) as tf.Tensor4D, 0, 1)) as tf.Tensor4D;
        sum += (await metric.scores(x, hr))[0]!;
        tf.dispose([hr, lr, x]);
      }
      const row = rows.find((r) => r.method === method)!;
      assert.ok(
        Math.abs(row.lpipsAlex! - sum / 2) < 1e-5,
        `${method}: ${row.lpipsAlex} vs ${sum / 2}`,
      );
    }
    const [bic, mod] = rows.map((r) => r.lpipsAlex!);
    assert.ok(bic! < mod!, `bicubic ${bic} should beat a constant colour ${mod}`);
    // Without a metric, or with an image under 31×31 in the folder: null.
    assert.equal((await scoreFolder("set", pairs, model, l1, 2))[0]!.lpipsAlex, null);
    const small = { name: "s", highRes: truth(3, 30, 40), lowRes: truth(4, 15, 20) };
    const mixed = await scoreFolder("set", [...pairs, small], model, l1, 2, undefined, metric);
    assert.deepEqual(mixed.map((r) => r.lpipsAlex), [null, null]);
    tf.dispose([small.highRes, small.lowRes]);
    // Held-out crops: a batch, scored per image and averaged.
    const hr = tf.stack(
      pairs.map((p) => tf.slice(p.highRes, [0, 0, 0], [32, 36, 3])),
    ) as tf.Tensor4D;
    const lr = bicubicDownscale(hr, 2);
    const crops = await scoreCrops(model, l1, lr, hr, 2, metric);
    const bicubic = tf.tidy(() => bicubicUpscale(lr, 2));
    const want = await metric.scores(bicubic, hr);
    assert.ok(Math.abs(crops[0]!.lpipsAlex! - (want[0]! + want[1]!) / 2) < 1e-5);
    tf.dispose([hr, lr, bicubic]);
  } finally {
    for (const p of pairs) tf.dispose([p.highRes, p.lowRes]);
    model.dispose();
  }
});

Deno.test("superres --ema: the trainer keeps a weight average, stored in the checkpoints", async () => {
  await initBackend("cpu");
  const dir = await Deno.makeTempDir({ prefix: "superres-ema-" });
  try {
    const photos = await Deno.makeTempDir({ dir, prefix: "photos" });
    await tinyPhotos(photos, 80, 96);
    const runDir = `${dir}/run`;
    const r = await quietly(() =>
      main([
        ...["--data", photos, "--vgg", "random", "--layers", "block1_conv2", "--depth", "1"],
        ...["--filters", "4", "--backend", "cpu", "--batch", "2", "--samples", "2", "--crop", "16"],
        ...["--steps", "3", "--sample-every", "2", "--quiet", "--ema", "0.5", "--out", runDir],
      ])
    );
    assert.equal(r.value, 0, `${r.out}\n${r.err}`);
    assert.equal(JSON.parse(await Deno.readTextFile(`${runDir}/config.json`)).options.ema, 0.5);
    const state = JSON.parse(
      await Deno.readTextFile(`${runDir}/checkpoints/step-00000003/state.json`),
    );
    const names = (state.optimizerWeights as { name: string }[]).map((w) => w.name);
    assert.ok(names.includes("average/count"), names.join(", "));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("superres --lpips-weight: an LPIPS term in the loss, its column in metrics.csv", async () => {
  await initBackend("cpu");
  const dir = await Deno.makeTempDir({ prefix: "superres-lpips-" });
  try {
    const photos = await Deno.makeTempDir({ dir, prefix: "photos" });
    await tinyPhotos(photos, 80, 96);
    const base = ["--data", photos, "--vgg", "random", "--layers", "block1_conv2", "--depth", "1"];
    const small = ["--filters", "4", "--backend", "cpu", "--batch", "2", "--samples", "2"];
    const runDir = `${dir}/run`;
    const args = [...base, ...small, "--steps", "2", "--sample-every", "2", "--quiet"];
    const r = await quietly(() =>
      main([...args, "--crop", "32", "--lpips-weight", "0.5", "--out", runDir])
    );
    assert.equal(r.value, 0, `${r.out}\n${r.err}`);
    const config = JSON.parse(await Deno.readTextFile(`${runDir}/config.json`));
    const terms = config.loss.terms as { kind: string; weight: number }[];
    assert.deepEqual(terms.at(-1), { kind: "lpips", weight: 0.5 });
    const header = (await Deno.readTextFile(`${runDir}/metrics.csv`)).split("\n")[0]!;
    assert.match(header, /lpips:alex/);
    // too small for LPIPS alex: a usage error before any work
    const bad = await quietly(() =>
      main([...args, "--crop", "16", "--lpips-weight", "0.5", "--out", `${dir}/bad`])
    );
    assert.equal(bad.value, 2);
    assert.match(bad.err, /--lpips-weight needs crops of at least 31x31/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
