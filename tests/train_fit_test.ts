// fit(): metrics CSV contents, run-directory safety, progress output, samples, validation,
// epochs, stopping, and no leaks.
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs-core";
import * as tfl from "@tensorflow/tfjs-layers";
import { initBackend } from "../src/backend/mod.ts";
import { assertNoLeak } from "../src/lifetime/mod.ts";
import type { LossFn } from "../src/loss/loss_result.ts";
import {
  type Batch,
  constant,
  type DataFactory,
  type DataPosition,
  oneCycle,
  RunDirError,
  type StepMetrics,
  trainer,
  TrainingDataError,
  validate,
} from "../src/train/mod.ts";
import { parseCsvLine } from "../src/train/_metrics_csv.ts";
import { tempDir } from "./_runs.ts";

await initBackend("cpu");

/** A temporary directory removed (with everything in it) when the test's scope ends. */
function tinyModel(): tfl.LayersModel {
  const inp = tfl.input({ shape: [8, 8, 3] });
  const h = tfl.layers.conv2d({ filters: 4, kernelSize: 3, padding: "same", activation: "relu" })
    .apply(inp) as tfl.SymbolicTensor;
  const out = tfl.layers.conv2d({ filters: 3, kernelSize: 3, padding: "same" }).apply(
    h,
  ) as tfl.SymbolicTensor;
  return tfl.model({ inputs: inp, outputs: out });
}

/** A real term plus a constant one whose value we know: total = pixel + 0.5. */
const withOffset: LossFn = (pred, target) => {
  const pixel = tf.mean(tf.abs(tf.sub(pred, target))) as tf.Scalar;
  const offset = tf.scalar(0.5);
  return { total: tf.add(pixel, offset) as tf.Scalar, terms: { pixel, offset } };
};

function factory(perEpoch: number, calls?: DataPosition[]): DataFactory {
  return function* (p) {
    calls?.push(p);
    for (let i = p.batch; i < perEpoch; i++) {
      const input = tf.randomUniform(
        [2, 8, 8, 3],
        0,
        1,
        "float32",
        p.seed * 7919 + p.epoch * 101 + i,
      ) as tf.Tensor4D;
      yield { input, target: tf.reverse(input, 3) as tf.Tensor4D };
    }
  };
}

async function tree(dir: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for await (const e of Deno.readDir(dir)) {
    const p = `${dir}/${e.name}`;
    if (e.isDirectory) {
      for (const [k, v] of Object.entries(await tree(p))) out[`${e.name}/${k}`] = v;
    } else out[e.name] = await Deno.readTextFile(p);
  }
  return out;
}

Deno.test("fit: the metrics CSV has step, lr, total, every term and validation values", async () => {
  await using tmp = await tempDir("train_test_");
  const runDir = `${tmp.path}/run`;
  const model = tinyModel();
  using t = trainer({ model, loss: withOffset, schedule: constant(0.01) });
  const seen: StepMetrics[] = [];
  await t.fit(factory(10), {
    steps: 4,
    runDir,
    quiet: true,
    validation: {
      data: () => factory(1)({ seed: 9, epoch: 0, batch: 0 }),
      every: 2,
      loss: false,
      metrics: () => ({ psnr: 42 }),
    },
    callbacks: [{ onStepEnd: (e) => void seen.push(e.metrics) }],
  });
  const lines = (await Deno.readTextFile(`${runDir}/metrics.csv`)).trim().split("\n");
  assert.equal(lines[0], "step,epoch,lr,momentum,total,grad_norm,elapsed_s,pixel,offset,val_psnr");
  const rows = lines.slice(1).map(parseCsvLine);
  assert.equal(rows.length, 4);
  rows.forEach((r, i) => {
    assert.equal(Number(r[0]), i + 1); // step
    assert.equal(Number(r[1]), 0); // epoch
    assert.equal(Number(r[2]), 0.01); // lr
    assert.equal(r[3], ""); // no momentum with a constant schedule
    assert.equal(Number(r[8]), 0.5); // the constant term
    assert.ok(Math.abs(Number(r[4]) - Number(r[7]) - 0.5) < 1e-6, "total = pixel + offset");
    assert.equal(Number(r[4]), seen[i]!.total);
    assert.equal(Number(r[5]), seen[i]!.gradNorm);
    assert.equal(r[9], i % 2 === 1 ? "42" : ""); // validation at steps 2 and 4 only
  });
  assert.ok(Number(rows[3]![6]) >= Number(rows[0]![6])); // elapsed grows
  model.dispose();
});

