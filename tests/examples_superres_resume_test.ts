// The README's resume recipe, as a user runs it: `examples/superres.ts` killed with SIGKILL after
// a checkpoint, then `--resume --out DIR` WITHOUT the other flags, must give the metrics.csv of an
// uninterrupted run (every column but the elapsed time) and keep config.json as it was.
import assert from "node:assert/strict";
import { tinyPhotos } from "./_tiny_photos.ts";
import { exists, metricsWithoutTime, waitFor } from "./_runs.ts";

const SCRIPT = new URL("../examples/superres.ts", import.meta.url).pathname;
const CONFIG = new URL("../deno.json", import.meta.url).pathname;
/** Tiny, fast and deterministic: random loss network, cpu backend, 16-pixel crops. */
const FLAGS = [
  "--steps",
  "12",
  "--batch",
  "2",
  "--crop",
  "16",
  "--depth",
  "1",
  "--filters",
  "4",
  "--layers",
  "block1_conv2,block2_conv2",
  "--vgg",
  "random",
  "--backend",
  "cpu",
  "--sample-every",
  "4",
  "--samples",
  "2",
  "--quiet",
];

function superres(args: string[]): Deno.Command {
  return new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "--config", CONFIG, SCRIPT, ...args],
    stdout: "piped",
    stderr: "piped",
  });
}

async function runToEnd(args: string[]): Promise<{ code: number; out: string; err: string }> {
  const r = await superres(args).output();
  const dec = new TextDecoder();
  return { code: r.code, out: dec.decode(r.stdout), err: dec.decode(r.stderr) };
}

async function configWithoutOut(runDir: string): Promise<unknown> {
  const c = JSON.parse(await Deno.readTextFile(`${runDir}/config.json`));
  delete c.options.out;
  return c;
}

Deno.test("superres: killed after step 4's checkpoint, --resume --out alone gives the uninterrupted metrics", async () => {
  const dir = await Deno.makeTempDir({ prefix: "superres-resume-" });
  try {
    await Deno.mkdir(`${dir}/photos`);
    await tinyPhotos(`${dir}/photos`);
    FLAGS.push("--data", `${dir}/photos`);
    const reference = await runToEnd([...FLAGS, "--out", `${dir}/ref`]);
    assert.equal(reference.code, 0, reference.err);

    const runDir = `${dir}/run`;
    const proc = superres([...FLAGS, "--out", runDir]).spawn();
    // Killed as soon as step 4's checkpoint is in place (it is renamed into place complete).
    await waitFor(`${runDir}/checkpoints/step-00000004`);
    proc.kill("SIGKILL");
    const status = await proc.status;
    await proc.stdout.cancel();
    await proc.stderr.cancel();
    assert.ok(!status.success, "the first run was killed before it finished");
    assert.ok(exists(`${runDir}/checkpoints/step-00000004`), "it reached step 4's checkpoint");
    const configBefore = await Deno.readTextFile(`${runDir}/config.json`);

    const resumed = await runToEnd(["--resume", "--out", runDir]);
    assert.equal(resumed.code, 0, resumed.err);
    assert.match(resumed.out, new RegExp(`resuming ${runDir} with its options from`));
    assert.match(resumed.out, /as stored in .*config\.json/, "the loss balance is reused");
    assert.match(resumed.out, /steps \(12 in total\) after resuming from .*step-0000000[48]/);

    assert.deepEqual(await metricsWithoutTime(runDir), await metricsWithoutTime(`${dir}/ref`));
    assert.equal(await Deno.readTextFile(`${runDir}/config.json`), configBefore);
    assert.deepEqual(await configWithoutOut(runDir), await configWithoutOut(`${dir}/ref`));

    // A flag that would change the run is refused, naming it and the run's value.
    const conflict = await runToEnd(["--resume", "--out", runDir, "--lr", "0.01", "--crop", "32"]);
    assert.equal(conflict.code, 2, conflict.err);
    assert.match(
      conflict.err,
      /--crop 32 \(the run has 16\), --lr 0\.01 \(the run has 0\.002\) differ from/,
    );
    assert.equal(conflict.err.trim().split("\n").length, 1, conflict.err);

    // --steps may change: the run is extended, and says so; config.json records the new length.
    const extended = await runToEnd(["--resume", "--out", runDir, "--steps", "14"]);
    assert.equal(extended.code, 0, extended.err);
    assert.match(extended.out, /changed: --steps 14 \(the run had 12\)/);
    assert.match(extended.out, /2 steps \(14 in total\) after resuming from .*step-00000012/);
    const config = JSON.parse(await Deno.readTextFile(`${runDir}/config.json`));
    assert.equal(config.options.steps, 14);
    assert.equal(config.options.crop, 16);
    const steps = (await metricsWithoutTime(runDir)).slice(1).map((r) => Number(r[0]));
    assert.deepEqual(steps, [...Array(14).keys()].map((i) => i + 1));

    // A folder with no run in it is an error naming the folder (exit 2), not a fresh run.
    for (const missing of [`${dir}/no-such-run`, `${dir}/ref/samples`]) {
      const r = await runToEnd(["--resume", "--out", missing]);
      assert.equal(r.code, 2, r.err);
      assert.ok(r.err.includes(`--resume --out ${missing}:`), r.err);
      assert.match(r.err, /no such folder|holds no training run/);
    }
    assert.ok(!exists(`${dir}/no-such-run`), "nothing was created");

    // The loss network must be the run's (`--vgg auto` may resolve differently another day).
    const edited = JSON.parse(await Deno.readTextFile(`${runDir}/config.json`));
    edited.lossNetwork = "vgg16(imagenet, to block2_conv2)";
    await Deno.writeTextFile(`${runDir}/config.json`, JSON.stringify(edited));
    const switched = await runToEnd(["--resume", "--out", runDir, "--steps", "15"]);
    assert.equal(switched.code, 2, switched.err);
    assert.match(switched.err, /the run was trained with "vgg16\(imagenet, to block2_conv2\)"/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
