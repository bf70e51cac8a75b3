// Times the superres example's whole-image evaluation (predictImage, PSNR/SSIM on Y, the
// feature distance, the panel) on a Set5-style folder with a trained run's model:
//   deno run -A bench/sr_eval_time.ts RUN_DIR EVAL_DIR [SCALE] [BACKEND]
// Prints the seconds per part per image, then srTable's total with the feature distance
// evaluated per pair and with the truth's side computed once per image (targetOnce), alternated
// in one process; timings on a shared machine are noisy.
import * as tf from "@tensorflow/tfjs-core";
import { initBackend } from "../src/backend/mod.ts";
import { loadModel, predictImage } from "../src/unet/mod.ts";
import { bicubicUpscale } from "../src/data/mod.ts";
import { psnr, ssim } from "../src/metrics/mod.ts";
import { evaluate, feature } from "../src/loss/mod.ts";
import {
  loadEvalPairs,
  pickLossNetwork,
  srResultRows,
  srTable,
  targetOnce,
} from "../src/experiment/mod.ts";

const [runDir, evalDir, scaleText = "2", backend = "native"] = Deno.args;
if (runDir === undefined || evalDir === undefined) {
  console.error("usage: deno run -A bench/sr_eval_time.ts RUN_DIR EVAL_DIR [SCALE]");
  Deno.exit(2);
}
const scale = Number(scaleText);
console.log((await initBackend(backend)).name);
const model = await loadModel(`${runDir}/model`);
using picked = await pickLossNetwork({
  imagenetUrl: "http://127.0.0.1:9/none",
  cacheDir: "/nonexistent",
});
const featureLoss = feature(picked.layers[0]!, { distance: "l1" });
const distance = evaluate(featureLoss, picked.net);
using once = targetOnce(featureLoss, picked.net);
const pairs = await loadEvalPairs(evalDir, scale);
const time = async <T>(f: () => Promise<T> | T): Promise<[T, number]> => {
  const t0 = performance.now();
  const v = await f();
  return [v, (performance.now() - t0) / 1000];
};
for (const p of pairs) {
  const [pred, tPredict] = await time(() => predictImage(model, p.lowRes));
  const hr = tf.expandDims(p.highRes, 0) as tf.Tensor4D;
  const p4 = tf.expandDims(tf.clipByValue(pred, 0, 1), 0) as tf.Tensor4D;
  const [, tPsnr] = await time(() => psnr(p4, hr, { yChannel: true, crop: scale }));
  const [, tSsim] = await time(() => ssim(p4, hr, { yChannel: true, crop: scale }));
  const [, tFeat] = await time(async () => {
    const f = tf.tidy(() =>
      distance(
        p4.shape[3] === 3 ? p4 : tf.tile(p4, [1, 1, 1, 3]),
        hr.shape[3] === 3 ? hr : tf.tile(hr, [1, 1, 1, 3]),
      ).total
    );
    await f.data();
    f.dispose();
  });
  const [bic, tBicubic] = await time(() =>
    bicubicUpscale(tf.expandDims(p.lowRes, 0) as tf.Tensor4D, scale)
  );
  console.log(
    `${p.name} ${p.highRes.shape.join("x")}: predict ${tPredict.toFixed(2)} s, psnr ${
      tPsnr.toFixed(2)
    }, ` +
      `ssim ${tSsim.toFixed(2)}, feature ${tFeat.toFixed(2)}, bicubic ${tBicubic.toFixed(2)}`,
  );
  tf.dispose([pred, hr, p4, bic]);
}
const dir = await Deno.makeTempDir();
for (let rep = 0; rep < 2; rep++) {
  for (const [label, fn] of [["per pair", distance], ["once per image", once]] as const) {
    const [rows, total] = await time(() =>
      srTable([{ name: evalDir, pairs, panels: `${dir}/p-` }], model, fn, scale).then(srResultRows)
    );
    console.log(
      `srTable (all of the above + panels), feature distance ${label}, on ${pairs.length} ` +
        `images: ${total.toFixed(1)} s; ` +
        rows.map((r) => `${r.method} ${r.psnrY.toFixed(2)} dB ${r.featureL1.toFixed(5)}`).join(
          ", ",
        ),
    );
  }
}
await Deno.remove(dir, { recursive: true });
