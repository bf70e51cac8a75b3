/**
 * A run of frozen VGG layers (conv + bias + ReLU, 2×2 max pools) as ONE differentiable op that
 * keeps only what its backward needs, so that a training step holds far less memory than the
 * same layers taped one by one.
 *
 * tfjs keeps every tensor made inside a gradient call until the call ends, and every gradient
 * of every intermediate activation too. This op instead frees each intermediate activation as
 * soon as the next layer ran, keeps a one-byte ReLU mask per conv (a float activation only where
 * a pool's backward needs it), and in its backward frees each layer's gradient as soon as the
 * layer below consumed it. The loss network is frozen: no weight gradients are made.
 *
 * When no gradient is being recorded (the target side, inference) it runs the layers and frees
 * the intermediates, saving nothing.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
import { tapeState } from "../_internal/engine.ts";
import { hasReluMaskGrad, reluMaskGrad } from "../backend/native/_relu_mask.ts";

type Shape4 = [number, number, number, number];

/** One layer of a segment. */
export type SegmentLayer =
  | { readonly kind: "conv"; readonly kernel: tf.Tensor4D; readonly bias: tf.Tensor1D }
  | { readonly kind: "pool" };

/** Whether tfjs is recording a gradient tape right now (ops called here would be taped). */
function recording(): boolean {
  const state = tapeState() as { kernelDepth: number; activeTape?: unknown } | undefined;
  return state !== undefined && state.activeTape != null && state.kernelDepth === 0;
}

/**
 * How a segment's convs run: forward (3×3 'same' conv + bias + ReLU) and the input gradient
 * (transposed conv of the masked gradient). {@linkcode F32_CONVS} by default; the bf16 loss
 * network passes its own (./_bf16_convs.ts).
 */
export interface SegmentConvs {
  readonly forward: (h: tf.Tensor4D, kernel: tf.Tensor4D, bias: tf.Tensor1D) => tf.Tensor4D;
  readonly backwardData: (
    dy: tf.Tensor4D,
    kernel: tf.Tensor4D,
    inShape: [number, number, number, number],
  ) => tf.Tensor4D;
  /**
   * Optional: the input gradient through conv + ReLU in one kernel, from the ReLU's bool mask
   * (`backwardData` of `where(mask, dy, 0)`, the masking done inside); without it the segment
   * masks first.
   */
  readonly maskedBackwardData?: (
    dy: tf.Tensor4D,
    mask: tf.Tensor,
    kernel: tf.Tensor4D,
    inShape: [number, number, number, number],
  ) => tf.Tensor4D;
}

/**
 * One 3×3 'same' conv + bias + ReLU as the backend's one `FusedConv2D` kernel. `tf.fused.conv2d`
 * would split it into Conv2D, Add and Relu whenever a gradient is being computed (three activation-sized
 * tensors instead of one); this op's own backward never needs that split, and no tape records
 * inside it (the segment is one custom-gradient op, or no gradient is recorded at all).
 */
function convRelu(h: tf.Tensor4D, kernel: tf.Tensor4D, bias: tf.Tensor1D): tf.Tensor4D {
  return tf.engine().runKernel("FusedConv2D", { x: h, filter: kernel, bias }, {
    strides: [1, 1],
    pad: "same",
    dataFormat: "NHWC",
    dilations: [1, 1],
    activation: "relu",
  }) as tf.Tensor4D;
}

const f32BackwardData = (dy: tf.Tensor4D, kernel: tf.Tensor4D, inShape: Shape4): tf.Tensor4D =>
  tf.conv2dTranspose(dy, kernel, inShape, 1, "same");

/**
 * The float32 convs: the backend's `FusedConv2D` and conv2dTranspose, whichever is active. On the
 * native backends the ReLU's backward is one oneDNN product with the saved mask (wasm's `where`
 * took 2 ms per million elements, ten times per VGG step); elsewhere `where`, as before. Both give
 * the same values for finite gradients (up to the sign of zero).
 */
export const F32_CONVS: SegmentConvs = {
  forward: convRelu,
  backwardData: f32BackwardData,
  maskedBackwardData: (dy, mask, kernel, inShape) => {
    const masked = hasReluMaskGrad()
      ? reluMaskGrad(dy, mask)
      : tf.where(mask, dy, tf.zerosLike(dy)) as tf.Tensor4D;
    return f32BackwardData(masked, kernel, inShape);
  },
};

const pool = (h: tf.Tensor4D): tf.Tensor4D => tf.maxPool(h, 2, 2, "valid");

/** The layers applied to `x`, each intermediate freed once the next layer ran. */
function plainForward(
  x: tf.Tensor4D,
  layers: readonly SegmentLayer[],
  convs: SegmentConvs,
): tf.Tensor4D {
  let h = x;
  for (const l of layers) {
    const next = l.kind === "conv" ? convs.forward(h, l.kernel, l.bias) : pool(h);
    if (h !== x) h.dispose();
    h = next;
  }
  return h;
}

/**
 * What backward keeps for layer i: for a conv, its ReLU mask (bool) or, when a pool follows,
 * its float output (the pool's input, from which the mask is derived too); for a pool, nothing
 * beyond its input kept by the layer before (or the segment's input).
 */
