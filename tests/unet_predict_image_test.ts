// predictImage: whole images of any size. References are built independently: the padded input
// from plain arrays (repeat the last row and column), then the model's own predict and a crop.
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs-core";
import type * as tfl from "@tensorflow/tfjs-layers";
import { initBackend } from "../src/backend/mod.ts";
import { assertNoLeak } from "../src/lifetime/mod.ts";
import { ModelDisposedError, PredictImageInputError, unet } from "../src/unet/mod.ts";
import { EmptyInputError, PerceptualError } from "../src/errors/mod.ts";
import { predictImage } from "../src/unet/predict_image.ts";
import { modelGeometry } from "../src/unet/_receptive_field.ts";

function maxAbsDiff(a: tf.Tensor, b: tf.Tensor): number {
  assert.deepEqual(a.shape, b.shape);
  const x = a.dataSync();
  const y = b.dataSync();
  let m = 0;
  for (let i = 0; i < x.length; i++) m = Math.max(m, Math.abs(x[i]! - y[i]!));
  return m;
}

/** Pads [h, w, c] to [H, W, c] by repeating the last row and column, with plain index arithmetic. */
function padByHand(x: tf.Tensor3D, H: number, W: number): tf.Tensor3D {
  const [h, w, c] = x.shape;
  const src = x.dataSync();
  const out = new Float32Array(H * W * c);
  for (let i = 0; i < H; i++) {
    for (let j = 0; j < W; j++) {
      for (let k = 0; k < c; k++) {
        out[(i * W + j) * c + k] = src[(Math.min(i, h - 1) * w + Math.min(j, w - 1)) * c + k]!;
      }
    }
  }
  return tf.tensor3d(out, [H, W, c]);
}

function reference(model: tfl.LayersModel, x: tf.Tensor3D, multiple: number, scale: number) {
  const [h, w] = x.shape;
  const H = Math.ceil(h / multiple) * multiple;
  const W = Math.ceil(w / multiple) * multiple;
  return tf.tidy(() => {
    const y = model.predict(tf.expandDims(padByHand(x, H, W), 0)) as tf.Tensor4D;
    return tf.squeeze(tf.slice(y, [0, 0, 0, 0], [1, h * scale, w * scale, -1]), [0]);
  });
}

const SR = { depth: 2, baseFilters: 8, scale: 2, outputRange: [0, 1], seed: 3 } as const;

Deno.test("predictImage: an image whose sides are not multiples of 2^depth equals pad-by-hand + predict + crop", async () => {
  await initBackend("wasm");
  const model = unet(SR);
  const x = tf.randomUniform([21, 30, 3], 0, 1, "float32", 5) as tf.Tensor3D;
  const got = predictImage(model, x, { tileSize: Infinity });
  const want = reference(model, x, 4, 2);
  assert.deepEqual(got.shape, [42, 60, 3]);
  assert.ok(maxAbsDiff(got, want) <= 1e-6, `max abs diff ${maxAbsDiff(got, want)}`);
  tf.dispose([x, got, want]);
  model.dispose();
});

Deno.test("predictImage: tiles with the default overlap equal the untiled output; a short overlap does not", async () => {
  await initBackend("wasm");
  const model = unet(SR);
  const x = tf.randomUniform([2, 101, 87, 3], 0, 1, "float32", 7) as tf.Tensor4D;
  const whole = predictImage(model, x, { tileSize: Infinity });
  // 72-pixel tiles with a 32-pixel overlap: a 3×3 grid of tiles with 8-pixel cores.
  const tiled = predictImage(model, x, { tileSize: 72 });
  const short = predictImage(model, x, { tileSize: 72, overlap: 8 });
  assert.deepEqual(tiled.shape, [2, 202, 174, 3]);
  const d = maxAbsDiff(whole, tiled);
  console.log(`tiled vs untiled: max abs diff ${d}`);
  assert.ok(d <= 1e-5, `tiled vs untiled: max abs diff ${d}`);
  // The overlap matters: 8 pixels is well inside the receptive field (radius 31 here).
  assert.ok(maxAbsDiff(whole, short) > 1e-4);
  tf.dispose([x, whole, tiled, short]);
  model.dispose();
});

Deno.test("predictImage: a same-size model, batch of one, default tiling of a large image", async () => {
  await initBackend("wasm");
  const model = unet({ depth: 1, baseFilters: 4, norm: "none", seed: 2 });
  const x = tf.randomUniform([1, 13, 150, 3], 0, 1, "float32", 9) as tf.Tensor4D;
  // maxElements small enough that the default tile (4× the overlap) is smaller than the width.
  const got = predictImage(model, x, { maxElements: 1 });
  const want = tf.tidy(() =>
    tf.expandDims(reference(model, tf.squeeze(x, [0]) as tf.Tensor3D, 2, 1), 0)
  );
  assert.deepEqual(got.shape, [1, 13, 150, 3]);
  assert.ok(maxAbsDiff(got, want) <= 1e-5, `max abs diff ${maxAbsDiff(got, want)}`);
  tf.dispose([x, got, want]);
  model.dispose();
});

Deno.test("predictImage: the receptive-field radius of a depth-2 ×2 U-Net is the hand-counted 31 pixels", () => {
  // Encoder: 2 convs (+1 +1) pool (+1) | 2 convs at stride 2 (+2 +2) pool (+2) | bottleneck at
  // stride 4 (+4 +4) | up conv (+4) | 2 convs (+2 +2) | up conv (+2) | 2 convs (+1 +1) |
  // tail conv (+1) | head conv at stride 1/2 (+0.5): 30.5, rounded up.
  const model = unet(SR);
  const g = modelGeometry(model);
  assert.equal(g.radius, 31);
  assert.equal(g.multiple, 4);
  model.dispose();
});

