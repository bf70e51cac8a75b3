/**
 * Keeping freed memory mapped for reuse, for the native backends: `native-host`'s tensors, and
 * `native`'s host buffers (weight copies, Winograd scratch) and the JS arrays of every image read
 * back or written (`native`'s tensors live in the wasm heap, see ./_huge_pages.ts).
 *
 * `native-host` tensors are ArrayBuffers, which V8 allocates with the C library's `calloc`. glibc
 * serves every allocation above 32 MiB with a fresh `mmap` and returns it with `munmap` when
 * freed, so each large activation is new memory that faults in page by page. On the shared
 * 2-core VM this library is developed on, a fault costs so much that allocating and filling
 * 16 MiB took 67–139 ms (about 160 MB/s), against 3–4 ms once the same memory was reused: the
 * wasm heap of `native` never pays it again after growing. `mallopt(M_MMAP_MAX, 0)` makes glibc
 * serve large blocks from its heap and `M_TRIM_THRESHOLD` keeps freed blocks there, so a training
 * step reuses the previous step's memory (and an evaluation the previous image's: with `native`,
 * the 14-photo evaluation took 290,000 faults instead of 580,000 together with the huge pages
 * of ./_huge_pages.ts, and 16.4 s instead of 19.1 s). Process-wide, and only where glibc is the C library.
 * Internal to the native backends.
 *
 * @module
 */

import { glibc } from "./_libc.ts";

/** glibc's `mallopt` parameters (malloc.h). */
const M_TRIM_THRESHOLD = -1;
const M_MMAP_MAX = -4;

let note: string | undefined;

/**
 * Ask glibc to keep freed large blocks for reuse (once per process).
 *
 * @returns what was done, for the backend's reason: `freed memory kept for reuse (glibc)`, or
 *   why not (another C library, no FFI permission).
 */
export function keepFreedMemory(): string {
  if (note !== undefined) return note;
  const libc = glibc();
  if (typeof libc === "string") {
    note = Deno.build.os !== "linux"
      ? "large tensors are mapped afresh by the C library (not glibc)"
      : `memory mapped afresh (mallopt unavailable: ${libc})`;
    return note;
  }
  // mallopt returns 1 on success; the largest trim threshold it takes is INT_MAX.
  const ok = libc.mallopt(M_MMAP_MAX, 0) === 1 && libc.mallopt(M_TRIM_THRESHOLD, 2 ** 31 - 1) === 1;
  note = ok
    ? "freed memory kept for reuse (glibc)"
    : "glibc's mallopt refused: memory mapped afresh";
  return note;
}
