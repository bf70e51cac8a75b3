/**
 * `--loss SPEC.json`: a loss read from a JSON spec file, every problem reported as a usage error.
 *
 * @module
 */
import { isLeft } from "fp-ts/lib/Either.js";
import { decodeLossSpec, type Loss } from "../../src/loss/mod.ts";
import { UsageError } from "../../src/experiment/mod.ts";

/** A JSON loss spec from `--loss`, if given. */
export async function readLossSpec(path: string): Promise<Loss<string> | undefined> {
  if (path === "") return undefined;
  let json: string;
  try {
    json = await Deno.readTextFile(path);
  } catch (e) {
    throw new UsageError(`--loss ${path}: cannot read it (${(e as Error).message})`);
  }
  const decoded = decodeLossSpec(json);
  if (isLeft(decoded)) throw new UsageError(`--loss ${path}: ${decoded.left.message}`);
  return decoded.right as Loss<string>;
}
