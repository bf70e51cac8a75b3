// fromLayersModel: a tfjs-layers VGG-16 (blocks 1-2) built here with the seeded weights must
// give what vgg16({ random }) gives (two independent code paths: tfjs-layers with an explicit
// BGR reverse, and the fused VGG with BGR folded into its first kernel); truncation, errors,
// ownership and leaks.
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs-core";
import * as tfl from "@tensorflow/tfjs-layers";
import { initBackend } from "../src/backend/mod.ts";
import { assertNoLeak, DisposedError, scope } from "../src/lifetime/mod.ts";
import { fromLayersModel, UnknownLayerError } from "../src/network/mod.ts";
import { vgg16 } from "../src/vgg/mod.ts";
import { type VggConvSpec, vggOps } from "../src/vgg/_architecture.ts";
import { heConv } from "../src/vgg/_random_weights.ts";

await initBackend("cpu");

const SEED = 21;

/** VGG-16 up to block2_pool as a tfjs-layers model, with the seeded random weights. */
function layersVgg(): tfl.LayersModel {
  const input = tfl.input({ shape: [null, null, 3] });
  let h: tfl.SymbolicTensor = input;
  const convs: [tfl.layers.Layer, VggConvSpec][] = [];
  for (const op of vggOps("vgg16").slice(0, 6)) {
    if (op.kind === "conv") {
      const layer = tfl.layers.conv2d({
        filters: op.outChannels,
        kernelSize: 3,
        padding: "same",
        activation: "relu",
        name: op.name,
      });
      h = layer.apply(h) as tfl.SymbolicTensor;
      convs.push([layer, op]);
    } else {
      h = tfl.layers.maxPooling2d({ poolSize: 2, strides: 2, name: op.name }).apply(
        h,
      ) as tfl.SymbolicTensor;
    }
  }
  const flat = tfl.layers.globalAveragePooling2d({ name: "gap" }).apply(h) as tfl.SymbolicTensor;
  const model = tfl.model({ inputs: input, outputs: flat });
  for (const [layer, spec] of convs) {
    const w = heConv(SEED, spec);
    const values = [
      tf.tensor4d(w.kernel, [3, 3, spec.inChannels, spec.outChannels]),
      tf.tensor1d(w.bias),
    ];
    layer.setWeights(values);
    tf.dispose(values);
  }
  return model;
}

Deno.test("fromLayersModel(caffe) equals vgg16 with the same weights; truncated extraction", async () => {
  const before = tf.memory().numTensors;
  const model = layersVgg();
  const net = fromLayersModel(
    model,
    ["block1_conv2", "block2_conv2", "block1_pool", "block2_pool"],
    {
      inputConvention: { preprocessing: "caffe", range: "[0,1]" },
      name: "layers-vgg",
    },
  );
  assert.deepEqual(net.layers, ["block1_conv2", "block1_pool", "block2_conv2", "block2_pool"]);
  assert.ok(net.depthOf("block2_conv2") > net.depthOf("block1_pool"));
  const ref = await vgg16({ weights: { random: SEED }, upTo: "pool2" });
  const x = tf.randomUniform([2, 12, 10, 3], 0, 1, "float32", 3) as tf.Tensor4D;
  const a = net.extract(x, ["block1_conv2", "block2_pool"]);
  const b = ref.extract(x, ["block1_conv2", "block2_pool"]);
  for (const k of ["block1_conv2", "block2_pool"] as const) {
    const rel = tf.tidy(() => tf.div(tf.norm(tf.sub(a[k], b[k])), tf.norm(b[k])).dataSync()[0]!);
    assert.ok(rel < 1e-5, `${k}: ${rel}`);
  }
  tf.dispose([a, b]);
  // Only the graph up to the requested output runs.
  const info = await tf.profile(() => net.extract(x, ["block1_conv2"]));
  tf.dispose(info.result as tf.TensorContainer);
  const convs = info.kernels.filter((k) => /Conv2D/.test(k.name)).length;
  assert.equal(convs, 2);
  // Gradients flow to the input.
  const g = scope(() =>
    tf.grad((v: tf.Tensor) => tf.sum(net.extract(v as tf.Tensor4D, ["block2_conv2"]).block2_conv2))(
      x,
    )
  );
  assert.ok(tf.tidy(() => tf.sum(tf.abs(g)).dataSync()[0]!) > 0);
  await assertNoLeak(() => net.extract(x, ["block1_pool", "block2_conv2"]), { warmup: 1 });
  tf.dispose([x, g]);
  ref.dispose();
  net.dispose(); // owns the model by default
  assert.equal(tf.memory().numTensors, before);
  assert.throws(() => net.extract(x, ["block1_conv2"]), (e: Error) => e instanceof DisposedError);
});

Deno.test("fromLayersModel: bad layer names, non-4-D outputs, ownModel: false", () => {
  const model = layersVgg();
  assert.throws(
    () => fromLayersModel(model, ["block1_conv3"], { ownModel: false }),
    (e: Error) =>
      e instanceof UnknownLayerError && /did you mean "block1_conv[12]"/.test(e.message),
  );
  assert.throws(
    () => fromLayersModel(model, ["gap"], { ownModel: false }),
    (e: Error) => e instanceof UnknownLayerError && /not one 4-D/.test(e.message),
  );
  const net = fromLayersModel(model, ["block1_conv1"], { ownModel: false });
  const x = tf.fill([1, 4, 4, 1], 0.5) as tf.Tensor4D; // grey, repeated to the model's 3 channels
  assert.throws(
    () => net.extract(x, ["block2_conv1" as "block1_conv1"]),
    (e: Error) => e instanceof UnknownLayerError,
  );
  const f = net.extract(x, ["block1_conv1"]);
  assert.deepEqual(f.block1_conv1.shape, [1, 4, 4, 64]);
  net.dispose();
  const y = model.predict(tf.zeros([1, 4, 4, 3])) as tf.Tensor; // the model is still usable
  assert.deepEqual(y.shape, [1, 128]);
  tf.dispose([x, f, y]);
  model.dispose();
});
