/**
 * Where conv weights come from: the interface every loader implements.
 *
 * @module
 */
import type { VggConvSpec } from "./_architecture.ts";

/** One conv layer's weights as stored by Keras and tfjs: kernel HWIO [3,3,in,out], bias [out]. */
export interface ConvWeights {
  /** Kernel values, row-major [3, 3, in, out]. */
  readonly kernel: Float32Array;
  /** Bias values [out]. */
  readonly bias: Float32Array;
}

/**
 * A source of VGG conv weights, read layer by layer so that only the layers needed are read.
 *
 * @example
 * ```ts
 * import type { WeightSource } from "./_weight_source.ts";
 * import assert from "node:assert/strict";
 * async function first(src: WeightSource): Promise<number> {
 *   const w = await src.read({ kind: "conv", name: "block1_conv1", inChannels: 3, outChannels: 64 });
 *   return w.bias[0]!;
 * }
 * const constant: WeightSource = {
 *   description: "constant", file: "(memory)", absent: () => undefined, close() {},
 *   read: (s) => Promise.resolve({
 *     kernel: new Float32Array(9 * s.inChannels * s.outChannels),
 *     bias: new Float32Array(s.outChannels).fill(0.25),
 *   }),
 * };
 * assert.equal(await first(constant), 0.25);
 * ```
 */
export interface WeightSource {
  /** Short description for network names, e.g. `imagenet` or the path. */
  readonly description: string;
  /** The file (or model.json) that errors should name. */
  readonly file: string;
  /** `undefined` when the source has the layer's weights, else why it does not. */
  absent(layer: string): string | undefined;
  /** Read and check one layer (throws `WeightFileError` / `WeightShapeError`). */
  read(spec: VggConvSpec): Promise<ConvWeights>;
  /** Release files and memory held by the source. */
  close(): void;
}
