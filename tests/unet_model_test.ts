// The U-Net model: shapes, hand-counted parameters, input-size errors, gradients against finite
// differences, and no leaks (cpu backend).
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs-core";
import { initBackend } from "../src/backend/mod.ts";
import { assertNoLeak, leakGuard } from "../src/lifetime/mod.ts";
import {
  parameterCount,
  unet,
  type UNetConfig,
  UNetInputSizeError,
  UPSAMPLE_MODES,
} from "../src/unet/mod.ts";
import { DecodeError } from "../src/errors/mod.ts";
import { noise, readout, trainableGradients, weightArrays } from "./unet_test_helpers.ts";

await initBackend("cpu");

Deno.test("output shapes: scale 1/2/3/4, every upsample mode, 1→3 channels, non-square input", () => {
  for (const upsample of UPSAMPLE_MODES) {
    for (const scale of [1, 2, 3, 4] as const) {
      const model = unet({
        depth: 2,
        baseFilters: 2,
        inChannels: 1,
        outChannels: 3,
        scale,
        upsample,
        seed: 1,
      });
      const y = model.predict(tf.zeros([2, 8, 12, 1])) as tf.Tensor;
      assert.deepEqual(y.shape, [2, 8 * scale, 12 * scale, 3], `${upsample} ×${scale}`);
      assert.deepEqual(model.outputs[0]!.shape, [null, null, null, 3]);
      tf.dispose(y);
      model.dispose();
    }
  }
});

Deno.test("the same model takes any size that is a multiple of 2^depth", () => {
  const model = unet({ depth: 3, baseFilters: 2, scale: 2, seed: 1 });
  for (const [h, w] of [[8, 8], [16, 8], [24, 40]]) {
    const y = model.predict(tf.zeros([1, h!, w!, 3])) as tf.Tensor;
    assert.deepEqual(y.shape, [1, 2 * h!, 2 * w!, 3]);
    y.dispose();
  }
  model.dispose();
});

Deno.test("an input size the depth cannot divide raises UNetInputSizeError naming size and divisor", () => {
  const model = unet({ depth: 3, baseFilters: 2, seed: 1 });
  const x = tf.zeros([1, 20, 16, 3]);
  const before = tf.memory().numTensors;
  assert.throws(
    () => model.predict(x),
    (e: unknown) =>
      e instanceof UNetInputSizeError && e.divisor === 8 && e.height === 20 && e.width === 16 &&
      /20×16/.test(e.message) && /not divisible by 8/.test(e.message),
  );
  assert.equal(tf.memory().numTensors, before, "the failed predict left tensors behind");
  x.dispose();
  model.dispose();
});

Deno.test("unet() validates a config given in code like JSON", () => {
  assert.throws(() => unet({ depth: 1.5 } as Partial<UNetConfig>), DecodeError);
  assert.throws(() => unet({ upsample: "nearest" } as unknown as Partial<UNetConfig>), /upsample/);
});

Deno.test("a seed makes the build reproducible; layers get distinct initial weights", () => {
  const cfg: Partial<UNetConfig> = { depth: 1, baseFilters: 4, seed: 123 };
  const [a, b, c] = [unet(cfg), unet(cfg), unet({ ...cfg, seed: 124 })];
  const [wa, wb, wc] = [a, b, c].map(weightArrays);
  assert.deepEqual(wa, wb);
  assert.notDeepEqual(wa.get("enc1_conv1/kernel"), wc.get("enc1_conv1/kernel"));
  // Equal shapes, different layers: dec1_conv2 and enc1_conv2 are both [3, 3, 4, 4].
  assert.notDeepEqual(wa.get("enc1_conv2/kernel"), wa.get("dec1_conv2/kernel"));
  [a, b, c].forEach((m) => m.dispose());
});

