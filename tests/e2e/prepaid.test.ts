// Prepaid (concurrent) calls end to end (issue 7, protocol/payments.md#prepaid): dist/snetd in front of the echo
// service, anvil with the real contracts. A client asks GetToken for a budget signed like an escrow
// payment, then runs many calls at once on one channel with the bearer token; the treasurer claims the
// signed amount on-chain.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { join } from "node:path";
import * as grpc from "@grpc/grpc-js";
import { decodeJwt, SignJWT } from "jose";
import { signDigest } from "../../src/core/noble-recovery.ts";
import { hexToBytes } from "../../src/core/numbers.ts";
import { personalDigest, prepaidTokenRequestMessage } from "../../src/core/signatures.ts";
import { TokenReplySchema, TokenRequestSchema } from "../../src/gen/token_service_pb.ts";
import { channelOnChain, mpeBalance, signPayment } from "../kit/client.ts";
import { CLIENTS, PROVIDER, type TestAccount } from "../kit/contracts.ts";
import { type DaemonProcess, runCli, startDaemon } from "../kit/daemon.ts";
import { daemonRpc } from "../kit/daemon-client.ts";
import { call, echoClient } from "../kit/echo-service.ts";
import { channelStateReply, decodeState, type PaidDaemon, startPaidDaemon } from "../kit/paid-daemon.ts";
import { type Channel, startWorld, type World } from "../kit/world.ts";

const E2E_TIMEOUT_MS = 60_000;
const SECRET = "prepaid-e2e-secret-0123456789-0123456789";
const PUBLIC_DEFAULT_SECRET = "test-secret-key-at-least-32-bytes-long";

let world: World;
let snetd: PaidDaemon;
let daemon: DaemonProcess;
let echo: grpc.Client;
const rpcs: { close(): void }[] = [];

const tokenRpc = (endpoint: string) => {
  const c = daemonRpc(endpoint, "/escrow.TokenService/GetToken", TokenRequestSchema, TokenReplySchema);
  rpcs.push(c);
  return c;
};
let getTokenRpc: ReturnType<typeof tokenRpc>;

/** GetToken as the SDKs send it: a claim signature for (nonce, amount), wrapped by a block-stamped one. */
async function getToken(
  ch: Channel,
  amount: bigint,
  o: { nonce?: bigint; outerKey?: TestAccount["privateKey"]; rpc?: ReturnType<typeof tokenRpc> } = {},
) {
  const head = await world.head();
  const claimSignature = signPayment(ch.client.privateKey, world.deployment.mpe, ch.id, o.nonce ?? 0n, amount);
  const signature = signDigest(
    hexToBytes(o.outerKey ?? ch.client.privateKey),
    personalDigest(prepaidTokenRequestMessage(claimSignature, head)),
  );
  const r = await (o.rpc ?? getTokenRpc).call({
    channelId: ch.id,
    currentNonce: o.nonce ?? 0n,
    signedAmount: amount,
    signature,
    currentBlock: head,
    claimSignature,
  });
  return { ...r, claimSignature };
}

async function token(
  ch: Channel,
  amount: bigint,
  nonce = 0n,
): Promise<{ token: string; planned: bigint; used: bigint; claimSignature: Uint8Array }> {
  const r = await getToken(ch, amount, { nonce });
  expect(r.status).toEqual({ code: grpc.status.OK, details: "" });
  expect(r.reply!.channelId).toBe(ch.id);
  return {
    token: r.reply!.token,
    planned: r.reply!.plannedAmount,
    used: r.reply!.usedAmount,
    claimSignature: r.claimSignature,
  };
}

const prepaid = (channelId: bigint, tok: string) => ({
  "snet-payment-type": "prepaid-call",
  "snet-payment-channel-id": channelId.toString(),
  "snet-payment-channel-nonce": "0",
  "snet-prepaid-auth-token-bin": Buffer.from(tok, "utf8"),
});

/** The channel's state with the prepaid counters: planned (P) and used (U), protocol/payments.md#prepaid-budget. */
async function channelState(ch: Channel) {
  const reply = await channelStateReply(world, snetd.stateRpc, ch);
  return { ...decodeState(reply), planned: reply.plannedAmount, used: reply.usedAmount };
}

const usageExceeded = (id: bigint) => ({
  code: grpc.status.INTERNAL,
  details: `internal error: Usage Exceeded on channel Id ${id}`,
});

