// Connect unary calls from the real curl binary (issue 13, docs/protocol/headers.md#connect): dist/snetd in
// front of the echo service, anvil with the real contracts; a JSON body, the payment in HTTP headers, the
// reply as JSON. Escrow, prepaid and free calls, the refusals a user meets, and HTTP/2 with a binary body.
// Each paid call prints its curl command (the README's example is one of them).
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { generatePrivateKey, privateKeyToAccount } from "viem/accounts";
import { signDigest } from "../../src/core/noble-recovery.ts";
import { bigintToMinimalBytes, bytesToBigint, hexToBytes } from "../../src/core/numbers.ts";
import { freeCallInvocationMessage, freeCallTokenRequestMessage, personalDigest } from "../../src/core/signatures.ts";
import { compileProtos } from "../../src/metadata/protos/compile.ts";
import { signChannelStateRequest } from "../kit/client.ts";
import { FREE_CALL_SIGNER } from "../kit/contracts.ts";
import { curl, curlHeaders } from "../kit/curl.ts";
import { channelStateReply, type PaidDaemon, startPaidDaemon } from "../kit/paid-daemon.ts";
import { prepaidMetadata, prepaidToken } from "../kit/prepaid-token.ts";
import { type Channel, ORG_ID, SERVICE_ID, startWorld, type World } from "../kit/world.ts";

const E2E_TIMEOUT_MS = 60_000;
const ECHO = "/example.Echo/Echo";
const JSON_TYPE = { "content-type": "application/json" };
const protos = compileProtos({ "echo.proto": readFileSync(join(import.meta.dir, "../kit/echo.proto"), "utf8") });
const EchoRequest = protos.registry.getMessage("example.EchoRequest")!;
const EchoReply = protos.registry.getMessage("example.EchoReply")!;
const b64 = (bytes: Uint8Array) => Buffer.from(bytes).toString("base64");

let world: World;
let paid: PaidDaemon;
let url: string;

beforeAll(async () => {
  world = await startWorld({ freeCallSignerAddress: FREE_CALL_SIGNER.address, freeCalls: 3 });
  paid = await startPaidDaemon(world, {
    private_key_for_free_calls: FREE_CALL_SIGNER.privateKey.slice(2),
    min_balance_for_free_call: 0,
  });
  url = paid.daemon.url;
}, 120_000);

afterAll(async () => {
  await paid?.stop();
  await world?.stop();
});

const spec = (name: string, fn: () => Promise<void>) =>
  test(name, () => paid.daemon.showLogsOnFailure(fn), E2E_TIMEOUT_MS);

/** What the daemon has authorised on `ch` so far (GetChannelState over gRPC). */
const signedAmount = async (ch: Channel) =>
  bytesToBigint((await channelStateReply(world, paid.stateRpc, ch)).currentSignedAmount);

/** A paid Echo from curl with a JSON body; prints the command. */
async function paidEcho(payment: Record<string, string | Buffer>, text: string, extra: Record<string, string> = {}) {
  const r = await curl(`${url}${ECHO}`, {
    headers: { ...JSON_TYPE, "connect-protocol-version": "1", ...extra, ...curlHeaders(payment) },
    data: JSON.stringify({ text }),
  });
  console.log(`curl (${text}):\n${r.command}\n→ ${r.status} ${r.body.toString("utf8").slice(0, 300)}`);
  return r;
}

