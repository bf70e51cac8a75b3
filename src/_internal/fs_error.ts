/**
 * What a file-system error means for the user: its first line and how to fix it.
 *
 * @module
 */

/**
 * `<the error's first line>; <how to fix it>` for an error raised while writing `path`: no
 * permission, disk full, read-only file system, a missing folder.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { fileErrorText } from "./fs_error.ts";
 * const e = new Error("No space left on device (os error 28)");
 * assert.ok(fileErrorText(e, "runs/a/model").includes("the disk is full"));
 * ```
 */
export function fileErrorText(e: unknown, path: string): string {
  const text = (e instanceof Error ? e.message : String(e)).split("\n")[0]!;
  return `${text}; ${fix(e, text, path)}`;
}

function fix(e: unknown, text: string, path: string): string {
  if (e instanceof Deno.errors.PermissionDenied || /os error 13\b|permission denied/i.test(text)) {
    return "the folder is not writable by this user: choose another folder or fix its " +
      "permissions (and run Deno with --allow-write for it)";
  }
  if (/os error 28\b|no space left/i.test(text)) {
    return "the disk is full: free some space and run again (the last complete checkpoint " +
      "is intact)";
  }
  if (/os error 30\b|read-only file system/i.test(text)) {
    return "the file system is read-only: choose a folder on a writable disk";
  }
  if (e instanceof Deno.errors.NotFound) return `a folder on the way to ${path} is missing`;
  return "check that the folder exists and is writable";
}
