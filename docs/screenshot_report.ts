// Screenshots a run's report.html in headless Chromium (served from 127.0.0.1 only), for the
// README: deno run -A docs/screenshot_report.ts RUN_DIR OUT.png [WIDTH HEIGHT]
import { serveDir, startChromium } from "../tests/_chromium.ts";

const [runDir, out, width = "1340", height = "1500"] = Deno.args;
if (runDir === undefined || out === undefined) {
  console.error("usage: deno run -A docs/screenshot_report.ts RUN_DIR OUT.png [WIDTH HEIGHT]");
  Deno.exit(2);
}
const server = serveDir(runDir);
const browser = await startChromium();
try {
  const { page, errors, external } = await browser.newPage();
  await page.setViewportSize({ width: Number(width), height: Number(height) });
  await page.goto(`${server.url}/report.html`, { waitUntil: "load" });
  await page.screenshot({ path: out });
  if (errors.length > 0 || external.length > 0) {
    console.error(`page errors: ${errors.join("; ")}; external requests: ${external.join(", ")}`);
    Deno.exitCode = 1;
  }
} finally {
  await browser.close();
  await server.close();
}
