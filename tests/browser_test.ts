// The browser deployment, end to end in headless Chromium: a U-Net trained here for a few steps is
// saved, served with examples/web on 127.0.0.1, and the page upscales a picked PNG whose sides are
// not multiples of the U-Net's factor, on wasm and on cpu (and on wasm in tiles). Its output must
// match predictImage in Deno within 1e-5. Skips, saying why, when Chromium cannot be launched.
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs-core";
import type * as tfl from "@tensorflow/tfjs-layers";
import type { Browser, Page } from "playwright-core";
import { initBackend } from "../src/backend/mod.ts";
import { cropPixels, pixelsToTensor, readPixels, writePixels } from "../src/data/mod.ts";
import { predictImage } from "../src/unet/predict_image.ts";
import { saveModel, unet } from "../src/unet/mod.ts";
import { trainer } from "../src/train/mod.ts";
import { serveExample } from "../examples/web/serve.ts";
import { launchChromium } from "./_chromium.ts";

const browser: Browser | string = await launchChromium();
const skip = typeof browser === "string" ? browser : undefined;
if (skip !== undefined) {
  console.log(`browser tests skipped: ${skip}`);
  const report = Deno.env.get("BROWSER_REPORT");
  if (report !== undefined) await Deno.writeTextFile(report, JSON.stringify({ skipped: skip }));
}

/** Sides 75×53: neither is a multiple of the U-Net's 4. */
const HEIGHT = 53;
const WIDTH = 75;
const PHOTO = new URL("../examples/data/skimage_chelsea.png", import.meta.url);

/** Train a depth-2 ×2 U-Net with batch norm for a few steps on photo crops, so the weights and the
 * batch-norm statistics are not the initial ones. With `instance`: a ×1 U-Net with instance norm
 * (a style network's) learning to invert the crops. */
async function trainTinyModel(instance = false): Promise<tfl.LayersModel> {
  const model = instance
    ? unet({ depth: 2, baseFilters: 8, norm: "instance", outputRange: [0, 1], seed: 4 })
    : unet({ depth: 2, baseFilters: 8, scale: 2, outputRange: [0, 1], seed: 4 });
  const photo = await readPixels(PHOTO.pathname, { channels: 3 });
  const highRes = tf.stack(
    [[40, 60], [120, 200], [180, 300], [20, 380]].map(([top, left]) =>
      pixelsToTensor(cropPixels(photo, top!, left!, 32, 32))
    ),
  ) as tf.Tensor4D;
  const lowRes = instance
    ? tf.clone(highRes)
    : tf.image.resizeBilinear(highRes, [16, 16], false, true);
  const target = instance ? tf.sub(1, highRes) as tf.Tensor4D : tf.clone(highRes);
  using t = trainer({
    model,
    loss: (pred, target) => {
      const pixel = tf.mean(tf.abs(tf.sub(pred, target))) as tf.Scalar;
      return { total: tf.clone(pixel), terms: { pixel } };
    },
  });
  for (let i = 0; i < 4; i++) await t.step({ input: lowRes, target });
  tf.dispose([highRes, lowRes, target]);
  return model;
}

interface PageResult {
  readonly state: string;
  readonly status: string;
  readonly shape: number[];
  readonly output: number[];
}

// Page-side code is written as strings: Deno's type-checker has no DOM types.
const STATE = "document.body.dataset.state";

/** Load the page, wait for it to leave `loading`, and return its state. */
async function openPage(page: Page, url: string): Promise<string> {
  await page.goto(url);
  await page.waitForFunction(`${STATE} !== "loading"`, null, { timeout: 120_000 });
  return await page.evaluate(STATE) as string;
}

