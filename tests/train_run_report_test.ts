// fit's live report.html: written into every run directory, marked running (and reloading)
// during training, finished at the end with the caller's table; a resumed run keeps the earlier
// rows (read back from metrics.csv); `report: false` writes none.
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs-core";
import * as tfl from "@tensorflow/tfjs-layers";
import { initBackend } from "../src/backend/mod.ts";
import { type DataFactory, runReport, trainer } from "../src/train/mod.ts";

await initBackend("cpu");

function model(): tfl.LayersModel {
  return tfl.sequential({
    layers: [
      tfl.layers.conv2d({ filters: 3, kernelSize: 3, padding: "same", inputShape: [8, 8, 3] }),
    ],
  });
}

const data: DataFactory = function* ({ seed, epoch, batch }) {
  for (let i = batch; i < 100; i++) {
    const x = tf.randomUniform(
      [2, 8, 8, 3],
      0,
      1,
      "float32",
      seed + 1000 * epoch + i,
    ) as tf.Tensor4D;
    yield { input: x, target: tf.clone(x) };
  }
};

const loss = (pred: tf.Tensor4D, target: tf.Tensor4D) => {
  const pixel = tf.mean(tf.abs(tf.sub(pred, target))) as tf.Scalar;
  return { total: tf.clone(pixel), terms: { pixel } };
};

const validation = {
  every: 2,
  data: () => [{
    input: tf.ones([1, 8, 8, 3]) as tf.Tensor4D,
    target: tf.ones([1, 8, 8, 3]) as tf.Tensor4D,
  }],
};

/** How many points the report's path for `series` has. */
function points(html: string, series: string): number {
  const m = new RegExp(`<path[^>]*data-series="${series}"[^>]*d="([^"]*)"`).exec(html) ??
    new RegExp(`<path[^>]*d="([^"]*)"[^>]*data-series="${series}"`).exec(html);
  return m === null ? 0 : m[1]!.split(/[ML]/).filter((s) => s.trim() !== "").length;
}

Deno.test("fit keeps report.html: running during the run, finished with the table at the end, resumed rows kept", async () => {
  const dir = await Deno.makeTempDir({ prefix: "run_report_" });
  try {
    const m = model();
    const seenDuring: string[] = [];
    const report = runReport({ title: "tiny run", minIntervalMs: 0 });
    {
      using t = trainer({ model: m, loss, seed: 1 });
      await t.fit(data, {
        steps: 4,
        runDir: dir,
        checkpointEvery: 2,
        quiet: true,
        validation,
        report,
        callbacks: [{
          onStepEnd: async () =>
            void seenDuring.push(await Deno.readTextFile(`${dir}/report.html`)),
        }],
      });
    }
    assert.equal(report.path, `${dir}/report.html`);
    assert.match(seenDuring[1]!, /http-equiv="refresh"/);
    assert.match(seenDuring[1]!, /training: step 2/);
    assert.equal(points(seenDuring[1]!, "total"), 2);
    let html = await Deno.readTextFile(`${dir}/report.html`);
    assert.doesNotMatch(html, /http-equiv="refresh"/);
    assert.match(html, /finished after step 4/);
    assert.equal(points(html, "pixel"), 4);
    assert.equal(points(html, "loss"), 2, "validation at steps 2 and 4");
    await report.finish({ table: { columns: ["set", "PSNR"], rows: [["held-out", 30.5]] } });
    html = await Deno.readTextFile(`${dir}/report.html`);
    assert.match(html, /<td>held-out<\/td><td class="num">30.5<\/td>/);

    // Resume to 6 steps with a fresh trainer: the report has all 6 steps (4 read back).
    {
      using t = trainer({ model: m, loss, seed: 1 });
      await t.fit(data, { steps: 6, runDir: dir, resume: true, quiet: true, validation });
    }
    html = await Deno.readTextFile(`${dir}/report.html`);
    assert.equal(points(html, "total"), 6);
    assert.equal(points(html, "loss"), 3);
    m.dispose();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("fit with report: false writes no report.html", async () => {
  const dir = await Deno.makeTempDir({ prefix: "run_report_" });
  try {
    const m = model();
    {
      using t = trainer({ model: m, loss });
      await t.fit(data, { steps: 2, runDir: dir, quiet: true, report: false });
    }
    assert.ok(![...Deno.readDirSync(dir)].some((e) => e.name === "report.html"));
    m.dispose();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
