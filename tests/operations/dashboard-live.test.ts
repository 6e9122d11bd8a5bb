/**
 * The operator dashboard and /metrics of a real paid daemon (dist/snetd) on its admin listener, seen in
 * real headless Chromium: the page shows the daemon's health probes, then a real paid call within seconds
 * of it happening (calls, earnings, the channel with its unclaimed amount and expiry), and a refusal by
 * reason. The screenshot is kept in .test-output/dashboard-live.png. /metrics needs the token and has the
 * payment series.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import * as grpc from "@grpc/grpc-js";
import type { Browser, Page } from "playwright-core";
import { launchChromium } from "../kit/chromium.ts";
import { call } from "../kit/echo-service.ts";
import { type PaidDaemon, startPaidDaemon } from "../kit/paid-daemon.ts";
import { freePort } from "../kit/ports.ts";
import { type Channel, startWorld, type World } from "../kit/world.ts";

const TOKEN = "dashboard-live-token-0123456789abcdef";
const OUT = join(import.meta.dir, "../../.test-output");
let world: World;
let snetd: PaidDaemon;
let admin: string;
let browser: Browser;
let page: Page;
let ch: Channel;

const grouped = (n: bigint) => n.toLocaleString("en-US");
/** Waits (bounded) until the element's text is `expected`, then returns it. */
async function shows(selector: string, expected: string): Promise<string | null> {
  await page
    .waitForFunction(([s, e]) => document.querySelector(s as string)?.textContent === e, [selector, expected], {
      timeout: 15_000,
    })
    .catch(() => {});
  return page.locator(selector).first().textContent();
}

beforeAll(async () => {
  world = await startWorld();
  const port = await freePort();
  admin = `http://127.0.0.1:${port}`;
  snetd = await startPaidDaemon(world, {
    admin_endpoint: `127.0.0.1:${port}`,
    admin_token: TOKEN,
    health_probe_interval: "500ms",
  });
  ch = await world.openFundedChannel();
  browser = await launchChromium();
  page = await browser.newPage({ viewport: { width: 1200, height: 1200 } });
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await snetd?.stop();
  await world?.stop();
});

describe("dashboard of a running daemon in Chromium", () => {
  test("shows the dependencies' health from the daemon's probes", async () => {
    await snetd.daemon.showLogsOnFailure(async () => {
      await page.goto(`${admin}/dashboard/#token=${TOKEN}`);
      expect(await shows("#status", "live")).toBe("live");
      expect(await page.locator("#who").textContent()).toBe("snet-test-org / example-service / default_group");
      for (const name of ["service", "chain", "store", "ipfs"])
        expect(await shows(`.tile[data-name="${name}"] .state`, "up")).toBe("up");
      expect(await page.locator("#calls-total").textContent()).toBe("0");
    });
  });

  test("a real paid call shows up within seconds: calls, earnings, the channel's unclaimed amount", async () => {
    await snetd.daemon.showLogsOnFailure(async () => {
      expect((await call(snetd.echo, "Echo", { text: "paid" }, ch.pay(world.price))).status.code).toBe(grpc.status.OK);
      expect(await shows("#calls-total", "1")).toBe("1");
      expect(await shows("#earned", grouped(world.price))).toBe(grouped(world.price));
      expect(await shows("#unclaimed", grouped(world.price))).toBe(grouped(world.price));
      expect(await shows("#channels tr td", String(ch.id))).toBe(String(ch.id));
      const cells = await page.locator("#channels tr").first().locator("td").allTextContents();
      expect(cells.slice(2, 4)).toEqual([grouped(world.price), grouped(ch.expiration)]);

      // A refusal, counted by reason with the numbers taken out.
      const wrong = await call(snetd.echo, "Echo", { text: "underpaid" }, ch.pay(world.price + 1n));
      expect(wrong.status.code).toBe(grpc.status.UNAUTHENTICATED);
      expect(await shows("#refusals tr td", "income N does not equal to price N")).toBe(
        "income N does not equal to price N",
      );

      mkdirSync(OUT, { recursive: true });
      await page.screenshot({ path: join(OUT, "dashboard-live.png"), fullPage: true });
    });
  });

  test("/metrics on the admin listener needs the token and carries the payment series", async () => {
    expect((await fetch(`${admin}/metrics`)).status).toBe(401);
    const text = await (await fetch(`${admin}/metrics`, { headers: { authorization: `Bearer ${TOKEN}` } })).text();
    expect(text).toContain('snetd_calls_total{payment_type="escrow",outcome="ok"} 1');
    expect(text).toContain('snetd_calls_total{payment_type="escrow",outcome="refused"} 1');
    expect(text).toContain(`snetd_earned_cogs_total ${world.price}`);
    expect(text).toContain(`snetd_unclaimed_cogs ${world.price}`);
    expect(text).toMatch(/snetd_slot_wait_seconds_count [1-9]/);
    expect(text).toMatch(/snetd_store_commit_seconds_count\{result="ok"\} [1-9]/);
    expect(text).toMatch(/snetd_chain_head_block [1-9]/);
    expect(text).toContain("snetd_chain_head_age_seconds");
  });
});
