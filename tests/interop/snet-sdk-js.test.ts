// The npm snet-sdk 2.0.0 in Node against snetd, through its public DefaultPaymentStrategy as a dApp uses
// it: escrow calls (concurrency off), prepaid calls (concurrency on), then free calls with a v5 token
// (protocol/payments.md#legacy-v5-free-calls), which fail until snetd serves v5 free calls (EXPECTED_TO_FAIL in js-world.ts). The SDK
// runs in a real Node process (tests/interop/js/node-calls.mjs); the client already has an MPE deposit.
import { afterAll, beforeAll, describe, expect } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { channelOnChain } from "../kit/client.ts";
import { CLIENTS, PROVIDER, type TestAccount } from "../kit/contracts.ts";
import { channelState } from "../kit/paid-daemon.ts";
import { clientGate, JS_DIR, requireInstalled } from "./clients.ts";
import { daemonProblems } from "./daemon-log.ts";
import { type InteropWorld, startInteropWorld } from "./interop-world.ts";
import {
  type JsCallResult,
  type JsWorldInfo,
  jsTest,
  jsWorldInfo,
  runNodeScript,
  v5FreeCallToken,
} from "./js-world.ts";

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

const run = async (mode: "escrow" | "prepaid" | "free", calls: number, extra: string[] = []): Promise<JsCallResult[]> =>
  (await runNodeScript(JS_DIR, "node-calls.mjs", [worldFile, mode, String(calls), String(CLIENT_INDEX), ...extra], w))
    .results;
const paid = (type: string, texts: string[]) => texts.map((text) => ({ ok: true, text, payer: CLIENT.address, type }));
const signed = async () => (await channelState(w.world, w.daemon.endpoint, { id: CHANNEL_ID, client: CLIENT })).amount;

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

  jsTest(
    "snet-sdk 2.0.0: escrow calls open a channel and sign one price more per call",
    async () => {
      expect(await run("escrow", 2)).toEqual(paid("escrow", ["node escrow 0", "node escrow 1"]));
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
    "snet-sdk 2.0.0: prepaid calls pay with one GetToken for both calls on the same channel",
    async () => {
      expect(await run("prepaid", 2)).toEqual(paid("prepaid-call", ["node prepaid 0", "node prepaid 1"]));
      // The SDK signed the escrow amount plus two prices in one GetToken request.
      expect(await signed()).toBe(4n * w.world.price);
    },
    STEP_MS,
  );

  let freeRun: JsCallResult[] = [];
  jsTest(
    "snet-sdk 2.0.0: the default strategy with a v5 free-call token completes every call",
    async () => {
      const token = v5FreeCallToken({
        userId: "node-user@example.com",
        user: CLIENT.address,
        expiryBlock: (await w.world.head()) + 10_000n,
      });
      const tokenFile = join(home, "free-call.json");
      writeFileSync(tokenFile, JSON.stringify(token));
      freeRun = await run("free", FREE_CALLS + 1, [tokenFile]);
      expect(freeRun.map((r) => ({ ok: r.ok, text: r.text, payer: r.payer }))).toEqual(
        ["node free 0", "node free 1", "node free 2"].map((text) => ({ ok: true, text, payer: CLIENT.address })),
      );
    },
    STEP_MS,
  );

  jsTest(
    "snet-sdk 2.0.0: the default strategy with a v5 free-call token uses the free calls, then pays",
    async () => {
      expect(freeRun).toEqual([
        ...paid("free-call", ["node free 0", "node free 1"]),
        ...paid("prepaid-call", ["node free 2"]),
      ]);
      expect(daemonProblems(w.daemon.logs())).toEqual([]);
    },
    STEP_MS,
  );
});
