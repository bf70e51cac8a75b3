/**
 * The VGG network object behind `vgg16` / `vgg19`: frozen conv layers over loaded weights, the
 * single pass to the deepest tap, the frozen-encoder export. Internal: users get one from
 * `vgg16` / `vgg19`.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
import { DisposedError } from "../lifetime/mod.ts";
import type { VggOpSpec } from "./_architecture.ts";
import { type FrozenConv, frozenConvRelu } from "./_conv.ts";
import { F32_CONVS, frozenSegment, type SegmentLayer } from "./_frozen_segment.ts";
import { BF16_CONVS } from "./_bf16_convs.ts";
import type { Precision } from "../backend/native/precision.ts";
import { LayerNotLoadedError } from "./errors.ts";
import { UnknownLayerError } from "../network/errors.ts";
import { nearestName } from "../_internal/did_you_mean.ts";
import {
  canonicalVggLayer,
  vggAlias,
  type VggArchitecture,
  type VggLayerNameOf,
  type VggLayerOf,
  vggLayers,
} from "./layers.ts";
import type { InputConvention } from "../network/loss_network.ts";
import {
  applyAffine,
  channelAffine,
  checkInput,
  type InputCheckSettings,
} from "../network/preprocess.ts";
import type { ConvWeights } from "./_weight_source.ts";
import type { FrozenConvWeights, FrozenEncoder } from "../network/frozen_encoder.ts";
import type { VggNetwork } from "./vgg_network.ts";

/** What {@linkcode createVggNetwork} needs: the loaded prefix and its weights. */
export interface VggParts<A extends VggArchitecture> {
  /** Which VGG. */
  readonly architecture: A;
  /** The loaded prefix of its layers, in order. */
  readonly ops: readonly VggOpSpec[];
  /** Weights of every conv in `ops`, by layer name (RGB-ordered first kernel, as Keras stores). */
  readonly weights: ReadonlyMap<string, ConvWeights>;
  /** The input convention. */
  readonly convention: InputConvention;
  /** Where the weights came from, for the network's name. */
  readonly weightsSource: string;
  /** Why the prefix ends where it does, if before the last layer. */
  readonly truncation: string | undefined;
  /** Input check settings. */
  readonly checks: InputCheckSettings;
  /** The arithmetic of the convs (default `"f32"`); the caller checked that it can run. */
  readonly precision?: Precision;
}

interface ConvLayer {
  readonly kernel: tf.Tensor4D;
  readonly bias: tf.Tensor1D;
  readonly op: FrozenConv;
}

/** Reverse the input-channel axis of an HWIO kernel (RGB → BGR folded into the first conv). */
function flipInputChannels(kernel: Float32Array, cin: number, cout: number): Float32Array {
  const out = new Float32Array(kernel.length);
  for (let k = 0; k < 9; k++) {
    for (let c = 0; c < cin; c++) {
      const src = (k * cin + c) * cout;
      const dst = (k * cin + (cin - 1 - c)) * cout;
      out.set(kernel.subarray(src, src + cout), dst);
    }
  }
  return out;
}

class VggNet<A extends VggArchitecture> implements VggNetwork<A> {
  readonly name: string;
  readonly architecture: A;
  readonly layers: readonly VggLayerOf<A>[];
  readonly inputConvention: InputConvention;
  readonly weightsSource: string;
  readonly truncation: string | undefined;
  readonly precision: Precision;
  readonly #all: readonly VggLayerOf<A>[];
  readonly #ops: readonly VggOpSpec[];
  readonly #convs = new Map<string, ConvLayer>();
  readonly #scale: tf.Tensor1D;
  readonly #offset: tf.Tensor1D;
  readonly #checkRange: boolean;
  readonly #tolerance: number;
  #disposed = false;

