// How far `precision: "bf16"` moves the loss value and its gradient w.r.t. the prediction from
// f32, on the native backend:
//   deno run -A bench/bf16_error.ts
// (d) the bench's perceptual case (VGG-16 random weights, feature + Gram L1 at relu1_2…relu4_3,
// 4×64², uniform noise against uniform noise), and a real pair: Set5's first ×2 image (truth)
// against its bicubic upscale, whole (512×512), through the embedded ImageNet VGG-19 blocks 1–3
// with feature + Gram L1 at block1_conv2, block2_conv2, block3_conv4. Prints the relative error
// of the loss, the relative L2 error and the cosine of the gradient, and the largest relative
// error of one term. Both precisions run in one process on the same tensors. Then, for
// comparison, PyTorch's own bf16 (`torch.autocast`) on case (d) against its f32
// (bench/torch_baseline.py bf16-error; skipped without /usr/bin/python3 and torch).
//
// The gradient moves far more than the loss: an L1 distance's gradient is the sign of each
// feature difference, and bf16 features flip the sign wherever prediction and target features
// are within bf16's rounding of each other (keeping the backward pass in f32 changes nothing).
import * as tf from "@tensorflow/tfjs-core";
import { pipe } from "fp-ts/lib/function.js";
import { bf16Unavailable, initBackend } from "../src/backend/mod.ts";
import { vgg16, vgg19 } from "../src/vgg/mod.ts";
import { evaluate, feature, type Loss, plus, style } from "../src/loss/mod.ts";
import { bicubicDownscale, bicubicUpscale, pixelsToTensor, readPixels } from "../src/data/mod.ts";

await initBackend("native");
const why = bf16Unavailable();
if (why !== undefined) {
  console.error(`bf16 is not available here: ${why}`);
  Deno.exit(1);
}

function featureAndGram<L extends string>(layers: readonly L[]): Loss<L> {
  let loss: Loss<L> = pipe(
    feature<L>(layers[0]!, { distance: "l1" }),
    plus(style(layers[0]!, { distance: "l1" })),
  );
  for (const l of layers.slice(1)) {
    loss = pipe(loss, plus(feature(l, { distance: "l1" })), plus(style(l, { distance: "l1" })));
  }
  return loss;
}

interface Run {
  total: number;
  terms: Record<string, number>;
  grad: Float32Array;
}

async function compare(
  label: string,
  open: (
    precision: "f32" | "bf16",
  ) => Promise<{ run(p: tf.Tensor4D, t: tf.Tensor4D): Run } & Disposable>,
  pred: tf.Tensor4D,
  target: tf.Tensor4D,
): Promise<void> {
  const runs: Run[] = [];
  for (const precision of ["f32", "bf16"] as const) {
    using m = await open(precision);
    runs.push(m.run(pred, target));
  }
  const [a, b] = runs as [Run, Run];
  let num = 0, den = 0, dot = 0, nb = 0;
  a.grad.forEach((g, i) => {
    const h = b.grad[i]!;
    num += (h - g) ** 2;
    den += g * g;
    dot += g * h;
    nb += h * h;
  });
  const worst = Object.keys(a.terms).map((k) => ({
    k,
    rel: Math.abs(b.terms[k]! - a.terms[k]!) / Math.abs(a.terms[k]!),
  })).sort((x, y) => y.rel - x.rel)[0]!;
  console.log(
    `${label}: loss f32 ${a.total.toPrecision(7)} bf16 ${b.total.toPrecision(7)} ` +
      `(relative error ${(Math.abs(b.total - a.total) / a.total).toExponential(2)}); ` +
      `gradient relative L2 error ${Math.sqrt(num / den).toExponential(2)}, cosine ` +
      `${(dot / Math.sqrt(den * nb)).toFixed(6)}; worst term ${worst.k} ` +
      `${worst.rel.toExponential(2)}`,
  );
}

function runner<L extends string>(
  net: import("../src/network/mod.ts").LossNetwork<L>,
  loss: Loss<L>,
) {
  const fn = evaluate(loss, net);
  return {
    run(p: tf.Tensor4D, t: tf.Tensor4D): Run {
      let terms: Record<string, number> = {};
      let total = 0;
      const grad = tf.grad((x: tf.Tensor) => {
        const r = fn(x as tf.Tensor4D, t);
        terms = Object.fromEntries(
          Object.entries(r.terms).map(([k, v]) => [k, (v as tf.Scalar).dataSync()[0]!]),
        );
        total = r.total.dataSync()[0]!;
        return r.total;
      })(p);
      const g = grad.dataSync() as Float32Array;
      grad.dispose();
      return { total, terms, grad: g };
    },
    [Symbol.dispose]: () => net.dispose(),
  };
}

const d = ["relu1_2", "relu2_2", "relu3_3", "relu4_3"] as const;
const pred = tf.randomUniform([4, 64, 64, 3], 0, 1, "float32", 8) as tf.Tensor4D;
const target = tf.randomUniform([4, 64, 64, 3], 0, 1, "float32", 9) as tf.Tensor4D;
await compare(
  "(d) VGG-16 random weights, 4×64² noise",
  async (precision) =>
    runner(
      await vgg16({ weights: { random: 1 }, upTo: "relu4_3", checkRange: false, precision }),
      featureAndGram(d),
    ),
  pred,
  target,
);

const hr3 = pixelsToTensor(
  await readPixels("../shared/data/Set5/image_SRF_2/img_001_SRF_2_HR.png"),
);
const hr = tf.expandDims(hr3, 0) as tf.Tensor4D;
const bic = tf.tidy(() =>
  tf.clipByValue(bicubicUpscale(bicubicDownscale(hr, 2, { quantize: "uint8" }), 2), 0, 1)
) as tf.Tensor4D;
const real = ["block1_conv2", "block2_conv2", "block3_conv4"] as const;
await compare(
  `Set5 img_001 ${hr.shape[1]}×${hr.shape[2]}: bicubic ×2 vs truth, ImageNet VGG-19 blocks 1-3`,
  async (precision) =>
    runner(
      await vgg19({
        weights: "examples/weights/vgg19_imagenet_blocks1-3",
        upTo: "block3_conv4",
        precision,
      }),
      featureAndGram(real),
    ),
  bic,
  hr,
);

try {
  const out = await new Deno.Command("/usr/bin/python3", {
    args: ["bench/torch_baseline.py", "bf16-error", "2"],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const j = JSON.parse(new TextDecoder().decode(out.stdout).trim().split("\n").pop()!);
  console.log(
    `PyTorch autocast bf16 vs f32 on (d) (its own random VGG-16): loss relative error ` +
      `${j.loss_rel.toExponential(2)}; gradient relative L2 error ` +
      `${j.grad_rel_l2.toExponential(2)}, cosine ${j.grad_cos.toFixed(6)}`,
  );
} catch (e) {
  console.log(`PyTorch comparison skipped: ${(e as Error).message.split("\n")[0]}`);
}
