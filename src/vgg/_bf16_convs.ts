/**
 * The convs of a frozen VGG with `precision: "bf16"`: the native backend's bf16 kernels, refused
 * with {@linkcode PrecisionUnavailableError} when the active backend changed since the network
 * was built.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
import { bf16ConvBackpropInput, bf16ConvRelu } from "../backend/native/_bf16.ts";
import { PrecisionUnavailableError } from "../backend/native/precision.ts";
import type { SegmentConvs } from "./_frozen_segment.ts";

function onNative(): void {
  const backend = tf.getBackend();
  if (backend !== "native") {
    throw new PrecisionUnavailableError(
      "bf16",
      `the network was built on 'native' but the active backend is now '${backend}'`,
    );
  }
}

/** bf16 forward and input-gradient convs (f32 accumulation, f32 tensors in and out). */
export const BF16_CONVS: SegmentConvs = {
  forward: (x, kernel, bias) => {
    onNative();
    return bf16ConvRelu(x, kernel, bias);
  },
  backwardData: (dy, kernel, inShape) => {
    onNative();
    return bf16ConvBackpropInput(dy, kernel, inShape);
  },
};
