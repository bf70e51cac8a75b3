/**
 * The LPIPS v0.1 trunks (AlexNet, SqueezeNet 1.1) as a {@linkcode LossNetwork}: one forward pass
 * to the deepest requested tap, LPIPS' input scaling inside, and the learned lin weights.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
import { DisposedError } from "../lifetime/mod.ts";
import { UnknownLayerError } from "../network/errors.ts";
import type { InputConvention, LossNetwork } from "../network/loss_network.ts";
import { applyAffine, checkInput, type InputCheckSettings } from "../network/preprocess.ts";
import { nearestName } from "../_internal/did_you_mean.ts";
import {
  LPIPS_SLICES,
  type LpipsNet,
  type LpipsOp,
  minInputSize,
  tapSizes,
} from "./_architecture.ts";
import { frozenConvRelu, type FrozenOp, maxPool3s2 } from "./_conv.ts";
import { LpipsInputTooSmallError } from "./errors.ts";
import { MANIFEST_FILE, readLpipsWeights } from "./_weights.ts";
import { pathKind } from "../_internal/fs.ts";
import { defaultCacheDir } from "../vgg/download.ts";

export type { LpipsNet } from "./_architecture.ts";

/**
 * The name of an LPIPS tap: the output of one slice of the trunk (`relu1`…`relu5` on AlexNet,
 * `relu1`…`relu7` on SqueezeNet 1.1).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import type { LpipsTap } from "@perceptual/loss/lpips";
 * const shallow: LpipsTap = "relu2";
 * assert.equal(shallow, "relu2");
 * ```
 */
export type LpipsTap = "relu1" | "relu2" | "relu3" | "relu4" | "relu5" | "relu6" | "relu7";

/**
 * The taps of each net, in forward order.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { LPIPS_TAPS } from "@perceptual/loss/lpips";
 * assert.equal(LPIPS_TAPS.alex.length, 5);
 * assert.equal(LPIPS_TAPS.squeeze.length, 7);
 * ```
 */
export const LPIPS_TAPS: Readonly<Record<LpipsNet, readonly LpipsTap[]>> = {
  alex: ["relu1", "relu2", "relu3", "relu4", "relu5"],
  squeeze: ["relu1", "relu2", "relu3", "relu4", "relu5", "relu6", "relu7"],
};

/** LPIPS' ScalingLayer: (x − shift) / scale on inputs in [−1, 1]. */
const SHIFT = [-0.030, -0.088, -0.188] as const;
const SCALE = [0.458, 0.448, 0.450] as const;

/**
 * What {@linkcode LpipsNetwork}'s constructor takes: loaded, checked weights (as
 * `lpipsNetwork` reads them). Arrays are row-major, kernels [kH, kW, Cin, Cout].
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import type { LpipsNetworkParts } from "@perceptual/loss/lpips";
 * const describe = (p: LpipsNetworkParts): string => `${p.net} from ${p.source}`;
 * assert.equal(describe({ net: "alex", source: "lpips/alex", arrays: new Map() }), "alex from lpips/alex");
 * ```
 */
export interface LpipsNetworkParts {
  /** Which trunk. */
  readonly net: LpipsNet;
  /** Where the weights came from (for the name). */
  readonly source: string;
  /** Every array the net needs, by name (`conv1/kernel`, `fire2/squeeze/bias`, `lin/relu1`). */
  readonly arrays: ReadonlyMap<
    string,
    { readonly shape: readonly number[]; readonly values: Float32Array }
  >;
  /** Input checks. */
  readonly checks?: InputCheckSettings;
}

/**
 * An LPIPS v0.1 trunk. Inputs are NHWC float32 images in [0, 1] with 3 channels (or 1: grey,
 * repeated to RGB); LPIPS' own scaling ([0,1] → [−1,1] → (x − shift) / scale) happens inside
 * `extract`, so the input convention reads `preprocessing: "none"` (nothing for the caller to
 * do). The taps are the post-ReLU outputs LPIPS compares. Owns its weights: dispose it (or
 * `using`). Build it with {@linkcode lpipsNetwork} or `lpips(...).network`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as tf from "@tensorflow/tfjs-core";
 * import { initBackend } from "@perceptual/loss/backend";
 * import { lpipsNetwork } from "@perceptual/loss/lpips";
 * await initBackend("cpu");
 * using net = await lpipsNetwork({ net: "alex" });
 * const f = net.extract(tf.zeros([1, 64, 64, 3]), ["relu1", "relu2"]);
 * assert.equal(net.key, "lpips-alex");
 * assert.deepEqual(f.relu1.shape, [1, 15, 15, 64]);
 * assert.deepEqual(f.relu2.shape, [1, 7, 7, 192]);
 * assert.deepEqual(net.linWeights("relu1").shape, [64]);
 * tf.dispose(Object.values(f));
 * ```
 */
