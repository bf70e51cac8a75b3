/**
 * Test support for the loss tests: a tiny VGG-shaped LossNetwork with seeded random weights that
 * counts its passes, and deterministic random tensors.
 */
import * as tf from "@tensorflow/tfjs-core";
import type { LossNetwork } from "../src/network/loss_network.ts";

/** Layers of the tiny network, in forward order (VGG-like: convs then a pool per block). */
export const TINY_LAYERS = ["c1", "c2", "p1", "c3", "c4", "p2", "c5", "c6", "p3"] as const;
/** A layer of the tiny network. */
export type TinyLayer = typeof TINY_LAYERS[number];

/** A LossNetwork that records every extract call. */
export interface CountingNetwork<L extends string> extends LossNetwork<L> {
  /** One entry per extract call: the layers asked for and the number of layers actually run. */
  readonly calls: { layers: readonly L[]; ran: number; input: tf.Tensor }[];
}

/** Deterministic uniform numbers in [lo, hi) (mulberry32). */
export function seededUniform(seed: number, n: number, lo = 0, hi = 1): Float32Array {
  let a = seed >>> 0;
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    const u = ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    out[i] = lo + (hi - lo) * u;
  }
  return out;
}

/** A seeded random NHWC tensor. */
export function randomImage(
  seed: number,
  shape: [number, number, number, number],
  lo = 0,
  hi = 1,
): tf.Tensor4D {
  return tf.tensor4d(seededUniform(seed, shape.reduce((a, b) => a * b, 1), lo, hi), shape);
}

/** Options of {@linkcode tinyNet}. */
export interface TinyNetOptions {
  /** Weight seed. */
  readonly seed?: number;
  /** `relu` like VGG, or smooth `tanh` for finite-difference checks. */
  readonly activation?: "relu" | "tanh";
  /** Channels of the three blocks. */
  readonly channels?: readonly [number, number, number];
}

/**
 * A 3-block conv network (3×3 'same' convs + 2×2 max pools) with seeded random weights, run one
 * pass per extract call up to the deepest requested layer.
 */
export function tinyNet(options: TinyNetOptions = {}): CountingNetwork<TinyLayer> {
  const seed = options.seed ?? 1;
  const act = options.activation ?? "relu";
  const [a, b, c] = options.channels ?? [4, 6, 8];
  const convIn: Record<string, [number, number]> = {
    c1: [3, a],
    c2: [a, a],
    c3: [a, b],
    c4: [b, b],
    c5: [b, c],
    c6: [c, c],
  };
  const weights = new Map<string, { w: tf.Tensor4D; b: tf.Tensor1D }>();
  let k = 0;
  for (const [name, [cin, cout]] of Object.entries(convIn)) {
    const bound = Math.sqrt(6 / (9 * cin));
    weights.set(name, {
      w: tf.keep(
        tf.tensor4d(seededUniform(seed * 100 + k++, 9 * cin * cout, -bound, bound), [
          3,
          3,
          cin,
          cout,
        ]),
      ),
      b: tf.keep(tf.tensor1d(seededUniform(seed * 100 + k++, cout, -0.1, 0.1))),
    });
  }
  const calls: { layers: readonly TinyLayer[]; ran: number; input: tf.Tensor }[] = [];
  const depthOf = (l: TinyLayer) => {
    const d = TINY_LAYERS.indexOf(l);
    if (d < 0) throw new Error(`unknown layer ${l}`);
    return d;
  };
  return {
    name: `tiny(seed ${seed}, ${act})`,
    layers: TINY_LAYERS,
    inputConvention: { preprocessing: "none", range: "[0,1]" },
    depthOf,
    calls,
    extract<K extends TinyLayer>(x: tf.Tensor4D, layers: readonly K[]): Record<K, tf.Tensor4D> {
      const deepest = Math.max(...layers.map(depthOf));
      calls.push({ layers: [...layers], ran: deepest + 1, input: x });
      return tf.tidy(() => {
        const out = {} as Record<K, tf.Tensor4D>;
        let h = x;
        for (let i = 0; i <= deepest; i++) {
          const name = TINY_LAYERS[i]!;
          if (name.startsWith("p")) {
            h = tf.maxPool(h, 2, 2, "valid");
          } else {
            const { w, b } = weights.get(name)!;
            const z = tf.add(tf.conv2d(h, w, 1, "same"), b) as tf.Tensor4D;
            h = act === "relu" ? tf.relu(z) : tf.tanh(z);
          }
          if ((layers as readonly string[]).includes(name)) out[name as K] = h;
        }
        return out;
      });
    },
    dispose() {
      for (const { w, b } of weights.values()) tf.dispose([w, b]);
      weights.clear();
    },
    [Symbol.dispose]() {
      this.dispose();
    },
  };
}

/** Whether a path exists (tests that need ../shared/data skip cleanly without it). */
export { exists } from "./_runs.ts";

/** Relative error ‖a − b‖ / ‖b‖ of two number arrays. */
export function relErr(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let num = 0;
  let den = 0;
  for (let i = 0; i < b.length; i++) {
    num += (a[i]! - b[i]!) ** 2;
    den += b[i]! ** 2;
  }
  return Math.sqrt(num) / Math.max(Math.sqrt(den), 1e-30);
}