beforeAll(async () => {
  world = await startWorld();
  snetd = await startPaidDaemon(world, { token_secret_key: SECRET });
  ({ daemon, echo } = snetd);
  getTokenRpc = tokenRpc(daemon.endpoint);
}, 120_000);

afterAll(async () => {
  for (const r of rpcs) r.close();
  await snetd?.stop();
  await world?.stop();
});

describe("GetToken and concurrent prepaid calls on one channel", () => {
  let ch: Channel;

  test(
    "nothing planned yet: GetToken at the authorised amount answers planned 0, used 0",
    async () => {
      await daemon.showLogsOnFailure(async () => {
        ch = await world.openFundedChannel({ value: 1_000_000n });
        const t = await token(ch, 0n);
        expect({ planned: t.planned, used: t.used }).toEqual({ planned: 0n, used: 0n });
        expect(decodeJwt(t.token)).toMatchObject({ payload: ch.id.toString(), userAddress: ch.client.address });
        const r = await call(echo, "Echo", { text: "nothing planned" }, prepaid(ch.id, t.token));
        expect(r.status).toEqual(usageExceeded(ch.id));
      });
    },
    E2E_TIMEOUT_MS,
  );

  test(
    "50 calls at once all succeed, the used amount is exact, one more is refused",
    async () => {
      await daemon.showLogsOnFailure(async () => {
        const price = world.price;
        const t = await token(ch, 50n * price);
        expect({ planned: t.planned, used: t.used }).toEqual({ planned: 50n * price, used: 0n });
        const before = world.echo.calls;
        const results = await Promise.all(
          Array.from({ length: 50 }, (_, i) =>
            call(
              echo,
              "Echo",
              { text: `call ${i}` },
              { ...prepaid(ch.id, t.token), "snet-user-address": "0x0000000000000000000000000000000000000001" },
            ),
          ),
        );
        for (const [i, r] of results.entries()) {
          expect(r.status).toEqual({ code: grpc.status.OK, details: "OK" });
          expect(r.response?.text).toBe(`call ${i}`);
          expect(r.headers["echo-snet-user-address"]).toBe(ch.client.address);
        }
        expect(world.echo.calls).toBe(before + 50);

        const state = await channelState(ch);
        expect({ planned: state.planned, used: state.used, amount: state.amount }).toEqual({
          planned: 50n * price,
          used: 50n * price,
          amount: 50n * price,
        });
        expect(Buffer.from(state.signature).equals(Buffer.from(t.claimSignature))).toBe(true);

        const over = await call(echo, "Echo", { text: "one too many" }, prepaid(ch.id, t.token));
        expect(over.status).toEqual(usageExceeded(ch.id));
        expect(world.echo.calls).toBe(before + 50);
        // Asking again at the same amount reports the plan as it is.
        const again = await token(ch, 50n * price);
        expect({ planned: again.planned, used: again.used }).toEqual({ planned: 50n * price, used: 50n * price });
      });
    },
    E2E_TIMEOUT_MS,
  );

  test(
    "a failed service call is not charged",
    async () => {
      await daemon.showLogsOnFailure(async () => {
        const price = world.price;
        const t = await token(ch, 51n * price);
        expect({ planned: t.planned, used: t.used }).toEqual({ planned: 51n * price, used: 50n * price });
        const failed = await call(
          echo,
          "Fail",
          { code: grpc.status.ABORTED, message: "service says no" },
          prepaid(ch.id, t.token),
        );
        expect(failed.status).toEqual({ code: grpc.status.ABORTED, details: "service says no" });
        expect((await channelState(ch)).used).toBe(50n * price);
        expect((await call(echo, "Echo", { text: "paid" }, prepaid(ch.id, t.token))).status.code).toBe(grpc.status.OK);
        expect((await channelState(ch)).used).toBe(51n * price);
      });
    },
    E2E_TIMEOUT_MS,
  );

  test(
    "a larger GetToken raises the plan; a smaller one is refused",
    async () => {
      await daemon.showLogsOnFailure(async () => {
        const price = world.price;
        const t = await token(ch, 60n * price);
        expect({ planned: t.planned, used: t.used }).toEqual({ planned: 60n * price, used: 51n * price });
        const results = await Promise.all(
          Array.from({ length: 10 }, () => call(echo, "Echo", { text: "more" }, prepaid(ch.id, t.token))),
        );
        expect(results.filter((r) => r.status.code === grpc.status.OK)).toHaveLength(9);
        expect(results.filter((r) => r.status.code === grpc.status.INTERNAL).map((r) => r.status)).toEqual([
          usageExceeded(ch.id),
        ]);

        const smaller = await getToken(ch, 59n * price);
        expect(smaller.status.details).toBe(
          "signed amount for token request needs to be greater than last signed amount",
        );
        expect((await channelState(ch)).planned).toBe(60n * price);
      });
    },
    E2E_TIMEOUT_MS,
  );

  test(
    "the treasurer claims the signed amount on-chain; the counters survive the claim",
    async () => {
      await daemon.showLogsOnFailure(async () => {
        const price = world.price;
        const balanceBefore = await mpeBalance(world.deployment, PROVIDER.address);
        const claimed = await runCli(
          ["claim", "-c", join(daemon.dir, "snetd.config.json"), "--channel-id", ch.id.toString(), "-y", "--json"],
          {
            binary: true,
            env: { SNET_PRIVATE_KEY: PROVIDER.privateKey },
          },
        );
        expect(claimed.code).toBe(0);
        const report = JSON.parse(claimed.stdout) as { claimed_amount: string };
        expect(report.claimed_amount).toBe((60n * price).toString());
        expect(await mpeBalance(world.deployment, PROVIDER.address)).toBe(balanceBefore + 60n * price);
        const onChain = await channelOnChain(world.deployment, ch.id);
        expect({ nonce: onChain.nonce, value: onChain.value }).toEqual({ nonce: 1n, value: ch.value - 60n * price });

        // P and U are per channel, not per nonce: nothing left until the client signs more at the new nonce.
        const state = await channelState(ch);
        expect({ nonce: state.nonce, amount: state.amount, planned: state.planned, used: state.used }).toEqual({
          nonce: 1n,
          amount: 0n,
          planned: 60n * price,
          used: 60n * price,
        });
        const t = await token(ch, 2n * price, 1n);
        expect({ planned: t.planned, used: t.used }).toEqual({ planned: 62n * price, used: 60n * price });
        const results = await Promise.all(
          Array.from({ length: 3 }, () => call(echo, "Echo", { text: "after claim" }, prepaid(ch.id, t.token))),
        );
        expect(results.map((r) => r.status.code).sort()).toEqual(
          [grpc.status.OK, grpc.status.OK, grpc.status.INTERNAL].sort(),
        );
      });
    },
    E2E_TIMEOUT_MS,
  );
});

