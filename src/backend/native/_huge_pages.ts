/**
 * Transparent huge pages for the native backend's large memory: the wasm heap that holds every
 * tensor, and the host buffers of reordered weights and scratch copies. Internal to the native
 * backend.
 *
 * Fresh memory is paid for when first touched, one page fault per 4 KiB page. On the VMs this
 * project is measured on, the whole-image evaluation of 14 photos took ~590,000 minor faults
 * (2.4 GB touched fresh: tensors of every new image size in the wasm heap, converted copies in
 * host buffers) and ~5 s of system time. `madvise(MADV_HUGEPAGE)` on those ranges lets Linux back
 * them with 2 MiB pages (`/sys/kernel/mm/transparent_hugepage/enabled` is `madvise` on Debian
 * by default): a fault per 2 MiB instead of per 4 KiB. It changes no value, only how memory is
 * mapped; where it is not available (not Linux, no libc, THP off) nothing happens, which is
 * the same as before.
 *
 * @module
 */

import { glibc } from "./_libc.ts";

type Ptr = Deno.PointerValue;

/** `MADV_HUGEPAGE` (asm-generic/mman-common.h). */
const MADV_HUGEPAGE = 14;
/** The huge-page size on x86-64 and arm64 (4 KiB base pages). */
export const HUGE_PAGE_BYTES = 2 * 2 ** 20;

/**
 * Ask Linux for huge pages on the whole 2 MiB pages inside `[p, p + bytes)` (a hint: the result
 * is ignored, as the memory works the same either way).
 */
export function adviseHugePages(p: Ptr, bytes: number): void {
  const libc = glibc();
  // No glibc: keep 4 KiB pages.
  if (typeof libc === "string" || p === null) return;
  const start = BigInt(Deno.UnsafePointer.value(p));
  const first = (start + BigInt(HUGE_PAGE_BYTES - 1)) & ~BigInt(HUGE_PAGE_BYTES - 1);
  const end = (start + BigInt(bytes)) & ~BigInt(HUGE_PAGE_BYTES - 1);
  if (end > first) libc.madvise(Deno.UnsafePointer.create(first), end - first, MADV_HUGEPAGE);
}

/** The most a 32-bit wasm memory can grow to (tfjs-backend-wasm's heap). */
const WASM_MEMORY_MAX_BYTES = 2 ** 32;

/**
 * Huge pages for a wasm heap starting at `base`: V8 reserves a 32-bit wasm memory's whole 4 GiB
 * range up front and grows it in place, so one call covers the heap as it grows.
 */
export function adviseWasmHeap(base: Ptr): void {
  adviseHugePages(base, WASM_MEMORY_MAX_BYTES);
}
