/**
 * Live metadata (protocol/operations.md#metadata-reload) on a running paid daemon: the provider republishes on the Registry
 * (anvil, with the kit's snet-cli-like publishing) and snetd follows the events without a restart — a new
 * price is charged from then on, free calls turn on when the group gets a free-call signer — while
 * documents it cannot use are refused with a log line and an alert, and the previous ones keep being
 * served: a broken document, one whose IPFS content does not match its CID, and one changing the payment
 * address (which needs a restart).
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import * as grpc from "@grpc/grpc-js";
import type { Alert } from "../../src/ops/alerts.ts";
import { CLIENTS, FREE_CALL_SIGNER, type TestAccount } from "../kit/contracts.ts";
import { call } from "../kit/echo-service.ts";
import { type PaidDaemon, startPaidDaemon } from "../kit/paid-daemon.ts";
import { callerOf, payKit } from "../kit/pay-kit.ts";
import { registerServiceUri, republish, worldDocuments } from "../kit/republish.ts";
import { until, waitFor } from "../kit/wait.ts";
import { startWebhookReceiver, type WebhookReceiver } from "../kit/webhook-receiver.ts";
import { type Channel, startWorld, type World } from "../kit/world.ts";

let world: World;
let hook: WebhookReceiver;
let snetd: PaidDaemon;
let pay: ReturnType<typeof payKit>;
let ch: Channel;

const refusals = () =>
  hook
    .delivered()
    .map((r) => r.body as Alert)
    .filter((a) => a.kind === "metadata_refused");

/** Pays the next call at `price` (retrying while the daemon still charges another price); the status. */
async function payAt(price: bigint) {
  const state = await snetd.state(ch);
  return call(snetd.echo, "Echo", { text: "paid" }, ch.pay(state.amount + price, state.nonce));
}

/** Waits until the daemon charges `price`, i.e. a call paying it goes through. */
const chargesNow = (price: bigint) =>
  waitFor(
    `the daemon to charge ${price} cogs`,
    async () => ((await payAt(price)).status.code === grpc.status.OK ? true : undefined),
    { timeoutMs: 30_000, intervalMs: 200 },
  );

/** After a refused document: the refusal is logged and alerted once, and `price` is still charged. */
async function stillServing(price: bigint, alertsBefore: number, reason: RegExp) {
  await until(() => refusals().length === alertsBefore + 1, "the metadata_refused alert", { timeoutMs: 30_000 });
  const alert = refusals().at(-1)!;
  expect(alert.details.reason).toMatch(reason);
  expect(snetd.daemon.logs()).toContain("new metadata refused; still serving the previous metadata");
  expect((await payAt(price)).status).toEqual({ code: grpc.status.OK, details: "OK" });
}

beforeAll(async () => {
  world = await startWorld({ price: 100n });
  hook = await startWebhookReceiver();
  snetd = await startPaidDaemon(world, {
    metadata_watch_interval: "250ms",
    notification_endpoint: hook.url,
    private_key_for_free_calls: FREE_CALL_SIGNER.privateKey,
    min_balance_for_free_call: 0,
  });
  pay = payKit(world, snetd.daemon.endpoint);
  ch = await world.openFundedChannel({ client: CLIENTS[4] as TestAccount });
}, 120_000);

afterAll(async () => {
  pay?.close();
  await snetd?.stop();
  await hook?.stop();
  await world?.stop();
});