describe("GetToken refusals", () => {
  test(
    "an outer signature by somebody else than the channel's signer, sender or recipient",
    async () => {
      await daemon.showLogsOnFailure(async () => {
        const ch = await world.openFundedChannel();
        const stranger = CLIENTS.find((c) => c.address !== ch.client.address)!;
        const r = await getToken(ch, world.price, { outerKey: stranger.privateKey });
        expect(r.status).toEqual({
          code: grpc.status.PERMISSION_DENIED,
          details: "only channel signer/sender/receiver can get a Valid Token",
        });
        // The recipient may ask (protocol/signatures.md#prepaid-token-request).
        const byProvider = await getToken(ch, world.price, { outerKey: PROVIDER.privateKey });
        expect(byProvider.status.code).toBe(grpc.status.OK);
      });
    },
    E2E_TIMEOUT_MS,
  );

  test(
    "more than the channel holds, and a claim signature for another amount",
    async () => {
      await daemon.showLogsOnFailure(async () => {
        const ch = await world.openFundedChannel({ value: 10n * world.price });
        const tooMuch = await getToken(ch, 11n * world.price);
        expect(tooMuch.status).toEqual({
          code: grpc.status.UNAUTHENTICATED,
          details: `not enough tokens on payment channel, channel amount: ${10n * world.price}, payment amount: ${11n * world.price}`,
        });
        const head = await world.head();
        const claimSignature = signPayment(ch.client.privateKey, world.deployment.mpe, ch.id, 0n, world.price);
        const signature = signDigest(
          hexToBytes(ch.client.privateKey),
          personalDigest(prepaidTokenRequestMessage(claimSignature, head)),
        );
        const mismatched = await getTokenRpc.call({
          channelId: ch.id,
          currentNonce: 0n,
          signedAmount: 2n * world.price,
          signature,
          currentBlock: head,
          claimSignature,
        });
        expect(mismatched.status).toEqual({
          code: grpc.status.UNAUTHENTICATED,
          details: "payment is not signed by channel signer/sender",
        });
        expect((await channelState(ch)).planned).toBe(0n);
      });
    },
    E2E_TIMEOUT_MS,
  );
});

