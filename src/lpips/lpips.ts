/**
 * LPIPS v0.1 as a metric and a differentiable distance: `lpips({ net })` → `distance(x, y)`.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
import { DisposedError, type Owner } from "../lifetime/mod.ts";
import { checkInput } from "../network/preprocess.ts";
import { nearestName } from "../_internal/did_you_mean.ts";
import { lpipsFromFeatures } from "./_lpips_math.ts";
import { LpipsShapeMismatchError } from "./errors.ts";
import {
  checkLpipsOptions,
  type LpipsNetwork,
  lpipsNetwork,
  type LpipsNetworkOptions,
} from "./lpips_network.ts";

/**
 * Options of {@linkcode Lpips.distance}.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import type { DistanceOptions } from "@perceptual/loss/lpips";
 * const map: DistanceOptions = { spatial: true };
 * assert.equal(map.spatial, true); // distance() then returns a [n, h, w, 1] map
 * ```
 */
export interface DistanceOptions {
  /**
   * Return the per-pixel map [N, H, W, 1] instead of per-image distances: each tap's map
   * upsampled to the input size (bilinear, as lpips' `spatial=True`) and summed. Its spatial mean
   * is close to, not exactly, the distance.
   */
  readonly spatial?: boolean;
}

/**
 * A loaded LPIPS metric. Owns its network: dispose it (or `using`).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as tf from "@tensorflow/tfjs-core";
 * import { initBackend } from "@perceptual/loss/backend";
 * import { lpips } from "@perceptual/loss/lpips";
 * await initBackend("cpu");
 * using metric = await lpips({ net: "alex" });
 * const x = tf.fill([2, 32, 32, 3], 0.5) as tf.Tensor4D;
 * const y = tf.fill([2, 32, 32, 3], 0.6) as tf.Tensor4D;
 * assert.deepEqual(await metric.scores(x, x), [0, 0]);
 * assert.equal((await metric.scores(x, y)).length, 2);
 * tf.dispose([x, y]);
 * ```
 */
export interface Lpips extends Owner {
  /** The trunk and lin weights, for loss terms that share its forward pass. */
  readonly network: LpipsNetwork;
  /**
   * Per-image LPIPS of `x` against `y` (NHWC float32 in [0, 1], same shape, 3 channels or 1 for
   * grey), as a [N] tensor the caller owns; differentiable with respect to both.
   *
   * @throws {LpipsShapeMismatchError} when the shapes differ.
   * @throws {LpipsInputTooSmallError} below the net's minimum size (alex 31, squeeze 17).
   * @throws {NetworkInputError} for a wrong rank, channel count or dtype.
   */
  distance(x: tf.Tensor4D, y: tf.Tensor4D, options?: { readonly spatial?: false }): tf.Tensor1D;
  /** The per-pixel map [N, H, W, 1] (see {@linkcode DistanceOptions.spatial}). */
  distance(x: tf.Tensor4D, y: tf.Tensor4D, options: { readonly spatial: true }): tf.Tensor4D;
  /**
   * Per-image distances read back as numbers (asynchronously, so it works on every backend,
   * WebGPU included); no tensor is left behind. For metric tables.
   */
  scores(x: tf.Tensor4D, y: tf.Tensor4D): Promise<number[]>;
}

/**
 * Options of {@linkcode lpips}: those of `lpipsNetwork` (`net`, `weights`, input checks).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import type { LpipsOptions } from "@perceptual/loss/lpips";
 * const opts: LpipsOptions = { net: "alex" };
 * assert.equal(opts.net, "alex");
 * ```
 */
export type LpipsOptions = LpipsNetworkOptions;

class LpipsMetric implements Lpips {
  readonly network: LpipsNetwork;
  #disposed = false;

  constructor(network: LpipsNetwork) {
    this.network = network;
  }

  distance(x: tf.Tensor4D, y: tf.Tensor4D, options?: { readonly spatial?: false }): tf.Tensor1D;
  distance(x: tf.Tensor4D, y: tf.Tensor4D, options: { readonly spatial: true }): tf.Tensor4D;
  distance(x: tf.Tensor4D, y: tf.Tensor4D, options: DistanceOptions = {}): tf.Tensor {
    if (this.#disposed) throw new DisposedError(`lpips(${this.network.net})`);
    if (options === null || typeof options !== "object") {
      throw new TypeError("lpips.distance: options must be an object like { spatial: true }");
    }
    for (const k of Object.keys(options)) {
      if (k !== "spatial") {
        const s = nearestName(k, ["spatial"]);
        throw new TypeError(
          `lpips.distance: unknown option "${k}"` +
            (s === undefined ? " (options: spatial)" : `; did you mean "${s}"?`),
        );
      }
    }
    const name = this.network.name;
    const checks = { checkRange: false, rangeTolerance: 0.5, minSize: 1 };
    checkInput(name, x, "[0,1]", checks);
    checkInput(name, y, "[0,1]", checks);
    if (x.shape.join(",") !== y.shape.join(",")) {
      throw new LpipsShapeMismatchError(x.shape, y.shape);
    }
    const taps = this.network.layers;
    const lins = this.network.allLinWeights();
    return tf.tidy(() => {
      const fx = this.network.extract(x, taps);
      const fy = this.network.extract(y, taps);
      return options.spatial === true
        ? lpipsFromFeatures(fx, fy, lins, true, [x.shape[1], x.shape[2]])
        : lpipsFromFeatures(fx, fy, lins);
    });
  }

  async scores(x: tf.Tensor4D, y: tf.Tensor4D): Promise<number[]> {
    const d = this.distance(x, y);
    try {
      return Array.from(await d.data());
    } finally {
      d.dispose();
    }
  }

  dispose(): void {
    if (this.#disposed) return;
    this.#disposed = true;
    this.network.dispose();
  }

  [Symbol.dispose](): void {
    this.dispose();
  }
}

/**
 * Load LPIPS v0.1 (Zhang et al., CVPR 2018) on the AlexNet (default) or SqueezeNet 1.1 trunk,
 * with the weights shipped in this package (SHA-256 checked) or from `weights`. On the lpips
 * repository's example images it gives 0.722 / 0.138 (alex), as published.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as tf from "@tensorflow/tfjs-core";
 * import { initBackend } from "@perceptual/loss/backend";
 * import { lpips } from "@perceptual/loss/lpips";
 * await initBackend("cpu");
 * using metric = await lpips({ net: "alex" });
 * const x = tf.randomUniform([1, 48, 48, 3], 0, 1, "float32", 1) as tf.Tensor4D;
 * const y = tf.clipByValue(tf.add(x, 0.1), 0, 1) as tf.Tensor4D;
 * const g = tf.grad((a: tf.Tensor) => tf.sum(metric.distance(a as tf.Tensor4D, y)))(x);
 * assert.deepEqual(g.shape, [1, 48, 48, 3]);
 * tf.dispose([x, y, g]);
 * ```
 */
export async function lpips(options: LpipsOptions = {}): Promise<Lpips> {
  checkLpipsOptions("lpips", options);
  return new LpipsMetric(await lpipsNetwork(options));
}