Deno.test("fit: a term that appears later widens the CSV header without losing rows", async () => {
  await using tmp = await tempDir("train_test_");
  const runDir = `${tmp.path}/run`;
  const model = tinyModel();
  let calls = 0;
  const growing: LossFn = (pred, target) => {
    calls++;
    const pixel = tf.mean(tf.abs(tf.sub(pred, target))) as tf.Scalar;
    const terms: Record<string, tf.Scalar> = { pixel };
    if (calls >= 3) terms["style:a,b"] = tf.scalar(1);
    return { total: tf.clone(pixel), terms };
  };
  using t = trainer({ model, loss: growing, schedule: constant(0.01) });
  await t.fit(factory(10), { steps: 4, runDir, quiet: true });
  const lines = (await Deno.readTextFile(`${runDir}/metrics.csv`)).trim().split("\n");
  assert.deepEqual(parseCsvLine(lines[0]!).slice(7), ["pixel", "style:a,b"]);
  assert.deepEqual(lines.slice(1).map((l) => parseCsvLine(l)[8]), ["", "", "1", "1"]);
  model.dispose();
});

Deno.test("fit: a non-empty directory that is not a run is refused and left untouched", async () => {
  await using tmp = await tempDir("train_test_");
  const dir = tmp.path;
  await Deno.writeTextFile(`${dir}/thesis.tex`, "years of work");
  await Deno.mkdir(`${dir}/checkpoints`);
  await Deno.writeTextFile(`${dir}/checkpoints/mine.txt`, "not yours");
  await Deno.writeTextFile(`${dir}/metrics.csv`, "my,own,csv\n");
  const before = await tree(dir);
  const model = tinyModel();
  using t = trainer({ model, loss: withOffset, schedule: constant(0.01) });
  for (const resume of [false, true]) {
    await assert.rejects(
      () => t.fit(factory(4), { steps: 2, runDir: dir, resume, quiet: true }),
      (e: unknown) =>
        e instanceof RunDirError && /not empty and is not a training run/.test(e.message),
    );
  }
  assert.deepEqual(await tree(dir), before);
  const file = `${dir}/thesis.tex`;
  await assert.rejects(
    () => t.fit(factory(4), { steps: 2, runDir: file, quiet: true }),
    /not a directory/,
  );
  assert.equal(t.state.step, 0);
  model.dispose();
});

Deno.test("fit: a previous run is not overwritten without resume; pruning spares what is not ours", async () => {
  await using tmp = await tempDir("train_test_");
  const runDir = `${tmp.path}/run`;
  const model = tinyModel();
  {
    using t = trainer({ model, loss: withOffset, schedule: constant(0.01) });
    await t.fit(factory(10), { steps: 2, runDir, quiet: true, checkpointEvery: 1 });
  }
  await Deno.writeTextFile(`${runDir}/checkpoints/notes.txt`, "mine");
  await Deno.mkdir(`${runDir}/checkpoints/step-00000001-backup`);
  const before = await tree(runDir);
  using t = trainer({ model, loss: withOffset, schedule: constant(0.01) });
  await assert.rejects(
    () => t.fit(factory(10), { steps: 4, runDir, quiet: true }),
    (e: unknown) =>
      e instanceof RunDirError && /holds a previous run; pass resume: true/.test(e.message),
  );
  assert.deepEqual(await tree(runDir), before);
  const r = await t.fit(factory(10), {
    steps: 8,
    runDir,
    resume: true,
    checkpointEvery: 1,
    keepCheckpoints: 2,
    quiet: true,
  });
  assert.match(r.resumedFrom ?? "", /step-00000002$/);
  const names = [...Deno.readDirSync(`${runDir}/checkpoints`)].map((e) => e.name).sort();
  assert.deepEqual(names, ["notes.txt", "step-00000001-backup", "step-00000007", "step-00000008"]);
  assert.equal(await Deno.readTextFile(`${runDir}/checkpoints/notes.txt`), "mine");
  model.dispose();
});

