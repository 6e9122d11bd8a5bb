/**
 * The payment paths both JavaScript SDK suites prove, declared once: escrow calls that open a channel and
 * sign one price more per call, prepaid calls paid by one GetToken, and free calls with a v5 token
 * (protocol/payments.md#legacy-v5-free-calls) that are used up before the SDK pays. snet-sdk-js.test.ts runs
 * them in Node, snet-sdk-web.test.ts in headless Chromium; each brings its own runner and world.
 */
import { expect, test } from "bun:test";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { channelOnChain } from "../kit/client.ts";
import { PROVIDER, type TestAccount } from "../kit/contracts.ts";
import { channelState } from "../kit/paid-daemon.ts";
import { daemonProblems } from "./daemon-log.ts";
import type { InteropWorld } from "./interop-world.ts";
import { type JsCallResult, v5FreeCallToken } from "./js-world.ts";

export type JsMode = "escrow" | "prepaid" | "free";

export interface JsSdkPaths {
  /** The SDK as the test titles name it, e.g. "snet-sdk 2.0.0". */
  sdk: string;
  /** What the runner's reply texts start with ("node", "web"). */
  prefix: string;
  /** The strategy the free-call tests run, as their titles say it. */
  freeStrategy: string;
  /** The e-mail the v5 token is issued to. */
  userId: string;
  client: TestAccount;
  /** The SDK's first channel on a fresh chain. */
  channelId: bigint;
  /** Free calls per user the daemon grants. */
  freeCalls: number;
  stepMs: number;
  /** The running world and a scratch directory, once beforeAll has made them. */
  world(): { w: InteropWorld; home: string };
  /** Runs `calls` calls of `mode` through the SDK; one result per call. */
  run(mode: JsMode, calls: number, extra?: string[]): Promise<JsCallResult[]>;
}

/** Declares the escrow, prepaid and free-call tests of one JavaScript SDK, in this order. */
export function jsSdkPaymentTests(p: JsSdkPaths): void {
  const texts = (mode: JsMode, from: number, to: number) =>
    Array.from({ length: to - from }, (_, i) => `${p.prefix} ${mode} ${from + i}`);
  const paid = (type: string, replies: string[]) =>
    replies.map((text) => ({ ok: true, text, payer: p.client.address, type }));
  const signed = async () => {
    const { w } = p.world();
    return (await channelState(w.world, w.daemon.endpoint, { id: p.channelId, client: p.client })).amount;
  };

  test(
    `${p.sdk}: escrow calls open a channel and sign one price more per call`,
    async () => {
      const { w } = p.world();
      expect(await p.run("escrow", 2)).toEqual(paid("escrow", texts("escrow", 0, 2)));
      const channel = await channelOnChain(w.world.deployment, p.channelId);
      expect({ sender: channel.sender, recipient: channel.recipient }).toEqual({
        sender: p.client.address,
        recipient: PROVIDER.address,
      });
      expect(await signed()).toBe(2n * w.world.price);
    },
    p.stepMs,
  );

  test(
    `${p.sdk}: prepaid calls pay with one GetToken for both calls on the same channel`,
    async () => {
      expect(await p.run("prepaid", 2)).toEqual(paid("prepaid-call", texts("prepaid", 0, 2)));
      // The SDK signed the escrow amount plus two prices in one GetToken request.
      expect(await signed()).toBe(4n * p.world().w.world.price);
    },
    p.stepMs,
  );

  let freeRun: JsCallResult[] = [];
  test(
    `${p.sdk}: ${p.freeStrategy} with a v5 free-call token completes every call`,
    async () => {
      const { w, home } = p.world();
      const token = v5FreeCallToken({
        userId: p.userId,
        user: p.client.address,
        expiryBlock: (await w.world.head()) + 10_000n,
      });
      const tokenFile = join(home, "free-call.json");
      writeFileSync(tokenFile, JSON.stringify(token));
      freeRun = await p.run("free", p.freeCalls + 1, [tokenFile]);
      expect(freeRun.map((r) => ({ ok: r.ok, text: r.text, payer: r.payer }))).toEqual(
        texts("free", 0, p.freeCalls + 1).map((text) => ({ ok: true, text, payer: p.client.address })),
      );
    },
    p.stepMs,
  );

  test(
    `${p.sdk}: ${p.freeStrategy} with a v5 free-call token uses the free calls, then pays`,
    async () => {
      expect(freeRun).toEqual([
        ...paid("free-call", texts("free", 0, p.freeCalls)),
        ...paid("prepaid-call", texts("free", p.freeCalls, p.freeCalls + 1)),
      ]);
      expect(daemonProblems(p.world().w.daemon.logs())).toEqual([]);
    },
    p.stepMs,
  );
}
