// The README's "Write your own term" script, run exactly as printed, from a project OUTSIDE this
// repository that depends on the library the way the README says ("links" to this checkout): it
// defines a kind through the public API only, round-trips it through JSON and trains with it.
import assert from "node:assert/strict";
import { join } from "node:path";
import { ownProject, readmeBlock } from "./_runs.ts";

Deno.test("README: the own-term script runs as printed, outside the repo, and trains", async () => {
  const script = readmeBlock("<!-- own-term-script -->");
  assert.ok(script.split("\n").length <= 40, "the example stays under 40 lines");
  const dir = ownProject("perceptual-own-project-", ["@tensorflow/tfjs-core", "fp-ts/"]);
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
