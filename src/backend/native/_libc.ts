/**
 * The C library's memory calls the native backends make (glibc's `mallopt`, Linux's `madvise`),
 * opened once for the process. Internal to the native backends.
 *
 * @module
 */

const SYMBOLS = {
  mallopt: { parameters: ["i32", "i32"], result: "i32" },
  madvise: { parameters: ["pointer", "usize", "i32"], result: "i32" },
} as const;

/** The bound calls. */
export type Libc = Deno.DynamicLibrary<typeof SYMBOLS>["symbols"];

let libc: Libc | string | undefined;

/**
 * glibc's calls, or why they cannot be had (not Linux; no `libc.so.6`, e.g. musl; no FFI
 * permission). Kept open for the process.
 */
export function glibc(): Libc | string {
  if (libc !== undefined) return libc;
  if (Deno.build.os !== "linux") return libc = `not Linux (${Deno.build.os})`;
  try {
    libc = Deno.dlopen("libc.so.6", SYMBOLS).symbols;
  } catch (e) {
    libc = e instanceof Error ? e.message : String(e);
  }
  return libc;
}
