/**
 * Training kernels written on top of each backend's own kernels: convolution weight and input
 * gradients (dense and depthwise), plus the plumbing they share.
 *
 * @module
 */
export * from "./kernel_io.ts";
export * from "./conv2d_backprop_filter.ts";
export * from "./conv2d_backprop_input.ts";
export * from "./depthwise_backprop.ts";
export * from "./batch_mat_mul.ts";
export * from "./derived_cache.ts";
export * from "./tile.ts";
