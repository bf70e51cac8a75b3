// Checkpoints and resume: exact continuation, half-written checkpoints never loaded, architecture
// mismatches named, and a real SIGKILL of a training process.
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs-core";
import * as tfl from "@tensorflow/tfjs-layers";
import { initBackend } from "../src/backend/mod.ts";
import type { LossFn } from "../src/loss/loss_result.ts";
import {
  type Batch,
  type Callback,
  CheckpointError,
  CheckpointMismatchError,
  type DataFactory,
  type FitOptions,
  oneCycle,
  readCheckpoint,
  runDirectory,
  trainer,
} from "../src/train/mod.ts";
import { convBnConv } from "./_conv_bn_conv.ts";
import { tempDir } from "./_runs.ts";

await initBackend("cpu");

/** A temporary directory removed (with everything in it) when the test's scope ends. */
/** conv → batch norm → conv on 8×8 RGB; `seeded` gives the same trainable weights every time. */
function buildModel(seeded: boolean, filters = 4): tfl.LayersModel {
  return convBnConv(
    filters,
    seeded ? (shape, i) => tf.randomUniform(shape, -0.5, 0.5, "float32", 1000 + i) : undefined,
  );
}

const loss: LossFn = (pred, target) => {
  const pixel = tf.mean(tf.abs(tf.sub(pred, target))) as tf.Scalar;
  const mse = tf.mean(tf.square(tf.sub(pred, target))) as tf.Scalar;
  return { total: tf.add(pixel, tf.mul(mse, 0.5)) as tf.Scalar, terms: { pixel, mse } };
};

/** Five deterministic batches per epoch, each a function of (seed, epoch, index). */
const data: DataFactory = function* ({ seed, epoch, batch }) {
  for (let i = batch; i < 5; i++) {
    const input = tf.randomUniform(
      [2, 8, 8, 3],
      0,
      1,
      "float32",
      seed * 10007 + epoch * 101 + i,
    ) as tf.Tensor4D;
    yield { input, target: tf.reverse(input, 3) as tf.Tensor4D };
  }
};

/** The same five batches every epoch, as a plain re-iterable object (no factory). */
const replayable: AsyncIterable<Batch> = {
  async *[Symbol.asyncIterator]() {
    yield* data({ seed: 3, epoch: 0, batch: 0 });
  },
};

function recorder(into: Map<number, number>): Callback {
  return { onStepEnd: (e) => void into.set(e.metrics.step, e.metrics.total) };
}

function killAt(step: number): Callback {
  return {
    onStepEnd: (e) => {
      if (e.metrics.step === step) throw new Error(`simulated crash after step ${step}`);
    },
  };
}

function assertRelClose(
  actual: number | undefined,
  expected: number | undefined,
  what: string,
): void {
  assert.ok(actual !== undefined && expected !== undefined, `${what}: missing`);
  const rel = Math.abs(actual - expected) / Math.max(1e-12, Math.abs(expected));
  assert.ok(rel <= 1e-5, `${what}: ${actual} vs ${expected} (rel ${rel})`);
}

async function uninterrupted(
  source: DataFactory | AsyncIterable<Batch>,
  steps: number,
): Promise<Map<number, number>> {
  const losses = new Map<number, number>();
  const model = buildModel(true);
  using t = trainer({ model, loss, schedule: oneCycle({ lrMax: 1e-2 }), seed: 3 });
  await t.fit(source, { steps, quiet: true, callbacks: [recorder(losses)] });
  model.dispose();
  return losses;
}

