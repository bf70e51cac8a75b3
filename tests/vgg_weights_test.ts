// Weight loading: Keras .h5 (files written by h5py in Keras' layout by
// tests/fixtures/vgg_keras_h5.py) against the same weights in tfjs format, partial reads, seeded
// random weights, and typed errors for bad files. Leaks are checked for every loader.
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs-core";
import { initBackend } from "../src/backend/mod.ts";
import { assertNoLeak } from "../src/lifetime/mod.ts";
import {
  LayerNotLoadedError,
  MissingWeightsError,
  vgg16,
  WeightFileError,
  WeightShapeError,
} from "../src/vgg/mod.ts";
import { vggOps } from "../src/vgg/_architecture.ts";
import { openKerasH5 } from "../src/vgg/_h5_weights.ts";
import { openTfjsDir } from "../src/vgg/_tfjs_weights.ts";

// wasm: several tests run full 13-conv forwards; loading is backend-independent.
await initBackend("wasm");

const FIX = "tests/fixtures/vgg_block1"; // VGG-16 block 1, Keras 1 names, fixed-length strings
const H5 = `${FIX}/keras_notop.h5`;
const TFJS = `${FIX}/tfjs`;

function rel(a: tf.Tensor, b: tf.Tensor): number {
  return tf.tidy(() => tf.div(tf.norm(tf.sub(a, b)), tf.norm(b)).dataSync()[0]!);
}

/** Whether Debian's python with h5py is here, to write full-size files at test time. */
const python = (() => {
  try {
    const out = new Deno.Command("/usr/bin/python3", {
      args: ["-c", "import h5py, numpy"],
      stdout: "null",
      stderr: "null",
    }).outputSync();
    return out.success;
  } catch {
    return false;
  }
})();
if (!python) {
  console.log(
    "vgg_weights_test: full-size .h5 tests skipped, /usr/bin/python3 with h5py is absent",
  );
}

async function copyDir(from: string, to: string): Promise<void> {
  await Deno.mkdir(to, { recursive: true });
  for await (const e of Deno.readDir(from)) {
    await Deno.copyFile(`${from}/${e.name}`, `${to}/${e.name}`);
  }
}

Deno.test(".h5 in Keras' notop layout gives the activations of the same weights in tfjs format", async () => {
  using fromH5 = await vgg16({ weights: H5 });
  using fromTfjs = await vgg16({ weights: TFJS });
  // The file has block 1 only: both stop after block1_pool.
  assert.deepEqual(fromH5.layers, ["block1_conv1", "block1_conv2", "block1_pool"]);
  assert.deepEqual(fromTfjs.layers, fromH5.layers);
  const x = tf.randomUniform([2, 16, 20, 3], 0, 1, "float32", 7) as tf.Tensor4D;
  const a = fromH5.extract(x, ["relu1_1", "relu1_2", "pool1"]);
  const b = fromTfjs.extract(x, ["relu1_1", "relu1_2", "pool1"]);
  for (const k of ["relu1_1", "relu1_2", "pool1"] as const) assert.equal(rel(a[k], b[k]), 0);
  assert.ok(tf.max(a.relu1_2).dataSync()[0]! > 0);
  tf.dispose([x, a, b]);
  // What the file lists, and that opening reads metadata only.
  const src = await openKerasH5(H5);
  assert.deepEqual(src.layerNames, ["input_1", "block1_conv1", "block1_conv2", "block1_pool"]);
  const w = await src.read(vggOps("vgg16")[0] as never);
  assert.equal(w.kernel.length, 3 * 3 * 3 * 64);
  src.close();
  await assertNoLeak(() => vgg16({ weights: H5 }));
  await assertNoLeak(() => vgg16({ weights: TFJS }));
});

