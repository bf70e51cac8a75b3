/**
 * Errors of the loss-network contract: a layer it does not have, an input it cannot take.
 *
 * @module
 */
import { PerceptualError } from "../errors/perceptual_error.ts";

/**
 * A layer name the network does not have: misspelt, of another architecture, not in the model a
 * network was wrapped around, or deeper than a truncated network was built. Thrown by networks
 * (`extract`, `depthOf`, `vgg16({ upTo })`) and by losses that ask for such a layer.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { UnknownLayerError } from "@perceptual/loss/network";
 * assert.match(
 *   new UnknownLayerError("block2_cov2", "vgg16", "block2_conv2").message,
 *   /block2_cov2/,
 * );
 * ```
 */
export class UnknownLayerError extends PerceptualError {
  /** The name asked for. */
  readonly layer: string;
  /**
   * Build the error; `suggestion` is the nearest valid name, if any, and `term` the loss term
   * that asked for the layer, when a loss did.
   */
  constructor(layer: string, network: string, suggestion?: string, term?: string) {
    super(
      (term === undefined ? "" : `${term}: `) +
        `"${layer}" is not a layer of ${network}` +
        (suggestion === undefined ? "" : `; did you mean "${suggestion}"?`) +
        (/^vgg1[69]/.test(network)
          ? " (Keras names like block2_conv2 / block1_pool, or aliases like relu2_2 / pool1;"
          : " (") +
        " a truncated network only has the layers it was built up to)",
    );
    this.layer = layer;
  }
}

/**
 * An input tensor the network cannot take: wrong rank, channel count, dtype, or values clearly
 * outside the range the caller declared.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { NetworkInputError } from "@perceptual/loss/network";
 * assert.match(
 *   new NetworkInputError("vgg16", "has 4 channels; pass 1 (grey) or 3 (RGB)").message,
 *   /vgg16/,
 * );
 * ```
 */
export class NetworkInputError extends PerceptualError {
  /** The network's name. */
  readonly network: string;
  /** What is wrong with the input, and the fix. */
  readonly problem: string;
  /** Build the error: `problem` says what is wrong and how to fix it. */
  constructor(network: string, problem: string) {
    super(`${network}.extract: the input ${problem}`);
    this.network = network;
    this.problem = problem;
  }
}

/**
 * An input whose VALUES the network cannot take: NaN or infinite, or clearly outside the declared
 * range. Carries the smallest and largest value found.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { InputRangeError } from "@perceptual/loss/network";
 * const e = new InputRangeError("vgg16", "has values in [0, 200], outside [0,1]", 0, 200);
 * assert.equal(e.max, 200);
 * ```
 */
export class InputRangeError extends NetworkInputError {
  /** The smallest value of the input (NaN when it holds NaN). */
  readonly min: number;
  /** The largest value of the input. */
  readonly max: number;
  /** Build the error from the problem text and the values found. */
  constructor(network: string, problem: string, min: number, max: number) {
    super(network, problem);
    this.min = min;
    this.max = max;
  }
}