Deno.test("parameter counts match a hand count", () => {
  // depth 1, base 2, 3→3, batch norm, transpose, scale 1:
  // enc1 convs 3·3·3·2 + 3·3·2·2 = 90 (no bias before BN), 2 BN × 4·2 = 16;
  // bottom 3·3·2·4 + 3·3·4·4 = 216, 2 BN × 4·4 = 32; up1 tconv 2·2·4·2 + 2 = 34;
  // dec1 3·3·4·2 + 3·3·2·2 = 108, 2 BN × 8 = 16; head 1×1: 2·3 + 3 = 9. Total 521.
  // Non-trainable: BN moving mean + variance: 2·2 + 2·2 + 2·4 + 2·4 + 2·2 + 2·2 = 32.
  const t = unet({ depth: 1, baseFilters: 2, upsample: "transpose", seed: 1 });
  assert.equal(parameterCount(t), 521);
  assert.equal(parameterCount(t, "nonTrainable"), 32);
  assert.equal(parameterCount(t, "trainable"), 489);
  assert.equal(t.countParams(), 521);
  t.dispose();
  // Same with pixel shuffle and scale 2, no norm (every conv gets a bias):
  // enc1 (54+2)+(36+2) = 94; bottom (72+4)+(144+4) = 224; up1 3·3·4·8 + 8 = 296;
  // dec1 (72+2)+(36+2) = 112; tail1 3·3·2·8 + 8 = 152; head 3×3: 3·3·2·3 + 3 = 57. Total 935.
  const p = unet({
    depth: 1,
    baseFilters: 2,
    upsample: "pixelShuffle",
    norm: "none",
    scale: 2,
    seed: 1,
  });
  assert.equal(parameterCount(p), 935);
  assert.equal(parameterCount(p, "nonTrainable"), 0);
  p.dispose();
});

Deno.test("an untrained super-resolution model starts near the bicubic upsample of its input", () => {
  const model = unet({ depth: 2, baseFilters: 4, scale: 2, seed: 3, norm: "none" });
  const x = tf.tensor4d(noise(2 * 8 * 8 * 3, 5), [2, 8, 8, 3]);
  const y = model.predict(x) as tf.Tensor;
  // Bilinear by hand along rows for one interior pixel: output row 5 = 0.75·row 2 + 0.25·row 3
  // for bilinear; bicubic stays close to it on smooth data. Here: just the overall deviation.
  const base = model.getLayer("residual_upsample").apply(x) as tf.Tensor;
  const dev = tf.max(tf.abs(tf.sub(y, base))).dataSync()[0]!;
  const spread = tf.max(tf.abs(base)).dataSync()[0]!;
  assert.ok(dev < 0.2 * spread, `initial residual ${dev} vs signal ${spread}`);
  tf.dispose([x, y, base]);
  model.dispose();
});

Deno.test("an output range holds for any input", () => {
  const model = unet({ depth: 1, baseFilters: 4, outputRange: [-0.5, 2], seed: 4 });
  const x = tf.mul(tf.tensor4d(noise(2 * 4 * 4 * 3, 6), [2, 4, 4, 3]), 100);
  const y = (model.predict(x) as tf.Tensor).dataSync();
  assert.ok(y.every((v) => v >= -0.5 && v <= 2), "output left [-0.5, 2]");
  tf.dispose(x);
  model.dispose();
});

const GRAD_CASES: Partial<UNetConfig>[] = [
  { upsample: "pixelShuffle", scale: 2, outputRange: [0, 1], activation: "swish" },
  {
    upsample: "transpose",
    scale: 1,
    inChannels: 1,
    outChannels: 3,
    norm: "none",
    activation: "elu",
  },
  { upsample: "bilinear", scale: 4, residualUpsample: "bilinear", activation: "gelu" },
  { upsample: "pixelShuffle", scale: 3, activation: "leakyRelu", residual: false },
];

Deno.test("with batch 2, gradients reach every trainable weight (all modes)", () => {
  for (const extra of GRAD_CASES) {
    const cfg = { depth: 2, baseFilters: 2, seed: 10, ...extra };
    const model = unet(cfg);
    const inC = cfg.inChannels ?? 3;
    const outC = cfg.outChannels ?? 3;
    const s = cfg.scale ?? 1;
    const x = tf.tensor4d(noise(2 * 8 * 8 * inC, 1), [2, 8, 8, inC]);
    const r = tf.tensor4d(noise(2 * 64 * s * s * outC, 2), [2, 8 * s, 8 * s, outC]);
    const grads = trainableGradients(model, x, r);
    assert.equal(grads.size, model.trainableWeights.length);
    for (const [name, g] of grads) {
      const big = g.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
      assert.ok(
        g.every(Number.isFinite),
        `${JSON.stringify(extra)}: ${name} has a non-finite gradient`,
      );
      assert.ok(big > 1e-7, `${JSON.stringify(extra)}: no gradient reaches ${name}`);
    }
    tf.dispose([x, r]);
    model.dispose();
  }
});

