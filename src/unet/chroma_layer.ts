/**
 * Chroma on a given luma: full-range YCbCr (Cb, Cr, as in JPEG) to RGB without touching the
 * luma, for colourisers that cannot lose their input (see `colorizer.ts`).
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
import * as tfl from "@tensorflow/tfjs-layers";
import { BT601_LUMA } from "../_internal/luma.ts";
import { firstShape, type Kwargs, type LayerArgs } from "./_layer_io.ts";

const [KR, KG, KB] = BT601_LUMA;
// Full-range YCbCr → RGB (ITU-T T.871): R = Y + 2(1−kr)·Cr, B = Y + 2(1−kb)·Cb, and G chosen so
// that kr·ΔR + kg·ΔG + kb·ΔB = 0: the chroma moves no luma.
const R_CR = 2 * (1 - KR);
const B_CB = 2 * (1 - KB);
const G_CB = -(KB * B_CB) / KG;
const G_CR = -(KR * R_CR) / KG;

/**
 * RGB from luma `y` ([b, h, w, 1], in [0, 1]) and chroma `cbcr` ([b, h, w, 2], Cb then Cr,
 * full-range YCbCr centred on 0). Chroma that would take a channel out of [0, 1] is scaled down
 * per pixel (same hue, less saturation) until it fits, so nothing is clipped: the output's luma
 * 0.299 R + 0.587 G + 0.114 B equals `y` up to float rounding, and zero chroma gives R = G = B = y
 * exactly. Differentiable (the gamut scale has gradients almost everywhere).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as tf from "@tensorflow/tfjs-core";
 * import { initBackend } from "@perceptual/loss/backend";
 * import { chromaToRgb } from "@perceptual/loss/unet";
 * await initBackend("cpu");
 * const y = tf.fill([1, 1, 1, 1], 0.5) as tf.Tensor4D;
 * const red = tf.tensor4d([0, 0.3], [1, 1, 1, 2]); // Cr 0.3: reddish
 * const rgb = chromaToRgb(y, red);
 * const [r, g, b] = await rgb.data(); // ≈ [0.92, 0.29, 0.5]
 * assert.ok(Math.abs(r! - 0.92) < 0.01 && Math.abs(g! - 0.29) < 0.01 && Math.abs(b! - 0.5) < 0.01);
 * assert.ok(Math.abs(0.299 * r! + 0.587 * g! + 0.114 * b! - 0.5) < 1e-5); // luma still 0.5
 * tf.dispose([y, red, rgb]);
 * ```
 */
export function chromaToRgb(y: tf.Tensor4D, cbcr: tf.Tensor4D): tf.Tensor4D {
  if (y.rank !== 4 || y.shape[3] !== 1 || cbcr.rank !== 4 || cbcr.shape[3] !== 2) {
    throw new RangeError(
      `chromaToRgb: needs luma [b, h, w, 1] and chroma [b, h, w, 2], got [${y.shape}] and ` +
        `[${cbcr.shape}]`,
    );
  }
  return tf.tidy(() => {
    const [cb, cr] = tf.split(cbcr, 2, 3);
    const delta = tf.concat([
      tf.mul(cr!, R_CR),
      tf.add(tf.mul(cb!, G_CB), tf.mul(cr!, G_CR)),
      tf.mul(cb!, B_CB),
    ], 3);
    // Per channel, how far the chroma may go before leaving [0, 1]: (1 − y)/Δ upwards, y/|Δ|
    // downwards; the pixel's chroma is scaled by the smallest such factor (at most 1). Written
    // with relu rather than a comparison, which has no gradient in TensorFlow.js.
    const yy = tf.clipByValue(y, 0, 1);
    const up = tf.div(tf.sub(1, yy), tf.maximum(tf.relu(delta), 1e-12));
    const down = tf.div(yy, tf.maximum(tf.relu(tf.neg(delta)), 1e-12));
    const limit = tf.minimum(up, down);
    const scale = tf.minimum(tf.min(limit, 3, true), 1);
    return tf.add(y, tf.mul(delta, scale)) as tf.Tensor4D;
  });
}

