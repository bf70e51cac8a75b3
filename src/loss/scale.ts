/**
 * Per-layer feature normalisation, so a preset's weights carry across weight sources.
 *
 * Why: the same VGG layer gives activations of very different sizes depending on the weights and
 * their input convention. fastai's weights ([5, 15, 2], Gram 5e3·w²) were tuned on torchvision's
 * `vgg16_bn`, whose activations are batch-normalised (order 1); Keras' 'caffe' VGG weights see
 * 0–255 inputs and give much larger activations: measured on the real ImageNet VGG-19 (blocks
 * 1–3, photo crops of tests/fixtures/loss_inputs.bin), mean activations are 118 at
 * block1_conv2, 108 at block2_conv2 and 713 at block3_conv4. L1 feature terms grow by those
 * factors and Gram terms (quadratic) by their squares: fastai's combination on those layers gives
 * 3.6e7 raw, 2.1e3 calibrated, on the same images.
 *
 * The fix here: divide each layer's activations by a fixed number, its mean activation on a
 * calibration batch, so that every network's activations have mean |a| = `reference` (default 1,
 * the order of batch-normalised activations; vgg16_bn's exact statistics are not reproduced, as
 * its weights are not available here: adjust `reference` if you know them). The divisors are plain
 * numbers stored in the terms (`scale`), computed once, and part of the JSON spec, so a calibrated
 * loss is reproducible.
 *
 * @module
 */
import { checkNotEmpty } from "../errors/empty_input_error.ts";
import * as tf from "@tensorflow/tfjs-core";
import { scope } from "../lifetime/mod.ts";
import type { LossNetwork } from "../network/loss_network.ts";
import { InvalidTermOptionError, LossInputError } from "./errors.ts";
import { planOf, type TermPlan } from "./_sides.ts";
import { type AnyLayer, type Loss, lossOf, networkOf } from "./loss.ts";
import { withoutTape } from "./_no_tape.ts";
import { checkOptionKeys } from "../errors/unknown_option_error.ts";
import { kindOf, termWith } from "./kind.ts";
import type { Term, TermCommon } from "./term.ts";

/**
 * Options of {@linkcode featureScales} and {@linkcode calibrate}.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as tf from "@tensorflow/tfjs-core";
 * import { initBackend } from "@perceptual/loss/backend";
 * import { vgg16 } from "@perceptual/loss/vgg";
 * import { type CalibrationOptions, featureScales } from "@perceptual/loss/loss";
 * await initBackend("cpu");
 * using net = await vgg16({ weights: { random: 0 }, upTo: "relu1_2" });
 * const photos = tf.randomUniform([2, 16, 16, 3], 0, 1, "float32", 7) as tf.Tensor4D;
 * const options: CalibrationOptions = { reference: 10 }; // scaled activations: mean |a| = 10
 * const toOne = await featureScales(net, ["relu1_2"], photos);
 * const toTen = await featureScales(net, ["relu1_2"], photos, options);
 * assert.equal((toOne.relu1_2 / toTen.relu1_2).toFixed(3), "10.000");
 * photos.dispose();
 * ```
 */
export interface CalibrationOptions {
  /** The mean |activation| each layer should have after scaling (default 1). */
  readonly reference?: number;
  /** Other networks the terms read, by `key` (as in `evaluate`). */
  readonly networks?: readonly LossNetwork<AnyLayer>[];
}

/**
 * Per-layer divisors from a calibration batch: mean |activation| of `images` at each layer,
 * divided by `reference`. One tape-free network pass; reads the numbers back asynchronously, so
 * it works on every backend (webgpu under Deno has no synchronous read).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as tf from "@tensorflow/tfjs-core";
 * import { initBackend } from "@perceptual/loss/backend";
 * import type { LossNetwork } from "@perceptual/loss/network";
 * import { featureScales } from "@perceptual/loss/loss";
 * await initBackend("cpu");
 * const net: LossNetwork<"x10"> = {
 *   name: "times ten", layers: ["x10"], inputConvention: { preprocessing: "none", range: "[0,1]" },
 *   depthOf: () => 0,
 *   extract: (x, layers) => Object.fromEntries(layers.map((l) => [l, tf.mul(x, 10)])) as never,
 *   dispose() {}, [Symbol.dispose]() {},
 * };
 * assert.deepEqual(
 *   await featureScales(net, ["x10"], tf.fill([1, 4, 4, 3], 0.5) as tf.Tensor4D),
 *   { x10: 5 },
 * );
 * ```
 */
export async function featureScales<L extends string, K extends L>(
  net: LossNetwork<L>,
  layers: readonly K[],
  images: tf.Tensor4D,
  options: CalibrationOptions = {},
): Promise<Record<K, number>> {
  const { unique, means, reference } = layerMeans(net, layers, images, options);
  if (means === undefined) return {} as Record<K, number>;
  try {
    return scalesFrom(net, unique, await means.data(), reference);
  } finally {
    means.dispose();
  }
}

