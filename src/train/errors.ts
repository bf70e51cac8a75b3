/**
 * Typed errors of the training loop.
 *
 * @module
 */
import { PerceptualError } from "../errors/perceptual_error.ts";
import { fileErrorText } from "../_internal/fs_error.ts";

/**
 * Thrown when the loss is NaN or infinite. The weights were NOT updated by the failing step, so
 * the model and the last checkpoint stay usable.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { NonFiniteStepError } from "@perceptual/loss/train";
 * const e = new NonFiniteStepError(12, { total: NaN, "feature:block2_conv2": NaN, pixel: 0.1 });
 * assert.ok(e.message.startsWith("loss is not finite at step 12"));
 * assert.deepEqual(e.terms, ["feature:block2_conv2"]);
 * ```
 */
export class NonFiniteStepError extends PerceptualError {
  /** The 1-based step that produced it. */
  readonly step: number;
  /** The names of the non-finite terms (`["total"]` when every term was finite). */
  readonly terms: readonly string[];
  /** Every value read at that step: `total` and each term. */
  readonly values: Readonly<Record<string, number>>;
  /** Build the error from the step and its loss values (`total` plus the terms). */
  constructor(step: number, values: Readonly<Record<string, number>>) {
    const bad = Object.entries(values).filter(([k, v]) => k !== "total" && !Number.isFinite(v))
      .map(([k]) => k);
    const named = bad.length > 0 ? bad : ["total"];
    const shown = Object.entries(values).map(([k, v]) => `${k} = ${v}`).join(", ");
    super(
      `loss is not finite at step ${step}: ${named.map((k) => `'${k}'`).join(", ")} (${shown}); ` +
        "the weights were not updated. Lower the learning rate, check the inputs for NaN, or " +
        "resume from the last checkpoint",
    );
    this.step = step;
    this.terms = named;
    this.values = values;
  }
}

/**
 * Thrown when the model's output, at some step, holds NaN/∞ or leaves the range its loss network
 * takes (by more than half that range's width): the model is diverging, almost always because the
 * learning rate is too high for it or its output layer is unbounded. Names the step and the terms
 * that could not be computed. The weights were NOT updated by that step.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { DivergenceError } from "@perceptual/loss/train";
 * const e = new DivergenceError(2, ["feature:block2_conv2"], -0.508, 2.15, {
 *   network: "vgg16(imagenet)", range: "[0,1]",
 * });
 * assert.ok(e.message.startsWith("the model diverged at step 2"));
 * ```
 */
export class DivergenceError extends PerceptualError {
  /** The 1-based step whose prediction it was. */
  readonly step: number;
  /** The terms that needed the prediction in range (all of them for a NaN output). */
  readonly terms: readonly string[];
  /** The smallest value of the prediction (NaN when it holds NaN). */
  readonly min: number;
  /** Its largest value. */
  readonly max: number;
  /** Build the error; `expected` is the network and the range it takes, when known. */
  constructor(
    step: number,
    terms: readonly string[],
    min: number,
    max: number,
    expected?: { readonly network: string; readonly range: string },
    options?: ErrorOptions,
  ) {
    const finite = Number.isFinite(min) && Number.isFinite(max);
    const found = finite
      ? `has values in [${min.toPrecision(4)}, ${max.toPrecision(4)}], far outside the range ` +
        `${expected?.range ?? "its loss network takes"}` +
        (expected !== undefined ? ` that ${expected.network} takes` : "")
      : `holds NaN or infinite values (min ${min}, max ${max})`;
    super(
      `the model diverged at step ${step}: its output ${found}, so ` +
        `${terms.map((t) => `'${t}'`).join(", ")} cannot be trusted; the weights were not ` +
        "updated. Likely causes: the learning rate is too high for this model (lower the peak " +
        "learning rate, e.g. --lr), or its output is unbounded (give the U-Net an output range: " +
        "outputRange: [0, 1] in its config). Resume from the last checkpoint once fixed",
      options,
    );
    this.step = step;
    this.terms = terms;
    this.min = min;
    this.max = max;
  }
}

/**
 * Thrown when the loss is finite but a gradient is NaN or infinite (sqrt/log/division at 0 in a
 * loss term, usually). The weights were NOT updated.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { NonFiniteGradientError } from "@perceptual/loss/train";
 * const e = new NonFiniteGradientError(3, "conv2d_1/kernel", 0.25);
 * assert.equal(e.weight, "conv2d_1/kernel");
 * ```
 */
export class NonFiniteGradientError extends PerceptualError {
  /** The 1-based step that produced it. */
  readonly step: number;
  /** The first weight whose gradient is not finite. */
  readonly weight: string;
  /** Build the error from the step, the weight and the (finite) loss. */
  constructor(step: number, weight: string, total: number) {
    super(
      `gradient is not finite at step ${step}: weight '${weight}' got a NaN/Infinity gradient ` +
        `while the loss was finite (total = ${total}); the weights were not updated. Look for ` +
        "sqrt, log or division at 0 in the loss terms, or lower the learning rate",
    );
    this.step = step;
    this.weight = weight;
  }
}

