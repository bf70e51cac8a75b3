// metricTable with metrics that keep the truth's side (forTarget): made once per image, used for
// every method, disposed after the image; the table's numbers equal those of the same columns
// called per (method, truth) pair (PSNR/SSIM on Y, a targetOnce feature distance, LPIPS alex),
// on RGB and grey images; no tensor left behind.
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs-core";
import { initBackend } from "../src/backend/mod.ts";
import {
  defaultMetrics,
  featureDistance,
  lossMetric,
  lpipsMetric,
  type MetricFn,
  metricTable,
  type TargetScorer,
} from "../src/experiment/mod.ts";
import { lpips } from "../src/lpips/mod.ts";
import { vgg16 } from "../src/vgg/mod.ts";

Deno.test("metricTable: forTarget once per image for every method, disposed after it", async () => {
  await initBackend("cpu");
  const log: string[] = [];
  const meanOf = async (x: tf.Tensor) => {
    const m = tf.mean(x);
    const v = (await m.data())[0]!;
    m.dispose();
    return v;
  };
  const diff: MetricFn = Object.assign(
    async (p: tf.Tensor4D, t: tf.Tensor4D) => (await meanOf(p)) - (await meanOf(t)),
    {
      forTarget: async (t: tf.Tensor4D): Promise<TargetScorer> => {
        const m = await meanOf(t);
        log.push(`prepare ${m}`);
        return { score: async (p) => (await meanOf(p)) - m, dispose: () => log.push("dispose") };
      },
    },
  );
  const images = [0.25, 0.5].map((v) => ({
    name: `v${v}`,
    input: tf.fill([4, 4, 1], v) as tf.Tensor3D,
    target: tf.fill([4, 4, 1], v + 0.25) as tf.Tensor3D,
  }));
  const before = tf.memory().numTensors;
  const table = await metricTable({
    sets: [{ name: "two", images }],
    methods: { same: (x) => tf.clone(x), up: (x) => tf.add(x, 0.25) as tf.Tensor4D },
    metrics: { diff },
  });
  assert.equal(tf.memory().numTensors, before);
  assert.deepEqual(log, ["prepare 0.5", "dispose", "prepare 0.75", "dispose"]);
  assert.deepEqual(table.values, [{ diff: -0.25 }, { diff: 0 }]);
  tf.dispose(images.flatMap((i) => [i.input, i.target]));
});

Deno.test("metricTable: the SR columns with forTarget equal them per pair, RGB and grey", async () => {
  await initBackend("cpu");
  using net = await vgg16({ weights: { random: 0 }, upTo: "block2_conv2" });
  using metric = await lpips({ net: "alex" });
  const rgb = tf.randomUniform([1, 40, 36, 3], 0, 1, "float32", 1) as tf.Tensor4D;
  using feat = await featureDistance(net, ["block1_conv2", "block2_conv2"], rgb);
  const y = { yChannel: true, crop: 2 } as const;
  const columns = {
    "PSNR Y": defaultMetrics(y)["PSNR (dB)"]!,
    "SSIM Y": defaultMetrics(y)["SSIM"]!,
    "feature L1": lossMetric(feat),
    "LPIPS": lpipsMetric(metric),
  };
  // The same functions without forTarget, and a loss without prepare: all per pair.
  const plain = Object.fromEntries(
    Object.entries(columns).map(([k, f]) => [
      k,
      k === "feature L1"
        ? lossMetric((p: tf.Tensor4D, t: tf.Tensor4D) => feat(p, t))
        : (p: tf.Tensor4D, t: tf.Tensor4D) => f(p, t),
    ]),
  ) as Record<string, MetricFn>;
  assert.ok(
    Object.values(plain).every((f) => f.forTarget === undefined || f === plain["feature L1"]),
  );
  const images = [3, 1].map((c, i) => ({
    name: `c${c}`,
    input: tf.randomUniform([20, 18, c], 0, 1, "float32", 10 + i) as tf.Tensor3D,
    target: tf.randomUniform([40, 36, c], 0, 1, "float32", 20 + i) as tf.Tensor3D,
  }));
  const methods = {
    nearest: (x: tf.Tensor4D) => tf.image.resizeNearestNeighbor(x, [40, 36]),
    bilinear: (x: tf.Tensor4D) => tf.image.resizeBilinear(x, [40, 36]),
  };
  const before = tf.memory().numTensors;
  const kept = await metricTable({ sets: [{ name: "s", images }], methods, metrics: columns });
  const perPair = await metricTable({ sets: [{ name: "s", images }], methods, metrics: plain });
  feat.dispose(); // what targetOnce keeps of the last truth
  assert.equal(tf.memory().numTensors, before);
  assert.deepEqual(kept.values, perPair.values);
  for (const row of kept.values) {
    assert.ok(Object.values(row).every((v) => Number.isFinite(v) && v !== 0), JSON.stringify(row));
  }
  tf.dispose([rgb, ...images.flatMap((i) => [i.input, i.target])]);
});
