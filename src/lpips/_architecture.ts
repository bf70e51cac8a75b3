/**
 * The two LPIPS v0.1 trunks as data: torchvision's AlexNet and SqueezeNet 1.1 `.features`, cut
 * into the slices whose outputs LPIPS compares (its "taps"), and the size arithmetic that gives the
 * smallest input each tap accepts. Internal.
 *
 * @module
 */

/**
 * The LPIPS backbones.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import type { LpipsNet } from "./_architecture.ts";
 * const net: LpipsNet = "squeeze";
 * assert.ok(["alex", "squeeze"].includes(net));
 * ```
 */
export type LpipsNet = "alex" | "squeeze";

/**
 * A conv + ReLU (see {@linkcode LPIPS_SLICES}). `pad` is PyTorch's symmetric zero padding (AlexNet conv1 pads 2 at stride 4,
 * which neither `same` nor `valid` gives: it is applied explicitly).
 */
export interface LpipsConvOp {
  readonly kind: "conv";
  readonly name: string;
  readonly size: number;
  readonly stride: number;
  readonly pad: number;
  readonly inChannels: number;
  readonly outChannels: number;
}

/** A 3×3 stride-2 max-pool (see {@linkcode LPIPS_SLICES}); `ceil` is PyTorch's `ceil_mode`. */
export interface LpipsPoolOp {
  readonly kind: "pool";
  readonly ceil: boolean;
}

/** A SqueezeNet fire module: 1×1 squeeze + ReLU, then [1×1 expand, 3×3 expand] + ReLU, concat. */
export interface LpipsFireOp {
  readonly kind: "fire";
  readonly name: string;
  readonly inChannels: number;
  readonly squeeze: number;
  readonly expand: number;
}

/**
 * One op of a trunk.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { LPIPS_SLICES, type LpipsOp } from "./_architecture.ts";
 * const first: LpipsOp = LPIPS_SLICES.alex[0]![0]!;
 * assert.equal(first.kind, "conv");
 * ```
 */
export type LpipsOp = LpipsConvOp | LpipsPoolOp | LpipsFireOp;

const conv = (
  name: string,
  size: number,
  stride: number,
  pad: number,
  inChannels: number,
  outChannels: number,
): LpipsConvOp => ({ kind: "conv", name, size, stride, pad, inChannels, outChannels });
const pool = (ceil: boolean): LpipsPoolOp => ({ kind: "pool", ceil });
const fire = (name: string, inChannels: number, squeeze: number, expand: number): LpipsFireOp => ({
  kind: "fire",
  name,
  inChannels,
  squeeze,
  expand,
});

/**
 * Per net, the ops of each slice; slice i ends at tap `relu{i+1}` (the lpips package's
 * `alexnet` / `squeezenet` classes).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { LPIPS_SLICES } from "./_architecture.ts";
 * assert.deepEqual(LPIPS_SLICES.squeeze[1]!.map((op) => op.kind), ["pool", "fire", "fire"]);
 * ```
 */
export const LPIPS_SLICES: Readonly<Record<LpipsNet, readonly (readonly LpipsOp[])[]>> = {
  alex: [
    [conv("conv1", 11, 4, 2, 3, 64)],
    [pool(false), conv("conv2", 5, 1, 2, 64, 192)],
    [pool(false), conv("conv3", 3, 1, 1, 192, 384)],
    [conv("conv4", 3, 1, 1, 384, 256)],
    [conv("conv5", 3, 1, 1, 256, 256)],
  ],
  squeeze: [
    [conv("conv1", 3, 2, 0, 3, 64)],
    [pool(true), fire("fire2", 64, 16, 64), fire("fire3", 128, 16, 64)],
    [pool(true), fire("fire4", 128, 32, 128), fire("fire5", 256, 32, 128)],
    [pool(true), fire("fire6", 256, 48, 192)],
    [fire("fire7", 384, 48, 192)],
    [fire("fire8", 384, 64, 256)],
    [fire("fire9", 512, 64, 256)],
  ],
};

/**
 * Channels of each tap (the lengths of the lin weight vectors).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { tapChannels } from "./_architecture.ts";
 * assert.deepEqual(tapChannels("alex"), [64, 192, 384, 256, 256]);
 * ```
 */
export function tapChannels(net: LpipsNet): number[] {
  return LPIPS_SLICES[net].map((ops) => {
    const last = ops.at(-1)!;
    return last.kind === "conv" ? last.outChannels : last.kind === "fire" ? 2 * last.expand : 0;
  });
}

/**
 * Output length of `op` along one axis for input length `n` (≤ 0: the op cannot run).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { opOutput } from "./_architecture.ts";
 * assert.equal(opOutput({ kind: "pool", ceil: true }, 30), 15);
 * assert.equal(opOutput({ kind: "pool", ceil: false }, 30), 14);
 * ```
 */
export function opOutput(op: LpipsOp, n: number): number {
  switch (op.kind) {
    case "conv":
      return Math.floor((n + 2 * op.pad - op.size) / op.stride) + 1;
    case "pool":
      // PyTorch: floor or ceil of (n − 3) / 2, plus one; ceil mode lets the last window hang
      // over the edge (it always starts inside, as (out − 1)·2 < n here).
      return n < 1 ? 0 : (op.ceil ? Math.ceil((n - 3) / 2) : Math.floor((n - 3) / 2)) + 1;
    case "fire":
      return n;
  }
}

/**
 * The lengths after each tap for input length `n`; `undefined` once an op cannot run.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { tapSizes } from "./_architecture.ts";
 * assert.deepEqual(tapSizes("alex", 64), [15, 7, 3, 3, 3]);
 * ```
 */
export function tapSizes(net: LpipsNet, n: number): (number | undefined)[] {
  let m: number | undefined = n;
  return LPIPS_SLICES[net].map((ops) => {
    for (const op of ops) {
      if (m === undefined) break;
      const next = opOutput(op, m);
      // A floor-mode pool needs a whole 3-wide window; a ceil-mode one needs 2 inputs.
      m = next >= 1 && (op.kind !== "pool" || m >= (op.ceil ? 2 : 3)) ? next : undefined;
    }
    return m;
  });
}

/**
 * The smallest height (= width) for which taps 0..`tap` all have at least one pixel.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { minInputSize } from "./_architecture.ts";
 * assert.equal(minInputSize("alex", 4), 31);
 * assert.equal(minInputSize("squeeze", 6), 17);
 * ```
 */
export function minInputSize(net: LpipsNet, tap: number): number {
  for (let n = 1; n < 4096; n++) if (tapSizes(net, n)[tap] !== undefined) return n;
  throw new Error(`no input size up to 4096 reaches tap ${tap} of ${net}`);
}
