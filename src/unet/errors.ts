/**
 * Typed errors of the U-Net builder: bad configurations and input sizes the network cannot take.
 *
 * @module
 */
import { PerceptualError } from "../errors/perceptual_error.ts";

/** One problem found in a U-Net configuration: where it is, and what is wrong there. */
export interface ConfigProblem {
  /** The path of the bad field, e.g. `upsample` or `outputRange` (`(root)` for the whole value). */
  readonly path: string;
  /** What is wrong and what would be accepted. */
  readonly message: string;
}

/**
 * Thrown by `decodeUNetConfig` (and `unet`) when a configuration is invalid; lists every problem.
 *
 * @example
 * ```ts
 * import { UNetConfigError } from "./errors.ts";
 * const e = new UNetConfigError([{ path: "depth", message: "2.5 is not an integer from 0 to 6" }]);
 * console.log(e.message); // invalid U-Net config: ... depth: 2.5 is not an integer from 0 to 6
 * ```
 */
export class UNetConfigError extends PerceptualError {
  /** Every problem found, in field order. */
  readonly problems: readonly ConfigProblem[];
  /** Build the error from the problems found. */
  constructor(problems: readonly ConfigProblem[]) {
    super(
      `invalid U-Net config (${problems.length} problem${problems.length === 1 ? "" : "s"}):\n` +
        problems.map((p) => `  ${p.path}: ${p.message}`).join("\n"),
    );
    this.problems = problems;
  }
}

/**
 * Thrown when an input's height or width is not a multiple of what the U-Net's depth needs.
 *
 * @example
 * ```ts
 * import { UNetInputSizeError } from "./errors.ts";
 * console.log(new UNetInputSizeError(30, 32, 8).message);
 * ```
 */
export class UNetInputSizeError extends PerceptualError {
  /** The input height that was given. */
  readonly height: number;
  /** The input width that was given. */
  readonly width: number;
  /** What both must be a multiple of: 2^depth. */
  readonly divisor: number;
  /** Build the error from the offending size and the divisor. */
  constructor(height: number, width: number, divisor: number) {
    const up = (n: number) => Math.ceil(n / divisor) * divisor;
    const down = (n: number) => Math.max(divisor, Math.floor(n / divisor) * divisor);
    super(
      `U-Net input size ${height}×${width} (height×width) is not divisible by ${divisor}: the ` +
        `network halves the size ${Math.log2(divisor)} time(s) (depth ${Math.log2(divisor)}), so ` +
        `height and width must be multiples of ${divisor}; crop to ${down(height)}×${
          down(width)
        } or pad to ${up(height)}×${up(width)}, or build with a smaller depth`,
    );
    this.height = height;
    this.width = width;
    this.divisor = divisor;
  }
}
