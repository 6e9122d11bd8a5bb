/**
 * The operator dashboard (src/ops/dashboard/, admin-server.ts) in real headless Chromium: the page loads
 * from the admin listener with the token from the URL fragment, shows the snapshot, and shows a paid call,
 * a refusal, a new channel and a health change within seconds of them happening, over the live stream.
 * A screenshot is kept in .test-output/. The API refuses requests without the token.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import type { Browser, Page } from "playwright-core";
import { type AdminServer, adminApp, startAdminServer } from "../../src/ops/admin-server.ts";
import { createActivity } from "../../src/ops/dashboard/activity.ts";
import type { ChannelRow, DashboardSnapshot, DependencyHealth } from "../../src/ops/dashboard/snapshot.ts";
import { launchChromium } from "../kit/chromium.ts";

const TOKEN = "admin-token-for-tests-0123456789abcdef";
const OUT = join(import.meta.dir, "../../.test-output");
const started = new Date().toISOString();
const activity = createActivity();
const health: DependencyHealth[] = [
  { name: "service", state: "up", detail: "SERVING" },
  { name: "chain", state: "up", detail: "head 1000000, 1 s old" },
  { name: "store", state: "up", detail: "sqlite" },
  { name: "ipfs", state: "off", detail: "local metadata files" },
];
const channels: ChannelRow[] = [
  {
    id: 7n,
    sender: "0x1111111111111111111111111111111111111111",
    unclaimedCogs: 2_000n,
    expiration: 1_100_000n,
    nonce: 0n,
  },
];
let admin: AdminServer;
let browser: Browser;
let page: Page;

function snapshot(): DashboardSnapshot {
  const a = activity.snapshot();
  const unclaimed = channels.reduce((s, c) => s + c.unclaimedCogs, 0n);
  return {
    at: new Date().toISOString(),
    daemon: {
      organization_id: "snet-org",
      service_id: "echo",
      group: "default_group",
      version: "0.1.0-test",
      started_at: started,
    },
    health: health.map((h) => ({ ...h })),
    calls: { ...a.calls, inFlight: 0 },
    earnings: { earnedCogs: a.earnedCogs, unclaimedCogs: unclaimed, claimedCogs: 0n },
    currentBlock: 1_000_000n,
    channels: channels.map((c) => ({ ...c })),
    claims: a.claims,
    refusals: a.refusals,
    tls: { source: "acme", notAfter: "2027-03-01T00:00:00.000Z", names: ["snetd.example"] },
  };
}

const text = (id: string) => page.locator(`#${id}`).textContent();
/** Waits (bounded) until the element's text is `expected`, then returns it. */
async function shows(id: string, expected: string): Promise<string | null> {
  await page
    .waitForFunction(([i, e]) => document.getElementById(i as string)?.textContent === e, [id, expected], {
      timeout: 10_000,
    })
    .catch(() => {});
  return text(id);
}

beforeAll(async () => {
  admin = await startAdminServer({
    host: "127.0.0.1",
    port: 0,
    app: adminApp({
      token: TOKEN,
      dashboard: { snapshot, events: activity.onChange },
      metrics: async () => ({ contentType: "text/plain", body: "snetd_up 1\n" }),
    }),
  });
  browser = await launchChromium();
  page = await browser.newPage({ viewport: { width: 1200, height: 1100 } });
});

afterAll(async () => {
  await browser?.close();
  await admin?.close();
});

