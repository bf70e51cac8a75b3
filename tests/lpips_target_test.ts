// lpipsTarget: the target's side kept once gives the same scores as lpips' own scores (bit for
// bit: the same operations), on RGB, grey and batches, alex and squeeze; against the published
// value on the lpips repository's images when the shared data is present; errors; no leak.
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs-core";
import { initBackend } from "../src/backend/mod.ts";
import { loadImage } from "../src/data/image_io.ts";
import { assertNoLeak, DisposedError } from "../src/lifetime/mod.ts";
import { NetworkInputError } from "../src/network/errors.ts";
import { lpips, LpipsShapeMismatchError, lpipsTarget } from "../src/lpips/mod.ts";

const SHARED = "../shared/data/lpips";
const shared = await Deno.stat(`${SHARED}/ex_ref.png`).then(() => true, () => false);
if (!shared) console.log(`lpips_target_test: ${SHARED} is absent; the published check is skipped`);

Deno.test("lpipsTarget: same scores as metric.scores, RGB / grey / batch, alex and squeeze", async () => {
  await initBackend("cpu");
  for (const net of ["alex", "squeeze"] as const) {
    using metric = await lpips({ net });
    const shapes: [number, number, number, number][] = [[1, 40, 36, 3], [1, 33, 48, 1], [
      2,
      32,
      32,
      3,
    ]];
    for (const shape of shapes) {
      const t = tf.randomUniform(shape, 0, 1, "float32", 1) as tf.Tensor4D;
      const a = tf.randomUniform(shape, 0, 1, "float32", 2) as tf.Tensor4D;
      const b = tf.clipByValue(tf.add(t, tf.randomNormal(shape, 0, 0.05, "float32", 3)), 0, 1);
      using kept = lpipsTarget(metric, t);
      for (const x of [a, b as tf.Tensor4D]) {
        const want = await metric.scores(x, t);
        assert.deepEqual(await kept.scores(x), want, `${net} [${shape}]`);
        assert.ok(want.every((v) => v > 0));
      }
      assert.deepEqual(await kept.scores(t), shape[0] === 2 ? [0, 0] : [0]);
      tf.dispose([t, a, b]);
    }
  }
});

Deno.test({
  name: "lpipsTarget: alex 0.722 / 0.138 on ex_p0 / ex_p1 against ex_ref (published)",
  ignore: !shared,
  async fn() {
    await initBackend("cpu");
    const image = async (f: string) => {
      const img = await loadImage(`${SHARED}/${f}`);
      const out = tf.expandDims(img, 0) as tf.Tensor4D;
      img.dispose();
      return out;
    };
    const [ref, p0, p1] = await Promise.all(["ex_ref.png", "ex_p0.png", "ex_p1.png"].map(image));
    using metric = await lpips({ net: "alex" });
    using kept = lpipsTarget(metric, ref);
    ref.dispose(); // the kept features do not need the target
    const got = [(await kept.scores(p0))[0]!, (await kept.scores(p1))[0]!];
    assert.deepEqual(got.map((v) => v.toFixed(3)), ["0.722", "0.138"]);
    tf.dispose([p0, p1]);
  },
});

Deno.test("lpipsTarget: shape mismatch, bad input, use after dispose; no leak", async () => {
  await initBackend("cpu");
  using metric = await lpips({ net: "alex" });
  const t = tf.fill([1, 32, 32, 3], 0.5) as tf.Tensor4D;
  const x = tf.fill([1, 32, 40, 3], 0.5) as tf.Tensor4D;
  const kept = lpipsTarget(metric, t);
  await assert.rejects(() => kept.scores(x), LpipsShapeMismatchError);
  await assert.rejects(() => kept.scores(tf.zeros([32, 32, 3]) as never), NetworkInputError);
  assert.throws(
    () => lpipsTarget(metric, tf.zeros([1, 32, 32, 2]) as tf.Tensor4D),
    NetworkInputError,
  );
  kept.dispose();
  kept.dispose(); // twice is fine
  await assert.rejects(() => kept.scores(t), DisposedError);
  await assertNoLeak(async () => {
    using k = lpipsTarget(metric, t);
    const half = tf.mul(t, 0.5) as tf.Tensor4D;
    assert.ok((await k.scores(half))[0]! > 0);
    half.dispose();
  });
  tf.dispose([t, x]);
});
