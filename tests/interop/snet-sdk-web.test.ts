// snet-sdk-web 4.2.2 in headless Chromium against snetd: a page on its own origin (tests/interop/js/
// web-calls.mjs) calls the daemon cross-origin over gRPC-Web, through the SDK's public
// DefaultPaymentStrategy: escrow (concurrency off), prepaid (concurrency on), then free calls with a v5
// token (protocol/payments.md#legacy-v5-free-calls); the tests are js-sdk-suite.ts's.
// 4.2.2's DefaultPaymentStrategy never tries free calls, so the free-call test uses the page's
// FreeCallFirstStrategy (tests/interop/js/web-entry.mjs), which patches three client bugs (README.md).
import { afterAll, beforeAll, describe, expect } from "bun:test";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CLIENTS, type TestAccount } from "../kit/contracts.ts";
import { CHROMIUM, clientGate, JS_DIR, requireInstalled } from "./clients.ts";
import { type InteropWorld, startInteropWorld } from "./interop-world.ts";
import { type JsMode, jsSdkPaymentTests } from "./js-sdk-suite.ts";
import { type JsCallResult, jsWorldInfo, runNodeScript } from "./js-world.ts";
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

async function run(mode: JsMode, calls: number, extra: string[] = []): Promise<JsCallResult[]> {
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

  jsSdkPaymentTests({
    sdk: "snet-sdk-web 4.2.2",
    prefix: "web",
    freeStrategy: "a free-calls-first strategy",
    userId: "web-user@example.com",
    client: CLIENT,
    channelId: CHANNEL_ID,
    freeCalls: FREE_CALLS,
    stepMs: STEP_MS,
    world: () => ({ w, home }),
    run,
  });
});
