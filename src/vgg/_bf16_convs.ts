/**
 * The convs of a frozen VGG with `precision: "bf16"`: the native backend's bf16 kernels, refused
 * with {@linkcode PrecisionUnavailableError} when the active backend changed since the network
 * was built.
 *
 * The first conv, the one that sees the image (at most {@linkcode F32_MAX_IN_CHANNELS} input
 * channels), stays f32: bf16 keeps 8 significant bits, so caffe-preprocessed pixels (0–255 minus
 * the mean) would be rounded to steps of 0.5–1, as coarse as an 8-bit image, and the loss would
 * no longer see the sub-level differences a super-resolution model is trained on (held-out PSNR
 * 0.14 dB lower after the default 200 steps of examples/superres.ts). It costs 2–3% of block 1.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
import { bf16ConvBackpropInput, bf16ConvRelu } from "../backend/native/_bf16.ts";
import { PrecisionUnavailableError } from "../backend/native/precision.ts";
import { reluMaskGrad } from "../backend/native/_relu_mask.ts";
import { F32_CONVS, type SegmentConvs } from "./_frozen_segment.ts";

function onNative(): void {
  const backend = tf.getBackend();
  if (backend !== "native") {
    throw new PrecisionUnavailableError(
      "bf16",
      `the network was built on 'native' but the active backend is now '${backend}'`,
    );
  }
}

/** Convs with at most this many input channels (an image's) stay f32. */
export const F32_MAX_IN_CHANNELS = 4;

const imageFacing = (kernel: tf.Tensor4D): boolean => kernel.shape[2] <= F32_MAX_IN_CHANNELS;

/** bf16 forward and input-gradient convs (f32 accumulation, f32 tensors in and out). */
export const BF16_CONVS: SegmentConvs = {
  forward: (x, kernel, bias) => {
    onNative();
    return imageFacing(kernel) ? F32_CONVS.forward(x, kernel, bias) : bf16ConvRelu(x, kernel, bias);
  },
  backwardData: (dy, kernel, inShape) => {
    onNative();
    return imageFacing(kernel)
      ? F32_CONVS.backwardData(dy, kernel, inShape)
      : bf16ConvBackpropInput(dy, kernel, inShape);
  },
  // The ReLU's backward in oneDNN: folded into the bf16 conversion of dy, or (first conv) one
  // f32·u8 product — no float32 `where` in wasm.
  maskedBackwardData: (dy, mask, kernel, inShape) => {
    onNative();
    return imageFacing(kernel)
      ? F32_CONVS.backwardData(reluMaskGrad(dy, mask), kernel, inShape)
      : bf16ConvBackpropInput(dy, kernel, inShape, mask);
  },
};
