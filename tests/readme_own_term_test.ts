// The README's "Write your own term" script, run exactly as printed, from a project OUTSIDE this
// repository that depends on the library the way the README says ("links" to this checkout): it
// defines a kind through the public API only, round-trips it through JSON and trains with it.
import assert from "node:assert/strict";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..");

/** The code block that follows `marker` in README.md. */
export function readmeBlock(marker: string): string {
  const readme = Deno.readTextFileSync(join(ROOT, "README.md"));
  const at = readme.indexOf(marker);
  assert.ok(at >= 0, `README.md has no ${marker}`);
  const start = readme.indexOf("```ts\n", at) + "```ts\n".length;
  return readme.slice(start, readme.indexOf("\n```\n", start) + 1);
}

/** A fresh project outside the repository whose deno.json follows the README's recipe. */
export function ownProject(): string {
  const dir = Deno.makeTempDirSync({ prefix: "perceptual-own-project-" });
  const own = JSON.parse(Deno.readTextFileSync(join(ROOT, "deno.json")));
  const config = {
    imports: {
      "@perceptual/loss": `jsr:${own.name}@^${own.version}`,
      "@tensorflow/tfjs-core": own.imports["@tensorflow/tfjs-core"],
      "fp-ts/": own.imports["fp-ts/"],
    },
    links: [ROOT],
    nodeModulesDir: "auto",
  };
  Deno.writeTextFileSync(join(dir, "deno.json"), JSON.stringify(config, null, 2));
  return dir;
}

Deno.test("README: the own-term script runs as printed, outside the repo, and trains", async () => {
  const script = readmeBlock("<!-- own-term-script -->");
  assert.ok(script.split("\n").length <= 40, "the example stays under 40 lines");
  const dir = ownProject();
  try {
    Deno.writeTextFileSync(join(dir, "mean_std_term.ts"), script);
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", "mean_std_term.ts"],
      cwd: dir,
      env: { NO_COLOR: "1", PERCEPTUAL_BACKEND: "cpu" },
      stdout: "piped",
      stderr: "piped",
    }).output();
    const stdout = new TextDecoder().decode(out.stdout);
    const stderr = new TextDecoder().decode(out.stderr);
    assert.equal(out.code, 0, `exit ${out.code}\n${stdout}\n${stderr.slice(-2000)}`);
    const steps = stdout.split("\n").filter((l) => /^\d /.test(l));
    assert.equal(steps.length, 5, stdout);
    const term = (line: string) => Number(/"mean_std:relu2_2": ([\d.e+-]+)/.exec(line)?.[1]);
    assert.ok(Number.isFinite(term(steps[0]!)), steps[0]);
    assert.ok(term(steps[4]!) < term(steps[0]!), `the mean/std term fell: ${steps.join(" | ")}`);
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});
