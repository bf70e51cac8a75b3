import * as tf from "@tensorflow/tfjs-core";
import { initBackend, nativeProfile, setNativeProfiling } from "./src/backend/mod.ts";
import { loadModel } from "./src/unet/mod.ts";
import { bicubicUpscale } from "./src/data/mod.ts";
import { psnr, ssim } from "./src/metrics/mod.ts";
import { feature, LossMonoid } from "./src/loss/mod.ts";
import { concatAll } from "fp-ts/lib/Monoid.js";
import { pickLossNetwork } from "./src/experiment/mod.ts";
import { lpips } from "./src/lpips/mod.ts";
import { loadEvalPairs, predictSr } from "./examples/common/sr_eval.ts";
import { targetOnce } from "./examples/common/target_once.ts";
const [runDir, evalDir, n = "14"] = Deno.args;
await initBackend("native");
const model = await loadModel(`${runDir}/model`);
using picked = await pickLossNetwork({ imagenetUrl: "http://127.0.0.1:9/none", cacheDir: "/nonexistent" });
console.log(picked.net.name, picked.layers);
const layers = ["block1_conv2", "block2_conv2", "block3_conv4"];
using once = targetOnce(concatAll(LossMonoid)(layers.map((l) => feature(l as never, { distance: "l1", weight: 1 / 3 }))), picked.net as never);
using metric = await lpips({ net: "alex" });
const pairs = (await loadEvalPairs(evalDir!, 2)).slice(0, Number(n));
const T: Record<string, number> = {};
const time = async <X>(k: string, f: () => Promise<X> | X): Promise<X> => { const t0 = performance.now(); const v = await f(); T[k] = (T[k] ?? 0) + performance.now() - t0; return v; };
setNativeProfiling(true);
const c0 = Deno.cpuUsage?.() ;
const t0 = performance.now();
for (const p of pairs) {
  const hr = tf.expandDims(p.highRes, 0) as tf.Tensor4D;
  const bic = await time("bicubic", () => tf.tidy(() => tf.clipByValue(bicubicUpscale(tf.expandDims(p.lowRes, 0) as tf.Tensor4D, 2), 0, 1)));
  const pred = await time("predict", async () => { const y = predictSr(model, p.lowRes); await y.data(); return y; });
  await time("feature prepare", () => once.prepare(hr));
  for (const x of [bic, pred]) {
    await time("feature", async () => { const f = tf.tidy(() => once(x as tf.Tensor4D, hr).total); await f.data(); f.dispose(); });
    await time("lpips", () => metric.scores(x as tf.Tensor4D, hr));
    await time("psnr", () => psnr(x as tf.Tensor4D, hr, { yChannel: true, crop: 2 }));
    await time("ssim", () => ssim(x as tf.Tensor4D, hr, { yChannel: true, crop: 2 }));
  }
  tf.dispose([hr, bic, pred]);
}
console.log("total s", ((performance.now() - t0) / 1000).toFixed(1));
for (const [k, v] of Object.entries(T)) console.log(k.padEnd(16), (v / 1000).toFixed(2), "s");
const p = nativeProfile(); const sum = p.reduce((a, e) => a + e.ms, 0);
console.log("in oneDNN", (sum / 1000).toFixed(2), "s");
for (const e of p.slice(0, 12)) console.log("  ", e.ms.toFixed(0), e.calls, e.key);
