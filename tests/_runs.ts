// Test support for runs of the examples and of the README's scripts: files of a run directory,
// waiting for a checkpoint, README code blocks, and a project outside this repository that
// depends on the library the way the README says ("links" to this checkout).
import assert from "node:assert/strict";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

/** The repository's root folder. */
export const ROOT: string = join(dirname(fileURLToPath(import.meta.url)), "..");

/** Whether a path exists. */
export function exists(path: string): boolean {
  try {
    Deno.statSync(path);
    return true;
  } catch {
    return false;
  }
}

/** Resolves once `path` exists, or after `ms` (the caller asserts what it needs). */
export async function waitFor(path: string, ms = 120_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!exists(path) && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** A fresh temporary folder (named from `prefix`), removed with everything in it when disposed. */
export async function tempDir(prefix: string): Promise<AsyncDisposable & { path: string }> {
  const path = await Deno.makeTempDir({ prefix });
  return { path, [Symbol.asyncDispose]: () => Deno.remove(path, { recursive: true }) };
}

/** metrics.csv without the elapsed_s column (wall time differs between runs). */
export async function metricsWithoutTime(runDir: string): Promise<string[][]> {
  const lines = (await Deno.readTextFile(`${runDir}/metrics.csv`)).trim().split("\n");
  const t = lines[0]!.split(",").indexOf("elapsed_s");
  assert.ok(t >= 0, lines[0]);
  return lines.map((l) => l.split(",").filter((_, i) => i !== t));
}

/** The code block that follows `marker` in README.md. */
export function readmeBlock(marker: string): string {
  const readme = Deno.readTextFileSync(join(ROOT, "README.md"));
  const at = readme.indexOf(marker);
  assert.ok(at >= 0, `README.md has no ${marker}`);
  const start = readme.indexOf("```ts\n", at) + "```ts\n".length;
  return readme.slice(start, readme.indexOf("\n```\n", start) + 1);
}

/**
 * A fresh project outside the repository whose deno.json follows the README's recipe: the
 * package by name, linked to this checkout, and `imports` (keys of this repository's deno.json)
 * for what the project's own files import.
 */
export function ownProject(prefix: string, imports: readonly string[]): string {
  const dir = Deno.makeTempDirSync({ prefix });
  const own = JSON.parse(Deno.readTextFileSync(join(ROOT, "deno.json")));
  const config = {
    imports: {
      "@perceptual/loss": `jsr:${own.name}@^${own.version}`,
      ...Object.fromEntries(imports.map((k) => [k, own.imports[k]])),
    },
    links: [ROOT],
    nodeModulesDir: "auto",
  };
  Deno.writeTextFileSync(join(dir, "deno.json"), JSON.stringify(config, null, 2));
  return dir;
}
