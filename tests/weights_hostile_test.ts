/**
 * Corrupt and hostile weight files (issue 17, items 2 and 8): NaN/Infinity anywhere in VGG
 * weights (.h5, tfjs directories, the embedded copy even with its SHA256SUMS regenerated), U-Net
 * model directories and checkpoints is refused at load with an error naming the file and the
 * layer; shards must have exactly the manifest's size and lie inside the model folder.
 */
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs-core";
import { initBackend } from "../src/backend/mod.ts";
import {
  MissingWeightsError,
  NonFiniteWeightsError,
  vgg16,
  vgg19,
  WeightFileError,
} from "../src/vgg/mod.ts";
import { openKerasH5 } from "../src/vgg/_h5_weights.ts";
import { loadModel, ModelFilesError, saveModel, unet } from "../src/unet/mod.ts";
import { readCheckpoint, writeCheckpoint } from "../src/train/checkpoint.ts";
import { CheckpointError } from "../src/train/errors.ts";
import { sha256Hex } from "../src/_internal/hash.ts";
import { PerceptualError } from "../src/errors/mod.ts";

await initBackend("cpu");

const FIX = "tests/fixtures/vgg_block1";
const EMBEDDED = "examples/weights/vgg19_imagenet_blocks1-3";

async function copyDir(from: string, to: string): Promise<void> {
  await Deno.mkdir(to, { recursive: true });
  for await (const e of Deno.readDir(from)) {
    if (e.isFile) await Deno.copyFile(`${from}/${e.name}`, `${to}/${e.name}`);
  }
}

// deno-lint-ignore no-explicit-any
async function editJson(path: string, edit: (j: any) => void): Promise<void> {
  const j = JSON.parse(await Deno.readTextFile(path));
  edit(j);
  await Deno.writeTextFile(path, JSON.stringify(j));
}

/** Set float `index` of `file` to `value` in place. */
async function poke(file: string, index: number, value: number): Promise<void> {
  const bytes = await Deno.readFile(file);
  new DataView(bytes.buffer).setFloat32(4 * index, value, true);
  await Deno.writeFile(file, bytes);
}

Deno.test("a tfjs shard of 0xFF bytes (NaN) is refused at load, naming file and layer", async () => {
  const dir = await Deno.makeTempDir();
  await copyDir(`${FIX}/tfjs`, dir);
  const shard = `${dir}/group1-shard1of1`;
  await Deno.writeFile(shard, new Uint8Array((await Deno.stat(shard)).size).fill(0xff));
  const before = tf.memory().numTensors;
  await assert.rejects(vgg16({ weights: dir }), (e: Error) => {
    assert.ok(e instanceof NonFiniteWeightsError && e instanceof WeightFileError);
    assert.ok(e instanceof PerceptualError);
    assert.equal(e.layer, "block1_conv1");
    assert.equal(e.weight, "kernel");
    assert.equal(e.file, `${dir}/model.json`);
    assert.match(e.message, /holds 1728 NaN\/infinite values \(the first, NaN, at index 0\)/);
    return true;
  });
  assert.equal(tf.memory().numTensors, before, "no tensor left behind");
  await Deno.remove(dir, { recursive: true });
});