/**
 * Arguments of {@linkcode ChromaToRgb}.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as tf from "@tensorflow/tfjs-core";
 * import { initBackend } from "@perceptual/loss/backend";
 * import { ChromaToRgb, type ChromaToRgbArgs } from "@perceptual/loss/unet";
 * await initBackend("cpu");
 * const [chroma, dark] = [tf.tensor4d([0, 0.2], [1, 1, 1, 2]), tf.fill([1, 1, 1, 1], 0.1)];
 * const expected = new Map([[true, ["0.201", "0.049", "0.100"]], [false, ["0.296", "0.000", "0.100"]]]);
 * for (const lumaRelative of [true, false]) {
 *   const args: ChromaToRgbArgs = { lumaRelative }; // true: chroma in units of 4·y·(1 − y)
 *   const rgb = new ChromaToRgb(args).apply([chroma, dark]) as tf.Tensor;
 *   assert.deepEqual(
 *     Array.from(await rgb.data(), (v) => v.toFixed(3)),
 *     expected.get(lumaRelative),
 *   );
 *   rgb.dispose();
 * }
 * tf.dispose([chroma, dark]);
 * ```
 */
export interface ChromaToRgbArgs extends LayerArgs {
  /**
   * Read the chroma in units of 4·y·(1 − y) (default true): the network's chroma is scaled by
   * how much room the luma leaves (1 at mid grey, → 0 at black and white), so one output value
   * means a similar saturation at every brightness, as in natural photos, instead of a
   * saturated cast in the shadows. Zero stays zero, and the luma is kept either way.
   */
  readonly lumaRelative?: boolean;
}

/**
 * The layer form of {@linkcode chromaToRgb}: inputs `[chroma, luma]`, output RGB. No weights.
 * Serializes as `PerceptualChromaToRgb`, so a saved colouriser loads and outputs RGB.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as tfl from "@tensorflow/tfjs-layers";
 * import { ChromaToRgb } from "@perceptual/loss/unet";
 * const c = tfl.input({ shape: [8, 8, 2] });
 * const y = tfl.input({ shape: [8, 8, 1] });
 * const rgb = new ChromaToRgb({}).apply([c, y]) as tfl.SymbolicTensor;
 * assert.deepEqual(rgb.shape, [null, 8, 8, 3]);
 * ```
 */
export class ChromaToRgb extends tfl.layers.Layer {
  /** The name this layer serializes under. */
  static className = "PerceptualChromaToRgb";
  /** Whether the chroma is read relative to the luma's room (see {@linkcode ChromaToRgbArgs}). */
  readonly lumaRelative: boolean;

  /** Build the layer. */
  constructor(args: ChromaToRgbArgs = {}) {
    super(args);
    this.lumaRelative = args.lumaRelative ?? true;
  }

  /** RGB: the chroma's shape with 3 channels. */
  override computeOutputShape(inputShape: tfl.Shape | tfl.Shape[]): tfl.Shape {
    const chroma = firstShape(inputShape);
    return [...chroma.slice(0, -1), 3];
  }

  /** {@linkcode chromaToRgb} of `[chroma, luma]`. */
  override call(inputs: tf.Tensor | tf.Tensor[], _kwargs: Kwargs): tf.Tensor {
    const list = Array.isArray(inputs) ? inputs : [inputs];
    if (list.length !== 2) {
      throw new RangeError("ChromaToRgb needs two inputs, [chroma, luma]");
    }
    const [chroma, y] = list as [tf.Tensor4D, tf.Tensor4D];
    return tf.tidy(() => {
      const room = tf.mul(tf.mul(y, tf.sub(1, y)), 4);
      return chromaToRgb(y, this.lumaRelative ? tf.mul(chroma, room) as tf.Tensor4D : chroma);
    });
  }

  /** `lumaRelative`, plus the base layer's fields. */
  override getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig(), lumaRelative: this.lumaRelative };
  }
}