/**
 * Thrown when a checkpoint does not fit the model or optimizer it is loaded into; names the first
 * mismatched weight with both shapes.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { CheckpointMismatchError } from "@perceptual/loss/train";
 * const e = new CheckpointMismatchError("runs/a/checkpoints/step-00000010", "shapes differ");
 * assert.match(e.message, /runs\/a\/checkpoints\/step-00000010/);
 * assert.match(e.message, /shapes differ/);
 * ```
 */
export class CheckpointMismatchError extends PerceptualError {
  /** The checkpoint directory. */
  readonly checkpoint: string;
  /** Build the error; `detail` names the mismatched weight. */
  constructor(checkpoint: string, detail: string) {
    super(`checkpoint ${checkpoint} does not fit: ${detail}`);
    this.checkpoint = checkpoint;
  }
}

/**
 * Thrown when a checkpoint cannot be written or no complete one can be read.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { CheckpointError } from "@perceptual/loss/train";
 * assert.equal(new CheckpointError("no complete checkpoint in runs/a").name, "CheckpointError");
 * ```
 */
export class CheckpointError extends PerceptualError {
  /** Build the error with its full message. */
  constructor(message: string) {
    super(message);
  }
}

/**
 * Thrown when a run directory cannot be used without risking files that are not ours.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { RunDirError } from "@perceptual/loss/train";
 * assert.equal(new RunDirError("runs/x is not empty").name, "RunDirError");
 * ```
 */
export class RunDirError extends PerceptualError {
  /** Build the error with its full message. */
  constructor(message: string) {
    super(message);
  }
}

/**
 * Thrown when the training data misbehaves: a batch of the wrong shape, a disposed tensor, an
 * epoch that yields nothing.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { TrainingDataError } from "@perceptual/loss/train";
 * assert.equal(new TrainingDataError("epoch 2 yielded no batches").name, "TrainingDataError");
 * ```
 */
export class TrainingDataError extends PerceptualError {
  /** Build the error with its full message. */
  constructor(message: string) {
    super(message);
  }
}

/**
 * Thrown when the trainer is used out of order: a step while another runs, or a restore into a
 * trainer that has already stepped.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { TrainerStateError } from "@perceptual/loss/train";
 * assert.equal(new TrainerStateError("await each step").name, "TrainerStateError");
 * ```
 */
export class TrainerStateError extends PerceptualError {}

/**
 * Who holds a run directory's lock (the contents of its `run.lock`).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import type { RunLockHolder } from "@perceptual/loss/train";
 * const holder: RunLockHolder = { pid: 4242, host: "box", startedAt: "2026-01-01T00:00:00Z" };
 * assert.equal(`process ${holder.pid} on ${holder.host}`, "process 4242 on box");
 * ```
 */
export interface RunLockHolder {
  /** The process id of the run that holds it. */
  readonly pid: number;
  /** The machine it runs on. */
  readonly host: string;
  /** When it took the lock (ISO time). */
  readonly startedAt: string;
}

/**
 * Thrown when another process is writing the run directory (its `run.lock` names a live
 * process, or one on another machine that cannot be checked): one writer per run.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { RunLockedError } from "@perceptual/loss/train";
 * const e = new RunLockedError("runs/a", "runs/a/run.lock", {
 *   pid: 4242, host: "box", startedAt: "2026-01-01T00:00:00Z",
 * }, "in use");
 * assert.ok(e instanceof Error);
 * assert.equal(e.holder?.pid, 4242);
 * ```
 */
export class RunLockedError extends RunDirError {
  /** The run directory. */
  readonly runDir: string;
  /** Its lock file. */
  readonly lockFile: string;
  /** Who holds the lock, when the lock file could be read. */
  readonly holder: RunLockHolder | undefined;
  /** Build the error; `message` is the full message. */
  constructor(
    runDir: string,
    lockFile: string,
    holder: RunLockHolder | undefined,
    message: string,
  ) {
    super(message);
    this.runDir = runDir;
    this.lockFile = lockFile;
    this.holder = holder;
  }
}

/**
 * Thrown when the file system refuses a write of the run (no space left, no permission, a
 * read-only folder): names the path, what was being done, and how to fix it. The original
 * error is the `cause`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { RunFileError } from "@perceptual/loss/train";
 * const e = new RunFileError("runs/a/model", "write the model", new Deno.errors.PermissionDenied("denied"));
 * assert.ok(e.message.startsWith("cannot write the model at runs/a/model"));
 * ```
 */
export class RunFileError extends PerceptualError {
  /** The path that could not be written. */
  readonly path: string;
  /** Build the error from the path, what was being done and the file system's error. */
  constructor(path: string, doing: string, cause: unknown) {
    super(`cannot ${doing} at ${path}: ${fileErrorText(cause, path)}`, { cause });
    this.path = path;
  }
}