async function crashThenResume(
  runDir: string,
  source: DataFactory | AsyncIterable<Batch>,
  checkpointEvery: number,
  crashAt: number,
): Promise<{ losses: Map<number, number>; resumedFrom: string | undefined }> {
  const common: FitOptions = { steps: 12, runDir, checkpointEvery, quiet: true };
  {
    const model = buildModel(true);
    using t = trainer({ model, loss, schedule: oneCycle({ lrMax: 1e-2 }), seed: 3 });
    await assert.rejects(
      () => t.fit(source, { ...common, callbacks: [killAt(crashAt)] }),
      /simulated crash/,
    );
    model.dispose();
  }
  const losses = new Map<number, number>();
  const model = buildModel(false); // different initial weights: the checkpoint must overwrite them
  using t = trainer({ model, loss, schedule: oneCycle({ lrMax: 1e-2 }) }); // seed from the checkpoint
  const r = await t.fit(source, { ...common, resume: true, callbacks: [recorder(losses)] });
  assert.equal(r.step, 12);
  model.dispose();
  return { losses, resumedFrom: r.resumedFrom };
}

Deno.test("resume: mid-epoch, the resumed steps equal the uninterrupted run (1e-5)", async () => {
  const reference = await uninterrupted(data, 12);
  await using tmp = await tempDir("train_test_");
  const runDir = `${tmp.path}/run`;
  const { losses, resumedFrom } = await crashThenResume(runDir, data, 3, 8);
  assert.match(resumedFrom ?? "", /step-00000006$/);
  assert.deepEqual([...losses.keys()], [7, 8, 9, 10, 11, 12]);
  for (const [step, total] of losses) assertRelClose(total, reference.get(step), `step ${step}`);
  // The CSV holds every step once; the rows past the checkpoint were backed up, not lost.
  const csv = (await Deno.readTextFile(`${runDir}/metrics.csv`)).trim().split("\n");
  assert.deepEqual(
    csv.slice(1).map((l) => Number(l.split(",")[0])),
    [...Array(12).keys()].map((i) => i + 1),
  );
  const backups = [...Deno.readDirSync(runDir)].filter((e) =>
    e.name.startsWith("metrics.csv.before-resume")
  );
  assert.deepEqual(backups.map((e) => e.name), ["metrics.csv.before-resume"], "one backup");
  const backup = (await Deno.readTextFile(`${runDir}/${backups[0]!.name}`)).trim().split("\n");
  assert.equal(backup.length, 1 + 8);
});

Deno.test("resume: at an epoch boundary, and with a replayed plain iterable", async () => {
  const reference = await uninterrupted(data, 12);
  await using tmp = await tempDir("train_test_");
  const atBoundary = await crashThenResume(`${tmp.path}/a`, data, 5, 7);
  assert.match(atBoundary.resumedFrom ?? "", /step-00000005$/);
  for (const [step, total] of atBoundary.losses) {
    assertRelClose(total, reference.get(step), `step ${step}`);
  }

  const replayRef = await uninterrupted(replayable, 12);
  const replayed = await crashThenResume(`${tmp.path}/b`, replayable, 4, 7);
  assert.match(replayed.resumedFrom ?? "", /step-00000004$/);
  assert.equal(replayed.losses.size, 8);
  for (const [step, total] of replayed.losses) {
    assertRelClose(total, replayRef.get(step), `step ${step}`);
  }
});