describe("curl with a JSON body (Connect unary)", () => {
  spec("escrow: the channel state and a paid call, both as JSON; trailers as trailer- headers", async () => {
    const ch = await world.openFundedChannel();
    // GetChannelState as JSON: all a client without an SDK needs before it signs.
    const head = await world.head();
    const state = await curl(`${url}/escrow.PaymentChannelStateService/GetChannelState`, {
      headers: JSON_TYPE,
      data: JSON.stringify({
        channelId: b64(bigintToMinimalBytes(ch.id)),
        signature: b64(signChannelStateRequest(ch.client.privateKey, world.deployment.mpe, ch.id, head)),
        currentBlock: head.toString(),
      }),
    });
    expect(state.status).toBe(200);
    const nonce = bytesToBigint(Buffer.from((state.json as { currentNonce: string }).currentNonce, "base64"));
    expect(nonce).toBe(0n);
    expect((state.json as Record<string, unknown>).currentSignedAmount).toBeUndefined();

    const before = world.echo.calls;
    const r = await paidEcho(ch.pay(world.price, nonce), "hello from curl", { "connect-timeout-ms": "10000" });
    expect(r.status).toBe(200);
    expect(r.headers["content-type"]).toBe("application/json");
    const reply = r.json as { text: string; metadata: Record<string, string> };
    expect(reply.text).toBe("hello from curl");
    // The service saw the payer's address, and the metadata without Connect's own headers.
    expect(reply.metadata["snet-user-address"]).toBe(ch.client.address);
    expect(reply.metadata["snet-payment-channel-id"]).toBe(ch.id.toString());
    for (const k of ["connect-protocol-version", "connect-timeout-ms", "content-type", "accept"])
      expect(reply.metadata).not.toHaveProperty(k);
    expect(r.headers["x-service-header"]).toBe("yes");
    expect(r.headers["trailer-x-service-trailer"]).toBe("done");
    expect(world.echo.calls).toBe(before + 1);
    expect(await signedAmount(ch)).toBe(world.price);

    const second = await paidEcho(ch.pay(2n * world.price), "again");
    expect(second.status).toBe(200);
    expect(await signedAmount(ch)).toBe(2n * world.price);
  });

  spec("escrow over HTTP/2 with a binary body (application/proto)", async () => {
    const ch = await world.openFundedChannel();
    const payload = Uint8Array.from([0, 1, 2, 253, 254, 255]);
    const r = await curl(`${url}${ECHO}`, {
      http2: true,
      headers: {
        "content-type": "application/proto",
        "connect-protocol-version": "1",
        ...curlHeaders(ch.pay(world.price)),
      },
      data: toBinary(EchoRequest, create(EchoRequest, { text: "binary", payload })),
    });
    expect(r.status).toBe(200);
    expect(r.headers["content-type"]).toBe("application/proto");
    const reply = fromBinary(EchoReply, r.body) as unknown as { text: string; payload: Uint8Array };
    expect(reply.text).toBe("binary");
    expect(Buffer.from(reply.payload).equals(Buffer.from(payload))).toBe(true);
    expect(await signedAmount(ch)).toBe(world.price);
  });

  spec("prepaid: a bearer token from GetToken, then calls without a signature each", async () => {
    const ch = await world.openFundedChannel();
    const token = await prepaidToken(world, paid.daemon.endpoint, ch, 10n * world.price);
    for (const text of ["prepaid 1", "prepaid 2"]) {
      const r = await paidEcho(prepaidMetadata(ch.id, token), text);
      expect(r.status).toBe(200);
      expect((r.json as { text: string }).text).toBe(text);
    }
    expect((await channelStateReply(world, paid.stateRpc, ch)).usedAmount).toBe(2n * world.price);
  });

  spec("free call: token, quota and call, all with curl and JSON", async () => {
    const key = generatePrivateKey();
    const address = privateKeyToAccount(key).address;
    const fields = (block: bigint) => ({
      addressText: address,
      userId: "",
      orgId: ORG_ID,
      serviceId: SERVICE_ID,
      groupIdBase64: world.group.base64,
      currentBlock: block,
    });
    const sign = (message: Uint8Array) => signDigest(hexToBytes(key), personalDigest(message));
    const service = `${url}/escrow.FreeCallStateService`;
    let block = await world.head();
    const t = await curl(`${service}/GetFreeCallToken`, {
      headers: JSON_TYPE,
      data: JSON.stringify({
        address,
        signature: b64(sign(freeCallTokenRequestMessage(fields(block)))),
        currentBlock: block.toString(),
      }),
    });
    expect(t.status).toBe(200);
    const token = Buffer.from((t.json as { token: string }).token, "base64");
    const left = async () => {
      const b = await world.head();
      const signature = b64(sign(freeCallInvocationMessage(fields(b), token)));
      const body = { address, signature, currentBlock: b.toString(), freeCallToken: b64(token) };
      const r = await curl(`${service}/GetFreeCallsAvailable`, { headers: JSON_TYPE, data: JSON.stringify(body) });
      expect(r.status).toBe(200);
      return (r.json as { freeCallsAvailable?: string }).freeCallsAvailable ?? "0";
    };
    expect(await left()).toBe("3");

    block = await world.head();
    const before = world.echo.calls;
    const r = await paidEcho(
      {
        "snet-payment-type": "free-call",
        "snet-free-call-user-address": address,
        "snet-current-block-number": block.toString(),
        "snet-free-call-auth-token-bin": token,
        "snet-payment-channel-signature-bin": Buffer.from(sign(freeCallInvocationMessage(fields(block), token))),
      },
      "free from curl",
    );
    expect(r.status).toBe(200);
    expect((r.json as { metadata: Record<string, string> }).metadata["snet-user-address"]).toBe(address);
    expect(world.echo.calls).toBe(before + 1);
    expect(await left()).toBe("2");
  });
});

