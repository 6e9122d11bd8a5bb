// The npm snet-sdk 2.0.0 in Node against snetd, through its public DefaultPaymentStrategy as a dApp uses
// it: escrow calls (concurrency off), prepaid calls (concurrency on), then free calls with a v5 token
// (protocol/payments.md#legacy-v5-free-calls); the tests are js-sdk-suite.ts's. The SDK runs in a real Node
// process (tests/interop/js/node-calls.mjs); the client already has an MPE deposit.
import { afterAll, beforeAll, describe } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CLIENTS, type TestAccount } from "../kit/contracts.ts";
import { clientGate, JS_DIR, requireInstalled } from "./clients.ts";
import { type InteropWorld, startInteropWorld } from "./interop-world.ts";
import { type JsMode, jsSdkPaymentTests } from "./js-sdk-suite.ts";
import { type JsCallResult, type JsWorldInfo, jsWorldInfo, runNodeScript } from "./js-world.ts";

const gate = clientGate("snet-sdk 2.0.0", "fast");
const STEP_MS = 240_000;
const FREE_CALLS = 2;
const CLIENT_INDEX = 1;
const CLIENT = CLIENTS[CLIENT_INDEX] as TestAccount;
// The SDK's first channel on a fresh chain.
const CHANNEL_ID = 0n;

let w: InteropWorld;
let info: JsWorldInfo;
let home: string;
let worldFile: string;

const run = async (mode: JsMode, calls: number, extra: string[] = []): Promise<JsCallResult[]> =>
  (await runNodeScript(JS_DIR, "node-calls.mjs", [worldFile, mode, String(calls), String(CLIENT_INDEX), ...extra], w))
    .results;

describe.skipIf(!gate.run)(`${gate.client} (Node) against snetd`, () => {
  beforeAll(async () => {
    requireInstalled(gate);
    home = mkdtempSync(join(tmpdir(), "snetd-interop-js-"));
    w = await startInteropWorld({ binary: true, freeCalls: FREE_CALLS });
    info = await jsWorldInfo(w);
    worldFile = join(home, "world.json");
    writeFileSync(worldFile, JSON.stringify(info));
  }, STEP_MS);

  afterAll(async () => {
    await w?.stop();
    if (home) rmSync(home, { recursive: true, force: true });
  });

  jsSdkPaymentTests({
    sdk: "snet-sdk 2.0.0",
    prefix: "node",
    freeStrategy: "the default strategy",
    userId: "node-user@example.com",
    client: CLIENT,
    channelId: CHANNEL_ID,
    freeCalls: FREE_CALLS,
    stepMs: STEP_MS,
    world: () => ({ w, home }),
    run,
  });
});
