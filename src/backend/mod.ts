/**
 * Backend selection: {@linkcode initBackend} starts the best TensorFlow.js backend present.
 *
 * @module
 */
export * from "./errors.ts";
export * from "./init_backend.ts";
export * from "./memory_limit.ts";
export {
  configureNative,
  DnnlCallError,
  NATIVE_LIBRARY_ENV_VAR,
  NATIVE_TUNE_ENV_VAR,
  NativeBackendError,
  type NativeInfo,
  nativeInfo,
  type NativeOptions,
  nativeProfile,
  type ProfileEntry,
  setNativeProfiling,
  type TunedChoice,
  withWinograd,
} from "./native/mod.ts";
export {
  bf16Unavailable,
  checkPrecision,
  type Precision,
  PrecisionUnavailableError,
} from "./native/precision.ts";
export * from "./training_kernels.ts";
export * from "./wasm_threads.ts";
export * from "./webgpu_sync_read.ts";
