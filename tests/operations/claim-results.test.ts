/**
 * Claim results reach the metrics and the dashboard (dist/snetd with auto-claim on anvil): once auto-claim
 * has claimed a paid channel, `snetd_claims_total{result="claimed"}` and `snetd_claimed_cogs_total` count
 * it, the dashboard lists the claim with its transaction, and the channel is no longer unclaimed.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import * as grpc from "@grpc/grpc-js";
import { PROVIDER } from "../kit/contracts.ts";
import { call } from "../kit/echo-service.ts";
import { type PaidDaemon, startPaidDaemon } from "../kit/paid-daemon.ts";
import { freePort } from "../kit/ports.ts";
import { waitFor } from "../kit/wait.ts";
import { startWorld, type World } from "../kit/world.ts";

let world: World;
let snetd: PaidDaemon;
let admin: string;

beforeAll(async () => {
  world = await startWorld();
  const port = await freePort();
  admin = `http://127.0.0.1:${port}`;
  snetd = await startPaidDaemon(world, {
    // A loopback admin listener needs no token.
    admin_endpoint: `127.0.0.1:${port}`,
    auto_claim: { enabled: true, interval: "1s", expiring_within_blocks: 1_000_000 },
    private_key: PROVIDER.privateKey,
  });
}, 120_000);

afterAll(async () => {
  await snetd?.stop();
  await world?.stop();
});

interface Snapshot {
  claims: { channelIds: string[]; amountCogs: string; status: string; tx?: string }[];
  channels: { id: string }[];
  earnings: { claimedCogs: string };
}

describe("claim results", () => {
  test("an auto-claim is counted in /metrics and listed on the dashboard with its transaction", async () => {
    await snetd.daemon.showLogsOnFailure(async () => {
      const ch = await world.openFundedChannel();
      expect((await call(snetd.echo, "Echo", { text: "paid" }, ch.pay(world.price))).status.code).toBe(grpc.status.OK);
      const snapshot = await waitFor(
        "the claim on the dashboard",
        async () => {
          const s = (await (await fetch(`${admin}/dashboard/api/snapshot`)).json()) as Snapshot;
          return s.claims.some((c) => c.status === "mined") && s.channels.length === 0 ? s : undefined;
        },
        { timeoutMs: 60_000, intervalMs: 200 },
      );
      expect(snapshot.claims[0]).toMatchObject({
        channelIds: [String(ch.id)],
        amountCogs: String(world.price),
        status: "mined",
      });
      expect(snapshot.claims[0]!.tx).toMatch(/^0x[0-9a-f]{64}$/);
      expect(snapshot.earnings.claimedCogs).toBe(String(world.price));
      const metrics = await (await fetch(`${admin}/metrics`)).text();
      expect(metrics).toContain('snetd_claims_total{result="claimed"} 1');
      expect(metrics).toContain(`snetd_claimed_cogs_total ${world.price}`);
      expect(metrics).toContain("snetd_unclaimed_cogs 0");
    });
  });
});
