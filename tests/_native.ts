// The skip that every native-backend test file starts with.
import { nativeInfo } from "../src/backend/native/mod.ts";

/**
 * Whether `file`'s native-backend tests must be skipped (no usable libdnnl): says why once, under
 * the file's name, and returns true; false where oneDNN loads.
 */
export function skipWithoutNative(file: string): boolean {
  const info = nativeInfo();
  if (typeof info !== "string") return false;
  console.log(`${file}: skipped, ${info}`);
  return true;
}
