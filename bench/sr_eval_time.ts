// Times the superres example's whole-image evaluation (srTable: predictSr, bicubic, PSNR/SSIM on
// Y, the feature distance, LPIPS alex, the panels) on a Set5-style folder with a trained run's
// model:
//   deno run -A bench/sr_eval_time.ts RUN_DIR EVAL_DIR [SCALE] [BACKEND] [REPS] [--parts]
// A/B in one process, alternated REPS times (default 1): srTable with every convolution direct
// (`configureNative({ winograd: false })`) and srTable as it runs by default (on native, its
// forward convolutions by Winograd inside withWinograd).
// Prints wall and CPU seconds (user + system, all threads) of each and the largest relative
// difference between the two tables' numbers. `--parts` first prints the seconds per part,
// summed over the images.
// On a shared machine the wall times are noisy: quote the ratio of one run, and the load.
import * as tf from "@tensorflow/tfjs-core";
import process from "node:process";
import { configureNative, initBackend } from "../src/backend/mod.ts";
import { loadModel } from "../src/unet/mod.ts";
import { bicubicUpscale } from "../src/data/mod.ts";
import { psnr, ssim } from "../src/metrics/mod.ts";
import { lpips } from "../src/lpips/mod.ts";
import {
  featureDistance,
  loadEvalPairs,
  lossMetric,
  lpipsMetric,
  type MetricTable,
  pickLossNetwork,
  predictSr,
  srResultRows,
  srTable,
  writePanel,
} from "../src/experiment/mod.ts";

const flags = Deno.args.filter((a) => a.startsWith("--"));
const [runDir, evalDir, scaleText = "2", backend = "native", repsText = "1"] = Deno.args.filter(
  (a) => !a.startsWith("--"),
);
if (runDir === undefined || evalDir === undefined) {
  console.error(
    "usage: deno run -A bench/sr_eval_time.ts RUN_DIR EVAL_DIR [SCALE] [BACKEND] [REPS] [--parts]",
  );
  Deno.exit(2);
}
const scale = Number(scaleText);
console.log((await initBackend(backend)).name);
const model = await loadModel(`${runDir}/model`);
using picked = await pickLossNetwork({
  imagenetUrl: "http://127.0.0.1:9/none",
  cacheDir: "/nonexistent",
});
using metric = await lpips({ net: "alex" });
const pairs = await loadEvalPairs(evalDir, scale);
const mpx = pairs.reduce((s, p) => s + p.highRes.shape[0] * p.highRes.shape[1], 0) / 1e6;
console.log(`${pairs.length} images, ${mpx.toFixed(2)} Mpx; layers ${picked.layers.join(", ")}`);
// The example's column (calibrated L1 over the loss layers), calibrated here on the first image.
const calibration = tf.expandDims(pairs[0]!.highRes, 0) as tf.Tensor4D;
const once = await featureDistance(picked.net, picked.layers, calibration);
calibration.dispose();

// What is alive now stays (the pairs, the model, the networks): the rest must be freed.
const before = tf.memory().numTensors;

/** `f`'s result, wall seconds and CPU seconds (user + system of every thread). */
const time = async <T>(f: () => Promise<T> | T): Promise<[T, number, number]> => {
  const [t0, c0] = [performance.now(), process.cpuUsage()];
  const v = await f();
  const c = process.cpuUsage(c0);
  return [v, (performance.now() - t0) / 1000, (c.user + c.system) / 1e6];
};

if (flags.includes("--parts")) {
  const sums = new Map<string, [number, number]>();
  const part = async <T>(name: string, f: () => Promise<T> | T): Promise<T> => {
    const [v, wall, cpu] = await time(f);
    const s = sums.get(name) ?? [0, 0];
    sums.set(name, [s[0] + wall, s[1] + cpu]);
    return v;
  };
  const y = { yChannel: true, crop: scale } as const;
  const partsDir = await Deno.makeTempDir();
  for (const p of pairs) {
    const model4 = await part("predict (U-Net)", async () => {
      const x = predictSr(model, p.lowRes);
      await x.data();
      return x;
    });
    const hr = tf.expandDims(p.highRes, 0) as tf.Tensor4D;
    const bic = await part("bicubic", async () => {
      const x = tf.tidy(() =>
        tf.clipByValue(bicubicUpscale(tf.expandDims(p.lowRes, 0) as tf.Tensor4D, scale), 0, 1)
      ) as tf.Tensor4D;
      await x.data();
      return x;
    });
    for (const q of [bic, model4]) {
      await part("PSNR Y", () => psnr(q, hr, y));
      await part("SSIM Y", () => ssim(q, hr, y));
      await part("LPIPS alex (per pair)", () => lpipsMetric(metric)(q, hr));
      await part("feature L1 (truth once)", () => lossMetric(once)(q, hr));
    }
    await part("panel", () => writePanel(`${partsDir}/${p.name}.png`, [bic, model4, hr]));
    tf.dispose([hr, bic, model4]);
  }
  await Deno.remove(partsDir, { recursive: true });
  for (const [name, [wall, cpu]] of sums) {
    console.log(`${name.padEnd(24)} ${wall.toFixed(2)} s wall, ${cpu.toFixed(2)} s CPU`);
  }
}

const dir = await Deno.makeTempDir();
const table = (panels: string) =>
  srTable([{ name: evalDir, pairs, panels }], model, once, scale, metric);
const variants = {
  direct: () => {
    configureNative({ winograd: false });
    return table(`${dir}/a-`).finally(() => configureNative({}));
  },
  Winograd: () => table(`${dir}/b-`),
};
const tables = new Map<string, MetricTable>();
for (let rep = 0; rep < Number(repsText); rep++) {
  for (const [label, run] of Object.entries(variants)) {
    const [table, wall, cpu] = await time(run);
    tables.set(label, table);
    console.log(
      `srTable on ${pairs.length} images, ${label}: ${wall.toFixed(1)} s wall, ` +
        `${cpu.toFixed(1)} s CPU; ` +
        srResultRows(table).map((r) =>
          `${r.method} ${r.psnrY.toFixed(2)} dB ${r.ssimY.toFixed(4)} ${r.featureL1.toFixed(5)} ` +
          `${r.lpipsAlex?.toFixed(4)}`
        ).join(", "),
    );
  }
}
const [a, b] = [...tables.values()].map((t) => t.values.flatMap((row) => Object.values(row)));
const rel = a!.reduce((m, v, i) => Math.max(m, Math.abs(v - b![i]!) / Math.abs(v)), 0);
once.dispose();
console.log(
  `largest relative difference: ${rel.toExponential(2)}; ` +
    `tensors left: ${tf.memory().numTensors - before}`,
);
await Deno.remove(dir, { recursive: true });
tf.dispose(pairs.flatMap((p) => [p.highRes, p.lowRes]));
