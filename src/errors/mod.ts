/**
 * The error base class shared by every module of the library.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { PerceptualError } from "@perceptual/loss";
 * assert.ok(new PerceptualError("bad thing; fix it like so") instanceof Error);
 * ```
 *
 * @module
 */
export { PerceptualError } from "./perceptual_error.ts";
export { DecodeError, type DecodeIssue } from "./decode_error.ts";
export { checkNotEmpty, EmptyInputError } from "./empty_input_error.ts";
export { checkOptionKeys, UnknownOptionError } from "./unknown_option_error.ts";