async function upscaleInPage(page: Page, url: string, png: string): Promise<PageResult> {
  const ready = await openPage(page, url);
  assert.equal(ready, "ready", `the page did not get ready: ${ready}`);
  await page.setInputFiles("#file", png);
  await page.waitForFunction(`!["ready", "busy"].includes(${STATE})`, null, {
    timeout: 300_000,
  });
  return await page.evaluate(`({
    state: ${STATE},
    status: document.getElementById("status").textContent,
    shape: globalThis.perceptual.shape,
    output: Array.from(globalThis.perceptual.output ?? []),
  })`) as PageResult;
}

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  assert.equal(a.length, b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

/**
 * Save `model` (disposed here), predict a crop of the photo with it in Deno and, for each
 * `[label, query]`, in the example page; returns the max abs difference per label.
 */
async function pageVsDeno(
  model: tfl.LayersModel,
  queries: readonly (readonly [string, string])[],
  screenshot?: string,
): Promise<Record<string, number>> {
  const b = browser as Browser;
  const dir = await Deno.makeTempDir({ prefix: "browser_test_" });
  let server: Deno.HttpServer<Deno.NetAddr> | undefined;
  try {
    await Deno.mkdir(`${dir}/model`);
    await saveModel(model, `${dir}/model`);
    // The picked file: a crop of the photo, written as PNG (lossless, so both sides read the
    // same bytes), and Deno's reference output from that file.
    const photo = await readPixels(PHOTO.pathname, { channels: 3 });
    const png = `${dir}/crop_${WIDTH}x${HEIGHT}.png`;
    await writePixels(png, cropPixels(photo, 100, 150, HEIGHT, WIDTH));
    const x = pixelsToTensor(await readPixels(png, { channels: 3 }));
    const y = predictImage(model, x);
    const want = y.dataSync().slice();
    const wantShape = y.shape;
    tf.dispose([x, y]);

    server = serveExample({ model: `${dir}/model`, port: 0 });
    const page = await b.newPage();
    const errors: string[] = [];
    page.on("pageerror", (e) => errors.push(e.message));
    const base = `http://127.0.0.1:${server.addr.port}/`;
    const diffs: Record<string, number> = {};
    for (const [label, query] of queries) {
      const got = await upscaleInPage(page, `${base}?${query}`, png);
      assert.equal(got.state, "done", `${label}: ${got.status} ${errors.join("; ")}`);
      assert.deepEqual(got.shape, wantShape);
      diffs[label] = maxAbsDiff(got.output, want);
      console.log(
        `${label}: ${got.status}; max abs diff vs Deno ${diffs[label]!.toExponential(2)}`,
      );
      if (screenshot !== undefined && label === queries[0]![0]) {
        await page.screenshot({ path: screenshot, fullPage: true });
      }
    }
    await page.close();
    assert.deepEqual(errors, []);
    return diffs;
  } finally {
    model.dispose();
    await server?.shutdown();
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test({
  name: "browser: a trained U-Net in examples/web upscales like predictImage in Deno (wasm, cpu)",
  ignore: skip !== undefined,
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    await initBackend("wasm");
    // tileSize 72 < the padded 76×56 input, with the default 32-pixel overlap: 8-pixel cores.
    const diffs = await pageVsDeno(
      await trainTinyModel(),
      [["wasm", "backend=wasm"], ["cpu", "backend=cpu"], [
        "wasm tiled",
        "backend=wasm&tileSize=72",
      ]],
      Deno.env.get("BROWSER_SCREENSHOT"),
    );
    const worst = Math.max(...Object.values(diffs));
    const report = Deno.env.get("BROWSER_REPORT");
    if (report !== undefined) await Deno.writeTextFile(report, JSON.stringify({ diffs, worst }));
    for (const [label, d] of Object.entries(diffs)) {
      assert.ok(d <= 1e-5, `${label}: browser vs Deno max abs diff ${d} > 1e-5`);
    }
  },
});

Deno.test({
  name: "browser: an instance-norm U-Net (a style network's) runs in the page as in Deno (wasm)",
  ignore: skip !== undefined,
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    await initBackend("wasm");
    const diffs = await pageVsDeno(await trainTinyModel(true), [["wasm", "backend=wasm"]]);
    assert.ok(diffs.wasm! <= 1e-5, `browser vs Deno max abs diff ${diffs.wasm} > 1e-5`);
  },
});

Deno.test({
  name: "browser: a second tfjs copy is refused with TfjsCopyError, not a later 'Unknown layer'",
  ignore: skip !== undefined,
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const b = browser as Browser;
    const dir = await Deno.makeTempDir({ prefix: "browser_test_" });
    await Deno.mkdir(`${dir}/model`);
    await Deno.writeTextFile(`${dir}/model/model.json`, "{}");
    const server = serveExample({ model: `${dir}/model`, port: 0 });
    try {
      const page = await b.newPage();
      const url = `http://127.0.0.1:${server.addr.port}/?backend=cpu&model=none.json`;
      // The page's registerLayers(tf) went through (it failed later, on the missing model file).
      assert.match(await openPage(page, url), /^error: .*404/);
      // A look-alike of tfjs, as a bundle with its own tfjs-core copy would hand over.
      const message = await page.evaluate(`(async () => {
        const { registerLayers } = await import(new URL("perceptual-browser.js", location.href));
        try {
          registerLayers(tf);
          registerLayers(tf); // twice is harmless
          registerLayers({ ...tf, serialization: { registerClass: () => {} } });
          return "no error";
        } catch (e) {
          return e.name + ": " + e.message;
        }
      })()`) as string;
      assert.match(message, /^TfjsCopyError: registerLayers\(tf\) was given a TensorFlow\.js copy/);
      await page.close();
    } finally {
      await server.shutdown();
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  name: "browser: close Chromium",
  ignore: skip !== undefined,
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    await (browser as Browser).close();
  },
});
