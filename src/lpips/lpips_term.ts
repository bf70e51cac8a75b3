/**
 * LPIPS as a term of a loss, written with the public term-kind API (`defineTermKind`) like any
 * kind a researcher adds: it reads an `LpipsNetwork` (by its key, `lpips-alex` or
 * `lpips-squeeze`), represents each side by its unit-normalised taps scaled by √w (the learned
 * channel weights), and compares the two as Σ_taps mean_hw Σ_c (p − q)², averaged over the batch:
 * exactly `lpips().distance` (Σ_c w_c (û_p − û_t)² = Σ_c (√w_c û_p − √w_c û_t)², the weights are
 * ≥ 0). Importing this module registers the kind, so JSON specs may name it.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
import { oneOf } from "../_internal/decode.ts";
import {
  defineTermKind,
  type Loss,
  LossInputError,
  registerTermKind,
  type TermCommon,
  type TermKindDef,
} from "../loss/mod.ts";
import { lpipsFromWeighted, weightedUnit } from "./_lpips_math.ts";
import { LPIPS_TAPS, type LpipsNet, LpipsNetwork } from "./lpips_network.ts";

/**
 * A term of the `lpips` kind: LPIPS v0.1 between prediction and target on the `net` trunk.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { lpipsTerm, type LpipsTerm } from "@perceptual/loss/lpips";
 * const t: LpipsTerm = lpipsTerm({ net: "squeeze" }).terms[0]!;
 * assert.equal(t.kind, "lpips");
 * assert.equal(t.net, "squeeze");
 * ```
 */
export interface LpipsTerm extends TermCommon {
  /** Discriminant. */
  readonly kind: "lpips";
  /** The trunk (default `alex`). */
  readonly net: LpipsNet;
}

/**
 * Options of {@linkcode lpipsTerm}.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { lpipsTerm, type LpipsTermOptions } from "@perceptual/loss/lpips";
 * const o: LpipsTermOptions = { net: "alex", weight: 0.1 };
 * assert.equal(lpipsTerm(o).terms[0]!.weight, 0.1);
 * ```
 */
export interface LpipsTermOptions {
  /** The trunk (default `alex`). */
  readonly net?: LpipsNet;
  /** Multiplier (default 1). */
  readonly weight?: number;
  /** Its name in results (default `lpips:alex`). */
  readonly name?: string;
  /** The key of the network to read (default `lpips-<net>`). */
  readonly network?: string;
}

function lpipsOf(side: { network: unknown }, net: LpipsNet): LpipsNetwork {
  if (side.network instanceof LpipsNetwork && side.network.net === net) return side.network;
  throw new LossInputError(
    `an lpips (${net}) term needs an LpipsNetwork of that trunk, not ${
      (side.network as { name?: string } | undefined)?.name ?? "none"
    }; pass evaluate(loss, net, { networks: [await lpipsNetwork({ net: "${net}" })] })`,
  );
}

/**
 * The `lpips` kind. Calibration skips it (its features are unit-normalised already).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { lpipsKind } from "@perceptual/loss/lpips";
 * assert.equal(lpipsKind.name, "lpips");
 * assert.equal(lpipsKind.calibration, "skip");
 * ```
 */
export const lpipsKind: TermKindDef<LpipsTerm> = registerTermKind(
  defineTermKind<LpipsTerm>({
    name: "lpips",
    fields: { net: { codec: oneOf<LpipsNet>(["alex", "squeeze"]), default: "alex" } },
    compares: "weighted unit-normalised features",
    calibration: "skip",
    network: (t) => `lpips-${t.net}`,
    taps: (t) => LPIPS_TAPS[t.net],
    label: (t) => `lpips:${t.net}`,
    represent: (t, side) => {
      const net = lpipsOf(side, t.net);
      const out: Record<string, tf.Tensor> = {};
      for (const tap of LPIPS_TAPS[t.net]) {
        out[tap] = weightedUnit(side.tap(tap), net.linWeights(tap));
      }
      return out;
    },
    // The metric's arithmetic per image, then the batch mean (a batch-1 target broadcasts).
    compare: (t, p, q) =>
      tf.mean(
        lpipsFromWeighted(
          p as Readonly<Record<string, tf.Tensor>>,
          q as Readonly<Record<string, tf.Tensor>>,
          LPIPS_TAPS[t.net],
        ),
      ) as tf.Scalar,
  }),
);

/**
 * An LPIPS term for a loss: LPIPS v0.1 of prediction against target on `net` (default AlexNet),
 * averaged over the batch. Its network is found by key (`lpips-alex`): pass it to `evaluate` in
 * `networks` (or as the main network).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as tf from "@tensorflow/tfjs-core";
 * import { initBackend } from "@perceptual/loss/backend";
 * import { evaluate, pixel, plus } from "@perceptual/loss/loss";
 * import { lpips, lpipsTerm } from "@perceptual/loss/lpips";
 * import { pipe } from "fp-ts/lib/function.js";
 * await initBackend("cpu");
 * using metric = await lpips({ net: "alex" });
 * const loss = pipe(pixel(), plus(lpipsTerm({ weight: 0.5 })));
 * const lossFn = evaluate(loss, metric.network); // the LPIPS network is the main one here
 * const [a, b] = [1, 2].map((s) => tf.randomUniform([1, 64, 64, 3], 0, 1, "float32", s) as tf.Tensor4D);
 * const r = lossFn(a!, b!);
 * assert.deepEqual(Object.keys(r.terms), ["pixel", "lpips:alex"]);
 * ```
 */
export function lpipsTerm(options: LpipsTermOptions = {}): Loss<never, LpipsTerm> {
  return lpipsKind.loss(options) as Loss<never, LpipsTerm>;
}