Deno.test("predictImage: leaves no tensor behind, tiled or not, and on bad arguments", async () => {
  await initBackend("wasm");
  const model = unet(SR);
  const x = tf.randomUniform([45, 39, 3], 0, 1, "float32", 1) as tf.Tensor3D;
  await assertNoLeak(() => {
    tf.dispose(predictImage(model, x, { tileSize: Infinity }));
    tf.dispose(predictImage(model, x, { tileSize: 72 }));
  });
  const flat = tf.zeros([4, 4]);
  await assertNoLeak(() => {
    assert.throws(() => predictImage(model, x, { tileSize: 40 }), RangeError);
    assert.throws(() => predictImage(model, flat as unknown as tf.Tensor3D), RangeError);
  });
  // A failure inside predict (multiple: 1 leaves 45×39, which the size check refuses): the
  // padded copy must still be released.
  await assertNoLeak(() => {
    assert.throws(() => predictImage(model, x, { multiple: 1, tileSize: Infinity }), /45×39/);
  });
  tf.dispose([x, flat]);
  model.dispose();
});

Deno.test("predictImage: a 0×0 image, a 0-channel one and an empty batch are EmptyInputError", async () => {
  await initBackend("wasm");
  const model = unet(SR);
  for (const shape of [[0, 0, 3], [0, 8, 3], [8, 0, 3], [8, 8, 0], [0, 8, 8, 3]]) {
    const x = tf.zeros<tf.Rank>(shape) as tf.Tensor3D;
    await assertNoLeak(() => {
      assert.throws(() => predictImage(model, x), (e: Error) => {
        assert.ok(e instanceof EmptyInputError, `[${shape}]: ${e.name}: ${e.message}`);
        assert.match(e.message, /^predictImage: image is empty/);
        return true;
      });
    });
    x.dispose();
  }
  model.dispose();
});

Deno.test("predictImage: a disposed image, the wrong channel count, a disposed model: typed errors with the fix", async () => {
  await initBackend("wasm");
  const model = unet(SR);
  const disposed = tf.zeros([8, 8, 3]) as tf.Tensor3D;
  disposed.dispose();
  const grey = tf.zeros([9, 9, 1]) as tf.Tensor3D;
  await assertNoLeak(() => {
    assert.throws(
      () => predictImage(model, disposed),
      (e: Error) =>
        e instanceof PredictImageInputError && e instanceof PerceptualError &&
        /^predictImage: the image tensor \[8,8,3\] was already disposed; /.test(e.message) &&
        /keep it until predictImage returns/.test(e.message),
    );
    assert.throws(
      () => predictImage(model, grey),
      (e: Error) =>
        e instanceof PredictImageInputError &&
        /the image has 1 channel but the model takes 3 .*tf\.tile\(image, \[1, 1, 3\]\)/.test(
          e.message,
        ),
    );
    assert.throws(
      () => predictImage(model, new Float32Array(12) as unknown as tf.Tensor3D),
      (e: Error) => e instanceof PredictImageInputError && /got a Float32Array/.test(e.message),
    );
  });
  model.dispose();
  const x = tf.zeros([8, 8, 3]) as tf.Tensor3D;
  await assertNoLeak(() => {
    assert.throws(
      () => predictImage(model, x),
      (e: Error) =>
        e instanceof ModelDisposedError &&
        /^predictImage: the model 'unet' was already disposed; /.test(e.message),
    );
  });
  tf.dispose([x, grey]);
});

Deno.test("predictImage in Deno: the default budget is a quarter of the backend's memory; tiles only when it requires them", async () => {
  const { setMemoryLimit } = await import("../src/backend/mod.ts");
  const { denoMaxElements } = await import("../src/unet/mod.ts");
  await initBackend("wasm");
  const model = unet(SR);
  const calls: number[][] = [];
  const predict = model.predict.bind(model);
  model.predict = ((x: tf.Tensor, args?: unknown) => {
    calls.push((x as tf.Tensor4D).shape.slice(1, 3));
    return predict(x, args as never);
  }) as typeof model.predict;
  // A 320×320 input: its largest intermediate is far below 2^28 elements, above 2^21.
  const x = tf.randomUniform([1, 320, 320, 3], 0, 1, "float32", 3) as tf.Tensor4D;
  try {
    assert.equal(denoMaxElements(), 2 ** 28, "4 GiB wasm heap / 4 bytes / 4");
    const whole = predictImage(model, x);
    assert.deepEqual(calls, [[320, 320]], "the 4 GiB heap's budget: one call");
    calls.length = 0;
    setMemoryLimit(2 ** 25);
    assert.equal(denoMaxElements(), 2 ** 21);
    const tiled = predictImage(model, x);
    assert.ok(calls.length > 1, `a 32 MiB limit: tiles (${calls.length} calls)`);
    assert.ok(calls.every(([h, w]) => h! < 320 || w! < 320));
    assert.ok(maxAbsDiff(whole, tiled) <= 1e-5, "tiles give the same values");
    tf.dispose([whole, tiled]);
  } finally {
    setMemoryLimit(undefined);
    x.dispose();
    model.dispose();
  }
});
