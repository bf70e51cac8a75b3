// `deno task test:browser`: runs tests/browser_test.ts and ends with one line
// `browser vs deno: max abs diff X` (the worst of wasm, cpu and tiled wasm), or why it skipped.
const report = await Deno.makeTempFile({ suffix: ".json" });
const { code } = await new Deno.Command(Deno.execPath(), {
  args: ["test", "-A", "tests/browser_test.ts"],
  env: { BROWSER_REPORT: report },
  stdout: "inherit",
  stderr: "inherit",
}).output();
const text = await Deno.readTextFile(report);
await Deno.remove(report);
if (text === "") {
  console.log(
    `browser vs deno: no measurement (the browser test ${code === 0 ? "skipped" : "failed"})`,
  );
} else {
  const { diffs, worst } = JSON.parse(text) as { diffs: Record<string, number>; worst: number };
  const each = Object.entries(diffs).map(([k, v]) => `${k} ${v.toExponential(2)}`).join(", ");
  console.error(each);
  console.log(`browser vs deno: max abs diff ${worst.toExponential(2)}`);
}
Deno.exit(code);
