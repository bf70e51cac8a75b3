// The project's convolution gradient kernels on wasm against the cpu backend's stock kernels
// (an independent implementation: tfjs-backend-cpu's direct loops), on randomised geometries.
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs-core";
import {
  initBackend,
  installTrainingKernels,
  uninstallTrainingKernels,
} from "../src/backend/mod.ts";

function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function randomArray(r: () => number, n: number): Float32Array {
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = r() * 2 - 1;
  return out;
}

type Pad = "same" | "valid" | number | [[0, 0], [number, number], [number, number], [0, 0]];

interface Case {
  readonly x: number[];
  readonly filter: number[];
  readonly strides: [number, number];
  readonly pad: Pad;
  readonly depthwise: boolean;
  readonly xData: Float32Array;
  readonly wData: Float32Array;
  readonly dyData: Float32Array;
  readonly dyShape: number[];
}

function makeCase(seed: number, depthwise: boolean): Case {
  const r = rng(seed);
  const int = (lo: number, hi: number) => lo + Math.floor(r() * (hi - lo + 1));
  const n = int(1, 3);
  const h = int(3, 11);
  const w = int(3, 11);
  const ci = int(1, 5);
  const kh = int(1, 4);
  const kw = int(1, 4);
  const co = depthwise ? int(1, 2) : int(1, 6);
  const sh = int(1, 2);
  const sw = r() < 0.8 ? sh : int(1, 3);
  const pads: Pad[] = ["same", "valid", "same", "valid", int(0, 2), [
    [0, 0],
    [int(0, 2), int(0, 2)],
    [
      int(0, 2),
      int(0, 2),
    ],
    [0, 0],
  ]];
  let pad = pads[int(0, pads.length - 1)]!;
  if (pad === "valid" && (h < kh || w < kw)) pad = "same";
  // tfjs only accepts 'same'/'valid' for depthwise with dimRoundingMode unset and odd cases.
  if (depthwise && typeof pad !== "string") pad = "same";
  const filter = [kh, kw, ci, co];
  const xShape = [n, h, w, ci];
  const info = tf.backend_util.computeConv2DInfo(
    xShape as [number, number, number, number],
    filter as [number, number, number, number],
    [sh, sw],
    1,
    pad as "same",
    undefined,
    depthwise,
  );
  if (info.outHeight <= 0 || info.outWidth <= 0) return makeCase(seed + 1000, depthwise);
  const dyShape = info.outShape;
  const size = (s: number[]) => s.reduce((a, b) => a * b, 1);
  return {
    x: xShape,
    filter,
    strides: [sh, sw],
    pad,
    depthwise,
    xData: randomArray(r, size(xShape)),
    wData: randomArray(r, size(filter)),
    dyData: randomArray(r, size(dyShape)),
    dyShape,
  };
}

/** dX and dW of one case on the active backend, through the registered kernels. */
function gradients(c: Case): { dx: Float32Array; dw: Float32Array } {
  return tf.tidy(() => {
    const x = tf.tensor(c.xData, c.x);
    const w = tf.tensor(c.wData, c.filter);
    const dy = tf.tensor(c.dyData, c.dyShape);
    const common = { strides: c.strides, pad: c.pad, dimRoundingMode: undefined };
    const e = tf.engine();
    const dx = c.depthwise
      ? e.runKernel("DepthwiseConv2dNativeBackpropInput", { dy, filter: w }, {
        ...common,
        dilations: [1, 1],
        inputShape: c.x,
      } as unknown as tf.NamedAttrMap)
      : e.runKernel("Conv2DBackpropInput", { dy, filter: w }, {
        ...common,
        dataFormat: "NHWC",
        inputShape: c.x,
      } as unknown as tf.NamedAttrMap);
    const dw = c.depthwise
      ? e.runKernel("DepthwiseConv2dNativeBackpropFilter", { x, dy }, {
        ...common,
        dilations: [1, 1],
        filterShape: c.filter,
      } as unknown as tf.NamedAttrMap)
      : e.runKernel("Conv2DBackpropFilter", { x, dy }, {
        ...common,
        dataFormat: "NHWC",
        filterShape: c.filter,
      } as unknown as tf.NamedAttrMap);
    return {
      dx: (dx as tf.Tensor).dataSync() as Float32Array,
      dw: (dw as tf.Tensor).dataSync() as Float32Array,
    };
  });
}

