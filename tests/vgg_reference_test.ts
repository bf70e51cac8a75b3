// Real ImageNet VGG-19 weights (blocks 1-3) loaded from the tfjs directory in ../shared/data must
// give PyTorch's activations: tests/fixtures/vgg_torch_reference.py ran the same weights and inputs
// through torch (float64, Keras 'caffe' preprocessing) and stored the results.
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs-core";
import { initBackend } from "../src/backend/mod.ts";
import { nativeInfo } from "../src/backend/native/mod.ts";
import { assertNoLeak } from "../src/lifetime/mod.ts";
import { LayerNotLoadedError, MissingWeightsError, vgg19 } from "../src/vgg/mod.ts";

const WEIGHTS = "../shared/data/vgg19_imagenet_blocks1-3";
const FIXTURE = "tests/fixtures/vgg_torch_reference";
const present = (() => {
  try {
    return Deno.statSync(`${WEIGHTS}/model.json`).isFile;
  } catch {
    return false;
  }
})();
if (!present) console.log(`vgg_reference_test: skipped, ${WEIGHTS} is absent (shared test data)`);

interface Slot {
  shape: number[];
  offset: number;
  length: number;
}
interface Case {
  name: string;
  input: Slot;
  activations: Record<string, Slot & { norm: number }>;
}
const meta = JSON.parse(Deno.readTextFileSync(`${FIXTURE}.json`)) as {
  layers: ("block1_conv1" | "block1_conv2" | "block2_conv2" | "block3_conv4")[];
  cases: Case[];
};
const blob = Deno.readFileSync(`${FIXTURE}.bin`);
const floats = (s: Slot) => new Float32Array(blob.buffer, blob.byteOffset + s.offset, s.length);

/** ‖a−b‖/‖b‖ in float64. */
function relErr(a: Float32Array, b: Float32Array): number {
  let d = 0;
  let n = 0;
  for (let i = 0; i < b.length; i++) {
    d += (a[i]! - b[i]!) ** 2;
    n += b[i]! ** 2;
  }
  return Math.sqrt(d / n);
}

// native runs its convs in oneDNN: skipped, saying why, where the library is absent.
const native = nativeInfo();
if (typeof native === "string") console.log(`vgg_reference_test: native skipped, ${native}`);
for (const backend of ["cpu", "wasm", "native"] as const) {
  Deno.test({
    name: `vgg19 ImageNet blocks 1-3 match PyTorch within 1e-4 relative (${backend})`,
    ignore: !present || (backend === "native" && typeof native === "string"),
    async fn() {
      await initBackend(backend);
      const net = await vgg19({ weights: WEIGHTS, upTo: "block3_conv4" });
      try {
        assert.equal(net.inputConvention.preprocessing, "caffe");
        assert.ok(meta.cases.length >= 2);
        assert.ok(meta.cases.some((c) => c.input.shape[1] !== c.input.shape[2]), "a non-square");
        for (const c of meta.cases) {
          const x = tf.tensor4d(floats(c.input), c.input.shape as [number, number, number, number]);
          const got = net.extract(x, meta.layers);
          for (const layer of meta.layers) {
            const ref = c.activations[layer]!;
            assert.deepEqual(got[layer].shape, ref.shape, `${c.name} ${layer} shape`);
            const err = relErr(got[layer].dataSync() as Float32Array, floats(ref));
            console.log(`  ${backend} ${c.name} ${layer}: rel err ${err.toExponential(2)}`);
            assert.ok(err < 1e-4, `${c.name} ${layer}: ‖a−b‖/‖b‖ = ${err}`);
          }
          tf.dispose([x, got]);
        }
        // The same in one batch where shapes allow: the batch axis must not mix images.
        const c = meta.cases.find((k) => k.input.shape[0] === 2)!;
        const x = tf.tensor4d(floats(c.input), c.input.shape as [number, number, number, number]);
        const one = tf.slice(x, [1, 0, 0, 0], [1, -1, -1, -1]);
        const fAll = net.extract(x, ["block3_conv4"]);
        const fOne = net.extract(one, ["block3_conv4"]);
        const second = tf.slice(fAll.block3_conv4, [1, 0, 0, 0], [1, -1, -1, -1]);
        assert.ok(
          relErr(second.dataSync() as Float32Array, fOne.block3_conv4.dataSync() as Float32Array) <
            1e-6,
        );
        tf.dispose([x, one, fAll, fOne, second]);
        const probe = tf.fill([1, 12, 20, 3], 0.5) as tf.Tensor4D;
        await assertNoLeak(() => net.extract(probe, ["relu1_2", "block3_conv4"]), { warmup: 1 });
        probe.dispose();
      } finally {
        net.dispose();
      }
    },
  });
}

Deno.test({
  name: "vgg19 from the blocks 1-3 directory: only present shards are read, deeper layers error",
  ignore: !present,
  async fn() {
    await initBackend("cpu");
    using net = await vgg19({ weights: WEIGHTS });
    // Loading stops before block4_conv1, whose shard is absent; pool3 needs no weights.
    assert.equal(net.layers.at(-1), "block3_pool");
    assert.match(net.truncation!, /group9-shard1of2 is absent/);
    const x = tf.zeros([1, 16, 16, 3]) as tf.Tensor4D;
    assert.throws(
      () => net.extract(x, ["block4_conv1"]),
      (e: Error) =>
        e instanceof LayerNotLoadedError && /block4_conv1/.test(e.message) &&
        /group9-shard1of2/.test(e.message),
    );
    await assert.rejects(
      () => vgg19({ weights: WEIGHTS, upTo: "block4_conv2" }),
      (e: Error) =>
        e instanceof MissingWeightsError && /block4_conv1/.test(e.message) &&
        /model\.json/.test(e.message),
    );
    x.dispose();
  },
});
