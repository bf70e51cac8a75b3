// A training run as a command-line user meets it: Ctrl-C (SIGINT) and SIGTERM finish the step,
// checkpoint, mark the run interrupted (run.json, report.html) and exit 130/143 saying how to
// resume; the run resumes from another working directory with relative paths; a second writer
// is refused in command-line words (--resume, --out), never in the API's.
import assert from "node:assert/strict";
import { tinyPhotos } from "./_tiny_photos.ts";
import { exists, metricsWithoutTime, waitFor } from "./_runs.ts";

const SCRIPT = new URL("../examples/superres.ts", import.meta.url).pathname;
const CONFIG = new URL("../deno.json", import.meta.url).pathname;
/** Tiny and deterministic: random loss network, cpu backend, 16-pixel crops. */
const FLAGS = [
  ...["--steps", "12", "--batch", "2", "--crop", "16", "--depth", "1", "--filters", "4"],
  ...["--layers", "block1_conv2,block2_conv2", "--vgg", "random", "--backend", "cpu"],
  ...["--sample-every", "4", "--samples", "2", "--quiet"],
];

function superres(args: string[], cwd?: string): Deno.Command {
  return new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "--config", CONFIG, SCRIPT, ...args],
    stdout: "piped",
    stderr: "piped",
    ...(cwd === undefined ? {} : { cwd }),
  });
}

const dec = new TextDecoder();
async function runToEnd(
  args: string[],
  cwd?: string,
): Promise<{ code: number; out: string; err: string }> {
  const r = await superres(args, cwd).output();
  return { code: r.code, out: dec.decode(r.stdout), err: dec.decode(r.stderr) };
}

/** Start a run and send `signal` once step 4's checkpoint is in place. */
async function interrupted(
  args: string[],
  runDir: string,
  signal: Deno.Signal,
  cwd?: string,
): Promise<{ code: number; err: string }> {
  const proc = superres(args, cwd).spawn();
  await waitFor(`${runDir}/checkpoints/step-00000004`);
  proc.kill(signal);
  const r = await proc.output();
  return { code: r.code, err: dec.decode(r.stderr) };
}