Deno.test("checkpoints: a half-written or damaged checkpoint is never loaded", async () => {
  await using tmp = await tempDir("train_test_");
  const runDir = `${tmp.path}/run`;
  const ck = `${runDir}/checkpoints`;
  {
    const model = buildModel(true);
    using t = trainer({ model, loss, schedule: oneCycle({ lrMax: 1e-2 }), seed: 3 });
    await t.fit(data, { steps: 6, runDir, checkpointEvery: 2, keepCheckpoints: 3, quiet: true });
    model.dispose();
  }
  const names = () => [...Deno.readDirSync(ck)].map((e) => e.name).sort();
  assert.deepEqual(names(), ["step-00000002", "step-00000004", "step-00000006"]);

  // 1. A newer directory without its manifest (as if renamed into place by hand, or a copy cut short).
  await Deno.mkdir(`${ck}/step-00000099`);
  await Deno.copyFile(`${ck}/step-00000006/model.bin`, `${ck}/step-00000099/model.bin`);
  // 2. The newest real one with a truncated weight file.
  const bin = await Deno.readFile(`${ck}/step-00000006/model.bin`);
  await Deno.writeFile(`${ck}/step-00000006/model.bin`, bin.subarray(0, bin.length - 8));
  // 3. A temp directory from a write that was killed.
  await Deno.mkdir(`${ck}/.tmp-step-00000007-deadbeef`);
  await Deno.writeFile(`${ck}/.tmp-step-00000007-deadbeef/model.bin`, bin);
  await assert.rejects(() => readCheckpoint(`${ck}/step-00000099`), CheckpointError);
  await assert.rejects(
    () => readCheckpoint(`${ck}/step-00000006`),
    /has \d+ bytes, the manifest says/,
  );

  const out: string[] = [];
  const model = buildModel(false);
  using t = trainer({ model, loss, schedule: oneCycle({ lrMax: 1e-2 }) });
  const r = await t.fit(data, {
    steps: 6,
    runDir,
    resume: true,
    progress: { write: (s) => void out.push(s), isTerminal: false },
  });
  assert.match(r.resumedFrom ?? "", /step-00000004$/);
  assert.equal(r.stepsRun, 2);
  const text = out.join("");
  assert.match(text, /skipped .*step-00000099: .*manifest\.json is missing/);
  assert.match(text, /skipped .*step-00000006: .*truncated/);
  assert.match(text, /removed half-written .*\.tmp-step-00000007-deadbeef/);
  // The damaged step-6 was replaced by the new one, and no copy of it is left behind.
  assert.ok(
    !names().some((n) => n.includes(".replaced-") || n.startsWith(".tmp-")),
    names().join(", "),
  );
  assert.equal((await readCheckpoint(`${ck}/step-00000006`)).state.step, 6);
  assert.ok(names().includes("step-00000099"), "a directory we cannot verify is never deleted");
  model.dispose();
});

Deno.test("checkpoints: only incomplete checkpoints → clear error, nothing changed", async () => {
  await using tmp = await tempDir("train_test_");
  const runDir = `${tmp.path}/run`;
  {
    const model = buildModel(true);
    using t = trainer({ model, loss, schedule: oneCycle({ lrMax: 1e-2 }), seed: 3 });
    await t.fit(data, { steps: 2, runDir, quiet: true });
    model.dispose();
  }
  await Deno.remove(`${runDir}/checkpoints/step-00000002/manifest.json`);
  const snapshot = () =>
    [...Deno.readDirSync(`${runDir}/checkpoints/step-00000002`)].map((e) => e.name).sort();
  const before = snapshot();
  const model = buildModel(false);
  using t = trainer({ model, loss, schedule: oneCycle({ lrMax: 1e-2 }) });
  await assert.rejects(
    () => t.fit(data, { steps: 4, runDir, resume: true, quiet: true }),
    (e: unknown) => e instanceof CheckpointError && /no complete checkpoint/.test(e.message),
  );
  assert.deepEqual(snapshot(), before);
  model.dispose();
});

Deno.test("checkpoints: another architecture is refused, naming the weight and both shapes", async () => {
  await using tmp = await tempDir("train_test_");
  const runDir = `${tmp.path}/run`;
  {
    const model = buildModel(true, 4);
    using t = trainer({ model, loss, schedule: oneCycle({ lrMax: 1e-2 }) });
    await t.fit(data, { steps: 2, runDir, quiet: true });
    model.dispose();
  }
  const wider = buildModel(false, 5);
  using t = trainer({ model: wider, loss, schedule: oneCycle({ lrMax: 1e-2 }) });
  const err = await t.fit(data, { steps: 4, runDir, resume: true, quiet: true }).then(
    () => undefined,
    (e) => e,
  );
  assert.ok(err instanceof CheckpointMismatchError, String(err));
  assert.match(
    err.message,
    /weight #0 is 'conv2d_Conv2D\d+\/kernel' \[3, 3, 3, 4\] in the checkpoint/,
  );
  assert.match(err.message, /'conv2d_Conv2D\d+\/kernel' \[3, 3, 3, 5\] in the model/);
  assert.equal(t.state.step, 0);

  // Fewer weights: named by count and the first one without a counterpart.
  const inp = tfl.input({ shape: [8, 8, 3] });
  const out = tfl.layers.conv2d({ filters: 4, kernelSize: 3, padding: "same" }).apply(
    inp,
  ) as tfl.SymbolicTensor;
  const shallow = tfl.model({ inputs: inp, outputs: out });
  using t2 = trainer({ model: shallow, loss });
  const ck = `${runDir}/checkpoints/step-00000002`;
  await assert.rejects(
    () => t2.restore(ck),
    /the checkpoint has 8 weights, the model 2: the checkpoint's weight #2 'batch_normalization_BatchNormalization\d+\/gamma' \[4\]/,
  );
  // A different optimizer class is named too.
  const same = buildModel(false, 4);
  using t3 = trainer({ model: same, loss, optimizer: tf.train.sgd(0.1) });
  await assert.rejects(
    () => t3.restore(ck),
    /holds Adam optimizer state, but this trainer uses SGD/,
  );
  wider.dispose();
  shallow.dispose();
  same.dispose();
});