/** Validated inputs and the per-layer mean |activation| of `images` (the caller disposes it). */
function layerMeans<L extends string, K extends L>(
  net: LossNetwork<L>,
  layers: readonly K[],
  images: tf.Tensor4D,
  options: CalibrationOptions,
): { unique: K[]; means: tf.Tensor1D | undefined; reference: number } {
  const reference = options.reference ?? 1;
  if (!Number.isFinite(reference) || reference <= 0) {
    throw new InvalidTermOptionError(
      "featureScales",
      "reference",
      reference,
      "a finite number > 0",
    );
  }
  if (images.rank !== 4) {
    throw new LossInputError(
      `calibration images have shape [${images.shape.join(",")}]; they must be NHWC`,
    );
  }
  // The mean over no activation would be NaN (or uninitialised memory on wasm), not an error.
  checkNotEmpty("featureScales: the calibration images", images.shape);
  const unique = [...new Set(layers)];
  if (unique.length === 0) return { unique, means: undefined, reference };
  const means = withoutTape(() =>
    scope(() => {
      const acts = net.extract(images, unique);
      return tf.stack(unique.map((l) => tf.mean(tf.abs(acts[l])))) as tf.Tensor1D;
    })
  );
  return { unique, means, reference };
}

function scalesFrom<K extends string>(
  net: LossNetwork<string>,
  unique: readonly K[],
  values: ArrayLike<number>,
  reference: number,
): Record<K, number> {
  const out = {} as Record<K, number>;
  unique.forEach((l, i) => {
    const m = values[i]!;
    if (!(m > 0) || !Number.isFinite(m)) {
      throw new LossInputError(
        `layer "${l}" of ${net.name} has mean activation ${m} on the calibration images; ` +
          "calibrate on real images (not blank or non-finite ones)",
      );
    }
    out[l] = m / reference;
  });
  return out;
}

/**
 * Set the `scale` of every term whose kind calibrates by scale (feature, style, or a kind of your
 * own with `calibration: "scale"`), reads the main network, and taps a layer in `scales`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { feature, style, plus, withFeatureScales } from "@perceptual/loss/loss";
 * import { pipe } from "fp-ts/lib/function.js";
 * const l = withFeatureScales(pipe(feature("a"), plus(style("b"))), { a: 20 });
 * assert.deepEqual(l.terms.map((t) => "scale" in t ? t.scale : 1), [20, 1]);
 * ```
 */
export function withFeatureScales<L extends string, T extends TermCommon = Term<L>>(
  loss: Loss<L, T>,
  scales: Partial<Record<L, number>>,
): Loss<L, T> {
  return lossOf<L, T>(loss.terms.map((t) => {
    const kind = kindOf(t);
    if (kind.calibration !== "scale" || networkOf(t) !== undefined) return t;
    const s = scales[kind.taps(t)[0] as L];
    return s === undefined ? t : termWith(t, { scale: s });
  }));
}

/**
 * `loss` with every layer's activations normalised to mean |a| = `reference` on `images`: the way
 * to use a preset tuned for one network (fastai's, on vgg16_bn) with another (Keras 'caffe'
 * VGG). Calibrate once on a few typical training images and keep (or encode) the result.
 * Only kinds with `calibration: "scale"` change (feature and style); the others (pixel, tv,
 * LPIPS, …) are kept as they are. Terms on other networks are calibrated on theirs (pass them in
 * `networks`). Reads back asynchronously: works on every backend, webgpu included.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as tf from "@tensorflow/tfjs-core";
 * import { initBackend } from "@perceptual/loss/backend";
 * import type { LossNetwork } from "@perceptual/loss/network";
 * import { calibrate, feature, type Loss } from "@perceptual/loss/loss";
 * await initBackend("cpu");
 * const net: LossNetwork<"x10"> = {
 *   name: "times ten", layers: ["x10"], inputConvention: { preprocessing: "none", range: "[0,1]" },
 *   depthOf: () => 0,
 *   extract: (x, layers) => Object.fromEntries(layers.map((l) => [l, tf.mul(x, 10)])) as never,
 *   dispose() {}, [Symbol.dispose]() {},
 * };
 * let loss: Loss<"x10"> = feature("x10");
 * loss = await calibrate(loss, net, tf.fill([1, 4, 4, 3], 0.5) as tf.Tensor4D);
 * const t = loss.terms[0]!;
 * assert.equal(t.kind, "feature");
 * assert.equal((t as { scale?: number }).scale, 5);
 * ```
 */
export async function calibrate<L extends string, K extends L, T extends TermCommon = Term<K>>(
  loss: Loss<K, T>,
  net: LossNetwork<L>,
  images: tf.Tensor4D,
  options: CalibrationOptions = {},
): Promise<Loss<K, T>> {
  checkOptionKeys("calibrate", options, ["reference", "networks"]);
  const plans = planOf(loss, net as unknown as LossNetwork<string>, options.networks);
  const byNet = new Map<LossNetwork<string>, string[]>();
  for (const p of plans) {
    if (p.kind.calibration !== "scale" || p.net === undefined) continue;
    const taps = byNet.get(p.net) ?? [];
    if (!taps.includes(p.taps[0]!)) taps.push(p.taps[0]!);
    byNet.set(p.net, taps);
  }
  const scales = new Map<LossNetwork<string>, Record<string, number>>();
  for (const [n, taps] of byNet) scales.set(n, await featureScales(n, taps, images, options));
  const calibrated = (p: TermPlan) =>
    p.kind.calibration !== "scale" || p.net === undefined
      ? p.term
      : termWith(p.term, { scale: scales.get(p.net)![p.taps[0]!]! });
  return lossOf<K, T>(plans.map(calibrated) as unknown as T[]);
}
