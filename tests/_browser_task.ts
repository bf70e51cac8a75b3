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
const result = text === "" ? {} : JSON.parse(text) as {
  diffs?: Record<string, number>;
  worst?: number;
  skipped?: string;
};
if (result.skipped !== undefined) {
  console.log(`browser vs deno: skipped (${result.skipped})`);
} else if (result.diffs === undefined || result.worst === undefined) {
  console.log("browser vs deno: no measurement (the browser test failed before comparing)");
} else {
  const each = Object.entries(result.diffs).map(([k, v]) => `${k} ${v.toExponential(2)}`);
  console.error(each.join(", "));
  console.log(`browser vs deno: max abs diff ${result.worst.toExponential(2)}`);
}
Deno.exit(code);
