// The examples' command line under hostile input: negative and absurd counts get a message that
// names the flag and its bounds, and every bad path or flag is a usage error (exit status 2).
import assert from "node:assert/strict";
import { main, parseOptions } from "../examples/superres.ts";
import { UsageError } from "../src/experiment/mod.ts";
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

Deno.test("cli: numbers are decimal only: 0x10, 0o20, 0b10000 and 1_6 are refused by every numeric flag", async () => {
  const { parseOptions: colorize } = await import("../examples/colorize.ts");
  const { parseOptions: style } = await import("../examples/style_transfer.ts");
  const numeric: [(args: string[]) => unknown, string[]][] = [
    [parseOptions, [
      "steps",
      "batch",
      "crop",
      "lr",
      "depth",
      "filters",
      "samples",
      "sample-every",
      "seed",
      "scale",
      "balance",
      "ema",
    ]],
    [colorize, ["feature-weight", "pixel-weight", "log-mse-weight", "steps", "lr"]],
    [style, ["size", "style-size", "content-weight", "style-weight", "tv-weight", "lr"]],
  ];
  for (const [parse, flags] of numeric) {
    for (const flag of flags) {
      for (const text of ["0x10", "0X4", "0o20", "0b10", "1_6", "Infinity"]) {
        let message = "";
        try {
          parse(["--" + flag, text]);
        } catch (e) {
          assert.ok(e instanceof UsageError, String(e));
          message = e.message;
        }
        assert.match(message, new RegExp(`^--${flag}: '${text}' is not `), `--${flag} ${text}`);
      }
    }
  }
  assert.match(
    usage(["--lr", "0x10"]),
    /^--lr: '0x10' is not a number > 0 written in decimal \(hex, octal and binary are refused\); write 16 if that is what you meant/,
  );
  // Decimal forms still work: signs, exponents, a leading or trailing point.
  const ok = parseOptions(["--lr", "+1e-3", "--steps", "2E1", "--balance", ".5", "--seed", "7."]);
  assert.ok(ok !== "help");
  assert.deepEqual([ok.lr, ok.steps, ok.balance, ok.seed], [1e-3, 20, 0.5, 7]);
  // --ema: a decay in (0, 1), or 0 for none (the default).
  const ema = parseOptions(["--ema", "0.9"]);
  assert.ok(ema !== "help" && ema.ema === 0.9);
  const plain = parseOptions([]);
  assert.ok(plain !== "help" && plain.ema === 0);
  assert.throws(() => parseOptions(["--ema", "1"]), /--ema: '1' is not 0, or a decay in \(0, 1\)/);
});
