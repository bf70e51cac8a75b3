/**
 * The error a training step too large for the backend's memory raises: before the step runs
 * (from an estimate), or when the backend's allocation failed during it.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { StepMemoryError } from "@perceptual/loss/train";
 * const e = new StepMemoryError({
 *   // 0.25 GiB held + 16 images × 0.5 GiB = 8.25 GiB needed; the heap holds 4 GiB
 *   when: "before", batch: 16, height: 256, width: 256, needBytes: 33 * 2 ** 28,
 *   limitBytes: 2 ** 32, inUseBytes: 2 ** 28, perImageBytes: 2 ** 29,
 *   limitSource: "the wasm backend's wasm32 heap", backend: "wasm",
 * });
 * assert.equal(e.maxBatch, 6); // ⌊(0.9 · 4 GiB − 0.25 GiB) / 0.5 GiB⌋
 * assert.equal(e.usable, true);
 * ```
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
import { PerceptualError } from "../errors/perceptual_error.ts";
import { backendMemoryLimit, formatBytes } from "../backend/memory_limit.ts";

/** What {@linkcode StepMemoryError} is built from. */
export interface StepMemoryFacts {
  /** `before`: refused from the estimate, nothing ran; `during`: the backend's allocation failed. */
  readonly when: "before" | "during";
  /** Images per step. */
  readonly batch: number;
  /** Height of the target crops. */
  readonly height: number;
  /** Width of the target crops. */
  readonly width: number;
  /** Estimated peak bytes of tensors during the step, those held before it included. */
  readonly needBytes: number;
  /** Bytes the backend can hold. */
  readonly limitBytes: number;
  /** Bytes held before the step (weights, optimizer slots, data, caches). */
  readonly inUseBytes: number;
  /** Estimated bytes each image of the batch adds (activations and their gradients). */
  readonly perImageBytes: number;
  /** Where `limitBytes` comes from. */
  readonly limitSource: string;
  /** The backend's name. */
  readonly backend: string;
  /** The step number, when known. */
  readonly step?: number;
  /** `during`: whether the backend can be trusted after the failure (false for a wasm trap). */
  readonly usable?: boolean;
}

/** Largest multiple of 16 (at least 16) whose square, times the batch, fits in `bytes`. */
function largestCrop(bytes: number, perPixel: number, batch: number): number {
  const side = Math.sqrt(Math.max(0, bytes) / (perPixel * batch));
  return Math.max(16, Math.floor(side / 16) * 16);
}

function advice(f: StepMemoryFacts, maxBatch: number): string {
  const free = f.limitBytes * 0.9 - (f.needBytes - f.perImageBytes * f.batch);
  const perPixel = f.perImageBytes / (f.height * f.width);
  const options: string[] = [];
  if (maxBatch >= 1) {
    options.push(`a batch of ${maxBatch} or fewer at this crop (--batch ${maxBatch})`);
  } else options.push("a smaller batch");
  options.push(
    `crops of at most ${largestCrop(free, perPixel, f.batch)} px at this batch ` +
      `(--crop ${largestCrop(free, perPixel, f.batch)}, in target pixels)`,
  );
  const fix = f.backend === "wasm" || f.backend === "native"
    ? `; the ${f.backend} backend keeps tensors in one wasm32 heap of at most 4 GiB, so a larger ` +
      "step needs a backend without that ceiling: native-host (the same oneDNN kernels, tensors " +
      "in host memory; --backend native-host, needs libdnnl), or tensorflow, webgpu on a GPU, " +
      "or cpu, which is slow"
    : "";
  return `Use ${options.join(", or ")}${fix}`;
}

/**
 * A training step does not fit in what the backend can hold. `when: "before"`: the step was
 * refused from its estimate and nothing ran, so the process is fully usable. `when: "during"`:
 * the backend failed to allocate; the step's tensors were freed and the weights not updated, and
 * {@linkcode StepMemoryError.usable} says whether the backend can be trusted afterwards (a wasm
 * out-of-bounds trap may have left its heap damaged: restart the process).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { StepMemoryError } from "@perceptual/loss/train";
 * const e = new StepMemoryError({
 *   when: "during", batch: 8, height: 256, width: 256, needBytes: 5 * 2 ** 30,
 *   limitBytes: 2 ** 32, inUseBytes: 2 ** 28, perImageBytes: 2 ** 29,
 *   limitSource: "the native backend's wasm32 heap", backend: "native", usable: false,
 * });
 * assert.ok(e.message.includes("restart the process"));
 * ```
 */
