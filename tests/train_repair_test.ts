// Resuming damaged or mistaken runs: the run length comes from the checkpoint, a folder with no
// run is refused, metrics.csv is repaired (rows past the checkpoint, a cut last line, a stray
// byte), and checkpoints with impossible counts are rejected.
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs-core";
import * as tfl from "@tensorflow/tfjs-layers";
import { initBackend } from "../src/backend/mod.ts";
import { sha256Hex } from "../src/_internal/hash.ts";
import type { LossFn } from "../src/loss/loss_result.ts";
import {
  CheckpointError,
  type DataFactory,
  type FitOptions,
  oneCycle,
  readCheckpoint,
  RunDirError,
  type StepMetrics,
  trainer,
} from "../src/train/mod.ts";
import { tempDir } from "./_runs.ts";

await initBackend("cpu");

/** One conv with fixed weights, so every run starts from the same place. */
function model(): tfl.LayersModel {
  const m = tfl.sequential({
    layers: [tfl.layers.conv2d({
      filters: 3,
      kernelSize: 3,
      padding: "same",
      inputShape: [8, 8, 3],
      kernelInitializer: tfl.initializers.randomUniform({ minval: -0.3, maxval: 0.3, seed: 5 }),
    })],
  });
  return m;
}

const loss: LossFn = (pred, target) => {
  const pixel = tf.mean(tf.abs(tf.sub(pred, target))) as tf.Scalar;
  return { total: tf.clone(pixel), terms: { pixel } };
};

const data: DataFactory = function* ({ seed, epoch, batch }) {
  for (let i = batch; i < 6; i++) {
    const input = tf.randomUniform([2, 8, 8, 3], 0, 1, "float32", seed * 31 + epoch * 7 + i);
    yield { input: input as tf.Tensor4D, target: tf.reverse(input, 3) as tf.Tensor4D };
  }
};

const schedule = () => oneCycle({ lrMax: 1e-2 });

/** Train `options` on a fresh model; the metrics of every step this call ran. */
async function fit(options: FitOptions, crashAt?: number): Promise<StepMetrics[]> {
  const m = model();
  const seen: StepMetrics[] = [];
  try {
    using t = trainer({ model: m, loss, schedule: schedule(), seed: 1 });
    await t.fit(data, {
      quiet: true,
      ...options,
      callbacks: [{
        onStepEnd: (e) => {
          seen.push(e.metrics);
          if (e.metrics.step === crashAt) throw new Error(`crash after step ${crashAt}`);
        },
      }, ...(options.callbacks ?? [])],
    });
  } catch (e) {
    if (crashAt === undefined || !/crash after/.test(String(e))) throw e;
  } finally {
    m.dispose();
  }
  return seen;
}

Deno.test("resume without steps: the schedule continues from the checkpoint's run length", async () => {
  await using tmp = await tempDir("train_repair_");
  const reference = await fit({ steps: 10 });
  const runDir = `${tmp.path}/run`;
  await fit({ steps: 10, runDir, checkpointEvery: 4 }, 6);
  const resumed = await fit({ runDir, resume: true });
  assert.deepEqual(resumed.map((m) => m.step), [5, 6, 7, 8, 9, 10]);
  // The one-cycle schedule of a 10-step run, evaluated independently of the trainer.
  const s = schedule();
  for (const m of resumed) {
    assert.equal(m.lr, s(m.step - 1, 10), `lr at step ${m.step}`);
    const ref = reference[m.step - 1]!;
    assert.ok(Math.abs(m.total - ref.total) <= 1e-6 * Math.abs(ref.total), `loss at ${m.step}`);
  }
});

Deno.test("resume with another length: the run is extended and a note says so", async () => {
  await using tmp = await tempDir("train_repair_");
  const runDir = `${tmp.path}/run`;
  await fit({ steps: 4, runDir });
  const out: string[] = [];
  const resumed = await fit({
    steps: 6,
    runDir,
    resume: true,
    quiet: false,
    progress: { write: (s) => void out.push(s), isTerminal: false },
  });
  assert.deepEqual(resumed.map((m) => m.step), [5, 6]);
  assert.match(out.join(""), /run length changed from 4 to 6 steps/);
  const s = schedule();
  assert.equal(resumed[0]!.lr, s(4, 6));
});

Deno.test("resume: a folder with no run in it is refused, naming it; nothing is created", async () => {
  await using tmp = await tempDir("train_repair_");
  for (const runDir of [`${tmp.path}/absent`, tmp.path]) {
    const m = model();
    using t = trainer({ model: m, loss, schedule: schedule() });
    await assert.rejects(
      () => t.fit(data, { steps: 3, runDir, resume: true, quiet: true }),
      (e: unknown) =>
        e instanceof RunDirError && e.message.includes(runDir) &&
        /no run to resume/.test(e.message),
    );
    m.dispose();
  }
  assert.deepEqual([...Deno.readDirSync(tmp.path)], []);
});

async function csvRows(runDir: string): Promise<string[][]> {
  const text = await Deno.readTextFile(`${runDir}/metrics.csv`);
  assert.ok(text.endsWith("\n"), "the file ends with a newline");
  return text.trimEnd().split("\n").map((l) => l.split(","));
}