describe("dashboard in Chromium", () => {
  test("loads with the token from the fragment, drops it from the address, and shows the snapshot", async () => {
    await page.goto(`http://127.0.0.1:${admin.port}/dashboard/#token=${TOKEN}`);
    expect(await shows("status", "live")).toBe("live");
    expect(page.url()).toBe(`http://127.0.0.1:${admin.port}/dashboard/`);
    expect(await text("who")).toBe("snet-org / echo / default_group");
    expect(await page.locator('.tile[data-name="service"] .state').textContent()).toBe("up");
    expect(await page.locator("#channels tr td").first().textContent()).toBe("7");
    expect(await text("unclaimed")).toBe("2,000");
    expect(await text("calls-total")).toBe("0");
  });

  test("a paid call, a refusal, a new channel and an outage appear within seconds", async () => {
    activity.call(123_456_789_012n);
    activity.refusal("payment signature is not valid");
    activity.refusal("payment signature is not valid");
    channels.push({
      id: 99n,
      sender: "0x2222222222222222222222222222222222222222",
      unclaimedCogs: 123_456_789_012n,
      expiration: 1_000_100n,
      nonce: 3n,
    });
    health[0] = {
      name: "service",
      state: "down",
      detail: "connect ECONNREFUSED 127.0.0.1:5000",
      since: new Date().toISOString(),
    };
    activity.call(); // a free call: counted, earns nothing; also wakes the stream after the changes above

    expect(await shows("calls-total", "2")).toBe("2");
    expect(await shows("earned", "123,456,789,012")).toBe("123,456,789,012");
    expect(await shows("unclaimed", "123,456,791,012")).toBe("123,456,791,012");
    expect(await page.locator("#refusals tr td").allTextContents()).toEqual([
      "payment signature is not valid",
      "2",
      expect.stringMatching(/s ago$/),
    ]);
    expect(await page.locator("#channels tr").count()).toBe(2);
    expect(await page.locator("#channels tr.soon td").first().textContent()).toBe("99"); // 100 blocks left
    expect(await page.locator('.tile[data-name="service"] .state').textContent()).toBe("down");

    mkdirSync(OUT, { recursive: true });
    await page.screenshot({ path: join(OUT, "dashboard.png"), fullPage: true });
  });

  test("without a token the page asks for one, and a wrong one is refused", async () => {
    const fresh = await browser.newPage();
    try {
      await fresh.goto(`http://127.0.0.1:${admin.port}/dashboard/`);
      await fresh.waitForSelector("#login:not([hidden])", { timeout: 10_000 });
      expect(await fresh.locator("#login-msg").textContent()).toBe("Enter the admin token.");
      await fresh.fill("#token", "wrong");
      await fresh.click("#login button");
      await fresh.waitForFunction(
        () => document.getElementById("login-msg")?.textContent === "The token was refused.",
        undefined,
        { timeout: 10_000 },
      );
      await fresh.fill("#token", TOKEN);
      await fresh.click("#login button");
      await fresh.waitForFunction(() => document.getElementById("status")?.textContent === "live", undefined, {
        timeout: 10_000,
      });
      expect(await fresh.locator("#main").isVisible()).toBe(true);
    } finally {
      await fresh.close();
    }
  });
});

describe("admin listener", () => {
  const base = () => `http://127.0.0.1:${admin.port}`;

  test("API and metrics need the bearer token; the page shell does not", async () => {
    expect((await fetch(`${base()}/dashboard/api/snapshot`)).status).toBe(401);
    expect(
      (await fetch(`${base()}/dashboard/api/snapshot`, { headers: { authorization: "Bearer wrong" } })).status,
    ).toBe(401);
    expect((await fetch(`${base()}/metrics`)).status).toBe(401);
    const ok = await fetch(`${base()}/metrics`, { headers: { authorization: `Bearer ${TOKEN}` } });
    expect([ok.status, await ok.text()]).toEqual([200, "snetd_up 1\n"]);
    const page = await fetch(`${base()}/dashboard/`);
    expect(page.status).toBe(200);
    expect(page.headers.get("content-security-policy")).toContain("script-src 'sha256-");
    expect(await page.text()).not.toContain("snet-org");
  });

  test("the snapshot is JSON with money as decimal strings", async () => {
    const res = await fetch(`${base()}/dashboard/api/snapshot`, { headers: { authorization: `Bearer ${TOKEN}` } });
    const body = (await res.json()) as { earnings: { earnedCogs: string }; channels: { id: string }[] };
    expect(body.earnings.earnedCogs).toBe("123456789012");
    expect(body.channels.map((c) => c.id)).toEqual(["7", "99"]);
  });
});