export class LpipsNetwork implements LossNetwork<LpipsTap> {
  /** A readable name, e.g. `lpips-alex(v0.1)`. */
  readonly name: string;
  /** A stable key of the kind of network (same weights ⇒ same key). */
  readonly key: "lpips-alex" | "lpips-squeeze";
  /** Which trunk. */
  readonly net: LpipsNet;
  /** The taps, in forward order. */
  readonly layers: readonly LpipsTap[];
  /** Images in [0, 1]; LPIPS' scaling is done inside. */
  readonly inputConvention: InputConvention = { preprocessing: "none", range: "[0,1]" };
  readonly #slices: readonly (readonly FrozenOp[])[];
  readonly #owned: tf.Tensor[] = [];
  readonly #lins: Map<LpipsTap, tf.Tensor1D> = new Map();
  readonly #scale: tf.Tensor1D;
  readonly #offset: tf.Tensor1D;
  readonly #checks: InputCheckSettings;
  #disposed = false;

  /** Build the network from checked weights (copied into tensors it owns). */
  constructor(parts: LpipsNetworkParts) {
    this.net = parts.net;
    this.key = `lpips-${parts.net}`;
    this.name = `lpips-${parts.net}(${parts.source})`;
    this.layers = LPIPS_TAPS[parts.net];
    this.#checks = parts.checks ?? {};
    const tensor = (name: string): tf.Tensor => {
      const a = parts.arrays.get(name);
      if (a === undefined) throw new RangeError(`LpipsNetwork: weight ${name} is missing`);
      const t = tf.tensor(a.values, [...a.shape], "float32");
      this.#owned.push(t);
      return t;
    };
    try {
      // x ∈ [0,1] → 2x − 1 → (· − shift) / scale = x·(2/scale) + (−1 − shift)/scale
      this.#scale = tf.tensor1d(SCALE.map((s) => 2 / s));
      this.#owned.push(this.#scale);
      this.#offset = tf.tensor1d(SCALE.map((s, c) => (-1 - SHIFT[c]!) / s));
      this.#owned.push(this.#offset);
      const conv = (name: string, op: { size: number; stride: number; pad: number }): FrozenOp =>
        frozenConvRelu(
          tensor(`${name}/kernel`) as tf.Tensor4D,
          tensor(`${name}/bias`) as tf.Tensor1D,
          op,
        );
      const build = (op: LpipsOp): FrozenOp => {
        switch (op.kind) {
          case "conv":
            return conv(op.name, op);
          case "pool":
            return (x) => maxPool3s2(x, op.ceil);
          case "fire": {
            const one = { size: 1, stride: 1, pad: 0 };
            const s = conv(`${op.name}/squeeze`, one);
            const e1 = conv(`${op.name}/expand1x1`, one);
            const e3 = conv(`${op.name}/expand3x3`, { size: 3, stride: 1, pad: 1 });
            return (x) => {
              const h = s(x);
              return tf.concat([e1(h), e3(h)], 3);
            };
          }
        }
      };
      this.#slices = LPIPS_SLICES[parts.net].map((ops) => ops.map(build));
      for (const tap of this.layers) this.#lins.set(tap, tensor(`lin/${tap}`) as tf.Tensor1D);
    } catch (e) {
      tf.dispose(this.#owned);
      throw e;
    }
  }

  /** Position of a tap in forward order (0 for `relu1`). */
  depthOf(layer: LpipsTap): number {
    const i = this.layers.indexOf(layer);
    if (i < 0) {
      throw new UnknownLayerError(
        String(layer),
        this.name,
        nearestName(String(layer), this.layers),
      );
    }
    return i;
  }

  /**
   * The smallest height and width (the same number) for which every tap in `layers` (default:
   * all) has at least one pixel.
   */
  minInputSize(layers: readonly LpipsTap[] = this.layers): number {
    const deepest = Math.max(0, ...layers.map((l) => this.depthOf(l)));
    return minInputSize(this.net, deepest);
  }

  /**
   * The learned, non-negative channel weights of `tap` ([channels]). Owned by the network: do not
   * dispose; valid until the network is disposed.
   */
  linWeights(tap: LpipsTap): tf.Tensor1D {
    if (this.#disposed) throw new DisposedError(this.name);
    this.depthOf(tap);
    return this.#lins.get(tap)!;
  }

  /** Every tap's lin weights (owned by the network, as {@linkcode linWeights}). */
  allLinWeights(): Record<LpipsTap, tf.Tensor1D> {
    if (this.#disposed) throw new DisposedError(this.name);
    return Object.fromEntries(this.#lins) as Record<LpipsTap, tf.Tensor1D>;
  }

  /**
   * The requested taps of `x` ([N, H, W, 1 or 3] float32 in [0, 1]) from one forward pass that
   * stops at the deepest of them. The caller owns the returned tensors.
   *
   * @throws {UnknownLayerError} for a name that is not a tap of this net.
   * @throws {LpipsInputTooSmallError} when a requested tap would have no pixel left.
   * @throws {NetworkInputError} for a tensor of the wrong rank, channels or dtype.
   */
  extract<K extends LpipsTap>(x: tf.Tensor4D, layers: readonly K[]): Record<K, tf.Tensor4D> {
    if (this.#disposed) throw new DisposedError(this.name);
    const depth = layers.map((l) => this.depthOf(l));
    if (depth.length === 0) return {} as Record<K, tf.Tensor4D>;
    const deepest = Math.max(...depth);
    checkInput(this.name, x, this.inputConvention.range, {
      checkRange: this.#checks.checkRange ?? false,
      rangeTolerance: this.#checks.rangeTolerance ?? 0.5,
      minSize: 1,
    });
    const [, h, w] = x.shape;
    if (
      tapSizes(this.net, h)[deepest] === undefined || tapSizes(this.net, w)[deepest] === undefined
    ) {
      throw new LpipsInputTooSmallError(
        this.name,
        x.shape,
        minInputSize(this.net, deepest),
        this.layers[deepest]!,
      );
    }
    return tf.tidy(() => {
      const out = {} as Record<K, tf.Tensor4D>;
      let a = applyAffine(x, this.#scale, this.#offset);
      for (let i = 0; i <= deepest; i++) {
        for (const op of this.#slices[i]!) a = op(a);
        // Each requested name gets its own tensor: disposing one must not break another.
        let first = true;
        layers.forEach((name, j) => {
          if (depth[j] !== i || out[name] !== undefined) return;
          out[name] = first ? a : tf.clone(a);
          first = false;
        });
      }
      return out;
    });
  }

  /** Release the weights. Idempotent. */
  dispose(): void {
    if (this.#disposed) return;
    this.#disposed = true;
    tf.dispose(this.#owned);
    this.#owned.length = 0;
    this.#lins.clear();
  }

  /** Same as {@linkcode dispose}, for `using`. */
  [Symbol.dispose](): void {
    this.dispose();
  }
}

/**
 * Options of {@linkcode lpipsNetwork} (and of `lpips`).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import type { LpipsNetworkOptions } from "@perceptual/loss/lpips";
 * const small: LpipsNetworkOptions = { net: "squeeze" };
 * assert.equal(small.net, "squeeze");
 * ```
 */
export interface LpipsNetworkOptions extends InputCheckSettings {
  /** The trunk: `"alex"` (default; the one LPIPS papers report) or `"squeeze"`. */
  readonly net?: LpipsNet;
  /**
   * A folder in the embedded format (`weights_manifest.json`, its shard, `SHA256SUMS`, as
   * `tools/convert_lpips.py` writes), either the net's own folder or one holding `alex/` and
   * `squeeze/`. Default: the weights shipped inside this package (`src/lpips/weights/`, read
   * relative to this module: a file read for a local copy, a fetch when imported from a URL).
   */
  readonly weights?: string | URL;
  /**
   * Where weight files fetched over http(s) (the default weights when this package was imported
   * from a URL, e.g. JSR, or a `weights` URL) are kept, named by their SHA-256, so that later
   * loads fetch only `SHA256SUMS`. Default: `<PERCEPTUAL_CACHE or the user's cache
   * folder>/perceptual-loss/lpips`; `false`: no cache.
   */
  readonly cacheDir?: string | false;
}

const OPTION_KEYS = ["net", "weights", "cacheDir", "checkRange", "rangeTolerance"] as const;

/**
 * Throw a `TypeError` for an options object with an unknown key (with the nearest known one) or
 * a bad value. `extra` lists further keys the caller accepts.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { checkLpipsOptions } from "@perceptual/loss/lpips";
 * assert.throws(
 *   () => checkLpipsOptions("lpips", { nett: "alex" }),
 *   { message: 'lpips: unknown option "nett"; did you mean "net"?' },
 * );
 * ```
 */
export function checkLpipsOptions(
  where: string,
  options: unknown,
  extra: readonly string[] = [],
): void {
  if (options === undefined) return;
  if (typeof options !== "object" || options === null || Array.isArray(options)) {
    throw new TypeError(`${where}: options must be an object like { net: "alex" }`);
  }
  const allowed = [...OPTION_KEYS, ...extra];
  for (const k of Object.keys(options)) {
    if (!allowed.includes(k)) {
      const s = nearestName(k, allowed);
      throw new TypeError(
        `${where}: unknown option "${k}"` +
          (s === undefined ? ` (options: ${allowed.join(", ")})` : `; did you mean "${s}"?`),
      );
    }
  }
  const net = (options as { net?: unknown }).net;
  if (net !== undefined && net !== "alex" && net !== "squeeze") {
    throw new TypeError(`${where}: net must be "alex" or "squeeze", not ${JSON.stringify(net)}`);
  }
  const c = (options as { cacheDir?: unknown }).cacheDir;
  if (c !== undefined && c !== false && typeof c !== "string") {
    throw new TypeError(`${where}: cacheDir must be a folder path or false`);
  }
  const w = (options as { weights?: unknown }).weights;
  if (w !== undefined && typeof w !== "string" && !(w instanceof URL)) {
    throw new TypeError(`${where}: weights must be a folder path or a URL`);
  }
}

/**
 * Load an LPIPS v0.1 trunk with its lin weights. Every weight file is checked against the
 * folder's `SHA256SUMS` before use (`WeightHashError` on a mismatch).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { initBackend } from "@perceptual/loss/backend";
 * import { lpipsNetwork } from "@perceptual/loss/lpips";
 * await initBackend("cpu");
 * using net = await lpipsNetwork({ net: "squeeze" });
 * assert.equal(net.name, "lpips-squeeze(v0.1)");
 * assert.equal(net.layers.length, 7);
 * assert.equal(net.minInputSize(), 17);
 * ```
 */
export async function lpipsNetwork(options: LpipsNetworkOptions = {}): Promise<LpipsNetwork> {
  checkLpipsOptions("lpipsNetwork", options);
  const net = options.net ?? "alex";
  let folder: string | URL;
  let source: string;
  if (options.weights === undefined) {
    folder = new URL(`./weights/${net}/`, import.meta.url);
    source = "v0.1";
  } else if (options.weights instanceof URL && options.weights.protocol !== "file:") {
    folder = options.weights;
    source = folder.href;
  } else {
    const path = options.weights instanceof URL
      ? decodeURIComponent(options.weights.pathname)
      : options.weights;
    const own = await pathKind(`${path.replace(/\/+$/, "")}/${MANIFEST_FILE}`) === "file";
    folder = own ? path : `${path.replace(/\/+$/, "")}/${net}`;
    source = path;
  }
  let cacheDir: string | undefined;
  if (options.cacheDir !== false) {
    try {
      cacheDir = options.cacheDir ?? `${defaultCacheDir()}/lpips`;
    } catch {
      cacheDir = undefined; // no HOME and no PERCEPTUAL_CACHE: fetch every time
    }
  }
  const w = await readLpipsWeights(net, folder, cacheDir);
  return new LpipsNetwork({
    net,
    source,
    arrays: w.arrays,
    checks: { checkRange: options.checkRange, rangeTolerance: options.rangeTolerance },
  });
}
