// The frozen VGG segment op (src/vgg/_frozen_segment.ts): its gradient equals stock tfjs
// autodiff through conv + bias + ReLU and max pools, it holds less memory at its peak than the
// same layers taped one by one, and it leaks nothing. On the native backends the ReLU's backward
// is oneDNN's mask product (skipped, saying why, without libdnnl).
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs-core";
import { initBackend } from "../src/backend/mod.ts";
import { frozenSegment, type SegmentLayer } from "../src/vgg/_frozen_segment.ts";
import { nativeInfo } from "../src/backend/native/mod.ts";
import { hasReluMaskGrad } from "../src/backend/native/_relu_mask.ts";

const native = nativeInfo();
if (typeof native === "string") console.log(`vgg_segment_test: native cases skipped, ${native}`);

function layersOf(seed: number): SegmentLayer[] {
  const conv = (cin: number, cout: number, s: number): SegmentLayer => ({
    kind: "conv",
    kernel: tf.randomNormal([3, 3, cin, cout], 0, Math.sqrt(2 / (9 * cin)), "float32", s),
    bias: tf.randomNormal([cout], 0, 0.1, "float32", s + 1) as tf.Tensor1D,
  });
  return [
    { kind: "pool" },
    conv(3, 8, seed),
    conv(8, 8, seed + 2),
    { kind: "pool" },
    conv(8, 16, seed + 4),
    conv(16, 16, seed + 6),
  ];
}

function stock(x: tf.Tensor4D, layers: readonly SegmentLayer[]): tf.Tensor4D {
  let h = x;
  for (const l of layers) {
    h = l.kind === "pool"
      ? tf.maxPool(h, 2, 2, "valid")
      : tf.relu(tf.add(tf.conv2d(h, l.kernel, 1, "same"), l.bias));
  }
  return h;
}

for (const backend of ["cpu", "wasm", "native", "native-host"] as const) {
  const onNative = backend.startsWith("native");
  Deno.test({
    name: `frozen segment (${backend}): gradient equals stock autodiff, less peak memory, no leak`,
    ignore: onNative && typeof native === "string",
  }, async () => {
    await initBackend(backend);
    assert.equal(hasReluMaskGrad(), onNative, "the ReLU's backward runs where it should");
    const layers = layersOf(3);
    const x = tf.randomNormal([2, 32, 32, 3], 0, 1, "float32", 9) as tf.Tensor4D;
    const w = tf.randomNormal([2, 8, 8, 16], 0, 1, "float32", 10);
    const loss = (f: (t: tf.Tensor4D) => tf.Tensor4D) => (t: tf.Tensor) =>
      tf.sum(tf.mul(f(t as tf.Tensor4D), w));
    const op = frozenSegment(layers);
    const before = tf.memory().numTensors;
    const ref = tf.grad(loss((t) => stock(t, layers)))(x);
    const got = tf.grad(loss(op))(x);
    const refData = ref.dataSync();
    const gotData = got.dataSync();
    let maxDiff = 0;
    let maxRef = 0;
    for (let i = 0; i < refData.length; i++) {
      maxDiff = Math.max(maxDiff, Math.abs(refData[i]! - gotData[i]!));
      maxRef = Math.max(maxRef, Math.abs(refData[i]!));
    }
    assert.ok(maxRef > 0.01, `the gradient is not trivial (${maxRef})`);
    assert.ok(maxDiff <= 1e-5 * maxRef, `max |diff| ${maxDiff} of ${maxRef}`);
    // Forward without a tape gives the same values (fused and unfused kernels round apart).
    const y1 = tf.tidy(() => stock(x, layers));
    const y2 = op(x);
    const [a, b] = [y1.dataSync(), y2.dataSync()];
    assert.ok(a.every((v, i) => Math.abs(v - b[i]!) <= 1e-5 * (1 + Math.abs(v))));
    tf.dispose([ref, got, y1, y2]);
    assert.equal(tf.memory().numTensors, before);
    // Peak tensor bytes during the gradient: lower than the stock chain's.
    const peak = async (f: (t: tf.Tensor4D) => tf.Tensor4D) => {
      const start = tf.memory().numBytes;
      const p = await tf.profile(() => {
        tf.grad(loss(f))(x).dispose();
        return undefined as unknown as tf.Tensor;
      });
      return p.peakBytes - start;
    };
    const stockPeak = await peak((t) => stock(t, layers));
    const segmentPeak = await peak(op);
    assert.ok(segmentPeak < 0.75 * stockPeak, `segment ${segmentPeak} B, stock ${stockPeak} B`);
    assert.equal(tf.memory().numTensors, before);
    tf.dispose([x, w]);
    for (const l of layers) if (l.kind === "conv") tf.dispose([l.kernel, l.bias]);
    await initBackend("cpu");
  });
}
