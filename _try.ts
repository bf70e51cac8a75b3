import { launchChromium } from "./tests/_chromium.ts";
import { serveExample } from "./examples/web/serve.ts";
const server = serveExample({ model: "/tmp/webmodel", port: 0 });
const url = `http://127.0.0.1:${server.addr.port}/`;
const b = await launchChromium();
if (typeof b === "string") throw new Error(b);
const page = await b.newPage();
page.on("console", (m) => console.log("console:", m.text()));
for (const backend of ["wasm", "cpu"]) {
  await page.goto(`${url}?backend=${backend}`);
  await page.waitForFunction(() => document.body.dataset.state !== "loading", null, { timeout: 60000 });
  console.log(await page.evaluate(() => document.body.dataset.state + " | " + document.getElementById("status")!.textContent + " | isolated=" + crossOriginIsolated));
  await page.setInputFiles("#file", "examples/data/skimage_chelsea.png");
  await page.waitForFunction(() => document.body.dataset.state !== "busy" && document.body.dataset.state !== "ready", null, { timeout: 120000 });
  console.log(await page.evaluate(() => document.body.dataset.state + " | " + document.getElementById("status")!.textContent));
  await page.screenshot({ path: `/tmp/shot_${backend}.png`, fullPage: true });
}
await b.close();
await server.shutdown();