/** max |a − b| / max |b|: relative to the reference's scale, so near-zero entries do not blow up. */
function relativeError(a: Float32Array, b: Float32Array): number {
  assert.equal(a.length, b.length);
  let diff = 0;
  let scale = 0;
  for (let i = 0; i < a.length; i++) {
    diff = Math.max(diff, Math.abs(a[i]! - b[i]!));
    scale = Math.max(scale, Math.abs(b[i]!));
  }
  return scale === 0 ? diff : diff / scale;
}

function describe(c: Case): string {
  return `x[${c.x}] filter[${c.filter}] strides[${c.strides}] pad ${JSON.stringify(c.pad)}` +
    (c.depthwise ? " depthwise" : "");
}

/** Gradients from the cpu backend's stock kernels (this project's cpu kernels set aside). */
async function stockCpuGradients(cases: Case[]): Promise<{ dx: Float32Array; dw: Float32Array }[]> {
  await initBackend("cpu");
  uninstallTrainingKernels("cpu");
  try {
    return cases.map(gradients);
  } finally {
    installTrainingKernels("cpu");
  }
}

async function compareOnWasm(cases: Case[]): Promise<void> {
  const reference = await stockCpuGradients(cases);
  await initBackend("wasm");
  try {
    cases.forEach((c, i) => {
      const got = gradients(c);
      const ref = reference[i]!;
      const ex = relativeError(got.dx, ref.dx);
      const ew = relativeError(got.dw, ref.dw);
      assert.ok(ex <= 1e-5, `dX ${describe(c)}: relative error ${ex}`);
      assert.ok(ew <= 1e-5, `dW ${describe(c)}: relative error ${ew}`);
    });
  } finally {
    await initBackend("cpu");
  }
}

Deno.test("wasm conv gradients match the cpu backend on 60 random geometries", async () => {
  const cases = Array.from({ length: 60 }, (_, i) => makeCase(1 + i, false));
  // The satisfied requirements, not just luck: both strides, both paddings, batch > 1, non-square.
  assert.ok(cases.some((c) => c.strides[0] === 2 && c.pad === "same"));
  assert.ok(cases.some((c) => c.strides[0] === 2 && c.pad === "valid"));
  assert.ok(cases.some((c) => c.strides[0] === 1 && c.pad === "valid"));
  assert.ok(cases.some((c) => c.x[0]! > 1 && c.x[1] !== c.x[2]));
  assert.ok(cases.some((c) => typeof c.pad === "number" || Array.isArray(c.pad)));
  await compareOnWasm(cases);
});

Deno.test("the cpu filter gradient matches the cpu backend's stock kernel", async () => {
  const cases = Array.from({ length: 30 }, (_, i) => makeCase(200 + i, false));
  const reference = await stockCpuGradients(cases);
  await initBackend("cpu");
  assert.deepEqual(installTrainingKernels("cpu"), ["Conv2DBackpropFilter"]);
  cases.forEach((c, i) => {
    const got = gradients(c);
    const ew = relativeError(got.dw, reference[i]!.dw);
    assert.ok(ew <= 1e-5, `dW ${describe(c)}: relative error ${ew}`);
  });
});

Deno.test("wasm depthwise conv gradients match the cpu backend on 30 random geometries", async () => {
  await compareOnWasm(Array.from({ length: 30 }, (_, i) => makeCase(500 + i, true)));
});