Deno.test("one Infinity in a bias of block1_conv2 is enough", async () => {
  const dir = await Deno.makeTempDir();
  await copyDir(`${FIX}/tfjs`, dir);
  // group2 = block1_conv2 kernel (3·3·64·64 floats), then its bias
  await poke(`${dir}/group2-shard1of1`, 3 * 3 * 64 * 64 + 5, -Infinity);
  await assert.rejects(
    vgg16({ weights: dir }),
    (e: Error) =>
      e instanceof NonFiniteWeightsError && e.layer === "block1_conv2" && e.weight === "bias" &&
      /1 NaN\/infinite value \(the first, -Infinity, at index 5\)/.test(e.message),
  );
  // asking only for block1_conv1 reads nothing of group 2, so it loads
  using net = await vgg16({ weights: dir, upTo: "block1_conv1" });
  assert.deepEqual(net.layers, ["block1_conv1"]);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("the embedded VGG-19 copy: NaN with a regenerated SHA256SUMS is still refused", async () => {
  const dir = await Deno.makeTempDir();
  await copyDir(EMBEDDED, dir);
  await poke(`${dir}/group1-shard1of1`, 7, NaN);
  const sums = (await Deno.readTextFile(`${dir}/SHA256SUMS`)).replace(
    /^\w+(\s+group1-shard1of1)$/m,
    `${await sha256Hex(await Deno.readFile(`${dir}/group1-shard1of1`))}$1`,
  );
  await Deno.writeTextFile(`${dir}/SHA256SUMS`, sums);
  await assert.rejects(
    vgg19({ weights: dir, upTo: "block1_conv2" }),
    (e: Error) => e instanceof NonFiniteWeightsError && e.layer === "block1_conv1",
  );
  await Deno.remove(dir, { recursive: true });
});

Deno.test("a NaN inside a Keras .h5 file is refused the same way", async () => {
  const dir = await Deno.makeTempDir();
  const h5 = `${dir}/w.h5`;
  await Deno.copyFile(`${FIX}/keras_notop.h5`, h5);
  // Find block1_conv2's bias in the file by its values (Keras stores datasets contiguously).
  const src = await openKerasH5(h5);
  const bias = (await src.read({
    kind: "conv",
    name: "block1_conv2",
    inChannels: 64,
    outChannels: 64,
  })).bias;
  src.close();
  const bytes = await Deno.readFile(h5);
  const needle = new Uint8Array(bias.buffer, bias.byteOffset, 64);
  let at = -1;
  for (let i = 0; i + needle.length <= bytes.length && at < 0; i++) {
    if (needle.every((b, j) => bytes[i + j] === b)) at = i;
  }
  assert.ok(at >= 0, "bias bytes found in the .h5 file");
  new DataView(bytes.buffer).setFloat32(at + 4 * 3, NaN, true);
  await Deno.writeFile(h5, bytes);
  await assert.rejects(
    vgg16({ weights: h5 }),
    (e: Error) =>
      e instanceof NonFiniteWeightsError && e.layer === "block1_conv2" && e.file === h5 &&
      /at index 3/.test(e.message),
  );
  await Deno.remove(dir, { recursive: true });
});

Deno.test("a tfjs shard longer than its manifest is refused (and a short one)", async () => {
  const dir = await Deno.makeTempDir();
  await copyDir(`${FIX}/tfjs`, dir);
  const shard = `${dir}/group1-shard1of1`;
  const good = await Deno.readFile(shard);
  await Deno.writeFile(shard, new Uint8Array([...good, 0, 0, 0, 0]));
  await assert.rejects(
    vgg16({ weights: dir }),
    (e: Error) =>
      e instanceof WeightFileError && e.layer === "block1_conv1" &&
      /has 7172 bytes .* but the manifest says 7168: a too long shard/.test(e.message),
  );
  await Deno.writeFile(shard, good.subarray(0, 7000));
  await assert.rejects(vgg16({ weights: dir }), /7000 bytes .* a truncated shard/);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("tfjs shard paths outside the model folder are refused before any read", async () => {
  const root = await Deno.makeTempDir();
  const dir = `${root}/model`;
  await copyDir(`${FIX}/tfjs`, dir);
  await Deno.copyFile(`${dir}/group1-shard1of1`, `${root}/outside`);
  for (
    const [path, why] of [
      ["../outside", /'\.\.' segment/],
      [`${root}/outside`, /absolute/],
      ["file:///etc/passwd", /URL/],
      ["https://example.com/x.bin", /URL/],
      ["sub\\..\\..\\outside", /backslash/],
    ] as const
  ) {
    await editJson(`${dir}/model.json`, (j) => (j.weightsManifest[0].paths = [path]));
    await assert.rejects(
      vgg16({ weights: dir }),
      (e: Error) =>
        e instanceof WeightFileError && why.test(e.message) &&
        e.message.includes("weightsManifest[0].paths[0]"),
      path,
    );
  }
  await Deno.remove(root, { recursive: true });
});

Deno.test("a shard that is a symbolic link out of the model folder is refused; one inside is fine", async () => {
  const root = await Deno.makeTempDir();
  const dir = `${root}/model`;
  await copyDir(`${FIX}/tfjs`, dir);
  const shard = `${dir}/group1-shard1of1`;
  // Inside: a link to a file in the same folder loads as before.
  await Deno.rename(shard, `${dir}/real.bin`);
  await Deno.symlink("real.bin", shard);
  (await vgg16({ weights: dir })).dispose();
  // Outside: the same bytes, but beside the folder.
  await Deno.rename(`${dir}/real.bin`, `${root}/outside.bin`);
  await Deno.remove(shard);
  await Deno.symlink(`${root}/outside.bin`, shard);
  await assert.rejects(
    vgg16({ weights: dir }),
    (e: Error) =>
      e instanceof WeightFileError && /symbolic link to .*outside\.bin, outside/.test(e.message),
  );
  // The U-Net loader the same way.
  const unetDir = `${root}/unet`;
  const model = unet({ depth: 1, baseFilters: 4 });
  await saveModel(model, unetDir);
  model.dispose();
  const name = JSON.parse(await Deno.readTextFile(`${unetDir}/model.json`)).weightsManifest[0]
    .paths[0];
  await Deno.rename(`${unetDir}/${name}`, `${root}/unet-outside.bin`);
  await Deno.symlink(`${root}/unet-outside.bin`, `${unetDir}/${name}`);
  await assert.rejects(
    loadModel(unetDir),
    (e: Error) => e instanceof ModelFilesError && /symbolic link .*outside/.test(e.message),
  );
  await Deno.remove(root, { recursive: true });
});

Deno.test("U-Net loadModel: NaN weights, a too long or a short shard, and ../ paths are refused", async () => {
  const dir = await Deno.makeTempDir();
  const model = unet({ depth: 1, baseFilters: 4 });
  await saveModel(model, dir);
  model.dispose();
  const json = JSON.parse(await Deno.readTextFile(`${dir}/model.json`));
  const file = `${dir}/${json.weightsManifest[0].paths[0]}`;
  const good = await Deno.readFile(file);
  const before = tf.memory().numTensors;
  // one NaN in the first weight
  await poke(file, 2, NaN);
  await assert.rejects(
    loadModel(dir),
    (e: Error) =>
      e instanceof ModelFilesError &&
      new RegExp(`weight '${json.weightsManifest[0].weights[0].name}' holds 1 NaN`).test(
        e.message,
      ),
  );
  await Deno.writeFile(file, new Uint8Array([...good, 1, 2, 3, 4]));
  await assert.rejects(loadModel(dir), /a too long shard/);
  await Deno.writeFile(file, good.subarray(0, good.length - 4));
  await assert.rejects(loadModel(dir), /a truncated shard/);
  await Deno.writeFile(file, good);
  await editJson(
    `${dir}/model.json`,
    (
      j,
    ) => (j.weightsManifest[0].paths = [
      `../${dir.split("/").at(-1)}/${j.weightsManifest[0].paths[0]}`,
    ]),
  );
  await assert.rejects(
    loadModel(dir),
    (e: Error) => e instanceof ModelFilesError && /'\.\.' segment/.test(e.message),
  );
  assert.equal(tf.memory().numTensors, before, "no tensor left behind");
  await Deno.remove(dir, { recursive: true });
});

Deno.test("a checkpoint whose (correctly hashed) weights hold NaN cannot be read", async () => {
  const dir = await Deno.makeTempDir();
  const state = {
    step: 3,
    epoch: 0,
    batchInEpoch: 3,
    seed: 0,
    totalSteps: 10,
    schedule: null,
    optimizer: { className: "Adam", config: {} },
    config: null,
    savedAt: new Date(0).toISOString(),
  };
  const w = { name: "conv/kernel", shape: [3], dtype: "float32" as const };
  const ok = await writeCheckpoint(dir, state, [{ ...w, data: new Float32Array([1, 2, 3]) }], []);
  assert.deepEqual([...(await readCheckpoint(ok)).model[0]!.data], [1, 2, 3]);
  const bad = await writeCheckpoint(
    dir,
    { ...state, step: 4 },
    [{ ...w, data: new Float32Array([1, Infinity, NaN]) }],
    [],
  );
  await assert.rejects(
    readCheckpoint(bad),
    (e: Error) =>
      e instanceof CheckpointError &&
      /model\.bin: tensor 'conv\/kernel' holds 2 NaN\/infinite values \(the first, Infinity, at index 1\)/
        .test(e.message),
  );
  await Deno.remove(dir, { recursive: true });
});

Deno.test("MissingWeightsError is still what a merely absent deeper shard gives", async () => {
  const dir = await Deno.makeTempDir();
  await copyDir(`${FIX}/tfjs`, dir);
  await assert.rejects(vgg16({ weights: dir, upTo: "block2_conv1" }), MissingWeightsError);
  await Deno.remove(dir, { recursive: true });
});
