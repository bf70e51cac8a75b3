/**
 * The one error of every decoder (loss specs, U-Net configs): all problems, each with its path.
 *
 * @module
 */
import { PerceptualError } from "./perceptual_error.ts";

/**
 * One problem found while decoding: where it is, and what is wrong there (with the fix).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { DecodeError, type DecodeIssue } from "@perceptual/loss";
 * const issue: DecodeIssue = {
 *   path: "terms[0].layer",
 *   message: '"block9_conv1" is not a VGG-16 layer; did you mean "block5_conv1"?',
 * };
 * assert.equal(new DecodeError("loss spec", [issue]).issues[0]!.path, "terms[0].layer");
 * ```
 */
export interface DecodeIssue {
  /** The path of the bad value, e.g. `terms[2].layer` or `upsample`; `(root)` for the whole. */
  readonly path: string;
  /** What is wrong and what would be accepted. */
  readonly message: string;
}

/** At most this many issues are listed in a message, each cut to `MAX_LINE` characters. */
const MAX_LISTED = 20;
const MAX_LINE = 300;

/**
 * A value that does not decode; `issues` lists every problem in document order. Decoders return
 * it as the `Left` of an `Either`; their `…OrThrow` variants throw it.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { DecodeError } from "@perceptual/loss";
 * const e = new DecodeError("loss spec", [{ path: "terms[0].kind", message: "is missing" }]);
 * assert.equal(e.message, "invalid loss spec (1 problem):\n  terms[0].kind: is missing");
 * ```
 */
export class DecodeError extends PerceptualError {
  /** What was decoded, e.g. `loss spec`. */
  readonly what: string;
  /** Every problem, in document order. */
  readonly issues: readonly DecodeIssue[];
  /** Build the error from what was decoded and every problem found. */
  constructor(what: string, issues: readonly DecodeIssue[]) {
    // The message stays short whatever the input: hostile input can have thousands of
    // problems, each naming a long value. `issues` keeps them all.
    const line = (i: DecodeIssue) => {
      const s = `  ${i.path}: ${i.message}`;
      return s.length <= MAX_LINE ? s : `${s.slice(0, MAX_LINE)}… (line cut)`;
    };
    const rest = issues.length - MAX_LISTED;
    super(
      `invalid ${what} (${issues.length} problem${issues.length === 1 ? "" : "s"}):\n` +
        issues.slice(0, MAX_LISTED).map(line).join("\n") +
        (rest > 0 ? `\n  … and ${rest} more (not shown; all are in the error's .issues)` : ""),
    );
    this.what = what;
    this.issues = issues;
  }
}