export class StepMemoryError extends PerceptualError {
  /** The facts the message was built from. */
  readonly facts: StepMemoryFacts;
  /** The largest batch that fits at this crop by the estimate (0 when even one image does not). */
  readonly maxBatch: number;
  /** Whether the process can go on training (smaller steps) after this error. */
  readonly usable: boolean;
  /** Build the message from the facts; `options.cause` is the backend's own error, if any. */
  constructor(facts: StepMemoryFacts, options?: ErrorOptions) {
    const fixed = facts.needBytes - facts.perImageBytes * facts.batch;
    const maxBatch = facts.perImageBytes > 0
      ? Math.max(0, Math.floor((facts.limitBytes * 0.9 - fixed) / facts.perImageBytes))
      : 0;
    const usable = facts.when === "before" || facts.usable !== false;
    const shape = `${facts.batch} × ${facts.height}×${facts.width}`;
    const has = `${formatBytes(facts.limitBytes)} (${facts.limitSource}; ` +
      `${formatBytes(facts.inUseBytes)} already held by weights, optimizer state and data)`;
    const cause = options?.cause instanceof Error ? ` (${options.cause.message})` : "";
    const head = facts.when === "before"
      ? `a training step of ${shape} needs about ${formatBytes(facts.needBytes)} of tensors, ` +
        `more than ${has} can hold; the step was not run and nothing changed`
      : `the ${facts.backend} backend ran out of memory during ${
        facts.step === undefined ? "a training step" : `step ${facts.step}`
      } of ${shape}${cause}; it holds ${has}; the step's tensors were freed and the weights ` +
        "not updated" +
        (usable ? "" : ", but its heap may be damaged: restart the process before training again");
    super(`${head}. ${advice(facts, maxBatch)}`, options);
    this.facts = facts;
    this.maxBatch = maxBatch;
    this.usable = usable;
  }
}

/**
 * Whether `e` is a backend's allocation failure: a wasm trap on a heap that could not grow
 * (`memory access out of bounds`), a JS `Array buffer allocation failed`, or an out-of-memory
 * message of a native library.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { isAllocationFailure } from "@perceptual/loss/train";
 * assert.equal(isAllocationFailure(new RangeError("Array buffer allocation failed")), true);
 * ```
 */
export function isAllocationFailure(e: unknown): boolean {
  if (!(e instanceof Error)) return false;
  return /memory access out of bounds|Array buffer allocation failed|out of memory|Cannot enlarge memory|Invalid typed array length|Array buffer allocation/i
    .test(e.message);
}

/**
 * Whether the backend can be trusted after allocation failure `e`: a wasm trap may have
 * written where it should not have, a failed JS allocation never does.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { usableAfter } from "@perceptual/loss/train";
 * assert.equal(usableAfter(new Error("RuntimeError: memory access out of bounds")), false);
 * ```
 */
export function usableAfter(e: unknown): boolean {
  return !(e instanceof Error &&
    (e.name === "RuntimeError" || /memory access out of bounds/i.test(e.message)));
}

/**
 * The {@linkcode StepMemoryError} for an allocation that failed while a step on a batch shaped
 * `[n, h, w, c]` ran (step `step`, or the memory probes before it when absent): what the backend
 * holds, what is in use now, and whether the process can go on.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { initBackend } from "@perceptual/loss/backend";
 * import { allocationFailure } from "@perceptual/loss/train";
 * await initBackend("cpu");
 * const e = allocationFailure(new RangeError("Array buffer allocation failed"), [4, 64, 64, 3], 7);
 * assert.equal(e.facts.when, "during");
 * assert.equal(e.facts.step, 7);
 * assert.equal(e.usable, true);
 * ```
 */
export function allocationFailure(
  e: unknown,
  shape: readonly number[],
  step?: number,
): StepMemoryError {
  const limit = backendMemoryLimit();
  const inUse = tf.memory().numBytes;
  const has = limit.bytes ?? Math.max(inUse, 1);
  const [n, h, w] = shape as [number, number, number];
  return new StepMemoryError({
    when: "during",
    batch: n,
    height: h,
    width: w,
    needBytes: has,
    limitBytes: has,
    inUseBytes: inUse,
    perImageBytes: Math.max(1, (has - inUse) / n),
    limitSource: limit.source,
    backend: limit.backend,
    ...(step === undefined ? {} : { step }),
    usable: usableAfter(e),
  }, { cause: e });
}