describe("refusals as Connect errors", () => {
  spec("a wrong price: 401 unauthenticated with the daemon's text; nothing reaches the service", async () => {
    const ch = await world.openFundedChannel();
    const before = world.echo.calls;
    const r = await paidEcho(ch.pay(world.price - 1n), "underpaid");
    expect(r.status).toBe(401);
    expect(r.headers["content-type"]).toBe("application/json");
    expect(r.json).toEqual({
      code: "unauthenticated",
      message: `income ${world.price - 1n} does not equal to price ${world.price}`,
    });
    expect(world.echo.calls).toBe(before);
    expect(await signedAmount(ch)).toBe(0n);
  });

  spec("a malformed JSON body: 400 invalid_argument naming the problem, never charged", async () => {
    const ch = await world.openFundedChannel();
    const headers = { ...JSON_TYPE, ...curlHeaders(ch.pay(world.price)) };
    const cases: [string, string][] = [
      ['{"text": 5}', "cannot decode field example.EchoRequest.text from JSON: expected string, got 5"],
      ['{"txt": "hi"}', 'key "txt" is unknown'],
      ['{"text": "hi"', "the body is not JSON"],
      ['["hi"]', "the body is an array, expected a JSON object"],
    ];
    for (const [data, problem] of cases) {
      const r = await curl(`${url}${ECHO}`, { headers, data });
      expect(r.status).toBe(400);
      const error = r.json as { code: string; message: string };
      expect(error.code).toBe("invalid_argument");
      expect(error.message).toStartWith(`invalid JSON request body for ${ECHO}: `);
      expect(error.message).toContain(problem);
    }
    expect(await signedAmount(ch)).toBe(0n);
    // The same payment still pays once the body is right.
    expect((await curl(`${url}${ECHO}`, { headers, data: '{"text": "hi"}' })).status).toBe(200);
  });

  spec("a failing service: its code and trailers, not charged", async () => {
    const ch = await world.openFundedChannel();
    const r = await curl(`${url}/example.Echo/Fail`, {
      headers: { ...JSON_TYPE, ...curlHeaders(ch.pay(world.price)) },
      data: JSON.stringify({ code: 10, message: "service failed" }),
    });
    expect(r.status).toBe(409);
    expect(r.json).toEqual({ code: "aborted", message: "service failed" });
    expect(r.headers["trailer-x-error-detail"]).toBe("failure requested by the caller");
    expect(await signedAmount(ch)).toBe(0n);
  });

  spec("no payment, unknown and streaming methods, a bad timeout", async () => {
    const none = await curl(`${url}${ECHO}`, { headers: JSON_TYPE, data: "{}" });
    expect(none.status).toBe(400);
    expect(none.json).toEqual({ code: "invalid_argument", message: 'missing "snet-payment-channel-id"' });
    const unknown = await curl(`${url}/example.Echo/Nope`, { headers: JSON_TYPE, data: "{}" });
    expect(unknown.status).toBe(501);
    expect((unknown.json as { code: string }).code).toBe("unimplemented");
    expect((unknown.json as { message: string }).message).toContain(
      '"/example.Echo/Nope" is not in the service\'s proto files',
    );
    const stream = await curl(`${url}/example.Echo/ServerStream`, { headers: JSON_TYPE, data: "{}" });
    expect(stream.status).toBe(501);
    expect((stream.json as { message: string }).message).toContain("is server-streaming");
    const timeout = await curl(`${url}${ECHO}`, {
      headers: { ...JSON_TYPE, "connect-timeout-ms": "soon" },
      data: "{}",
    });
    expect(timeout.status).toBe(400);
    expect((timeout.json as { message: string }).message).toBe(
      'incorrect format "connect-timeout-ms": "soon", expected a positive integer of at most 10 digits',
    );
  });

  spec(
    "connect-timeout-ms is the deadline; a client that hangs up cancels the service's call; neither is charged",
    async () => {
      const ch = await world.openFundedChannel();
      const headers = { ...JSON_TYPE, ...curlHeaders(ch.pay(world.price)) };
      // Far longer than the test waits: the Slow call ends early only if the deadline or a cancel reaches it.
      const slow = JSON.stringify({ millis: 600_000 });
      const cancelled = world.echo.cancelled;
      const late = await curl(`${url}/example.Echo/Slow`, {
        headers: { ...headers, "connect-timeout-ms": "300" },
        data: slow,
      });
      expect(late.status).toBe(504);
      // Whichever deadline fires first answers: snetd's own ("deadline exceeded") or the service's, which got
      // the same grpc-timeout (grpc-js: "Deadline exceeded"); both are the client's deadline, never charged.
      expect(late.json).toEqual({ code: "deadline_exceeded", message: expect.stringMatching(/^deadline exceeded$/i) });
      await world.echo.waitCancelled(cancelled + 1, 10_000);
      const gone = await curl(`${url}/example.Echo/Slow`, { headers, data: slow, maxTimeSeconds: 1 }).catch(
        (e: Error) => e,
      );
      expect(gone).toBeInstanceOf(Error);
      await world.echo.waitCancelled(cancelled + 2, 10_000);
      expect(await signedAmount(ch)).toBe(0n);
    },
  );

  spec("a body over max_message_size_in_mb: 429 resource_exhausted before the payment is checked", async () => {
    const big = JSON.stringify({ text: "x".repeat(4 * 1024 * 1024) });
    const r = await curl(`${url}${ECHO}`, { headers: JSON_TYPE, data: new TextEncoder().encode(big) });
    expect(r.status).toBe(429);
    expect((r.json as { code: string }).code).toBe("resource_exhausted");
  });
});