// ---- a real kill: a child process trains with a checkpoint every step and is SIGKILLed ----

const CHILD_STEPS = 40;

async function child(runDir: string): Promise<void> {
  await initBackend("cpu");
  const model = buildModel(true);
  const t = trainer({ model, loss, schedule: oneCycle({ lrMax: 1e-2 }), seed: 3 });
  const enc = new TextEncoder();
  await t.fit(data, {
    steps: CHILD_STEPS,
    runDir,
    checkpointEvery: 1,
    keepCheckpoints: 2,
    quiet: true,
    callbacks: [{
      onStepEnd: (e) => void Deno.stdout.writeSync(enc.encode(`step ${e.metrics.step}\n`)),
    }],
  });
}

if (import.meta.main && Deno.args[0] === "--child") {
  await child(Deno.args[1]!);
  Deno.exit(0);
}

Deno.test("resume: a SIGKILLed run resumes from its last complete checkpoint with the same next loss", async () => {
  await using tmp = await tempDir("train_test_");
  const runDir = `${tmp.path}/run`;
  const config = new URL("../deno.json", import.meta.url).pathname;
  const proc = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "--config", config, new URL(import.meta.url).pathname, "--child", runDir],
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  let seen = 0;
  let buffer = "";
  const reader = proc.stdout.getReader();
  const dec = new TextDecoder();
  while (seen < 6) {
    const { value, done } = await reader.read();
    if (done) break;
    buffer += dec.decode(value);
    for (const m of buffer.matchAll(/step (\d+)\n/g)) seen = Math.max(seen, Number(m[1]));
  }
  proc.kill("SIGKILL");
  const status = await proc.status;
  reader.releaseLock();
  await proc.stdout.cancel();
  const stderr = new TextDecoder().decode(await new Response(proc.stderr).arrayBuffer());
  assert.ok(seen >= 6, `the child never reached step 6: ${stderr}`);
  assert.ok(!status.success, "the child was killed, not finished");

  const reference = new Map<number, number>();
  {
    const stop = new AbortController();
    const model = buildModel(true);
    using t = trainer({ model, loss, schedule: oneCycle({ lrMax: 1e-2 }), seed: 3 });
    await t.fit(data, {
      steps: CHILD_STEPS,
      quiet: true,
      signal: stop.signal,
      callbacks: [recorder(reference), {
        onStepEnd: (e) => void (e.metrics.step >= 30 && stop.abort()),
      }],
    });
    model.dispose();
  }
  const resumed = new Map<number, number>();
  const stop = new AbortController();
  const model = buildModel(false);
  using t = trainer({ model, loss, schedule: oneCycle({ lrMax: 1e-2 }) });
  const r = await t.fit(data, {
    steps: CHILD_STEPS,
    runDir,
    resume: true,
    quiet: true,
    signal: stop.signal,
    callbacks: [recorder(resumed), { onStepEnd: () => stop.abort() }],
  });
  const from = Number(/step-(\d+)$/.exec(r.resumedFrom ?? "")?.[1]);
  assert.ok(
    from >= 6 && from <= seen + 1,
    `resumed from ${r.resumedFrom}, child printed step ${seen}`,
  );
  assert.deepEqual([...resumed.keys()], [from + 1]);
  assertRelClose(
    resumed.get(from + 1),
    reference.get(from + 1),
    `first step after resuming from ${from}`,
  );
  model.dispose();
});