Deno.test({
  name:
    "full-size VGG-16 .h5 (Keras 2 names, h5py 3 strings): equal to tfjs, read only as deep as needed",
  ignore: !python,
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "vgg_h5_" });
    try {
      const gen = await new Deno.Command("/usr/bin/python3", {
        args: ["tests/fixtures/vgg_keras_h5.py", dir, "--style", "keras2", "--seed", "9"],
        stdout: "null",
      }).output();
      assert.ok(gen.success, new TextDecoder().decode(gen.stderr));
      using a = await vgg16({ weights: `${dir}/keras_notop.h5` });
      using b = await vgg16({ weights: `${dir}/tfjs` });
      assert.equal(a.layers.length, 18);
      const x = tf.randomUniform([1, 32, 32, 3], 0, 1, "float32", 8) as tf.Tensor4D;
      const fa = a.extract(x, ["block5_conv3", "pool5"]);
      const fb = b.extract(x, ["block5_conv3", "pool5"]);
      assert.equal(rel(fa.block5_conv3, fb.block5_conv3), 0);
      assert.equal(rel(fa.pool5, fb.pool5), 0);
      tf.dispose([x, fa, fb]);
      // Two layers of a 59 MB file: under 1% of its bytes are read.
      const src = await openKerasH5(`${dir}/keras_notop.h5`);
      for (const op of vggOps("vgg16").slice(0, 2)) await src.read(op as never);
      assert.ok(src.bytesRead() < src.size / 100, `${src.bytesRead()} of ${src.size}`);
      src.close();
      const t = await openTfjsDir(`${dir}/tfjs`);
      for (const op of vggOps("vgg16").slice(0, 2)) await t.read(op as never);
      assert.deepEqual(t.shardsRead(), ["group1-shard1of1", "group2-shard1of1"]);
      t.close();
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test("a layer the file lacks: absent by default, MissingWeightsError when asked for", async () => {
  await assert.rejects(
    () => vgg16({ weights: H5, upTo: "block2_conv1" }),
    (e: Error) =>
      e instanceof MissingWeightsError && e.message.includes(H5) &&
      e.message.includes("block2_conv1"),
  );
  await assert.rejects(
    () => vgg16({ weights: TFJS, upTo: "relu2_2" }),
    (e: Error) =>
      e instanceof MissingWeightsError && e.message.includes(`${TFJS}/model.json`) &&
      e.message.includes("block2_conv1"),
  );
  using net = await vgg16({ weights: H5 });
  const x = tf.zeros([1, 8, 8, 3]) as tf.Tensor4D;
  assert.throws(
    () => net.extract(x, ["relu2_1"]),
    (e: Error) => e instanceof LayerNotLoadedError && /no layer block2_conv1/.test(e.message),
  );
  x.dispose();
  await assertNoLeak(() => vgg16({ weights: H5, upTo: "block2_conv1" }).catch(() => undefined));
});

Deno.test("truncated or corrupt .h5 files are WeightFileErrors naming the file", async () => {
  const dir = await Deno.makeTempDir({ prefix: "vgg_bad_h5_" });
  try {
    const bytes = await Deno.readFile(H5);
    const cut = `${dir}/cut.h5`;
    await Deno.writeFile(cut, bytes.subarray(0, Math.floor(bytes.length * 0.6)));
    const junk = `${dir}/junk.h5`;
    await Deno.writeFile(junk, new Uint8Array(4096).map((_, i) => (i * 7919) & 255));
    for (const [f, why] of [[cut, /truncated/], [junk, /not an HDF5 file/]] as const) {
      await assert.rejects(
        () => vgg16({ weights: f }),
        (e: Error) => e instanceof WeightFileError && e.message.includes(f) && why.test(e.message),
      );
      await assertNoLeak(() => vgg16({ weights: f }).catch(() => undefined));
    }
    await assert.rejects(
      () => vgg16({ weights: `${dir}/nothing.h5` }),
      (e: Error) => e instanceof WeightFileError && /no such file/.test(e.message),
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("tfjs directories: wrong manifest shapes, truncated and absent shards, bad JSON", async () => {
  const dir = await Deno.makeTempDir({ prefix: "vgg_bad_tfjs_" });
  try {
    // Wrong kernel shape in the manifest → WeightShapeError naming model.json and the layer.
    await copyDir(TFJS, `${dir}/shape`);
    const mj = JSON.parse(await Deno.readTextFile(`${dir}/shape/model.json`));
    mj.weightsManifest[1].weights[0].shape = [3, 3, 64, 32];
    await Deno.writeTextFile(`${dir}/shape/model.json`, JSON.stringify(mj));
    await assert.rejects(
      () => vgg16({ weights: `${dir}/shape` }),
      (e: Error) =>
        e instanceof WeightShapeError && e.message.includes(`${dir}/shape/model.json`) &&
        e.message.includes("block1_conv2") && e.message.includes("[3,3,64,32]"),
    );
    // A truncated shard → WeightFileError naming the shard and the layer.
    await copyDir(TFJS, `${dir}/cut`);
    const shard = `${dir}/cut/group2-shard1of1`;
    await Deno.writeFile(shard, (await Deno.readFile(shard)).subarray(0, 1000));
    await assert.rejects(
      () => vgg16({ weights: `${dir}/cut` }),
      (e: Error) =>
        e instanceof WeightFileError && e.message.includes(shard) &&
        e.message.includes("block1_conv2") && /truncated/.test(e.message),
    );
    // An absent shard: the layers before it load; asking for it is an error naming the shard.
    await copyDir(TFJS, `${dir}/absent`);
    await Deno.remove(`${dir}/absent/group2-shard1of1`);
    using partial = await vgg16({ weights: `${dir}/absent` });
    assert.deepEqual(partial.layers, ["block1_conv1"]);
    await assert.rejects(
      () => vgg16({ weights: `${dir}/absent`, upTo: "relu1_2" }),
      (e: Error) =>
        e instanceof MissingWeightsError && /group2-shard1of1 is absent/.test(e.message),
    );
    // Not JSON, or not a layers model.
    await Deno.mkdir(`${dir}/json`);
    await Deno.writeTextFile(`${dir}/json/model.json`, "{ not json");
    await assert.rejects(
      () => vgg16({ weights: `${dir}/json` }),
      (e: Error) => e instanceof WeightFileError && /not valid JSON/.test(e.message),
    );
    await Deno.writeTextFile(`${dir}/json/model.json`, JSON.stringify({ weightsManifest: [{}] }));
    await assert.rejects(
      () => vgg16({ weights: `${dir}/json` }),
      (e: Error) => e instanceof WeightFileError && /weightsManifest\[0\]/.test(e.message),
    );
    await assertNoLeak(() => vgg16({ weights: `${dir}/shape` }).catch(() => undefined));
    await assertNoLeak(() => vgg16({ weights: `${dir}/cut` }).catch(() => undefined));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("random weights: seeded, independent of truncation, and He-scaled through 13 convs", async () => {
  const x = tf.randomUniform([1, 32, 32, 3], 0, 1, "float32", 11) as tf.Tensor4D;
  using a = await vgg16({ weights: { random: 3 } });
  using b = await vgg16({ weights: { random: 3 }, upTo: "relu1_2" });
  using c = await vgg16({ weights: { random: 4 }, upTo: "relu1_2" });
  const fa = a.extract(x, [...a.layers]);
  const fb = b.extract(x, ["relu1_2"]);
  const fc = c.extract(x, ["relu1_2"]);
  assert.equal(rel(fb.relu1_2, fa.block1_conv2), 0);
  assert.ok(rel(fc.relu1_2, fa.block1_conv2) > 0.1);
  // Neither vanishing nor exploding: each conv layer's RMS within 10× of the first one's.
  const rms = (t: tf.Tensor) => tf.tidy(() => Math.sqrt(tf.mean(tf.square(t)).dataSync()[0]!));
  const first = rms(fa.block1_conv1);
  for (const layer of a.layers.filter((l) => l.includes("conv"))) {
    const r = rms(fa[layer]);
    assert.ok(r > first / 10 && r < first * 10, `${layer}: rms ${r} vs block1_conv1 ${first}`);
  }
  tf.dispose([x, fa, fb, fc]);
  await assertNoLeak(() => vgg16({ weights: { random: 1 }, upTo: "pool1" }));
});