Deno.test("metrics.csv: a cut last line and a stray byte are removed on resume, with a note", async () => {
  await using tmp = await tempDir("train_repair_");
  for (const damage of ["cut", "stray"] as const) {
    const runDir = `${tmp.path}/${damage}`;
    // Killed after step 8's row was written: the last checkpoint is step 6's.
    await fit({ steps: 10, runDir, checkpointEvery: 6 }, 8);
    const path = `${runDir}/metrics.csv`;
    const bytes = await Deno.readFile(path);
    if (damage === "cut") await Deno.writeFile(path, bytes.subarray(0, bytes.length - 40));
    else await Deno.writeTextFile(path, "1", { append: true });
    const out: string[] = [];
    await fit({
      steps: 10,
      runDir,
      resume: true,
      quiet: false,
      progress: { write: (s) => void out.push(s), isTerminal: false },
    });
    const rows = await csvRows(runDir);
    const header = rows[0]!;
    assert.equal(header[0], "step");
    for (const r of rows.slice(1)) assert.equal(r.length, header.length, r.join(","));
    assert.deepEqual(rows.slice(1).map((r) => Number(r[0])), [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    const note = out.join("");
    // Cut: row 7 whole, row 8 partial. Stray: rows 7 and 8 whole, then "1".
    assert.match(
      note,
      damage === "cut"
        ? /metrics\.csv: removed 1 row past step 6, a partial last line \(6 rows kept\)/
        : /metrics\.csv: removed 2 rows past step 6, a partial last line \(6 rows kept\)/,
    );
    assert.match(note, /the original is in .*metrics\.csv\.before-resume$/m);
  }
});

Deno.test("metrics.csv: damaged rows in the middle are dropped, later good ones kept", async () => {
  await using tmp = await tempDir("train_repair_");
  const runDir = `${tmp.path}/run`;
  await fit({ steps: 6, runDir });
  const path = `${runDir}/metrics.csv`;
  const lines = (await Deno.readTextFile(path)).split("\n");
  lines[2] = lines[2]!.slice(0, 10) + lines[3]; // step 2 glued onto a cut step 2 row
  await Deno.writeTextFile(path, lines.join("\n"));
  const out: string[] = [];
  await fit({
    steps: 8,
    runDir,
    resume: true,
    quiet: false,
    progress: { write: (s) => void out.push(s), isTerminal: false },
  });
  const rows = await csvRows(runDir);
  assert.deepEqual(rows.slice(1).map((r) => Number(r[0])), [1, 3, 4, 5, 6, 7, 8]);
  assert.match(out.join(""), /removed 1 damaged row \(5 rows kept\)/);
});

/** Rewrite a checkpoint's state.json with `edit` and update the manifest so the hashes match. */
async function editState(dir: string, edit: (s: Record<string, unknown>) => void): Promise<void> {
  const state = JSON.parse(await Deno.readTextFile(`${dir}/state.json`));
  edit(state);
  const bytes = new TextEncoder().encode(JSON.stringify(state));
  await Deno.writeFile(`${dir}/state.json`, bytes);
  const manifest = JSON.parse(await Deno.readTextFile(`${dir}/manifest.json`));
  manifest.files["state.json"] = { bytes: bytes.length, sha256: await sha256Hex(bytes) };
  await Deno.writeTextFile(`${dir}/manifest.json`, JSON.stringify(manifest));
}

Deno.test("checkpoints: a negative, fractional or renamed step is rejected with CheckpointError", async () => {
  await using tmp = await tempDir("train_repair_");
  const runDir = `${tmp.path}/run`;
  await fit({ steps: 4, runDir, checkpointEvery: 2 });
  const ck = `${runDir}/checkpoints/step-00000004`;
  const cases: [(s: Record<string, unknown>) => void, RegExp][] = [
    [(s) => void (s.step = -5), /'step' is -5; it must be an integer >= 0/],
    [(s) => void (s.step = 4.5), /'step' is 4\.5/],
    [(s) => void (s.batchInEpoch = -1), /'batchInEpoch' is -1/],
    [(s) => void (s.epoch = "0"), /'epoch' is "0"/],
    [(s) => void (s.totalSteps = 0), /'totalSteps' is 0/],
    [(s) => void (s.step = 3), /says step 3, its directory name says 4/],
  ];
  const original = await Deno.readFile(`${ck}/state.json`);
  const manifest = await Deno.readFile(`${ck}/manifest.json`);
  for (const [edit, message] of cases) {
    await editState(ck, edit);
    await assert.rejects(
      () => readCheckpoint(ck),
      (e: unknown) => e instanceof CheckpointError && message.test(e.message),
      String(message),
    );
    await Deno.writeFile(`${ck}/state.json`, original);
    await Deno.writeFile(`${ck}/manifest.json`, manifest);
  }
  // In a run, the edited checkpoint is skipped with the reason, and the previous one is used.
  await editState(ck, (s) => void (s.step = -5));
  const out: string[] = [];
  const resumed = await fit({
    steps: 4,
    runDir,
    resume: true,
    quiet: false,
    progress: { write: (s) => void out.push(s), isTerminal: false },
  });
  assert.deepEqual(resumed.map((m) => m.step), [3, 4]);
  assert.match(out.join(""), /skipped .*step-00000004: .*'step' is -5/);
});

Deno.test("progress and metrics.csv name the same epoch for the same step", async () => {
  await using tmp = await tempDir("train_repair_");
  const runDir = `${tmp.path}/run`;
  const out: string[] = [];
  // 6 batches an epoch: steps 1-6 are epoch 0, steps 7-8 epoch 1.
  await fit({
    steps: 8,
    runDir,
    quiet: false,
    progress: { write: (s) => void out.push(s), isTerminal: false, every: 1 },
  });
  const printed = new Map<number, number>();
  for (const m of out.join("").matchAll(/step (\d+)\/8 \| epoch (\d+)/g)) {
    printed.set(Number(m[1]), Number(m[2]));
  }
  const rows = await csvRows(runDir);
  const epochColumn = rows[0]!.indexOf("epoch");
  assert.equal(printed.size, 8, out.join(""));
  for (const r of rows.slice(1)) {
    assert.equal(printed.get(Number(r[0])), Number(r[epochColumn]), `step ${r[0]}`);
  }
  assert.equal(printed.get(7), 1);
});
