// snet-sdk-web 4.2.2 in headless Chromium against snetd: a page on its own origin (tests/interop/js/
// web-calls.mjs) calls the daemon cross-origin over gRPC-Web, through the SDK's public
// DefaultPaymentStrategy: escrow (concurrency off), prepaid (concurrency on), then free calls with a v5
// token (protocol/payments.md#legacy-v5-free-calls), which fail until snetd serves v5 free calls (EXPECTED_TO_FAIL in js-world.ts).
// 4.2.2's DefaultPaymentStrategy never tries free calls, so the free-call test uses the page's
// FreeCallFirstStrategy (tests/interop/js/web-entry.mjs), which patches three client bugs (README.md).
import { afterAll, beforeAll, describe, expect } from "bun:test";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { channelOnChain } from "../kit/client.ts";
import { CLIENTS, PROVIDER, type TestAccount } from "../kit/contracts.ts";
import { channelState } from "../kit/paid-daemon.ts";
import { CHROMIUM, clientGate, JS_DIR, requireInstalled } from "./clients.ts";
import { daemonProblems } from "./daemon-log.ts";
import { type InteropWorld, startInteropWorld } from "./interop-world.ts";
import { type JsCallResult, jsTest, jsWorldInfo, runNodeScript, v5FreeCallToken } from "./js-world.ts";
import { bundleWebEntry } from "./web-bundle.ts";

const gate = clientGate("snet-sdk-web 4.2.2", "fast");
const STEP_MS = 240_000;
const FREE_CALLS = 2;
// Client 2: its own channels, apart from the Node suite's client when both run in one process.
const CLIENT_INDEX = 2;
const CLIENT = CLIENTS[CLIENT_INDEX] as TestAccount;
const CHANNEL_ID = 0n;

let w: InteropWorld;
let home: string;
let worldFile: string;
let bundle: string;

async function run(mode: "escrow" | "prepaid" | "free", calls: number, extra: string[] = []): Promise<JsCallResult[]> {
  const r = await runNodeScript(
    JS_DIR,
    "web-calls.mjs",
    [bundle, worldFile, mode, String(calls), String(CLIENT_INDEX), ...extra],
    w,
  );
  // The page's origin is not the daemon's: each call was a CORS request.
  const origin = /^ORIGIN (\S+)$/m.exec(r.stdout)?.[1];
  expect(origin).toStartWith("http://127.0.0.1:");
  expect(origin).not.toBe(w.daemon.url);
  return r.results;
}
const paid = (type: string, texts: string[]) => texts.map((text) => ({ ok: true, text, payer: CLIENT.address, type }));
const signed = async () => (await channelState(w.world, w.daemon.endpoint, { id: CHANNEL_ID, client: CLIENT })).amount;

describe.skipIf(!gate.run)(`${gate.client} (headless Chromium, cross-origin gRPC-Web) against snetd`, () => {
  beforeAll(async () => {
    requireInstalled(gate);
    if (!existsSync(CHROMIUM))
      throw new Error(
        `'${CHROMIUM}' not found; run 'bash tests/interop/setup.sh' as root (Debian package chromium) or set SNETD_CHROMIUM`,
      );
    home = mkdtempSync(join(tmpdir(), "snetd-interop-web-"));
    bundle = await bundleWebEntry(home);
    w = await startInteropWorld({ binary: true, freeCalls: FREE_CALLS });
    worldFile = join(home, "world.json");
    writeFileSync(worldFile, JSON.stringify(await jsWorldInfo(w)));
  }, STEP_MS);

  afterAll(async () => {
    await w?.stop();
    if (home) rmSync(home, { recursive: true, force: true });
  });

  jsTest(
    "snet-sdk-web 4.2.2: escrow calls open a channel and sign one price more per call",
    async () => {
      expect(await run("escrow", 2)).toEqual(paid("escrow", ["web escrow 0", "web escrow 1"]));
      const channel = await channelOnChain(w.world.deployment, CHANNEL_ID);
      expect({ sender: channel.sender, recipient: channel.recipient }).toEqual({
        sender: CLIENT.address,
        recipient: PROVIDER.address,
      });
      expect(await signed()).toBe(2n * w.world.price);
    },
    STEP_MS,
  );

  jsTest(
    "snet-sdk-web 4.2.2: prepaid calls pay with one GetToken for both calls on the same channel",
    async () => {
      expect(await run("prepaid", 2)).toEqual(paid("prepaid-call", ["web prepaid 0", "web prepaid 1"]));
      expect(await signed()).toBe(4n * w.world.price);
    },
    STEP_MS,
  );

  let freeRun: JsCallResult[] = [];
  jsTest(
    "snet-sdk-web 4.2.2: a free-calls-first strategy with a v5 free-call token completes every call",
    async () => {
      const token = v5FreeCallToken({
        userId: "web-user@example.com",
        user: CLIENT.address,
        expiryBlock: (await w.world.head()) + 10_000n,
      });
      const tokenFile = join(home, "free-call.json");
      writeFileSync(tokenFile, JSON.stringify(token));
      freeRun = await run("free", FREE_CALLS + 1, [tokenFile]);
      expect(freeRun.map((r) => ({ ok: r.ok, text: r.text, payer: r.payer }))).toEqual(
        ["web free 0", "web free 1", "web free 2"].map((text) => ({ ok: true, text, payer: CLIENT.address })),
      );
    },
    STEP_MS,
  );

  jsTest(
    "snet-sdk-web 4.2.2: a free-calls-first strategy with a v5 free-call token uses the free calls, then pays",
    async () => {
      expect(freeRun).toEqual([
        ...paid("free-call", ["web free 0", "web free 1"]),
        ...paid("prepaid-call", ["web free 2"]),
      ]);
      expect(daemonProblems(w.daemon.logs())).toEqual([]);
    },
    STEP_MS,
  );
});
