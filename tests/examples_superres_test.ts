import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs-core";
import { main, parseOptions } from "../examples/superres.ts";
import { UsageError } from "../examples/common/cli.ts";
import { initBackend } from "../src/backend/mod.ts";
import { saveImage } from "../src/data/mod.ts";

async function quietly<T>(fn: () => Promise<T>): Promise<{ value: T; out: string; err: string }> {
  const out: string[] = [], err: string[] = [];
  const { log, warn, error } = console;
  console.log = (...a: unknown[]) => out.push(a.join(" "));
  console.warn = (...a: unknown[]) => err.push(a.join(" "));
  console.error = (...a: unknown[]) => err.push(a.join(" "));
  try {
    return { value: await fn(), out: out.join("\n"), err: err.join("\n") };
  } finally {
    Object.assign(console, { log, warn, error });
  }
}

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
    const args = (steps: number) => [
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
    assert.match(out, /RANDOM weights/);
    assert.match(out, /held-out crops\s+bicubic/);
    assert.match(out, /held-out crops\s+model/);

    const config = JSON.parse(await Deno.readTextFile(`${runDir}/config.json`));
    assert.equal(config.example, "superres");
    assert.equal(config.randomLossNetwork, true);
    assert.equal(config.unet.scale, 2);
    const csv = (await Deno.readTextFile(`${runDir}/metrics.csv`)).trim().split("\n");
    assert.equal(csv.length, 4, "header + 3 steps");
    assert.match(csv[0]!, /^step,/);
    assert.match(csv[0]!, /feature:block2_conv2/);
    assert.match(csv[0]!, /val_psnr_y/);
    const samples = [...Deno.readDirSync(`${runDir}/samples`)].map((e) => e.name).sort();
    assert.deepEqual(samples, ["step-000002_random-vgg.png", "step-000003_random-vgg.png"]);
    const checkpoints = [...Deno.readDirSync(`${runDir}/checkpoints`)].map((e) => e.name);
    assert.ok(checkpoints.includes("step-00000003"), checkpoints.join());
    assert.ok(Deno.statSync(`${runDir}/model/model.json`).isFile);
    const results = JSON.parse(await Deno.readTextFile(`${runDir}/results.json`));
    const sets = new Set(results.rows.map((r: { set: string }) => r.set));
    assert.equal(sets.size, 2, "held-out crops and the --eval folder");
    for (const r of results.rows) {
      assert.ok(Number.isFinite(r.psnrY) && r.psnrY > 10, JSON.stringify(r));
      assert.ok(r.ssimY > 0 && r.ssimY <= 1, JSON.stringify(r));
      assert.ok(Number.isFinite(r.featureL1) && r.featureL1 >= 0, JSON.stringify(r));
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
