/**
 * `SHA256SUMS` files (the `sha256sum` tool's format) beside weight files: parsing, checking bytes
 * against them, and the error a mismatch throws.
 *
 * @module
 */
import { sha256HexSync } from "../_internal/hash.ts";
import { PerceptualError } from "../errors/perceptual_error.ts";

/**
 * The name of the checksum file a weight directory may carry beside its `model.json`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { SHA256SUMS_FILE } from "@perceptual/loss/vgg";
 * assert.equal(`weights/${SHA256SUMS_FILE}`, "weights/SHA256SUMS");
 * ```
 */
export const SHA256SUMS_FILE: string = "SHA256SUMS";

/**
 * A weight file whose SHA-256 is not the one its `SHA256SUMS` lists, or that the list leaves out.
 * The file was not used.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { WeightHashError } from "@perceptual/loss/vgg";
 * const e = new WeightHashError("w/group1-shard1of1", "w/SHA256SUMS", "c68e…", "0000…");
 * assert.match(e.message, /w\/group1-shard1of1/);
 * ```
 */
export class WeightHashError extends PerceptualError {
  /** The file that failed the check. */
  readonly file: string;
  /** The checksum file consulted. */
  readonly sumsFile: string;
  /** The hash listed for the file (`undefined`: the file is not listed). */
  readonly expected: string | undefined;
  /** The file's hash. */
  readonly actual: string;
  /** Build the error naming the file, both hashes, and how to fix it. */
  constructor(file: string, sumsFile: string, expected: string | undefined, actual: string) {
    super(
      expected === undefined
        ? `weights ${file}: not listed in ${sumsFile}, so it cannot be verified (sha256 ` +
          `${actual}); add its line (\`sha256sum FILE >> ${SHA256SUMS_FILE}\`) if the file is ` +
          "meant to be there"
        : `weights ${file}: its SHA-256 is ${actual} but ${sumsFile} lists ${expected}; the file ` +
          "was changed or damaged. Restore it (re-copy it, or `git checkout` it), or, if you " +
          `changed the weights on purpose, regenerate the list: \`sha256sum model.json ` +
          `group*-shard* > ${SHA256SUMS_FILE}\``,
    );
    this.file = file;
    this.sumsFile = sumsFile;
    this.expected = expected;
    this.actual = actual;
  }
}

/**
 * Parse `sha256sum` output: `<64 hex digits>  <name>` per line (`*<name>` for binary mode; blank
 * lines and `#` comments skipped). Returns name → lowercase hex, or throws `TypeError` naming the
 * first malformed line.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseSha256Sums } from "@perceptual/loss/vgg";
 * const sums = parseSha256Sums(`${"ab".repeat(32)}  model.json\n`);
 * assert.equal(sums.get("model.json")?.length, 64);
 * ```
 */
export function parseSha256Sums(text: string): Map<string, string> {
  const out = new Map<string, string>();
  text.split(/\r?\n/).forEach((line, i) => {
    if (line.trim() === "" || line.startsWith("#")) return;
    const m = /^([0-9a-fA-F]{64}) [ *](.+)$/.exec(line);
    if (m === null) {
      throw new TypeError(
        `line ${i + 1} is not "<64 hex digits>  <file name>" (sha256sum's format): ` +
          JSON.stringify(line.slice(0, 80)),
      );
    }
    out.set(m[2]!, m[1]!.toLowerCase());
  });
  return out;
}

/**
 * Throw {@linkcode WeightHashError} unless `bytes` hash to what `sums` lists for `name`.
 * `path` and `sumsFile` are what the error names.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { checkSha256, parseSha256Sums, WeightHashError } from "@perceptual/loss/vgg";
 * import { createHash } from "node:crypto";
 * const bytes = new TextEncoder().encode("{}");
 * const sum = createHash("sha256").update(bytes).digest("hex"); // what `sha256sum` prints
 * const sums = parseSha256Sums(`${sum}  model.json`);
 * checkSha256(sums, "model.json", bytes, "dir/model.json", "dir/SHA256SUMS"); // passes
 * const other = new TextEncoder().encode("[]");
 * assert.throws(
 *   () => checkSha256(sums, "model.json", other, "dir/model.json", "dir/SHA256SUMS"),
 *   WeightHashError,
 * );
 * ```
 */
export function checkSha256(
  sums: ReadonlyMap<string, string>,
  name: string,
  bytes: Uint8Array,
  path: string,
  sumsFile: string,
): void {
  const actual = sha256HexSync(bytes);
  const expected = sums.get(name);
  if (expected !== actual) throw new WeightHashError(path, sumsFile, expected, actual);
}