describe("tokens that must not pay", () => {
  test(
    "forged, expired, for another channel, from another daemon, or signed with the public default secret",
    async () => {
      await daemon.showLogsOnFailure(async () => {
        const price = world.price;
        const a = await world.openFundedChannel();
        const b = await world.openFundedChannel();
        const ta = await token(a, 5n * price);
        await token(b, 5n * price);
        const before = world.echo.calls;
        const refused = async (channelId: bigint, tok: string, reason: string) => {
          const r = await call(echo, "Echo", { text: "should not pass" }, prepaid(channelId, tok));
          expect(r.status).toEqual({
            code: grpc.status.UNAUTHENTICATED,
            details: `prepaid token is not valid: ${reason}`,
          });
        };

        await refused(b.id, ta.token, `it was issued for channel "${a.id}", the call pays with channel "${b.id}"`);
        const [h, body, s] = ta.token.split(".") as [string, string, string];
        const forgedBody = Buffer.from(JSON.stringify({ ...decodeJwt(ta.token), payload: b.id.toString() })).toString(
          "base64url",
        );
        await refused(b.id, `${h}.${forgedBody}.${s}`, "it was not issued by this service group");
        await refused(
          a.id,
          `${h}.${body}.${s.startsWith("A") ? "B" : "A"}${s.slice(1)}`,
          "it was not issued by this service group",
        );

        const claims = decodeJwt(ta.token);
        const sign = (secret: string, exp: number) =>
          new SignJWT({ ...claims, exp }).setProtectedHeader({ alg: "HS256" }).sign(new TextEncoder().encode(secret));
        const expired = await sign(SECRET, Math.floor(Date.now() / 1000) - 60);
        const r = await call(echo, "Echo", { text: "expired" }, prepaid(a.id, expired));
        expect(r.status.code).toBe(grpc.status.UNAUTHENTICATED);
        expect(r.status.details).toStartWith("prepaid token is not valid: it expired at ");
        await refused(
          a.id,
          await sign(PUBLIC_DEFAULT_SECRET, Math.floor(Date.now() / 1000) + 600),
          "it was not issued by this service group",
        );

        // Another daemon (no token_secret_key: it generates and stores its own) issues tokens this one refuses.
        const other = await startDaemon({ config: world.daemonConfig({ block_cache_ms: 0 }), binary: true });
        const otherRpc = tokenRpc(other.endpoint);
        const otherEcho = echoClient(other.endpoint);
        try {
          await other.showLogsOnFailure(async () => {
            const c = await world.openFundedChannel();
            const t = await getToken(c, 3n * price, { rpc: otherRpc });
            expect(t.status.code).toBe(grpc.status.OK);
            expect((await call(otherEcho, "Echo", { text: "home" }, prepaid(c.id, t.reply!.token))).status.code).toBe(
              grpc.status.OK,
            );
            await refused(c.id, t.reply!.token, "it was not issued by this service group");
            expect(other.logs()).toContain("generated");
          });
        } finally {
          otherEcho.close();
          await other.stop();
        }
        expect(world.echo.calls).toBe(before + 1);
        // The genuine token still pays.
        expect((await call(echo, "Echo", { text: "genuine" }, prepaid(a.id, ta.token))).status.code).toBe(
          grpc.status.OK,
        );
      });
    },
    E2E_TIMEOUT_MS,
  );

  test(
    "the reference's public default secret is refused at start",
    async () => {
      const refused = await startDaemon({
        config: world.daemonConfig({ token_secret_key: PUBLIC_DEFAULT_SECRET }),
        binary: true,
        expectExit: true,
      });
      const { code } = await refused.waitExit();
      expect(code).toBe(2);
      expect(refused.logs()).toContain("token_secret_key");
      expect(refused.logs()).toContain("public example secret");
    },
    E2E_TIMEOUT_MS,
  );
});