Deno.test("a padding wider than the filter falls back to wasm's stock input gradient", async () => {
  const r = rng(7);
  const c: Case = {
    x: [2, 5, 6, 3],
    filter: [3, 3, 3, 2],
    strides: [1, 1],
    pad: [[0, 0], [4, 1], [0, 5], [0, 0]],
    depthwise: false,
    xData: randomArray(r, 2 * 5 * 6 * 3),
    wData: randomArray(r, 3 * 3 * 3 * 2),
    dyData: new Float32Array(0),
    dyShape: [],
  };
  const info = tf.backend_util.computeConv2DInfo(
    c.x as [number, number, number, number],
    c.filter as [number, number, number, number],
    1,
    1,
    c.pad as "same",
  );
  const dyShape = info.outShape;
  await compareOnWasm([{
    ...c,
    dyShape,
    dyData: randomArray(r, dyShape.reduce((a, b) => a * b, 1)),
  }]);
});

Deno.test("a wide, deep layer (im2col split into chunks) matches a direct float64 sum", async () => {
  // 4608 im2col rows × 224 columns per output row: the filter gradient takes 4 output rows per
  // chunk, so 10 output rows make 3 chunks (4, 4, 2). The cpu backend's kernel would take ~10 s
  // here, so the reference is the definition, summed in float64.
  const r = rng(11);
  const [n, h, w, ci, co] = [2, 5, 224, 512, 2];
  const xData = randomArray(r, n * h * w * ci);
  const dyData = randomArray(r, n * h * w * co);
  const ref = new Float32Array(3 * 3 * ci * co);
  const acc = new Float64Array(ref.length);
  for (let b = 0; b < n; b++) {
    for (let y = 0; y < h; y++) {
      for (let xo = 0; xo < w; xo++) {
        for (let a = 0; a < 3; a++) {
          const iy = y + a - 1;
          if (iy < 0 || iy >= h) continue;
          for (let k = 0; k < 3; k++) {
            const ix = xo + k - 1;
            if (ix < 0 || ix >= w) continue;
            const xb = ((b * h + iy) * w + ix) * ci;
            const db = ((b * h + y) * w + xo) * co;
            const wb = (a * 3 + k) * ci * co;
            for (let c = 0; c < ci; c++) {
              for (let o = 0; o < co; o++) {
                acc[wb + c * co + o]! += xData[xb + c]! * dyData[db + o]!;
              }
            }
          }
        }
      }
    }
  }
  ref.set(acc);
  await initBackend("wasm");
  try {
    const got = tf.tidy(() =>
      (tf.engine().runKernel("Conv2DBackpropFilter", {
        x: tf.tensor(xData, [n, h, w, ci]),
        dy: tf.tensor(dyData, [n, h, w, co]),
      }, {
        strides: [1, 1],
        pad: "same",
        dataFormat: "NHWC",
        dimRoundingMode: undefined,
        filterShape: [3, 3, ci, co],
      } as unknown as tf.NamedAttrMap) as tf.Tensor).dataSync() as Float32Array
    );
    const e = relativeError(got, ref);
    assert.ok(e <= 1e-5, `relative error ${e}`);
  } finally {
    await initBackend("cpu");
  }
});

Deno.test("installTrainingKernels is idempotent and lists the wasm kernels", async () => {
  const choice = await initBackend("wasm");
  try {
    const expected = [
      "BatchMatMul",
      "Conv2DBackpropFilter",
      "Conv2DBackpropInput",
      "DepthwiseConv2dNativeBackpropFilter",
      "DepthwiseConv2dNativeBackpropInput",
      "MaxPoolGrad",
      "Tile",
    ];
    assert.deepEqual([...choice.kernels].sort(), expected);
    assert.deepEqual(installTrainingKernels("wasm").sort(), expected);
    assert.deepEqual(installTrainingKernels("cpu"), ["Conv2DBackpropFilter"]);
    assert.deepEqual(installTrainingKernels("webgpu"), []);
  } finally {
    await initBackend("cpu");
  }
});
