// Saving and loading U-Nets: round trips, the standard tfjs layers format, loading the files the
// way a browser with stock TensorFlow.js would (fromMemory, and over HTTP), atomic overwrites.
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs-core";
import * as tfl from "@tensorflow/tfjs-layers";
import { initBackend } from "../src/backend/mod.ts";
import { assertNoLeak } from "../src/lifetime/mod.ts";
import {
  loadModel,
  ModelFilesError,
  registerLayers,
  saveModel,
  unet,
  type UNetConfig,
} from "../src/unet/mod.ts";
import { CUSTOM_CLASS_NAMES } from "../src/unet/register.ts";
import { noise, weightArrays } from "./unet_test_helpers.ts";

await initBackend("cpu");

const CONFIG: Partial<UNetConfig> = {
  depth: 2,
  baseFilters: 4,
  scale: 2,
  inChannels: 1,
  outChannels: 3,
  outputRange: [0, 1],
  seed: 9,
};

/** A U-Net that trained two steps, so weights and batch-norm statistics are not the initial ones. */
function trainedModel(cfg: Partial<UNetConfig> = CONFIG): tfl.LayersModel {
  const model = unet(cfg);
  const x = tf.tensor4d(noise(2 * 8 * 8 * 1, 1), [2, 8, 8, 1]);
  const y = tf.tensor4d(noise(2 * 16 * 16 * 3, 2).map((v) => (v + 1) / 2), [2, 16, 16, 3]);
  const optimizer = tf.train.adam(1e-2);
  for (let i = 0; i < 2; i++) {
    optimizer.minimize(
      () =>
        tf.losses.meanSquaredError(y, model.apply(x, { training: true }) as tf.Tensor) as tf.Scalar,
    );
  }
  optimizer.dispose();
  tf.dispose([x, y]);
  return model;
}

const probe = (): tf.Tensor4D => tf.tensor4d(noise(2 * 8 * 8, 3), [2, 8, 8, 1]);

/** Same weights, same outputs (the training-mode pass updates both models' statistics alike). */
function assertSameModel(a: tfl.LayersModel, b: tfl.LayersModel): void {
  const wa = weightArrays(a);
  const wb = weightArrays(b);
  assert.deepEqual([...wb.keys()], [...wa.keys()]);
  for (const [name, v] of wa) assert.deepEqual(wb.get(name), v, `weight ${name} differs`);
  const x = probe();
  for (const training of [false, true]) {
    const ya = a.apply(x, { training }) as tf.Tensor;
    const yb = b.apply(x, { training }) as tf.Tensor;
    const d = tf.max(tf.abs(tf.sub(ya, yb))).dataSync()[0]!;
    assert.ok(d <= 1e-6, `outputs (training: ${training}) differ by ${d}`);
    tf.dispose([ya, yb]);
  }
  x.dispose();
}

Deno.test("save → load gives identical weights (batch-norm statistics included) and outputs", async () => {
  const model = trainedModel();
  const initial = unet(CONFIG);
  // The round trip must carry the trained state, not what the initializers would rebuild.
  assert.notDeepEqual(
    weightArrays(model).get("enc1_bn1/moving_mean"),
    weightArrays(initial).get("enc1_bn1/moving_mean"),
  );
  initial.dispose();
  const dir = await Deno.makeTempDir();
  await saveModel(model, dir);
  const loaded = await loadModel(dir);
  // A model.json path works as well as its directory.
  const again = await loadModel(`${dir}/model.json`);
  assert.equal(loaded.name, "unet");
  assert.deepEqual(weightArrays(again), weightArrays(loaded));
  assertSameModel(model, loaded);
  [model, loaded, again].forEach((m) => m.dispose());
  await Deno.remove(dir, { recursive: true });
});

Deno.test("model.json is the standard tfjs layers format: modelTopology + weightsManifest", async () => {
  const model = trainedModel({ ...CONFIG, upsample: "transpose", norm: "none" });
  const dir = await Deno.makeTempDir();
  await saveModel(model, dir);
  const json = JSON.parse(await Deno.readTextFile(`${dir}/model.json`));
  assert.equal(json.format, "layers-model");
  assert.match(json.generatedBy, /^TensorFlow\.js tfjs-layers v4\.22\.0$/);
  assert.equal(json.modelTopology.class_name, "Model");
  assert.equal(json.modelTopology.config.name, "unet");
  assert.ok(Array.isArray(json.weightsManifest) && json.weightsManifest.length === 1);
  const [group] = json.weightsManifest;
  assert.equal(group.paths.length, 1);
  assert.match(
    group.paths[0],
    /^weights-[0-9a-f]{16}\.bin$/,
    "a relative path, as browsers fetch it",
  );
  const specs = group.weights as { name: string; shape: number[]; dtype: string }[];
  assert.deepEqual(specs.map((s) => s.name), model.weights.map((w) => w.originalName));
  assert.ok(specs.every((s) => s.dtype === "float32"));
  const bytes = specs.reduce((n, s) => n + 4 * s.shape.reduce((a, b) => a * b, 1), 0);
  assert.equal((await Deno.stat(`${dir}/${group.paths[0]}`)).size, bytes);
  // Only stock layer classes plus the ones registerLayers() registers.
  const classes = new Set<string>(
    json.modelTopology.config.layers.map((l: { class_name: string }) => l.class_name),
  );
  const custom = [...classes].filter((c) => c.startsWith("Perceptual"));
  assert.ok(custom.every((c) => CUSTOM_CLASS_NAMES.includes(c)), `${custom}`);
  assert.ok(
    classes.has("Conv2DTranspose") && classes.has("Concatenate") && classes.has("InputLayer"),
  );
  model.dispose();
  await Deno.remove(dir, { recursive: true });
});

