// The README's "Your own training script", run exactly as printed from a project OUTSIDE this
// repository (deno.json "links" to this checkout): killed with SIGKILL after a checkpoint and
// resumed with `--resume --out DIR` alone, its metrics.csv equals an uninterrupted run's (every
// column but the elapsed time); its report.html renders in headless Chromium with its plots,
// pictures and final table.
import assert from "node:assert/strict";
import { join } from "node:path";
import { tinyPhotos } from "./_tiny_photos.ts";
import { chromiumSkipReason, readReportPage, serveDir, startChromium } from "./_chromium.ts";
import { exists, metricsWithoutTime, ownProject, readmeBlock, waitFor } from "./_runs.ts";

const SCRIPT = readmeBlock("<!-- own-training-script -->");
/** Small and quick: random loss network, wasm (bit-identical runs), 32-pixel crops. */
const FLAGS = [
  "--steps",
  "6",
  "--batch",
  "2",
  "--crop",
  "32",
  "--samples",
  "2",
  "--sample-every",
  "2",
  "--vgg",
  "random",
  "--backend",
  "wasm",
  "--quiet",
];

/** A project outside the repository, as the README says to set one up, with the script in it. */
async function project(): Promise<string> {
  const dir = ownProject("perceptual-own-training-", [
    "@tensorflow/tfjs-core",
    "@tensorflow/tfjs-layers",
  ]);
  await Deno.writeTextFile(join(dir, "dejpeg.ts"), SCRIPT);
  await Deno.mkdir(join(dir, "photos"));
  await tinyPhotos(join(dir, "photos"), 40, 48);
  return dir;
}

function dejpeg(dir: string, args: string[]): Deno.Command {
  return new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "dejpeg.ts", ...args],
    cwd: dir,
    env: { NO_COLOR: "1" },
    stdout: "piped",
    stderr: "piped",
  });
}

async function runToEnd(dir: string, args: string[]): Promise<{ code: number; out: string }> {
  const r = await dejpeg(dir, args).output();
  const dec = new TextDecoder();
  return { code: r.code, out: dec.decode(r.stdout) + dec.decode(r.stderr) };
}

const skipBrowser = await chromiumSkipReason();
if (skipBrowser !== undefined) {
  console.log(`own training script: the report.html check is skipped: ${skipBrowser}`);
}

Deno.test({
  name: "README: the own training script, killed after a checkpoint, resumes to the same metrics",
  sanitizeResources: false, // playwright's pipes to the browser outlive single awaits
  sanitizeOps: false,
  async fn() {
    assert.ok(SCRIPT.trimEnd().split("\n").length < 30, "the script stays under 30 lines");
    assert.doesNotMatch(SCRIPT, /unet/i, "the script trains a model of its own, not a U-Net");
    const dir = await project();
    try {
      const reference = await runToEnd(dir, [...FLAGS, "--data", "photos", "--out", "ref"]);
      assert.equal(reference.code, 0, reference.out);
      assert.match(reference.out, /check crops\s+JPEG input/);
      assert.match(reference.out, /check crops\s+model/);

      const runDir = join(dir, "run");
      const proc = dejpeg(dir, [...FLAGS, "--data", "photos", "--out", "run"]).spawn();
      await waitFor(`${runDir}/checkpoints/step-00000002`);
      proc.kill("SIGKILL");
      const status = await proc.status;
      await proc.stdout.cancel();
      await proc.stderr.cancel();
      assert.ok(!status.success, "the first run was killed before it finished");
      assert.ok(!exists(`${runDir}/report.html`) || !exists(`${runDir}/model`), "not finished");

      const resumed = await runToEnd(dir, ["--resume", "--out", "run"]);
      assert.equal(resumed.code, 0, resumed.out);
      assert.match(resumed.out, /resuming run with its options from run\/config\.json/);
      assert.match(resumed.out, /steps \(6 in total\) after resuming from .*step-0000000[24]/);
      assert.deepEqual(await metricsWithoutTime(runDir), await metricsWithoutTime(`${dir}/ref`));
      const config = JSON.parse(await Deno.readTextFile(`${runDir}/config.json`));
      assert.equal(config.example, "dejpeg");
      assert.equal(config.options.quality, 20, "the script's own flag is part of the run");

      if (skipBrowser !== undefined) return;
      const server = serveDir(runDir);
      try {
        await using browser = await startChromium();
        const { page, errors, external } = await browser.newPage();
        await page.goto(`${server.url}/report.html`, { waitUntil: "load" });
        const seen = await readReportPage(page);
        for (const s of ["pixel", "total", "lr"]) {
          assert.equal(seen.series[s]?.points, 6, `${s}: ${JSON.stringify(seen.series[s])}`);
          assert.ok(seen.series[s]!.length > 10, `${s} is drawn`);
        }
        assert.ok(seen.images.length >= 3, JSON.stringify(seen.images));
        assert.ok(seen.images.every((i) => i.complete && i.width > 0), JSON.stringify(seen.images));
        assert.equal(seen.rows, 2, "JPEG input and model on the check crops");
        assert.ok(seen.cells.includes("JPEG input"), JSON.stringify(seen.cells));
        assert.match(seen.status, /finished after step 6/);
        assert.deepEqual(errors, []);
        assert.deepEqual(external, []);
      } finally {
        await server.close();
      }
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
