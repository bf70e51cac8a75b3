/**
 * The superres example's loss bookkeeping: the loss a resumed run stored, the feature scales a
 * spec still needs, and how the terms' weights and shares are printed.
 *
 * @module
 */
import { isLeft } from "fp-ts/lib/Either.js";
import { decodeLossSpec, type Loss } from "../../src/loss/mod.ts";
import type { LossNetwork } from "../../src/network/mod.ts";
import { reportDataFromCsv } from "../../src/train/mod.ts";
import { UsageError } from "../../src/experiment/mod.ts";

/** The loss and balance a run stored in its `config.json`. */
export function storedLoss(
  stored: Readonly<Record<string, unknown>>,
  net: LossNetwork<string>,
): { loss: Loss<string>; balance: Record<string, number> } {
  const decoded = decodeLossSpec(stored.loss, net);
  const balance = stored.perceptualBalance;
  const weights = typeof balance === "object" && balance !== null &&
      Object.values(balance).every((w) => typeof w === "number" && w > 0)
    ? balance as Record<string, number>
    : undefined;
  if (isLeft(decoded) || weights === undefined) {
    throw new UsageError(
      `--resume: the run's config.json has no usable "loss" and "perceptualBalance"` +
        `${isLeft(decoded) ? ` (${decoded.left.message})` : ""}; start a new run instead`,
    );
  }
  return { loss: decoded.right, balance: weights };
}

/** `feature x0.0123, style x4.5e-7`. */
export function weightsText(weights: Record<string, number>): string {
  const all = Object.entries(weights);
  return all.length === 0
    ? "as the preset set them"
    : all.map(([k, w]) => `${k} x${w.toPrecision(3)}`).join(", ");
}

/** Each loss term's share of the sum of the terms at the first and last step in `metrics.csv`. */
export async function termShares(
  csv: string,
): Promise<{ step: number; shares: Record<string, number>; text: string; line: string }[]> {
  const { steps } = reportDataFromCsv(await Deno.readTextFile(csv));
  const picks = steps.length > 1 ? [steps[0]!, steps.at(-1)!] : steps;
  return picks.map((row) => {
    const sum = Object.values(row.terms).reduce((a, b) => a + b, 0);
    const shares = Object.fromEntries(
      Object.entries(row.terms).map(([k, v]) => [k, sum > 0 ? v / sum : NaN]),
    );
    const text = Object.entries(shares).map(([k, v]) => `${k} ${(100 * v).toFixed(1)}%`).join(
      ", ",
    );
    return { step: row.step, shares, text, line: `${row.step}: ${text}` };
  });
}

/** The scales of the layers that no term of `loss` scales itself. */
export function unscaledOnly(
  loss: Loss<string>,
  scales: Record<string, number>,
): Record<string, number> {
  return Object.fromEntries(
    Object.entries(scales).filter(([layer]) =>
      loss.terms.every((t) => !("layer" in t) || t.layer !== layer || t.scale === 1)
    ),
  );
}
