/**
 * The errors of the command-line layer: a bad flag or path (exit status 2) and a run stopped by
 * a signal (exit status 130 / 143).
 *
 * @module
 */
import { PerceptualError } from "../errors/perceptual_error.ts";

/**
 * A bad flag or path: printed as one line, exit status 2.
 *
 * @example
 * ```ts
 * import { UsageError } from "@perceptual/loss/experiment";
 * import assert from "node:assert/strict";
 *
 * const e = new UsageError("--steps: '-1' is not a positive integer; see --help");
 * assert.equal(e.name, "UsageError");
 * assert.ok(e instanceof Error);
 * ```
 */
export class UsageError extends PerceptualError {
  /** @param message what is wrong and how to fix it. */
  constructor(message: string) {
    super(message);
  }
}

/**
 * Training stopped by a signal (Ctrl-C: SIGINT, or SIGTERM) after finishing its step and writing
 * a checkpoint: printed as one line saying how to resume, exit status 128 + the signal's number
 * (130, 143), as shells report a process ended by it.
 *
 * @example
 * ```ts
 * import { InterruptedError } from "@perceptual/loss/experiment";
 * import assert from "node:assert/strict";
 *
 * const e = new InterruptedError("SIGTERM", "interrupted after step 3; resume with --resume");
 * assert.equal(e.exitCode, 143);
 * ```
 */
export class InterruptedError extends PerceptualError {
  /** The exit status: 130 for SIGINT, 143 for SIGTERM. */
  readonly exitCode: number;
  /** @param signal the signal received; `message` says where the run stopped and how to resume. */
  constructor(readonly signal: "SIGINT" | "SIGTERM", message: string) {
    super(message);
    this.exitCode = signal === "SIGINT" ? 130 : 143;
  }
}
