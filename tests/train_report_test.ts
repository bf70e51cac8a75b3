/// <reference lib="dom" />
// The run report: parsing metrics.csv rows, what the HTML holds (escaping, refresh only while
// running, nothing external), the atomic write, and the page in a real headless Chromium: plots
// drawn as SVG paths with points, images loaded, no console errors, no request off the machine.
import assert from "node:assert/strict";
import { writePixels } from "../src/data/mod.ts";
import { renderReport, type ReportData, reportDataFromCsv, writeReport } from "../src/train/mod.ts";
import { chromiumSkipReason, readReportPage, serveDir, startChromium } from "./_chromium.ts";

const skipReason = await chromiumSkipReason();
if (skipReason !== undefined) {
  console.log(`train_report_test: browser test skipped: ${skipReason}`);
}

/** A fake 60-step run: three weighted terms decaying, a one-cycle-like lr, validation every 20. */
function fakeRun(running: boolean): ReportData {
  const steps = Array.from({ length: 60 }, (_, i) => {
    const step = i + 1;
    const pixel = 0.08 * Math.exp(-step / 30) + 0.01;
    const feat = 0.5 * Math.exp(-step / 20) + 0.05;
    const gram = 2e-3 * Math.exp(-step / 10) + 1e-4;
    return {
      step,
      lr: 1e-3 * Math.sin((Math.PI * step) / 61),
      total: pixel + feat + gram,
      terms: { pixel, "feature:block2_conv2": feat, "style:block2_conv2": gram },
    };
  });
  return {
    title: "superres ×2 <fake run>",
    summary: [["loss network", "ImageNet VGG-19 blocks 1-3 (embedded)"], ["steps", "60"]],
    steps,
    validation: [20, 40, 60].map((step, k) => ({
      step,
      values: { psnr: 30 + k * 0.6, ssim: 0.9 + k * 0.01 },
    })),
    table: { columns: ["set", "model PSNR", "bicubic PSNR"], rows: [["held-out", 41.68, 40.79]] },
    images: [{ path: "samples/panel 1.png", caption: "bicubic | model | truth" }],
    running,
    refreshSeconds: 5,
    updated: "2026-12-02T06:40:00Z",
  };
}

Deno.test("reportDataFromCsv reads the trainer's columns: terms, lr, total, val_ metrics", () => {
  const csv = [
    "step,epoch,lr,momentum,total,grad_norm,elapsed_s,pixel,term_total,val_psnr,val_ssim",
    "1,0,0.001,0.9,0.5,1.2,0.3,0.25,0.25,,",
    "2,0,0.002,0.9,0.4,1.1,0.6,0.2,0.2,31.5,0.91",
    '3,0,0.003,0.9,0.3,1.0,0.9,"0.15",0.15,,',
  ].join("\n") + "\n";
  const { steps, validation } = reportDataFromCsv(csv);
  assert.deepEqual(steps[0], {
    step: 1,
    lr: 0.001,
    total: 0.5,
    terms: { pixel: 0.25, total: 0.25 },
  });
  assert.equal(steps[2]!.terms.pixel, 0.15);
  assert.deepEqual(validation, [{ step: 2, values: { psnr: 31.5, ssim: 0.91 } }]);
  assert.deepEqual(reportDataFromCsv(""), { steps: [], validation: [] });
});

Deno.test("the HTML: escaped text, refresh only while running, no script or external URL", () => {
  const running = renderReport(fakeRun(true));
  const done = renderReport(fakeRun(false));
  assert.match(running, /<meta http-equiv="refresh" content="5">/);
  assert.doesNotMatch(done, /http-equiv="refresh"/);
  assert.match(done, /superres ×2 &lt;fake run&gt;/);
  assert.doesNotMatch(done, /<fake run>/);
  assert.match(done, /src="samples\/panel%201\.png"/);
  for (const html of [running, done]) {
    assert.doesNotMatch(html, /<script|<link /);
    // The only URL is the SVG namespace, which is never fetched.
    assert.deepEqual(
      html.match(/https?:\/\/[^"' )]+/g),
      ["http://www.w3.org/2000/svg"].concat(
        Array((html.match(/<svg /g) ?? []).length - 1).fill("http://www.w3.org/2000/svg"),
      ),
    );
  }
  // 3 terms + total in one plot, psnr, ssim, lr: 7 lines.
  assert.equal((done.match(/<path /g) ?? []).length, 7);
  // No data yet: a note instead of an empty axis.
  assert.match(renderReport({ title: "t", steps: [] }), /no data yet/);
});

Deno.test("writeReport replaces report.html atomically and leaves no temporary file", async () => {
  const dir = await Deno.makeTempDir({ prefix: "report_" });
  try {
    await writeReport(dir, fakeRun(true));
    const path = await writeReport(`${dir}/`, fakeRun(false));
    assert.equal(path, `${dir}/report.html`);
    assert.equal(await Deno.readTextFile(path), renderReport(fakeRun(false)));
    const names = [];
    for await (const e of Deno.readDir(dir)) names.push(e.name);
    assert.deepEqual(names, ["report.html"]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test({
  name: "report.html in headless Chromium: SVG paths with points, images loaded, no errors",
  ignore: skipReason !== undefined,
  sanitizeResources: false, // playwright's pipes to the browser outlive single awaits
  sanitizeOps: false,
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "report_run_" });
    const server = serveDir(dir);
    await using browser = await startChromium();
    try {
      // A 96x64 colour gradient as the sample image.
      const data = new Float32Array(96 * 64 * 3);
      for (let y = 0; y < 64; y++) {
        for (let x = 0; x < 96; x++) data.set([x / 95, y / 63, 0.5], (y * 96 + x) * 3);
      }
      await writePixels(`${dir}/samples/panel 1.png`, { height: 64, width: 96, channels: 3, data });
      await writeReport(dir, fakeRun(false));
      const { page, errors, external } = await browser.newPage();
      await page.setViewportSize({ width: 1400, height: 900 });
      await page.goto(`${server.url}/report.html`, { waitUntil: "load" });
      const seen = await readReportPage(page);
      const by = seen.series;
      for (const s of ["pixel", "feature:block2_conv2", "style:block2_conv2", "total", "lr"]) {
        assert.equal(by[s]?.points, 60, `${s}: ${JSON.stringify(by[s])}`);
        assert.ok(by[s]!.length > 100, `${s} is drawn (length ${by[s]!.length})`);
      }
      assert.equal(by.psnr?.points, 3);
      assert.equal(by.ssim?.points, 3);
      assert.ok(seen.svgWidths.every((w) => w > 300), `svg widths ${seen.svgWidths}`);
      assert.deepEqual(seen.images.map((i) => ({ ok: i.complete, w: i.width })), [{
        ok: true,
        w: 96,
      }]);
      assert.deepEqual(seen.cells, ["held-out", "41.68", "40.79"]);
      assert.deepEqual(errors, []);
      assert.deepEqual(external, []);
      const shot = Deno.env.get("REPORT_SCREENSHOT");
      if (shot !== undefined) await page.screenshot({ path: shot, fullPage: true });
    } finally {
      await server.close();
      await Deno.remove(dir, { recursive: true });
    }
  },
});
