/**
 * Rate limits (protocol/operations.md#rate-limits) on a real paid daemon: the reference's global bucket with its exact
 * RESOURCE_EXHAUSTED text and a `retry-after` hint, health and /heartbeat untouched by it, the daemon's
 * own unary services behind their own bucket, and buckets per channel and per payer that only a verified
 * payment can spend — a forged channel-id header cannot starve someone else's channel. Refills are one
 * token per minute, so nothing here depends on timing.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import * as grpc from "@grpc/grpc-js";
import { generatePrivateKey } from "viem/accounts";
import { paymentMetadata, signPayment } from "../kit/client.ts";
import { CLIENTS, type TestAccount } from "../kit/contracts.ts";
import { call, healthCheck } from "../kit/echo-service.ts";
import { decodeState, type PaidDaemon, startPaidDaemon, stateRequest } from "../kit/paid-daemon.ts";
import { startWorld, type World } from "../kit/world.ts";

const LIMITED = { code: grpc.status.RESOURCE_EXHAUSTED, details: "rate limiting , too many requests to handle" };
const OK = { code: grpc.status.OK, details: "OK" };

let world: World;
const daemons: PaidDaemon[] = [];

beforeAll(async () => {
  world = await startWorld();
}, 120_000);

afterAll(async () => {
  for (const d of daemons) await d.stop();
  await world?.stop();
});

async function daemon(extra: Record<string, unknown>): Promise<PaidDaemon> {
  const d = await startPaidDaemon(world, extra);
  daemons.push(d);
  return d;
}

describe("global bucket (rate_limit_per_minute, burst_size)", () => {
  test("the call past the burst is refused with the reference's text and a retry hint, uncharged; health stays up", async () => {
    const d = await daemon({ rate_limit_per_minute: 1, burst_size: 2, rate_limit_daemon_rpc_per_minute: 1 });
    await d.daemon.showLogsOnFailure(async () => {
      const ch = await world.openFundedChannel();
      expect((await call(d.echo, "Echo", { text: "1" }, ch.pay(world.price))).status).toEqual(OK);
      expect((await call(d.echo, "Echo", { text: "2" }, ch.pay(2n * world.price))).status).toEqual(OK);
      const before = world.echo.calls;
      const third = await call(d.echo, "Echo", { text: "3" }, ch.pay(3n * world.price));
      expect(third.status).toEqual(LIMITED);
      expect(Number(third.trailers["retry-after"])).toBeGreaterThanOrEqual(1);
      expect(world.echo.calls).toBe(before);

      // Health, the heartbeat and the metrics are not proxied calls.
      expect((await healthCheck(d.echo)).response?.status).toBe("SERVING");
      expect((await fetch(`${d.daemon.url}/heartbeat`)).status).toBe(200);

      // The daemon's unary services have their own bucket (one call here, then refused).
      const first = await d.stateRpc.call(stateRequest(world, ch, await world.head()));
      expect(first.status.code).toBe(grpc.status.OK);
      expect(decodeState(first.reply!).amount).toBe(2n * world.price);
      const second = await d.stateRpc.call(stateRequest(world, ch, await world.head()));
      expect(second.status).toEqual({ code: LIMITED.code, details: LIMITED.details });
    });
  });
});

describe("per-channel and per-payer buckets", () => {
  test("a busy channel and a busy payer are held back; other payers are not; forged payments spend nothing", async () => {
    const d = await daemon({
      rate_limit_per_channel_per_minute: 1,
      burst_size_per_channel: 2,
      rate_limit_per_payer_per_minute: 1,
      burst_size_per_payer: 3,
    });
    await d.daemon.showLogsOnFailure(async () => {
      const busy = CLIENTS[2] as TestAccount;
      const other = CLIENTS[3] as TestAccount;
      const a = await world.openFundedChannel({ client: busy });
      const b = await world.openFundedChannel({ client: busy });
      const c = await world.openFundedChannel({ client: other });

      // Forged payments for channel c (signed by a stranger) are refused as such and take no token.
      const stranger = generatePrivateKey();
      for (let i = 1n; i <= 3n; i++) {
        const forged = paymentMetadata({
          channelId: c.id,
          nonce: 0n,
          amount: i * world.price,
          signature: signPayment(stranger, world.deployment.mpe, c.id, 0n, i * world.price),
        });
        const r = await call(d.echo, "Echo", { text: "forged" }, forged);
        expect(r.status.code).toBe(grpc.status.UNAUTHENTICATED);
      }

      // Channel a: two calls (its burst), then refused by the channel bucket.
      expect((await call(d.echo, "Echo", { text: "a1" }, a.pay(world.price))).status).toEqual(OK);
      expect((await call(d.echo, "Echo", { text: "a2" }, a.pay(2n * world.price))).status).toEqual(OK);
      const a3 = await call(d.echo, "Echo", { text: "a3" }, a.pay(3n * world.price));
      expect(a3.status).toEqual(LIMITED);
      expect(Number(a3.trailers["retry-after"])).toBeGreaterThanOrEqual(1);
      // Channel b of the same payer: one call left in the payer's bucket of three.
      expect((await call(d.echo, "Echo", { text: "b1" }, b.pay(world.price))).status).toEqual(OK);
      expect((await call(d.echo, "Echo", { text: "b2" }, b.pay(2n * world.price))).status).toEqual(LIMITED);
      // Channel c, another payer, still has its whole burst despite the forgeries.
      expect((await call(d.echo, "Echo", { text: "c1" }, c.pay(world.price))).status).toEqual(OK);
      expect((await call(d.echo, "Echo", { text: "c2" }, c.pay(2n * world.price))).status).toEqual(OK);

      // Refused calls were not charged: each channel holds exactly what its served calls paid.
      expect((await d.state(a)).amount).toBe(2n * world.price);
      expect((await d.state(b)).amount).toBe(world.price);
      expect((await d.state(c)).amount).toBe(2n * world.price);

      const metrics = await (await fetch(`${d.daemon.url}/metrics`)).text();
      expect(metrics).toContain('snetd_calls_total{payment_type="escrow",outcome="refused"} 5');
      expect(metrics).toContain('snetd_calls_total{payment_type="escrow",outcome="ok"} 5');
      expect(metrics).toContain('snetd_calls_refused_total{code="8"} 2');
    });
  });
});
