// Published Set5 bicubic baselines (Y channel, border = scale shaved): the metrics and the
// MATLAB-style bicubic upscale together must reproduce them from the provided LR files.
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs-core";
import { initBackend } from "../src/backend/mod.ts";
import { type BicubicOptions, pixelsToTensor, readPixels } from "../src/data/mod.ts";
import { bicubicUpscalePixels } from "../src/data/bicubic.ts";
import { psnr, ssim } from "../src/metrics/mod.ts";

const SET5 = "../shared/data/Set5";
const present = (() => {
  try {
    return Deno.statSync(`${SET5}/image_SRF_4`).isDirectory;
  } catch {
    return false;
  }
})();
if (!present) console.log(`metrics_set5_test: skipped, ${SET5} is absent (shared test data)`);

await initBackend("cpu");

async function set5Bicubic(scale: 2 | 4, options: BicubicOptions): Promise<[number, number]> {
  let p = 0;
  let s = 0;
  for (let i = 1; i <= 5; i++) {
    const stem = `${SET5}/image_SRF_${scale}/img_00${i}_SRF_${scale}`;
    const hr = pixelsToTensor(await readPixels(`${stem}_HR.png`));
    const up = pixelsToTensor(
      bicubicUpscalePixels(await readPixels(`${stem}_LR.png`), scale, options),
    );
    assert.deepEqual(up.shape, hr.shape);
    const opts = { yChannel: true, crop: scale } as const;
    p += await psnr(up, hr, opts);
    s += await ssim(up, hr, opts);
    tf.dispose([hr, up]);
  }
  return [p / 5, s / 5];
}

const PUBLISHED = { 2: [33.66, 0.9299], 4: [28.42, 0.8104] } as const;

for (const scale of [2, 4] as const) {
  Deno.test({
    name: `Set5 x${scale} bicubic baseline matches the published ${PUBLISHED[scale].join(" / ")}`,
    ignore: !present,
    fn: async () => {
      const [wantP, wantS] = PUBLISHED[scale];
      // Float upscale (no rounding), and MATLAB's uint8 behaviour (rounded after each pass).
      const [p, s] = await set5Bicubic(scale, {});
      const [pq, sq] = await set5Bicubic(scale, { quantize: "uint8" });
      console.log(
        `x${scale}: float ${p.toFixed(3)} dB / ${s.toFixed(4)}; uint8 ${pq.toFixed(3)} / ${
          sq.toFixed(4)
        }`,
      );
      for (const [gotP, gotS] of [[p, s], [pq, sq]]) {
        assert.ok(Math.abs(gotP! - wantP) <= 0.05, `PSNR ${gotP} vs published ${wantP}`);
        assert.ok(Math.abs(gotS! - wantS) <= 0.002, `SSIM ${gotS} vs published ${wantS}`);
      }
      // The values FACTS.md measured with PIL's (uint8) bicubic and a NumPy evaluation.
      const facts = { 2: [33.674, 0.9303], 4: [28.430, 0.8111] }[scale];
      assert.ok(Math.abs(pq - facts[0]!) < 0.001 && Math.abs(sq - facts[1]!) < 0.0001);
    },
  });
}
