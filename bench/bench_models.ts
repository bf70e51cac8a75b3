/**
 * The networks the benchmark times, defined here so that bench/torch_baseline.py can mirror them
 * layer for layer: a VGG-16 conv stack (Keras layout, He-random weights, fused conv+bias+ReLU),
 * the fastai feature loss on it, and the generator (the library's U-Net at ×2).
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
import type * as tfl from "@tensorflow/tfjs-layers";
import { unet } from "../src/unet/mod.ts";

/** VGG-16's conv layers: [name, output channels], max-pool after each block's last conv. */
export const VGG16_CONVS: readonly (readonly [string, number])[] = [
  ["block1_conv1", 64],
  ["block1_conv2", 64],
  ["block2_conv1", 128],
  ["block2_conv2", 128],
  ["block3_conv1", 256],
  ["block3_conv2", 256],
  ["block3_conv3", 256],
  ["block4_conv1", 512],
  ["block4_conv2", 512],
  ["block4_conv3", 512],
  ["block5_conv1", 512],
  ["block5_conv2", 512],
  ["block5_conv3", 512],
];

/** Keras 'caffe' preprocessing means (BGR). */
const CAFFE_MEAN_BGR = [103.939, 116.779, 123.68];

/** A VGG-16 conv stack with fixed He-normal weights; weights are constants (never trained). */
export class BenchVgg16 {
  readonly weights: { name: string; filter: tf.Tensor4D; bias: tf.Tensor1D }[] = [];
  readonly #mean: tf.Tensor1D;

  constructor(seed = 1) {
    let cin = 3;
    VGG16_CONVS.forEach(([name, cout], i) => {
      const std = Math.sqrt(2 / (9 * cin));
      this.weights.push({
        name,
        filter: tf.randomNormal([3, 3, cin, cout], 0, std, "float32", seed + i) as tf.Tensor4D,
        bias: tf.zeros([cout]) as tf.Tensor1D,
      });
      cin = cout;
    });
    this.#mean = tf.tensor1d(CAFFE_MEAN_BGR);
  }

  /** [0,1] RGB → caffe input (0–255, BGR, mean subtracted). */
  preprocess(x: tf.Tensor4D): tf.Tensor4D {
    return tf.sub(tf.mul(tf.reverse(x, 3), 255), this.#mean);
  }

  /** Run up to the deepest of `taps` and return those activations (post-ReLU). */
  features(x: tf.Tensor4D, taps: readonly string[]): tf.Tensor4D[] {
    const deepest = Math.max(...taps.map((t) => VGG16_CONVS.findIndex(([n]) => n === t)));
    const out = new Map<string, tf.Tensor4D>();
    let h = this.preprocess(x);
    for (let i = 0; i <= deepest; i++) {
      const { name, filter, bias } = this.weights[i]!;
      h = tf.fused.conv2d({ x: h, filter, bias, strides: 1, pad: "same", activation: "relu" });
      if (taps.includes(name)) out.set(name, h);
      const next = VGG16_CONVS[i + 1];
      if (i < deepest && next !== undefined && next[0].endsWith("conv1")) {
        h = tf.maxPool(h, 2, 2, "valid");
      }
    }
    return taps.map((t) => out.get(t)!);
  }

  dispose(): void {
    for (const w of this.weights) tf.dispose([w.filter, w.bias]);
    this.#mean.dispose();
  }
}

/** fastai's feature loss layers (the activations before pools 3, 4 and 5) and weights. */
export const FASTAI_TAPS: readonly string[] = ["block3_conv3", "block4_conv3", "block5_conv3"];
const FASTAI_WEIGHTS = [5, 15, 2];

/** fastai's gram_matrix: [b,h,w,c] → [b,c,c] / (c·h·w). */
function gram(f: tf.Tensor4D): tf.Tensor3D {
  const [b, h, w, c] = f.shape;
  const flat = tf.reshape(f, [b, h * w, c]);
  return tf.div(tf.matMul(flat, flat, true, false), c * h * w);
}

const l1 = (a: tf.Tensor, b: tf.Tensor): tf.Scalar => tf.mean(tf.abs(tf.sub(a, b)));

/** The target's features and Grams, computed once per step without a tape. */
export interface TargetFeatures {
  readonly features: tf.Tensor4D[];
  readonly grams: tf.Tensor3D[];
}

/** Target side of the fastai loss (call outside any gradient function). */
export function targetFeatures(vgg: BenchVgg16, target: tf.Tensor4D): TargetFeatures {
  return tf.tidy(() => {
    const features = vgg.features(target, FASTAI_TAPS);
    return { features, grams: features.map(gram) };
  });
}

/**
 * fastai's FeatureLoss: L1(pixels) + Σ wᵢ·L1(featuresᵢ) + Σ 5e3·wᵢ²·L1(gramᵢ), L1 everywhere.
 */
export function fastaiLoss(
  vgg: BenchVgg16,
  pred: tf.Tensor4D,
  target: tf.Tensor4D,
  t: TargetFeatures,
): tf.Scalar {
  const features = vgg.features(pred, FASTAI_TAPS);
  const terms: tf.Scalar[] = [l1(pred, target)];
  features.forEach((f, i) => {
    const w = FASTAI_WEIGHTS[i]!;
    terms.push(tf.mul(l1(f, t.features[i]!), w));
    terms.push(tf.mul(l1(gram(f), t.grams[i]!), 5e3 * w * w));
  });
  return tf.addN(terms);
}

/** The generator of case (c): the library's U-Net at ×2 (mirrored in torch_baseline.py). */
export const GENERATOR_CONFIG = {
  depth: 3,
  baseFilters: 32,
  scale: 2,
  norm: "batch",
  upsample: "pixelShuffle",
  activation: "relu",
  residual: true,
  residualUpsample: "bicubic",
  outputRange: null,
  seed: 1,
} as const;

/** Build the generator of case (c). */
export function benchGenerator(): tfl.LayersModel {
  return unet(GENERATOR_CONFIG);
}