Deno.test("fit: progress prints plain lines off a terminal and a redrawn bar on one", async () => {
  const model = tinyModel();
  const plain: string[] = [];
  {
    using t = trainer({ model, loss: withOffset, schedule: constant(0.01) });
    await t.fit(factory(10), {
      steps: 4,
      progress: { write: (s) => void plain.push(s), isTerminal: false, every: 2 },
      validation: {
        data: () => factory(1)({ seed: 1, epoch: 0, batch: 0 }),
        every: 4,
        loss: false,
        metrics: () => ({ psnr: 42 }),
      },
    });
  }
  const text = plain.join("");
  assert.match(text, /^training from step 0 to 4, constant\(0\.01\)\n/);
  assert.match(
    text,
    /step 1\/4 \| epoch 0 \| loss [\d.]+ \(pixel [\d.]+, offset 0\.5\) \| lr 0\.01\n/,
  );
  assert.match(text, /step 2\/4 .* step\/s, ETA \d+s\n/);
  assert.doesNotMatch(text, /step 3\/4/); // every: 2
  assert.match(text, /step 4\/4 .*\| val psnr 42\n/);
  assert.match(text, /done at step 4 after \d+s\n$/);
  assert.doesNotMatch(text, /\r/);

  const bar: string[] = [];
  using t = trainer({ model, loss: withOffset, schedule: constant(0.01) });
  await t.fit(factory(10), {
    steps: 3,
    progress: { write: (s) => void bar.push(s), isTerminal: true, columns: 200 },
  });
  const drawn = bar.join("");
  assert.match(
    drawn,
    // deno-lint-ignore no-control-regex -- the bar is redrawn with CR + erase-line
    /\r\x1b\[2K\[█+░*\] 3\/3 100% .*ETA 0s loss [\d.]+ \(pixel [\d.]+, offset 0\.5\) lr 0\.01/,
  );
  assert.match(drawn, /\ndone at step 3/);
  model.dispose();
});

Deno.test("fit: sample images at an interval, saved through the function passed in", async () => {
  await using tmp = await tempDir("train_test_");
  const runDir = `${tmp.path}/run`;
  const model = tinyModel();
  const fixed = {
    input: tf.randomUniform([3, 8, 8, 3]) as tf.Tensor4D,
    target: tf.zeros([3, 8, 8, 3]) as tf.Tensor4D,
  };
  const saved: { path: string; shape: number[]; min: number; max: number }[] = [];
  const sampleSteps: number[] = [];
  using t = trainer({ model, loss: withOffset, schedule: constant(0.01) });
  await t.fit(factory(10), {
    steps: 5,
    runDir,
    quiet: true,
    samples: {
      every: 2,
      batch: fixed,
      count: 2,
      range: [-1, 1],
      save: (path, image) => {
        const v = image.dataSync();
        saved.push({ path, shape: image.shape, min: Math.min(...v), max: Math.max(...v) });
      },
      onSample: (e) => void sampleSteps.push(e.step),
    },
  });
  assert.deepEqual(sampleSteps, [2, 4, 5]); // every 2, and the last step
  const names = saved.map((s) => s.path.slice(runDir.length + 1));
  assert.deepEqual(names, [
    "samples/step-00000002_0.png",
    "samples/step-00000002_1.png",
    "samples/input_0.png",
    "samples/input_1.png",
    "samples/target_0.png",
    "samples/target_1.png",
    "samples/step-00000004_0.png",
    "samples/step-00000004_1.png",
    "samples/step-00000005_0.png",
    "samples/step-00000005_1.png",
  ]);
  for (const s of saved) {
    assert.deepEqual(s.shape, [8, 8, 3]);
    assert.ok(s.min >= 0 && s.max <= 1);
  }
  // zeros in [-1, 1] map to 0.5
  assert.equal(saved.find((s) => s.path.endsWith("target_0.png"))!.min, 0.5);
  assert.ok(!fixed.input.isDisposed, "the caller's sample batch is not disposed");
  tf.dispose(fixed);
  model.dispose();
});

Deno.test("fit: epochs call the factory per epoch with the seed; a one-shot generator is refused", async () => {
  const model = tinyModel();
  const calls: DataPosition[] = [];
  using t = trainer({ model, loss: withOffset, schedule: constant(0.01), seed: 11 });
  const r = await t.fit(factory(3, calls), { epochs: 2, quiet: true });
  assert.equal(r.step, 6);
  assert.deepEqual(calls, [{ seed: 11, epoch: 0, batch: 0 }, { seed: 11, epoch: 1, batch: 0 }]);
  assert.equal(t.state.epoch, 2);

  using t2 = trainer({ model, loss: withOffset, schedule: constant(0.01) });
  const once = factory(3)({ seed: 0, epoch: 0, batch: 0 }) as Iterable<Batch>;
  await assert.rejects(
    () => t2.fit(once, { epochs: 2, quiet: true }),
    (e: unknown) => e instanceof TrainingDataError && /no batches in epoch 1/.test(e.message),
  );
  await assert.rejects(() => t2.fit(factory(3), { quiet: true }), /needs steps .* or epochs/);
  await assert.rejects(() => t2.fit(factory(3), { steps: 2, resume: true }), /need a runDir/);
  // A schedule that needs the run length cannot run on epochs alone without stepsPerEpoch.
  using t3 = trainer({ model, loss: withOffset, schedule: oneCycle({ lrMax: 1e-2 }) });
  await assert.rejects(
    () => t3.fit(factory(3), { epochs: 1, quiet: true }),
    /needs the run length/,
  );
  const r3 = await t3.fit(factory(3), { epochs: 2, stepsPerEpoch: 2, quiet: true });
  assert.equal(r3.step, 4);
  assert.equal(t3.state.totalSteps, 4);
  model.dispose();
});

Deno.test("fit: the abort signal stops after the current step and writes a checkpoint", async () => {
  await using tmp = await tempDir("train_test_");
  const runDir = `${tmp.path}/run`;
  const model = tinyModel();
  const stop = new AbortController();
  using t = trainer({ model, loss: withOffset, schedule: constant(0.01) });
  const r = await t.fit(factory(10), {
    steps: 100,
    runDir,
    quiet: true,
    signal: stop.signal,
    callbacks: [{ onStepEnd: (e) => void (e.metrics.step === 3 && stop.abort()) }],
  });
  assert.equal(r.reason, "stopped");
  assert.equal(r.step, 3);
  assert.match(r.checkpoint ?? "", /step-00000003$/);
  model.dispose();
});

Deno.test("fit: no leaks across fit calls with validation, samples, CSV, checkpoints and the global guard", async () => {
  await using tmp = await tempDir("train_test_");
  const runDir = `${tmp.path}/run`;
  const model = tinyModel();
  const fixed = {
    input: tf.randomUniform([1, 8, 8, 3]) as tf.Tensor4D,
    target: tf.zeros([1, 8, 8, 3]) as tf.Tensor4D,
  };
  using t = trainer({ model, loss: withOffset, schedule: constant(0.01) });
  let steps = 0;
  await assertNoLeak(async () => {
    steps += 3;
    await t.fit(factory(10), {
      steps,
      runDir,
      resume: steps > 3, // the first call makes the run
      checkpointEvery: 2,
      quiet: true,
      leakGuard: true,
      validation: {
        data: () => factory(2)({ seed: 5, epoch: 0, batch: 0 }),
        every: 2,
        metrics: (p, y) => ({ mae: tf.mean(tf.abs(tf.sub(p, y))) as tf.Scalar }),
      },
      samples: { every: 2, batch: fixed, onSample: () => {} },
    });
  }, { warmup: 1, label: "trainer.fit" });
  assert.equal(t.state.step, 6);
  tf.dispose(fixed);
  model.dispose();
});

Deno.test("validate: metrics are averaged over images (batch means weighted by batch size)", async () => {
  const model = tinyModel();
  // A generator: batches are made as they are taken, so an aborted validation leaves none behind.
  const batches = function* () {
    yield {
      input: tf.zeros([1, 8, 8, 3]) as tf.Tensor4D,
      target: tf.fill([1, 8, 8, 3], 1) as tf.Tensor4D,
    };
    yield {
      input: tf.zeros([3, 8, 8, 3]) as tf.Tensor4D,
      target: tf.fill([3, 8, 8, 3], 3) as tf.Tensor4D,
    };
  };
  const before = tf.memory().numTensors;
  const r = await validate(model, batches, {
    metrics: (_p, y) => ({ level: tf.mean(y) as tf.Scalar, one: 1 }),
  });
  assert.deepEqual(r, { level: (1 * 1 + 3 * 3) / 4, one: 1 });
  assert.equal(tf.memory().numTensors, before, "validate disposed every batch and metric");
  // An async metric (like the metrics module's psnr/ssim, which read the tensors back).
  const viaData = await validate(model, batches, {
    metrics: async (_p, y) => ({ level: (await y.data())[0]! }),
  });
  assert.deepEqual(viaData, { level: 2.5 });
  await assert.rejects(
    () =>
      validate(model, batches, { metrics: (_p, y) => y.data().then((v) => ({ level: v[0]! })) }),
    /must be declared async/,
  );
  assert.equal(tf.memory().numTensors, before);
  await assert.rejects(() => validate(model, () => []), /yielded no batches/);
  model.dispose();
});
