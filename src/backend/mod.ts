/**
 * Backend selection: {@linkcode initBackend} starts the best TensorFlow.js backend present.
 *
 * @module
 */
export * from "./errors.ts";
export * from "./init_backend.ts";
export * from "./training_kernels.ts";
export * from "./wasm_threads.ts";
export * from "./webgpu_sync_read.ts";
