// LPIPS v0.1 against PyTorch on cpu, wasm, native and webgpu: tests/fixtures/lpips_reference.py rebuilt
// both nets in torch (float64) from the original .keras files in ../shared/data/lpips (not from
// the converted weights this library ships) and stored per-image distances, per-tap parts, input
// gradients w.r.t. BOTH images and spatial maps, for batch 2 and an odd 67×61 size where
// SqueezeNet's ceil-mode pooling changes the shapes. Tolerances: distances and maps 1e-4
// relative, gradients 1e-3 (‖a−b‖/‖b‖). Needs no shared data (inputs are rebuilt from seeds).
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs-core";
import { initBackend } from "../src/backend/mod.ts";
import { nativeInfo } from "../src/backend/native/mod.ts";
import { mulberry32 } from "../src/data/rng.ts";
import { type Lpips, lpips, type LpipsTap } from "../src/lpips/mod.ts";
import { lpipsFromFeatures } from "../src/lpips/_lpips_math.ts";

const FIXTURE = "tests/fixtures/lpips_reference";
interface Slot {
  offset: number;
  length: number;
  shape: number[];
}
interface Case {
  name: string;
  net: "alex" | "squeeze";
  seed: number;
  shape: [number, number, number, number];
  distance: number[];
  perTap: number[][];
  gradWeights: number[];
  gradX: Slot;
  gradY: Slot;
  spatial?: Slot;
}
const meta = JSON.parse(Deno.readTextFileSync(`${FIXTURE}.json`)) as { cases: Case[] };
const blob = Deno.readFileSync(`${FIXTURE}.bin`);
const floats = (s: Slot) => new Float32Array(blob.buffer, blob.byteOffset + 4 * s.offset, s.length);

/** The fixture's inputs: x = u(seed), y = clip(x + 0.3·(u(seed+1) − 0.5), 0, 1), in float32. */
function inputs(c: Case): [tf.Tensor4D, tf.Tensor4D] {
  const n = c.shape.reduce((a, b) => a * b, 1);
  const r1 = mulberry32(c.seed), r2 = mulberry32(c.seed + 1);
  const f = Math.fround;
  const x = new Float32Array(n), y = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    x[i] = f(r1.next());
    const d = f(f(0.3) * f(f(r2.next()) - 0.5));
    y[i] = Math.min(1, Math.max(0, f(x[i]! + d)));
  }
  return [tf.tensor4d(x, c.shape), tf.tensor4d(y, c.shape)];
}

/** ‖a−b‖/‖b‖ in float64. */
function relErr(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let d = 0, n = 0;
  for (let i = 0; i < b.length; i++) {
    d += (a[i]! - b[i]!) ** 2;
    n += b[i]! ** 2;
  }
  return Math.sqrt(d / n);
}

async function check(backend: string, metric: Lpips, c: Case): Promise<void> {
  const [x, y] = inputs(c);
  const w = tf.tensor1d(c.gradWeights);
  try {
    const d = metric.distance(x, y);
    const got = Array.from(await d.data());
    d.dispose();
    const errD = relErr(got, c.distance);
    // Each tap on its own, through the helper a loss term reuses.
    const taps = metric.network.layers;
    const parts = tf.tidy(() => {
      const fx = metric.network.extract(x, taps);
      const fy = metric.network.extract(y, taps);
      return taps.map((t) =>
        lpipsFromFeatures(
          { [t]: fx[t] },
          { [t]: fy[t] },
          { [t]: metric.network.linWeights(t as LpipsTap) },
        )
      );
    });
    const perTap = await Promise.all(parts.map(async (p) => Array.from(await p.data())));
    tf.dispose(parts);
    perTap.forEach((p, i) => {
      const e = relErr(p, c.perTap[i]!);
      assert.ok(e < 1e-4, `${c.name} tap ${i + 1}: ${p} vs ${c.perTap[i]} (rel ${e})`);
    });
    const [gx, gy] = tf.grads((a: tf.Tensor, b: tf.Tensor) =>
      tf.sum(tf.mul(metric.distance(a as tf.Tensor4D, b as tf.Tensor4D), w))
    )([x, y]);
    const errX = relErr(await gx!.data(), floats(c.gradX));
    const errY = relErr(await gy!.data(), floats(c.gradY));
    tf.dispose([gx!, gy!]);
    let errS = 0;
    if (c.spatial !== undefined) {
      const m = metric.distance(x, y, { spatial: true });
      assert.deepEqual(m.shape, c.spatial.shape);
      errS = relErr(await m.data(), floats(c.spatial));
      m.dispose();
    }
    console.log(
      `  ${backend} ${c.name}: d ${got.map((v) => v.toFixed(6))} rel ${errD.toExponential(1)}; ` +
        `grad x ${errX.toExponential(1)} y ${errY.toExponential(1)}` +
        (c.spatial ? `; map ${errS.toExponential(1)}` : ""),
    );
    assert.ok(errD < 1e-4, `${c.name}: distances ${got} vs ${c.distance} (rel ${errD})`);
    assert.ok(errX < 1e-3, `${c.name}: gradient w.r.t. x, rel err ${errX}`);
    assert.ok(errY < 1e-3, `${c.name}: gradient w.r.t. y, rel err ${errY}`);
    assert.ok(errS < 1e-4, `${c.name}: spatial map, rel err ${errS}`);
  } finally {
    tf.dispose([x, y, w]);
  }
}

/** Why WebGPU cannot run here, or undefined when an adapter exists (software llvmpipe counts). */
async function webgpuMissing(): Promise<string | undefined> {
  const gpu = (globalThis.navigator as { gpu?: GPU } | undefined)?.gpu;
  if (gpu === undefined) return "navigator.gpu is absent in this runtime";
  try {
    const adapter = await gpu.requestAdapter();
    return adapter === null ? "no WebGPU adapter (install mesa-vulkan-drivers)" : undefined;
  } catch (e) {
    return `navigator.gpu.requestAdapter() failed: ${e instanceof Error ? e.message : e}`;
  }
}
const noWebgpu = await webgpuMissing();
if (noWebgpu !== undefined) console.log(`lpips_pytorch_test: webgpu skipped, ${noWebgpu}`);

const native = nativeInfo();
if (typeof native === "string") console.log(`lpips_pytorch_test: native skipped, ${native}`);
for (const backend of ["cpu", "wasm", "native", "webgpu"] as const) {
  Deno.test({
    name: `lpips alex and squeeze: values, both input gradients, maps match PyTorch (${backend})`,
    ignore: (backend === "native" && typeof native === "string") ||
      (backend === "webgpu" && noWebgpu !== undefined),
    async fn() {
      await initBackend(backend);
      assert.ok(meta.cases.some((c) => c.shape[0] > 1), "a batch > 1");
      assert.ok(meta.cases.some((c) => c.net === "squeeze" && c.shape[1] % 2 === 1));
      for (const net of ["alex", "squeeze"] as const) {
        using metric = await lpips({ net });
        const before = tf.memory().numTensors;
        // The software WebGPU adapter is slow: there, one case per net (batch 2; odd size).
        const cases = meta.cases.filter((k) =>
          k.net === net &&
          (backend !== "webgpu" || k.name === "alex_b2" || k.name === "squeeze_odd")
        );
        for (const c of cases) await check(backend, metric, c);
        assert.equal(tf.memory().numTensors, before, "tensors leaked");
      }
    },
  });
}
