// Headless Chromium for the tests: Debian's /usr/bin/chromium driven by playwright-core (never a
// downloaded browser), with the flags the project uses for pages served from 127.0.0.1.
import { type Browser, chromium } from "playwright-core";

/** Where Debian's chromium lives (`apt-get install chromium`; .ci/run installs it). */
export const CHROMIUM = Deno.env.get("CHROMIUM_PATH") ?? "/usr/bin/chromium";

const FLAGS = [
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

/**
 * Launch headless Chromium with a fresh profile (playwright makes a new --user-data-dir per
 * launch), or return why it cannot be launched, for a test's `ignore` and its printed reason.
 */
export async function launchChromium(): Promise<Browser | string> {
  try {
    Deno.statSync(CHROMIUM);
  } catch {
    return `${CHROMIUM} is absent (apt-get install chromium, or set CHROMIUM_PATH)`;
  }
  try {
    return await chromium.launch({ executablePath: CHROMIUM, headless: true, args: FLAGS });
  } catch (e) {
    return `${CHROMIUM} did not launch: ${(e as Error).message.split("\n")[0]}`;
  }
}
