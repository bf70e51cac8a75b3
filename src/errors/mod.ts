/**
 * The error base class shared by every module of the library.
 *
 * @example
 * ```ts
 * import { PerceptualError } from "./mod.ts";
 * console.log(new PerceptualError("bad thing; fix it like so") instanceof Error); // true
 * ```
 *
 * @module
 */
export { PerceptualError } from "./perceptual_error.ts";
export { DecodeError, type DecodeIssue } from "./decode_error.ts";
export { checkNotEmpty, EmptyInputError } from "./empty_input_error.ts";
export { checkOptionKeys, UnknownOptionError } from "./unknown_option_error.ts";
