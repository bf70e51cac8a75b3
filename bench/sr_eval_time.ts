// Times the superres example's whole-image evaluation (tiled predictImage, PSNR/SSIM on Y, the
// feature distance, the panel) on a Set5-style folder with a trained run's model:
//   deno run -A bench/sr_eval_time.ts RUN_DIR EVAL_DIR [SCALE]
// Prints the seconds per part per image; timings on a shared machine are noisy.
import * as tf from "@tensorflow/tfjs-core";
import { initBackend } from "../src/backend/mod.ts";
import { loadModel, predictImage } from "../src/unet/mod.ts";
import { bicubicUpscale } from "../src/data/mod.ts";
import { psnr, ssim } from "../src/metrics/mod.ts";
import { evaluate, feature } from "../src/loss/mod.ts";
import { pickLossNetwork } from "../src/experiment/mod.ts";
import { loadEvalPairs, scoreFolder } from "../examples/common/sr_eval.ts";

const [runDir, evalDir, scaleText = "2"] = Deno.args;
if (runDir === undefined || evalDir === undefined) {
  console.error("usage: deno run -A bench/sr_eval_time.ts RUN_DIR EVAL_DIR [SCALE]");
  Deno.exit(2);
}
const scale = Number(scaleText);
console.log((await initBackend("wasm")).name);
const model = await loadModel(`${runDir}/model`);
using picked = await pickLossNetwork({
  imagenetUrl: "http://127.0.0.1:9/none",
  cacheDir: "/nonexistent",
});
const distance = evaluate(feature(picked.layers[0]!, { distance: "l1" }), picked.net);
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
const [rows, total] = await time(() =>
  scoreFolder(evalDir, pairs, model, distance, scale, { dir, prefix: "p-" })
);
console.log(
  `scoreFolder (all of the above + panels) on ${pairs.length} images: ${total.toFixed(1)} s`,
);
console.log(rows.map((r) => `${r.method} ${r.psnrY.toFixed(2)}`).join(", "));
await Deno.remove(dir, { recursive: true });
