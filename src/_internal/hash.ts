/**
 * Content hashes, written once: of bytes in memory, and of a file read in chunks.
 *
 * @module
 */
import { createHash } from "node:crypto";

/**
 * The SHA-256 of `bytes` as lowercase hex.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { sha256Hex } from "./hash.ts";
 * assert.equal( // the FIPS 180-2 test vector
 *   await sha256Hex(new TextEncoder().encode("abc")),
 *   "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
 * );
 * ```
 */
export async function sha256Hex(bytes: Uint8Array | ArrayBuffer): Promise<string> {
  const data = bytes instanceof Uint8Array ? bytes : new Uint8Array(bytes);
  const digest = await crypto.subtle.digest("SHA-256", data as Uint8Array<ArrayBuffer>);
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, "0")).join("");
}

/**
 * The SHA-256 of `bytes` as lowercase hex, computed synchronously (for checks inside synchronous
 * readers).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { sha256HexSync } from "./hash.ts";
 * assert.equal(sha256HexSync(new TextEncoder().encode("abc")).slice(0, 8), "ba7816bf");
 * ```
 */
export function sha256HexSync(bytes: Uint8Array): string {
  return createHash("sha256").update(bytes).digest("hex");
}

/** The hashes {@linkcode fileHash} computes. */
export type HashAlgorithm = "md5" | "sha256";

/**
 * The hash of the file at `path` as lowercase hex, read in chunks (weight files are large). md5
 * only where a publisher states md5 (Keras' weight files).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { fileHash } from "./hash.ts";
 * const dir = await Deno.makeTempDir();
 * await Deno.writeTextFile(`${dir}/a.txt`, "abc");
 * // RFC 1321 "abc"
 * assert.equal(
 *   await fileHash(`${dir}/a.txt`, "md5"),
 *   "900150983cd24fb0d6963f7d28e17f72",
 * );
 * ```
 */
export async function fileHash(path: string, algorithm: HashAlgorithm): Promise<string> {
  const hash = createHash(algorithm);
  using file = await Deno.open(path, { read: true });
  for await (const chunk of file.readable) hash.update(chunk);
  return hash.digest("hex");
}
