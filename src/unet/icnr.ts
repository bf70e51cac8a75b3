/**
 * ICNR initialisation (Aitken et al. 2017, "Checkerboard artifact free sub-pixel convolution"):
 * the conv before a pixel shuffle starts out as nearest-neighbour upsampling of an ordinary
 * He-initialised conv, so a freshly built network has no checkerboard.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
import * as tfl from "@tensorflow/tfjs-layers";

type Initializer = ReturnType<typeof tfl.initializers.ones>;

// tfjs-layers checks `instanceof Initializer` but does not export the class: take it from a
// built-in initializer, so ICNR passes that check and serializes like the stock ones.
const InitializerBase = Object.getPrototypeOf(tfl.initializers.zeros().constructor) as
  & (abstract new () => Initializer)
  & {
    className: string;
    fromConfig<T extends tf.serialization.Serializable>(
      cls: tf.serialization.SerializableConstructor<T>,
      config: tf.serialization.ConfigDict,
    ): T;
  };

/**
 * Arguments of {@linkcode ICNR}.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { initBackend } from "@perceptual/loss/backend";
 * import { ICNR, type ICNRArgs } from "@perceptual/loss/browser";
 * await initBackend("cpu");
 * const args: ICNRArgs = { scale: 2, seed: 3 }; // for a conv followed by a ×2 pixel shuffle
 * const kernel = new ICNR(args).apply([3, 3, 4, 8]); // 8 = 2 filters × r² = 4
 * assert.equal(kernel.size, 288);
 * assert.equal(new Set(kernel.dataSync()).size, 72); // each value r² = 4 times
 * kernel.dispose();
 * ```
 */
export interface ICNRArgs {
  /** The pixel-shuffle factor r that follows the conv. */
  readonly scale: number;
  /** Seed of the He-normal sub-kernel; `null` or absent for random. */
  readonly seed?: number | null;
}

/**
 * Kernel initializer for a conv of `[k, k, in, c·r²]` followed by a pixel shuffle of factor r:
 * one He-normal `[k, k, in, c]` kernel repeated r² times along the output axis. With
 * TensorFlow's DCR channel order (see `pixelShuffle`), channel `q·c + o` feeds sub-pixel q of
 * output channel o, so tiling makes every sub-pixel of a channel equal. Serializes as
 * `PerceptualICNR`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as tf from "@tensorflow/tfjs-core";
 * import { initBackend } from "@perceptual/loss/backend";
 * import { ICNR } from "@perceptual/loss/browser";
 * await initBackend("cpu");
 * const k = new ICNR({ scale: 2, seed: 1 }).apply([3, 3, 8, 16]);
 * assert.deepEqual(k.shape, [3, 3, 8, 16]);
 * ```
 */
export class ICNR extends InitializerBase {
  /** The name this initializer serializes under. */
  static override className = "PerceptualICNR";
  /** The pixel-shuffle factor. */
  readonly scale: number;
  /** The seed, or null. */
  readonly seed: number | null;

  /** Build the initializer. */
  constructor(args: ICNRArgs) {
    super();
    if (!Number.isInteger(args.scale) || args.scale < 1) {
      throw new RangeError(`ICNR: scale must be a positive integer, got ${args.scale}`);
    }
    this.scale = args.scale;
    this.seed = args.seed ?? null;
  }

  /** A `[k, k, in, c·r²]` kernel whose r² blocks of c output channels are identical. */
  apply(shape: number[], dtype?: tf.DataType): tf.Tensor {
    const r2 = this.scale * this.scale;
    const out = shape[shape.length - 1]!;
    if (shape.length !== 4 || out % r2 !== 0) {
      throw new RangeError(
        `ICNR(scale ${this.scale}) needs a [k, k, in, c·${r2}] conv kernel, got [${shape}]`,
      );
    }
    const sub = [shape[0]!, shape[1]!, shape[2]!, out / r2];
    const he = tfl.initializers.heNormal(this.seed === null ? {} : { seed: this.seed });
    return tf.tidy(() => tf.tile(he.apply(sub, dtype), [1, 1, 1, r2]));
  }

  /** Scale and seed. */
  override getConfig(): tf.serialization.ConfigDict {
    return { scale: this.scale, seed: this.seed };
  }
}
