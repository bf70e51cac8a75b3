// The examples' command line under hostile input: negative and absurd counts get a message that
// names the flag and its bounds, and every bad path or flag is a usage error (exit status 2).
import assert from "node:assert/strict";
import { main, parseOptions } from "../examples/superres.ts";
import { UsageError } from "../examples/common/cli.ts";
import { quietly } from "./_quietly.ts";

function usage(args: string[]): string {
  try {
    parseOptions(args);
  } catch (e) {
    assert.ok(e instanceof UsageError, String(e));
    return e.message;
  }
  assert.fail(`${args.join(" ")} was accepted`);
}

Deno.test("cli: a negative value is judged by the flag, not refused as 'ambiguous'", () => {
  assert.match(usage(["--steps", "-1"]), /^--steps: '-1' is not a positive integer;/);
  assert.match(usage(["--seed", "-3"]), /^--seed: '-3' is not an integer >= 0/);
  assert.match(usage(["--lr", "-0.5"]), /^--lr: '-0.5' is not a number > 0/);
  assert.doesNotMatch(usage(["--batch", "-2"]), /ambiguous/);
});

Deno.test("cli: absurd run lengths and batch sizes are bounded, with the bound in the message", () => {
  assert.match(
    usage(["--steps", "99999999999999999999"]),
    /--steps: '99999999999999999999' is more than 10,000,000, the most it takes/,
  );
  assert.match(
    usage(["--batch", "100000"]),
    /--batch: '100000' is more than 1,024/,
  );
  assert.match(usage(["--crop", "1e6"]), /--crop: '1e6' is more than 4,096/);
  assert.match(usage(["--seed", "1e300"]), /--seed: '1e300' is not an integer >= 0/);
  const ok = parseOptions(["--steps", "10000000", "--batch", "1024"]);
  assert.ok(ok !== "help" && ok.steps === 1e7 && ok.batch === 1024);
});

Deno.test("cli: a missing --data, --eval, --vgg or --loss path, or a misspelt layer, is a usage error (exit 2)", async () => {
  const cases: [string[], RegExp][] = [
    [["--data", "/nonexistent-folder"], /^superres: --data \/nonexistent-folder: .*nonexistent/],
    [
      ["--eval", "/nonexistent-set", "--vgg", "random", "--backend", "cpu", "--quiet"],
      /^superres: --eval \/nonexistent-set: .*nonexistent-set/,
    ],
    [
      ["--vgg", "/nonexistent.h5", "--backend", "cpu"],
      /^superres: --vgg \/nonexistent.h5: no such/,
    ],
    [
      ["--vgg", "random", "--layers", "block2_cov2", "--backend", "cpu"],
      /^superres: --layers: .*did you mean "block2_conv2"/,
    ],
    [["--loss", "/nonexistent.json"], /^superres: --loss \/nonexistent.json: cannot read it/],
    [["--resume", "--out", "/nonexistent-run"], /--resume --out \/nonexistent-run: there is no/],
  ];
  for (const [args, message] of cases) {
    const { value, err } = await quietly(() => main(args));
    assert.equal(value, 2, `${args.join(" ")}: ${err}`);
    assert.match(err, message);
    assert.equal(err.split("\n").length, 1, err);
  }
});