  constructor(parts: VggParts<A>) {
    this.architecture = parts.architecture;
    this.#all = vggLayers(parts.architecture);
    this.#ops = parts.ops;
    this.layers = parts.ops.map((o) => o.name as VggLayerOf<A>);
    this.inputConvention = parts.convention;
    this.weightsSource = parts.weightsSource;
    this.truncation = parts.truncation;
    this.precision = parts.precision ?? "f32";
    const last = this.layers.at(-1);
    this.name = `${parts.architecture}(${parts.weightsSource}` +
      (last !== this.#all.at(-1) ? `, to ${last}` : "") +
      (this.precision === "f32" ? "" : `, ${this.precision}`) + ")";
    this.#checkRange = parts.checks.checkRange ?? false;
    this.#tolerance = parts.checks.rangeTolerance ?? 0.5;
    const affine = channelAffine(parts.convention);
    const made: tf.Tensor[] = [];
    try {
      this.#scale = tf.tensor1d([...affine.scale]);
      made.push(this.#scale);
      this.#offset = tf.tensor1d([...affine.offset]);
      made.push(this.#offset);
      let first = true;
      for (const op of parts.ops) {
        if (op.kind !== "conv") continue;
        const w = parts.weights.get(op.name)!;
        const k = first && affine.bgr
          ? flipInputChannels(w.kernel, op.inChannels, op.outChannels)
          : w.kernel;
        first = false;
        const kernel = tf.tensor4d(k, [3, 3, op.inChannels, op.outChannels]);
        made.push(kernel);
        const bias = tf.tensor1d(w.bias);
        made.push(bias);
        this.#convs.set(op.name, { kernel, bias, op: frozenConvRelu(kernel, bias) });
      }
    } catch (e) {
      tf.dispose(made);
      throw e;
    }
  }

  depthOf(layer: VggLayerNameOf<A>): number {
    const c = canonicalVggLayer(this.architecture, layer);
    if (c === undefined) throw this.#unknown(layer);
    return this.#all.indexOf(c);
  }

  #unknown(layer: string): UnknownLayerError {
    const names = this.#all.flatMap((l) => [l, vggAlias(l)!]);
    return new UnknownLayerError(layer, this.name, nearestName(layer, names));
  }

  extract<K extends VggLayerNameOf<A>>(
    x: tf.Tensor4D,
    layers: readonly K[],
  ): Record<K, tf.Tensor4D> {
    if (this.#disposed) throw new DisposedError(this.name);
    const wanted = new Map<number, K[]>();
    let deepest = -1;
    for (const name of layers) {
      const c = canonicalVggLayer(this.architecture, name);
      if (c === undefined) throw this.#unknown(name);
      const i = this.#all.indexOf(c);
      if (i >= this.layers.length) {
        throw new LayerNotLoadedError(
          name,
          this.name,
          this.layers.at(-1)!,
          this.truncation ?? "built that way",
        );
      }
      const list = wanted.get(i) ?? [];
      if (!list.includes(name)) list.push(name);
      wanted.set(i, list);
      deepest = Math.max(deepest, i);
    }
    if (deepest < 0) return {} as Record<K, tf.Tensor4D>;
    let pools = 0;
    for (let i = 0; i <= deepest; i++) if (this.#ops[i]!.kind === "pool") pools++;
    checkInput(this.name, x, this.inputConvention.range, {
      checkRange: this.#checkRange,
      rangeTolerance: this.#tolerance,
      minSize: 2 ** pools,
    });
    return tf.tidy(() => {
      const out = {} as Record<K, tf.Tensor4D>;
      let h = applyAffine(x, this.#scale, this.#offset);
      // The layers between two requested taps run as one op that keeps only what its backward
      // needs (see _frozen_segment.ts): far less memory per training step.
      let pending: SegmentLayer[] = [];
      for (let i = 0; i <= deepest; i++) {
        const op = this.#ops[i]!;
        if (op.kind === "conv") {
          const c = this.#convs.get(op.name)!;
          pending.push({ kind: "conv", kernel: c.kernel, bias: c.bias });
        } else pending.push({ kind: "pool" });
        const names = wanted.get(i);
        if (names === undefined) continue;
        h = frozenSegment(pending, this.precision === "bf16" ? BF16_CONVS : F32_CONVS)(h);
        pending = [];
        // Each requested name gets its own tensor: disposing one must not break another.
        names.forEach((name, j) => {
          out[name] = j === 0 ? h : tf.clone(h);
        });
      }
      return out;
    });
  }

  async encoder(upTo: VggLayerNameOf<A>, calibration?: tf.Tensor4D): Promise<FrozenEncoder> {
    if (this.#disposed) throw new DisposedError(this.name);
    const last = canonicalVggLayer(this.architecture, upTo);
    if (last === undefined || !/_conv\d$/.test(last)) {
      throw last === undefined ? this.#unknown(upTo) : new RangeError(
        `${this.name}.encoder: ${upTo} is a pooling layer; end the encoder at a conv layer ` +
          `(e.g. ${this.#all[this.#all.indexOf(last) - 1]})`,
      );
    }
    if (!this.layers.includes(last)) {
      throw new LayerNotLoadedError(
        upTo,
        this.name,
        this.layers.at(-1)!,
        this.truncation ?? "built that way",
      );
    }
    const stages: FrozenConvWeights[][] = [];
    for (const op of this.#ops) {
      if (op.kind !== "conv") continue;
      const block = Number(/^block(\d)/.exec(op.name)![1]);
      const c = this.#convs.get(op.name)!;
      (stages[block - 1] ??= []).push({
        name: op.name,
        kernel: await c.kernel.data() as Float32Array,
        bias: await c.bias.data() as Float32Array,
        inChannels: op.inChannels,
        outChannels: op.outChannels,
      });
      if (op.name === last) break;
    }
    const lastConvs = stages.map((s) => s.at(-1)!.name);
    let skipScales = stages.map(() => 1);
    if (calibration !== undefined) {
      const f = this.extract(calibration, lastConvs as VggLayerNameOf<A>[]);
      const means = tf.tidy(() => lastConvs.map((l) => tf.mean(f[l as VggLayerNameOf<A>])));
      tf.dispose(Object.values(f));
      const values = await Promise.all(means.map(async (m) => (await m.data())[0]!));
      tf.dispose(means);
      // A block that is all zeros on these photos keeps scale 1 rather than dividing by 0.
      skipScales = values.map((v) => v > 0 && Number.isFinite(v) ? 1 / v : 1);
    }
    const affine = channelAffine(this.inputConvention);
    return {
      source: this.name,
      inputScale: [...affine.scale],
      inputOffset: [...affine.offset],
      stages,
      skipScales,
    };
  }

  dispose(): void {
    if (this.#disposed) return;
    this.#disposed = true;
    for (const c of this.#convs.values()) {
      c.kernel.dispose();
      c.bias.dispose();
    }
    this.#convs.clear();
    this.#scale.dispose();
    this.#offset.dispose();
  }

  [Symbol.dispose](): void {
    this.dispose();
  }
}

/**
 * Make a network from loaded weights (they are copied into tensors the network owns).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { initBackend } from "@perceptual/loss/backend";
 * import { vggOps } from "./_architecture.ts";
 * import { heConv } from "./_random_weights.ts";
 * import { createVggNetwork } from "./_vgg_net.ts";
 * await initBackend("cpu");
 * const ops = vggOps("vgg16").slice(0, 2);
 * const weights = new Map(ops.map((o) => [o.name, heConv(0, o as never)]));
 * using net = createVggNetwork({
 *   architecture: "vgg16", ops, weights, weightsSource: "random:0", truncation: undefined,
 *   convention: { preprocessing: "caffe", range: "[0,1]" }, checks: {},
 * });
 * assert.equal(net.name, "vgg16(random:0, to block1_conv2)");
 * ```
 */
export function createVggNetwork<A extends VggArchitecture>(parts: VggParts<A>): VggNetwork<A> {
  return new VggNet(parts);
}