Deno.test("gradients agree with central finite differences along every weight tensor (tiny models)", () => {
  // Small enough that ReLU-type kinks are rarely crossed, large enough for float32 losses.
  const eps = 1e-3;
  for (const extra of GRAD_CASES) {
    const cfg = { depth: 1, baseFilters: 2, seed: 20, ...extra };
    const model = unet(cfg);
    const inC = cfg.inChannels ?? 3;
    const outC = cfg.outChannels ?? 3;
    const s = cfg.scale ?? 1;
    const x = tf.tensor4d(noise(2 * 4 * 4 * inC, 3), [2, 4, 4, inC]);
    const r = tf.tensor4d(noise(2 * 16 * s * s * outC, 4), [2, 4 * s, 4 * s, outC]);
    const grads = trainableGradients(model, x, r);
    const loss = () => tf.tidy(() => readout(model, x, r).dataSync()[0]!);
    let seed = 100;
    for (const w of model.trainableWeights) {
      const v = w.read();
      const w0 = v.dataSync().slice();
      const g = grads.get(w.originalName)!;
      const gNorm = Math.hypot(...g);
      // Two directions: along the gradient (catches a wrong size), and random (catches a wrong
      // direction); both unit length.
      const random = noise(w0.length, seed++);
      const rNorm = Math.hypot(...random);
      const dirs = [
        g.map((a) => gNorm > 0 ? a / gNorm : 0),
        random.map((a) => a / rNorm),
      ];
      for (const [k, d] of dirs.entries()) {
        const analytic = g.reduce((acc, a, i) => acc + a * d[i]!, 0);
        const at = (sign: number) => {
          tf.tidy(() =>
            (v as tf.Variable).assign(tf.tensor(w0.map((a, i) => a + sign * eps * d[i]!), v.shape))
          );
          return loss();
        };
        const numeric = (at(1) - at(-1)) / (2 * eps);
        tf.tidy(() => (v as tf.Variable).assign(tf.tensor(w0, v.shape)));
        const tol = 2e-3 + 2e-2 * Math.abs(analytic);
        assert.ok(
          Math.abs(numeric - analytic) <= tol,
          `${
            JSON.stringify(extra)
          } ${w.originalName} dir ${k}: analytic ${analytic}, numeric ${numeric}`,
        );
      }
    }
    tf.dispose([x, r]);
    model.dispose();
  }
});

Deno.test("no leaks: building (then disposing), predicting, a training step", async () => {
  const cfg: Partial<UNetConfig> = {
    depth: 2,
    baseFilters: 2,
    scale: 2,
    seed: 1,
    outputRange: [0, 1],
  };
  await assertNoLeak(() => {
    unet(cfg).dispose();
  }, { label: "unet() + dispose()", warmup: 1 });
  const model = unet(cfg);
  const x = tf.tensor4d(noise(2 * 8 * 8 * 3, 7), [2, 8, 8, 3]);
  const target = tf.tensor4d(noise(2 * 16 * 16 * 3, 8), [2, 16, 16, 3]);
  await assertNoLeak(() => model.predict(x), { label: "predict", warmup: 1 });
  await assertNoLeak(() => model.apply(x, { training: true }), {
    label: "apply(training)",
    warmup: 1,
  });
  const optimizer = tf.train.adam(1e-3);
  const step = () =>
    optimizer.minimize(
      () => tf.losses.meanSquaredError(target, model.apply(x, { training: true }) as tf.Tensor),
      true,
    );
  const guard = leakGuard({ warmupSteps: 1 });
  for (let i = 1; i <= 3; i++) {
    step()?.dispose();
    guard.check(i);
  }
  await assertNoLeak(step, { label: "training step" });
  optimizer.dispose();
  tf.dispose([x, target]);
  model.dispose();
});