/** Pixel optimisation: an 8×8 image (its own variable) pulled towards each batch's target. */
async function pixelRun(
  runDir: string | undefined,
  steps: number,
  opts: { crashAt?: number; resume?: boolean; start?: number } = {},
): Promise<{ losses: Map<number, number>; image: number[]; resumedFrom?: string }> {
  const image = tf.variable(tf.fill([2, 8, 8, 3], opts.start ?? 0.5), true, "pixels_resume_test");
  const losses = new Map<number, number>();
  const callbacks = [recorder(losses), ...(opts.crashAt ? [killAt(opts.crashAt)] : [])];
  try {
    using t = trainer({
      params: [image],
      forward: () => image as unknown as tf.Tensor4D,
      project: () => image.assign(tf.clipByValue(image, 0, 1)),
      loss,
      schedule: oneCycle({ lrMax: 5e-2 }),
      seed: 3,
    });
    const r = await t.fit(data, {
      steps,
      runDir,
      checkpointEvery: runDir === undefined ? undefined : 2,
      resume: opts.resume,
      quiet: true,
      callbacks,
    });
    return { losses, image: Array.from(await image.data()), resumedFrom: r.resumedFrom };
  } finally {
    image.dispose();
  }
}

Deno.test("resume: pixel optimisation (params + forward) continues exactly from its checkpoint", async () => {
  await using tmp = await tempDir("train_test_");
  const reference = await pixelRun(undefined, 8);
  await assert.rejects(() => pixelRun(tmp.path, 8, { crashAt: 5 }), /simulated crash/);
  // A different starting image: the checkpoint must overwrite it, and the Adam slots too.
  const resumed = await pixelRun(tmp.path, 8, { resume: true, start: 0.1 });
  assert.match(resumed.resumedFrom ?? "", /step-00000004$/);
  assert.deepEqual([...resumed.losses.keys()], [5, 6, 7, 8]);
  for (const [step, total] of resumed.losses) {
    assert.ok(Math.abs(total - reference.losses.get(step)!) < 1e-6, `step ${step}`);
  }
  const maxDiff = Math.max(...resumed.image.map((v, i) => Math.abs(v - reference.image[i]!)));
  assert.ok(maxDiff < 1e-6, `final pixels differ by ${maxDiff}`);
  // The projection ran: every pixel stays in [0, 1].
  assert.ok(resumed.image.every((v) => v >= 0 && v <= 1));
});

Deno.test("run directory without checkpoints: marker and metrics only, resume refused", async () => {
  await using tmp = await tempDir("train_test_");
  const model = buildModel(true);
  using t = trainer({ model, loss, schedule: oneCycle({ lrMax: 1e-2 }) });
  const runDir = runDirectory(`${tmp.path}/run`, { checkpoints: false });
  const r = await t.fit(data, { steps: 3, runDir, quiet: true });
  assert.equal(r.checkpoint, undefined);
  const names = [...Deno.readDirSync(`${tmp.path}/run`)].map((e) => e.name).sort();
  assert.deepEqual(names, ["metrics.csv", "report.html", "run.json"]);
  await assert.rejects(
    () => t.fit(data, { steps: 4, runDir, resume: true, quiet: true }),
    (e: unknown) => e instanceof RangeError && /keeps checkpoints/.test(e.message),
  );
  await assert.rejects(
    () => t.fit(data, { steps: 4, runDir, keepCheckpoints: 2, quiet: true }),
    (e: unknown) =>
      e instanceof RangeError && /runDirectory\(path, \{ keepCheckpoints \}\)/.test(e.message),
  );
  model.dispose();
});