describe("metadata changes on the Registry", () => {
  test("a new price is charged from the next calls on, without a restart", async () => {
    await snetd.daemon.showLogsOnFailure(async () => {
      expect((await payAt(100n)).status.code).toBe(grpc.status.OK);
      await republish(world, { price: 150n });
      await chargesNow(150n);
      const old = await payAt(100n);
      expect(old.status).toEqual({
        code: grpc.status.UNAUTHENTICATED,
        details: "income 100 does not equal to price 150",
      });
      expect(snetd.daemon.logs()).toContain("metadata updated without a restart");
      expect(snetd.daemon.logs()).toContain("fixed_price 100 cogs → fixed_price 150 cogs");
      // Refused payments were not charged: 100 + 150 (+ the probe calls of chargesNow, all at 150).
      const amount = (await snetd.state(ch)).amount;
      expect((amount - 100n) % 150n).toBe(0n);
    });
  });

  test("free calls turn on when the group gets the free-call signer", async () => {
    await snetd.daemon.showLogsOnFailure(async () => {
      const user = callerOf(CLIENTS[5]!.privateKey);
      const before = await pay.freeCallToken(user);
      expect(before.status.code).toBe(grpc.status.OK); // a token is always given; it is worthless while off
      expect((await pay.freeCall(user, before.reply!.token)).status.code).not.toBe(grpc.status.OK);

      await republish(world, { price: 150n, freeCallSignerAddress: FREE_CALL_SIGNER.address, freeCalls: 2 });
      const ok = await waitFor(
        "free calls to work",
        async () => {
          const t = await pay.freeCallToken(user);
          const r = t.reply ? await pay.freeCall(user, t.reply.token) : undefined;
          return r?.status.code === grpc.status.OK ? r : undefined;
        },
        { timeoutMs: 30_000, intervalMs: 200 },
      );
      expect(ok.response?.text).toBe("free");
    });
  });

  test("SIGHUP re-reads the metadata at once", async () => {
    process.kill(snetd.daemon.pid, "SIGHUP");
    await until(() => /metadata unchanged why="SIGHUP"/.test(snetd.daemon.logs()), "the re-read after SIGHUP");
    expect((await payAt(150n)).status.code).toBe(grpc.status.OK);
  });

  test("a new proto archive is applied with the rest, and the log says the protos change only at a restart", async () => {
    await snetd.daemon.showLogsOnFailure(async () => {
      const cid = await world.ipfs.add(new TextEncoder().encode("not read before a restart"), "api.tar");
      await republish(world, { price: 150n, editService: (doc) => ({ ...doc, service_api_source: `ipfs://${cid}` }) });
      await until(() => snetd.daemon.logs().includes(`after="ipfs://${cid}"`), "the proto-archive warning");
      expect(snetd.daemon.logs()).toContain("snetd keeps the ones it loaded until it is restarted");
      expect((await payAt(150n)).status.code).toBe(grpc.status.OK);
    });
  });

  test("a broken document is refused: logged, alerted, and the previous price still charged", async () => {
    await snetd.daemon.showLogsOnFailure(async () => {
      const before = refusals().length;
      // No pricing entry marked default: the daemon could not price any call.
      await republish(world, {
        price: 175n,
        editService: (doc) => ({
          ...doc,
          groups: (doc.groups as Record<string, unknown>[]).map((g) => ({
            ...g,
            pricing: [{ price_model: "fixed_price", price_in_cogs: 175 }],
          })),
        }),
      });
      await stillServing(150n, before, /default/);
    });
  });

  test("a document whose IPFS content does not match its CID is refused", async () => {
    await snetd.daemon.showLogsOnFailure(async () => {
      const before = refusals().length;
      const good = new TextEncoder().encode(JSON.stringify(worldDocuments(world, { price: 200n }).serviceMetadata));
      const cid = await world.ipfs.add(good, "service_metadata.json");
      world.ipfs.tamper(
        cid,
        new TextEncoder().encode(JSON.stringify(worldDocuments(world, { price: 1n }).serviceMetadata)),
      );
      await registerServiceUri(world, `ipfs://${cid}`);
      await stillServing(150n, before, /CID|match/i);
    });
  });

  test("a new payment address needs a restart: refused live, with that advice", async () => {
    await snetd.daemon.showLogsOnFailure(async () => {
      const before = refusals().length;
      await republish(world, { price: 150n, paymentAddress: (CLIENTS[6] as TestAccount).address });
      await stillServing(150n, before, /payment_address .* needs a restart of snetd/);
    });
  });
});