Deno.test("superres: SIGINT checkpoints, marks the run interrupted, exits 130; resumed from elsewhere it matches", async () => {
  const dir = await Deno.makeTempDir({ prefix: "superres-safety-" });
  try {
    await Deno.mkdir(`${dir}/photos`);
    await tinyPhotos(`${dir}/photos`);
    const reference = await runToEnd([...FLAGS, "--data", `${dir}/photos`, "--out", `${dir}/ref`]);
    assert.equal(reference.code, 0, reference.err);

    // Relative --data and --out, from the folder that holds them.
    const runDir = `${dir}/run`;
    const r = await interrupted(
      [...FLAGS, "--data", "photos", "--out", "run"],
      runDir,
      "SIGINT",
      dir,
    );
    assert.equal(r.code, 130, r.err);
    assert.match(r.err, /interrupted \(SIGINT\) after step \d+; checkpoint .*step-0000000\d/);
    assert.ok(r.err.includes(`--resume --out ${runDir}`), r.err);
    const marker = JSON.parse(await Deno.readTextFile(`${runDir}/run.json`));
    assert.equal(marker.state, "interrupted");
    assert.ok(marker.resume.includes(`--resume --out ${runDir}`), marker.resume);
    const html = await Deno.readTextFile(`${runDir}/report.html`);
    assert.doesNotMatch(html, /http-equiv="refresh"|reloads itself/);
    assert.match(html, /interrupted \(SIGINT\) after step \d+/);
    assert.ok(!exists(`${runDir}/run.lock`), "the lock is released");
    assert.ok(!exists(`${runDir}/model`), "no model of a run that did not finish");
    const config = JSON.parse(await Deno.readTextFile(`${runDir}/config.json`));
    assert.deepEqual([config.options.data, config.options.out], [`${dir}/photos`, runDir]);

    // From another working directory, with a relative --out: the run's paths still hold.
    await Deno.mkdir(`${dir}/elsewhere`);
    const resumed = await runToEnd(["--resume", "--out", "../run"], `${dir}/elsewhere`);
    assert.equal(resumed.code, 0, resumed.err);
    assert.match(resumed.out, /steps \(12 in total\) after resuming from .*step-0000000\d/);
    assert.deepEqual(await metricsWithoutTime(runDir), await metricsWithoutTime(`${dir}/ref`));
    assert.equal(JSON.parse(await Deno.readTextFile(`${runDir}/run.json`)).state, "done");
    assert.deepEqual(
      (await Array.fromAsync(Deno.readDir(`${runDir}/model`))).map((e) => e.name).length,
      2,
      "model.json and its weights",
    );
    assert.ok(
      !(await Array.fromAsync(Deno.readDir(runDir))).some((e) => /\.(tmp|old)-/.test(e.name)),
    );

    // SIGTERM: the same, with 143.
    const t = await interrupted(
      [...FLAGS, "--data", `${dir}/photos`, "--out", `${dir}/term`],
      `${dir}/term`,
      "SIGTERM",
    );
    assert.equal(t.code, 143, t.err);
    assert.match(t.err, /interrupted \(SIGTERM\)/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("superres: a second writer is refused in command-line words", async () => {
  const dir = await Deno.makeTempDir({ prefix: "superres-lock-" });
  const sleeper = new Deno.Command("sleep", { args: ["60"] }).spawn();
  try {
    await Deno.mkdir(`${dir}/photos`);
    await tinyPhotos(`${dir}/photos`);
    const runDir = `${dir}/run`;
    const first = await runToEnd([
      ...FLAGS,
      "--steps",
      "4",
      "--data",
      `${dir}/photos`,
      "--out",
      runDir,
    ]);
    assert.equal(first.code, 0, first.err);

    // A new run into it: the flag to add, not the API's option.
    const again = await runToEnd([...FLAGS, "--data", `${dir}/photos`, "--out", runDir]);
    assert.equal(again.code, 2, again.err);
    assert.match(again.err, /holds a previous run .*add --resume/);
    assert.doesNotMatch(again.err, /resume: true/);

    // A run still going (its lock names a live process): refused, nothing written.
    await Deno.writeTextFile(
      `${runDir}/run.lock`,
      JSON.stringify({
        format: "perceptual-loss/run-lock",
        pid: sleeper.pid,
        host: Deno.hostname(),
        startedAt: "2026-01-01T00:00:00.000Z",
      }),
    );
    const before = await Deno.readTextFile(`${runDir}/metrics.csv`);
    const busy = await runToEnd(["--resume", "--out", runDir, "--steps", "8"]);
    assert.equal(busy.code, 2, busy.err);
    assert.ok(
      busy.err.includes(`--resume --out ${runDir}: the run is in use by process ${sleeper.pid}`),
      busy.err,
    );
    assert.match(busy.err, new RegExp(`kill ${sleeper.pid}`));
    assert.doesNotMatch(busy.err, /resume: true/);
    assert.equal(await Deno.readTextFile(`${runDir}/metrics.csv`), before);
  } finally {
    sleeper.kill("SIGKILL");
    await sleeper.status;
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("the final model is saved atomically: a failed save leaves no model/ and keeps the old one", async () => {
  const { saveModelAtomically } = await import("../src/experiment/mod.ts");
  const { RunFileError } = await import("../src/train/mod.ts");
  const dir = await Deno.makeTempDir({ prefix: "model-save-" });
  try {
    // What a full disk does half-way through the weights.
    const full = {
      save: () => Promise.reject(new Error("No space left on device (os error 28)")),
    } as unknown as Parameters<typeof saveModelAtomically>[0];
    await assert.rejects(
      () => saveModelAtomically(full, `${dir}/model`),
      (e: unknown) =>
        e instanceof RunFileError && e.path === `${dir}/model` &&
        /cannot save the model at .*: No space left on device .*; the disk is full/.test(e.message),
    );
    assert.deepEqual([...Deno.readDirSync(dir)], [], "no empty or half-written model/");
    // An earlier model stays whole when the new one cannot be written.
    await Deno.mkdir(`${dir}/model`);
    await Deno.writeTextFile(`${dir}/model/model.json`, "{}");
    await assert.rejects(() => saveModelAtomically(full, `${dir}/model`), RunFileError);
    assert.deepEqual([...Deno.readDirSync(dir)].map((e) => e.name), ["model"]);
    assert.equal(await Deno.readTextFile(`${dir}/model/model.json`), "{}");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