Deno.test("stock TensorFlow.js loads the files: tf.io.fromMemory after registerLayers()", async () => {
  const model = trainedModel();
  const dir = await Deno.makeTempDir();
  await saveModel(model, dir);
  const json = JSON.parse(await Deno.readTextFile(`${dir}/model.json`));
  const bin = await Deno.readFile(`${dir}/${json.weightsManifest[0].paths[0]}`);
  registerLayers();
  const loaded = await tfl.loadLayersModel(tf.io.fromMemory({
    modelTopology: json.modelTopology,
    weightSpecs: json.weightsManifest[0].weights,
    weightData: bin.buffer.slice(bin.byteOffset, bin.byteOffset + bin.byteLength),
  }));
  assertSameModel(model, loaded);
  model.dispose();
  loaded.dispose();
  await Deno.remove(dir, { recursive: true });
});

Deno.test("stock TensorFlow.js loads the files over HTTP, as a browser fetches model.json", async () => {
  const model = trainedModel();
  const dir = await Deno.makeTempDir();
  await saveModel(model, dir);
  const requested: string[] = [];
  const server = Deno.serve({ port: 0, hostname: "127.0.0.1", onListen() {} }, async (req) => {
    const name = new URL(req.url).pathname.slice(1);
    requested.push(name);
    try {
      return new Response(await Deno.readFile(`${dir}/${name}`));
    } catch {
      return new Response("not found", { status: 404 });
    }
  });
  try {
    registerLayers();
    const url = `http://127.0.0.1:${server.addr.port}/model.json`;
    const loaded = await tfl.loadLayersModel(tf.io.http(url, { fetchFunc: fetch }));
    assertSameModel(model, loaded);
    assert.equal(requested[0], "model.json");
    assert.match(requested[1]!, /^weights-[0-9a-f]{16}\.bin$/);
    loaded.dispose();
  } finally {
    await server.shutdown();
  }
  model.dispose();
  await Deno.remove(dir, { recursive: true });
});

Deno.test("saving over an earlier model replaces it whole and leaves no temporary files", async () => {
  const dir = await Deno.makeTempDir();
  const first = unet({ ...CONFIG, seed: 1 });
  await saveModel(first, dir);
  const second = trainedModel();
  await saveModel(second, `${dir}/model.json`);
  const names = [...Deno.readDirSync(dir)].map((e) => e.name).sort();
  assert.equal(names.length, 2, `${names}`);
  assert.equal(names[0], "model.json");
  assert.match(names[1]!, /^weights-[0-9a-f]{16}\.bin$/);
  const loaded = await loadModel(dir);
  assertSameModel(second, loaded);
  [first, second, loaded].forEach((m) => m.dispose());
  await Deno.remove(dir, { recursive: true });
});

Deno.test("loading from a missing or broken directory names the file", async () => {
  const dir = await Deno.makeTempDir();
  await assert.rejects(
    () => loadModel(`${dir}/absent`),
    (e: unknown) => e instanceof ModelFilesError && e.path === `${dir}/absent/model.json`,
  );
  await Deno.writeTextFile(`${dir}/model.json`, JSON.stringify({ format: "layers-model" }));
  await assert.rejects(() => loadModel(dir), /has no modelTopology/);
  const model = unet({ ...CONFIG, depth: 1 });
  await saveModel(model, dir);
  const json = JSON.parse(await Deno.readTextFile(`${dir}/model.json`));
  await Deno.remove(`${dir}/${json.weightsManifest[0].paths[0]}`);
  await assert.rejects(() => loadModel(dir), /listed in model\.json but unreadable/);
  model.dispose();
  await Deno.remove(dir, { recursive: true });
});

Deno.test("no leaks: saveModel and loadModel (then dispose)", async () => {
  const model = trainedModel();
  const dir = await Deno.makeTempDir();
  await assertNoLeak(() => saveModel(model, dir), { label: "saveModel", warmup: 1 });
  await assertNoLeak(async () => {
    (await loadModel(dir)).dispose();
  }, { label: "loadModel + dispose", warmup: 1 });
  model.dispose();
  await Deno.remove(dir, { recursive: true });
});
