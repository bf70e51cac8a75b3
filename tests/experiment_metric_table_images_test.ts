// metricTable on whole images of different sizes (the mean over images, hand-computed), a metric
// of several columns, an unclipped baseline beside clipped ones, per-set methods, onImage once
// per image with every method's prediction, and no tensor left behind; heldOutValidation clips.
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs-core";
import { initBackend } from "../src/backend/mod.ts";
import { heldOutValidation, type MetricFn, metricTable } from "../src/experiment/mod.ts";

const meanAbs = (p: tf.Tensor, t: tf.Tensor) => tf.tidy(() => tf.mean(tf.abs(tf.sub(p, t))));

Deno.test("metricTable: image sets, several-column metrics, unclipped methods, onImage, no leak", async () => {
  await initBackend("cpu");
  // Two images, 4x4 and 2x6: inputs 0.25 and 0.75, targets 0.5.
  const images = [[4, 4, 0.25], [2, 6, 0.75]].map(([h, w, v], i) => ({
    name: `i${i}`,
    input: tf.fill([h!, w!, 3], v!) as tf.Tensor3D,
    target: tf.fill([h!, w!, 3], 0.5) as tf.Tensor3D,
  }));
  const batch = { input: tf.fill([2, 3, 3, 3], 0.9), target: tf.fill([2, 3, 3, 3], 0.5) };
  const before = tf.memory().numTensors;
  const errors: MetricFn = async (p, t) => {
    const d = meanAbs(p, t);
    const v = (await d.data())[0]!;
    d.dispose();
    return { "mean |error|": v, "twice that": 2 * v };
  };
  const seen: string[] = [];
  const table = await metricTable({
    sets: [
      { name: "whole", images },
      {
        name: "crops",
        ...batch as { input: tf.Tensor4D; target: tf.Tensor4D },
        methods: { over: { unclipped: (x) => tf.add(x, 0.5) as tf.Tensor4D } },
      },
    ],
    methods: { same: (x) => tf.clone(x), over: (x) => tf.add(x, 0.5) as tf.Tensor4D },
    metrics: { errors },
    formats: { "mean |error|": (n) => n.toFixed(3) },
    headers: { "twice that": "2x" },
    onImage: async (e) => {
      seen.push(`${e.set}/${e.image}: ${Object.keys(e.predictions)} ${e.target.shape}`);
      // The predictions are those scored: "over" of image 0 is 0.25 + 0.5 = 0.75 (within [0, 1]).
      if (e.image === "i0") assert.equal((await e.predictions.over!.data())[0], 0.75);
    },
  });
  assert.equal(tf.memory().numTensors, before, "no tensor left behind");
  assert.deepEqual(table.columns, ["set", "method", "mean |error|", "twice that"]);
  assert.deepEqual(seen, [
    "whole/i0: same,over 1,4,4,3",
    "whole/i1: same,over 1,2,6,3",
    "crops/crops: over 2,3,3,3",
  ]);
  // same: errors 0.25 and 0.25 → 0.25; over: |0.75 - 0.5| and |clip(1.25) - 0.5| → 0.375;
  // crops, unclipped: |1.4 - 0.5| = 0.9 (clipped it would be 0.5).
  const want = [["whole", "same", 0.25], ["whole", "over", 0.375], ["crops", "over", 0.9]];
  table.rows.forEach((r, i) => {
    assert.deepEqual(r.slice(0, 2), want[i]!.slice(0, 2));
    assert.ok(Math.abs((r[2] as number) - (want[i]![2] as number)) < 1e-6, `${r}`);
    assert.ok(Math.abs((r[3] as number) - 2 * (want[i]![2] as number)) < 1e-6, `${r}`);
  });
  assert.equal(table.values[1]!["mean |error|"], table.rows[1]![2]);
  assert.match(table.text, /whole\s+over\s+0\.375\s+0\.7500/);
  assert.match(table.text, /^set\s+method\s+mean \|error\|\s+2x\n/);
  for (const i of images) tf.dispose([i.input, i.target]);
  tf.dispose([batch.input, batch.target]);
});

Deno.test("metricTable: a metric's NaN reads n/a in rows and text, NaN in values", async () => {
  await initBackend("cpu");
  const x = tf.fill([1, 2, 2, 3], 0.5) as tf.Tensor4D;
  const table = await metricTable({
    sets: [{ name: "s", input: x, target: x }],
    methods: { m: (i) => tf.clone(i) },
    metrics: { none: () => Promise.resolve(NaN) },
  });
  assert.deepEqual(table.rows, [["s", "m", "n/a"]]);
  assert.ok(Number.isNaN(table.values[0]!.none));
  assert.match(table.text, /m\s+n\/a$/);
  x.dispose();
});

Deno.test("heldOutValidation: fresh clones each time, metrics on the clipped prediction", async () => {
  await initBackend("cpu");
  const input = tf.fill([1, 2, 2, 3], 0.25) as tf.Tensor4D;
  const target = tf.fill([1, 2, 2, 3], 1) as tf.Tensor4D;
  const maxOf: MetricFn = async (p) => {
    const m = tf.max(p);
    const v = (await m.data())[0]!;
    m.dispose();
    return v;
  };
  const v = heldOutValidation(input, target, { max: maxOf });
  const before = tf.memory().numTensors;
  const over = tf.fill([1, 2, 2, 3], 3) as tf.Tensor4D;
  assert.deepEqual(await v.metrics!(over, target), { max: 1 });
  over.dispose();
  assert.equal(tf.memory().numTensors, before, "the clipped copy is disposed");
  const batches = typeof v.data === "function" ? await v.data() : v.data;
  const [b] = [...batches as Iterable<{ input: tf.Tensor4D; target: tf.Tensor4D }>];
  assert.ok(b!.input !== input && !b!.input.isDisposed && (await b!.input.data())[0] === 0.25);
  tf.dispose([b!.input, b!.target, input, target]);
  assert.equal(heldOutValidation(input, target).metrics, undefined);
});
