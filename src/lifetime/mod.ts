/**
 * Explicit tensor lifetimes: {@linkcode scope}, owners with `dispose()`, and leak checks.
 *
 * @module
 */
export * from "./scope.ts";
export * from "./owner.ts";
export * from "./leak.ts";
