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

/** The largest |a - b| and the largest |b| (a native result against its reference). */
export function maxDiff(
  a: ArrayLike<number>,
  b: ArrayLike<number>,
): { diff: number; scale: number } {
  let diff = 0, scale = 0;
  for (let i = 0; i < a.length; i++) {
    diff = Math.max(diff, Math.abs(a[i]! - b[i]!));
    scale = Math.max(scale, Math.abs(b[i]!));
  }
  return { diff, scale };
}