type Kept = { mask?: number; out?: number };

/**
 * The forward pass that records what backward needs: the output, and in `saved` (positions in
 * `kept`) the ReLU masks, the conv outputs that a pool reads, and a leading pool's input.
 */
function forwardKeeping(
  x: tf.Tensor4D,
  layers: readonly SegmentLayer[],
  convs: SegmentConvs,
): { out: tf.Tensor4D; kept: Kept[]; saved: tf.Tensor[] } {
  const kept: Kept[] = [];
  const saved: tf.Tensor[] = [];
  // A segment that starts with a pool needs its input in backward: saved, so that a consumer
  // that frees the input (a loss term done with its tap) cannot take it away.
  if (layers[0]!.kind === "pool") saved.push(x);
  let h = x;
  layers.forEach((l, i) => {
    let next: tf.Tensor4D;
    if (l.kind === "conv") {
      next = convs.forward(h, l.kernel, l.bias);
      const last = i === layers.length - 1;
      if (layers[i + 1]?.kind === "pool" || last) {
        // Kept as a float: the pool's backward reads it (the last one is the output).
        kept.push({ out: saved.length });
        saved.push(next);
      } else {
        kept.push({ mask: saved.length });
        saved.push(tf.greater(next, 0));
      }
    } else {
      next = pool(h);
      kept.push({});
    }
    // Free the previous activation unless backward keeps it (or it is the input).
    const prev = kept[i - 1];
    if (h !== x && prev?.out === undefined) h.dispose();
    h = next;
  });
  return { out: h, kept, saved };
}

/** The gradient through conv+ReLU layer `l`: the masked gradient convolved back. */
function convGrad(
  l: SegmentLayer & { kind: "conv" },
  g: tf.Tensor4D,
  mask: tf.Tensor,
  convs: SegmentConvs,
): tf.Tensor4D {
  return tf.tidy(() => {
    const inShape = [g.shape[0], g.shape[1], g.shape[2], l.kernel.shape[2]] as [
      number,
      number,
      number,
      number,
    ];
    if (convs.maskedBackwardData !== undefined) {
      return convs.maskedBackwardData(g, mask, l.kernel, inShape);
    }
    const masked = tf.where(mask, g, tf.zerosLike(g)) as tf.Tensor4D;
    return convs.backwardData(masked, l.kernel, inShape);
  });
}

/** The gradient through a 2×2 max pool whose input was `pin`. */
function poolGrad(g: tf.Tensor4D, pin: tf.Tensor4D): tf.Tensor4D {
  // The MaxPoolGrad kernel itself (the project's on wasm and native, where tfjs' own is
  // wrong): a nested tf.grad here would end the outer gradient's tape.
  return tf.tidy(() =>
    tf.engine().runKernel(
      "MaxPoolGrad",
      { dy: g, input: pin, output: pool(pin) },
      { filterSize: 2, strides: 2, pad: "valid" },
    ) as tf.Tensor4D
  );
}

/**
 * Backward from `dy` through every layer, last to first. `kept` holds positions in `s`: tfjs
 * runs the forward inside a tidy and hands the backward its own handles on the saved tensors.
 */
function backward(
  layers: readonly SegmentLayer[],
  kept: readonly Kept[],
  dy: tf.Tensor,
  s: tf.Tensor[],
  convs: SegmentConvs,
): tf.Tensor4D {
  let g = dy as tf.Tensor4D;
  for (let i = layers.length - 1; i >= 0; i--) {
    const l = layers[i]!;
    let next: tf.Tensor4D;
    if (l.kind === "conv") {
      const k = kept[i]!;
      const mask = k.mask !== undefined ? s[k.mask]! : undefined;
      next = mask !== undefined
        ? convGrad(l, g, mask, convs)
        : tf.tidy(() => convGrad(l, g, tf.greater(s[k.out!]!, 0), convs));
    } else {
      // The pool's input: the float output of the conv before it, or the segment's input.
      const before = kept[i - 1]?.out;
      const pin = i === 0 ? s[0] as tf.Tensor4D : s[before!] as tf.Tensor4D;
      next = poolGrad(g, pin);
    }
    if (g !== dy) g.dispose();
    g = next;
  }
  return g;
}

/**
 * Build the op for `layers` (in forward order), its convs run by `convs`. The op maps an NHWC
 * activation to the output of the last layer.
 */
export function frozenSegment(
  layers: readonly SegmentLayer[],
  convs: SegmentConvs = F32_CONVS,
): (x: tf.Tensor4D) => tf.Tensor4D {
  if (layers.length === 0) return (x) => x;
  const op = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const { out, kept, saved } = forwardKeeping(args[0] as tf.Tensor4D, layers, convs);
    (args[1] as tf.GradSaveFunc)(saved);
    return {
      value: out,
      gradFunc: (dy: tf.Tensor, s: tf.Tensor[]) => backward(layers, kept, dy, s, convs),
    };
  });
  return (x: tf.Tensor4D) => recording() ? op(x) as tf.Tensor4D : plainForward(x, layers, convs);
}
