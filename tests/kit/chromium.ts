/**
 * Real headless Chromium (Debian's `chromium`, installed by tests/kit/setup.sh) driven by playwright-core;
 * no browser download. `CHROMIUM_BIN` picks another executable.
 *
 * @example
 * const browser = await launchChromium();
 * const page = await browser.newPage();
 * await page.goto(url);
 * await browser.close();
 */
import { type Browser, chromium } from "playwright-core";
import { findTool } from "./tools.ts";

/** Flags for a quiet, sandbox-free browser in CI containers that reaches only the loopback server under test. */
export const CHROMIUM_FLAGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

export function chromiumBinary(): string {
  return findTool("chromium", "CHROMIUM_BIN", ["/usr/bin/chromium", "/usr/bin/chromium-browser"]);
}

export async function launchChromium(): Promise<Browser> {
  return chromium.launch({ executablePath: chromiumBinary(), headless: true, args: CHROMIUM_FLAGS, timeout: 60_000 });
}
