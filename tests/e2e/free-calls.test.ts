// Free calls end to end (issue 7, protocol/payments.md#free-calls): dist/snetd with the group's
// free-call signer key, anvil with the real contracts and a service published with
// free_call_signer_address and free_calls = 3. Users are fresh keys: free calls need no funds.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as grpc from "@grpc/grpc-js";
import { getAddress, type Hex } from "viem";
import { generatePrivateKey, privateKeyToAccount } from "viem/accounts";
import { signFreeCallToken } from "../../src/core/free-call-token.ts";
import { signDigest } from "../../src/core/noble-recovery.ts";
import { bytesToHex, hexToBytes } from "../../src/core/numbers.ts";
import {
  type Address,
  freeCallInvocationMessage,
  freeCallTokenRequestMessage,
  freeCallV5InvocationMessage,
  personalDigest,
} from "../../src/core/signatures.ts";
import {
  FreeCallStateReplySchema as V5ReplySchema,
  FreeCallStateRequestSchema as V5RequestSchema,
} from "../../src/gen/free_call_v5_pb.ts";
import {
  FreeCallStateReplySchema,
  FreeCallStateRequestSchema,
  FreeCallTokenSchema,
  GetFreeCallTokenRequestSchema,
} from "../../src/gen/state_service_pb.ts";
import { mine } from "../kit/anvil.ts";
import { DEPLOYER, FREE_CALL_SIGNER, sendContractTx, tokenAbi } from "../kit/contracts.ts";
import { type DaemonProcess, ensureBinary, runCli, startDaemon } from "../kit/daemon.ts";
import { daemonRpc } from "../kit/daemon-client.ts";
import { call, echoClient } from "../kit/echo-service.ts";
import { freePort } from "../kit/ports.ts";
import { GROUP_NAME, ORG_ID, SERVICE_ID, startWorld, type World } from "../kit/world.ts";

const E2E_TIMEOUT_MS = 60_000;
const QUOTA = 3n;

interface User {
  key: Hex;
  /** EIP-55, as the Python SDK sends it. */
  address: string;
}
const newUser = (): User => {
  const key = generatePrivateKey();
  return { key, address: privateKeyToAccount(key).address };
};
const TRUSTED = newUser();
const VIP = newUser();
const UNLIMITED = newUser();

let world: World;
let daemon: DaemonProcess;
let config: Record<string, unknown>;
/** Temp dir holding the store (data/) and a copy of the config for the CLI, which outlives a daemon. */
let root: string;
let clients: ReturnType<typeof clientsFor>;

function clientsFor(endpoint: string) {
  return {
    echo: echoClient(endpoint),
    token: daemonRpc(
      endpoint,
      "/escrow.FreeCallStateService/GetFreeCallToken",
      GetFreeCallTokenRequestSchema,
      FreeCallTokenSchema,
    ),
    available: daemonRpc(
      endpoint,
      "/escrow.FreeCallStateService/GetFreeCallsAvailable",
      FreeCallStateRequestSchema,
      FreeCallStateReplySchema,
    ),
    close() {
      this.echo.close();
      this.token.close();
      this.available.close();
    },
  };
}

const fields = (addressText: string, userId: string, currentBlock: bigint) => ({
  addressText,
  userId,
  orgId: ORG_ID,
  serviceId: SERVICE_ID,
  groupIdBase64: world.group.base64,
  currentBlock,
});

interface As {
  /** The address text sent (and signed); the user's EIP-55 address by default. */
  addressText?: string;
  userId?: string;
  block?: bigint;
  /** Signs with this key instead of the user's. */
  signWith?: Hex;
  via?: ReturnType<typeof clientsFor>;
}

/** GetFreeCallToken as the SDKs send it (protocol/signatures.md#free-call-token-request). */
async function requestToken(user: User, o: As & { lifetime?: bigint } = {}) {
  const block = o.block ?? (await world.head());
  const addressText = o.addressText ?? user.address;
  const userId = o.userId ?? "";
  const signature = signDigest(
    hexToBytes(o.signWith ?? user.key),
    personalDigest(freeCallTokenRequestMessage(fields(addressText, userId, block))),
  );
  return (o.via ?? clients).token.call({
    address: addressText,
    signature,
    currentBlock: block,
    ...(userId ? { userId } : {}),
    ...(o.lifetime !== undefined ? { tokenLifetimeInBlocks: o.lifetime } : {}),
  });
}

async function tokenFor(user: User, o: As & { lifetime?: bigint } = {}): Promise<Uint8Array> {
  const r = await requestToken(user, o);
  expect(r.status).toEqual({ code: grpc.status.OK, details: "" });
  return r.reply!.token;
}

/** The 3.8 signature over the request fields and the token, for a call or GetFreeCallsAvailable. */
async function invocation(user: User, token: Uint8Array, o: As) {
  const block = o.block ?? (await world.head());
  const addressText = o.addressText ?? user.address;
  const userId = o.userId ?? "";
  const signature = signDigest(
    hexToBytes(o.signWith ?? user.key),
    personalDigest(freeCallInvocationMessage(fields(addressText, userId, block), token)),
  );
  return { block, addressText, userId, signature };
}

async function freeCall(user: User, token: Uint8Array, o: As & { method?: "Echo" | "Fail" } = {}) {
  const i = await invocation(user, token, o);
  const md = {
    "snet-payment-type": "free-call",
    "snet-free-call-user-address": i.addressText,
    "snet-current-block-number": i.block.toString(),
    "snet-free-call-auth-token-bin": Buffer.from(token),
    "snet-payment-channel-signature-bin": Buffer.from(i.signature),
    ...(i.userId ? { "snet-free-call-user-id": i.userId } : {}),
  };
  const echo = (o.via ?? clients).echo;
  return o.method === "Fail"
    ? call(echo, "Fail", { code: grpc.status.ABORTED, message: "service failed" }, md)
    : call(echo, "Echo", { text: "free" }, md);
}

async function available(user: User, token: Uint8Array, o: As = {}) {
  const i = await invocation(user, token, o);
  return (o.via ?? clients).available.call({
    address: i.addressText,
    signature: i.signature,
    currentBlock: i.block,
    freeCallToken: token,
    ...(i.userId ? { userId: i.userId } : {}),
  });
}

async function left(user: User, token: Uint8Array, o: As = {}): Promise<bigint> {
  const r = await available(user, token, o);
  expect(r.status).toEqual({ code: grpc.status.OK, details: "" });
  return r.reply!.freeCallsAvailable;
}

const exceeded = (made: bigint, allowed = QUOTA) => ({
  code: grpc.status.INTERNAL,
  details: `internal error: free call limit has been exceeded, calls made = ${made}, total free calls eligible = ${allowed}`,
});

beforeAll(async () => {
  await ensureBinary();
  world = await startWorld({ freeCallSignerAddress: FREE_CALL_SIGNER.address, freeCalls: Number(QUOTA) });
  root = mkdtempSync(join(tmpdir(), "snetd-free-calls-"));
  config = world.daemonConfig({
    daemon_endpoint: `127.0.0.1:${await freePort()}`,
    data_dir: join(root, "data"),
    block_cache_ms: 0,
    // private_key_for_free_calls is hex without 0x.
    private_key_for_free_calls: FREE_CALL_SIGNER.privateKey.slice(2),
    trusted_free_call_signers: [TRUSTED.address],
    min_balance_for_free_call: 0,
    // Keys in EIP-55 case: the quota is found by address, whatever its spelling.
    free_calls_per_address: { [VIP.address]: 5, [UNLIMITED.address]: -1 },
  });
  writeFileSync(join(root, "snetd.config.json"), JSON.stringify(config), { mode: 0o600 });
  daemon = await startDaemon({ config, binary: true });
  clients = clientsFor(daemon.endpoint);
}, 120_000);

afterAll(async () => {
  clients?.close();
  await daemon?.stop();
  await world?.stop();
  if (root) rmSync(root, { recursive: true, force: true });
});

describe("GetFreeCallToken, GetFreeCallsAvailable and free calls", () => {
  test(
    "a token for any signed fresh request; a call with it is free and counted",
    async () => {
      await daemon.showLogsOnFailure(async () => {
        const user = newUser();
        const head = await world.head();
        const r = await requestToken(user, { block: head });
        expect(r.status.code).toBe(grpc.status.OK);
        const { token, tokenHex, tokenExpirationBlock } = r.reply!;
        expect(tokenExpirationBlock).toBe(head + 172_800n);
        expect(tokenHex).toBe(bytesToHex(token, false));
        expect(token.length).toBe(65 + 1 + tokenExpirationBlock.toString().length);
        expect(new TextDecoder().decode(token.subarray(65))).toBe(`_${tokenExpirationBlock}`);
        expect([27, 28]).toContain(token[64]!);
        expect((await requestToken(user, { block: head, lifetime: 10n })).reply!.tokenExpirationBlock).toBe(head + 10n);
        expect((await requestToken(user, { block: head, lifetime: 10n ** 9n })).reply!.tokenExpirationBlock).toBe(
          head + 172_800n,
        );

        expect(await left(user, token)).toBe(QUOTA);
        const before = world.echo.calls;
        const ok = await freeCall(user, token);
        expect(ok.status).toEqual({ code: grpc.status.OK, details: "OK" });
        expect(ok.headers["echo-snet-user-address"]).toBe(user.address);
        expect(world.echo.calls).toBe(before + 1);
        expect(await left(user, token)).toBe(QUOTA - 1n);
      });
    },
    E2E_TIMEOUT_MS,
  );

  test(
    "a failed service call does not count; the quota ends the free calls, token issue goes on",
    async () => {
      await daemon.showLogsOnFailure(async () => {
        const user = newUser();
        const token = await tokenFor(user);
        const failed = await freeCall(user, token, { method: "Fail" });
        expect(failed.status).toEqual({ code: grpc.status.ABORTED, details: "service failed" });
        expect(await left(user, token)).toBe(QUOTA);
        for (let i = 0n; i < QUOTA; i++) expect((await freeCall(user, token)).status.code).toBe(grpc.status.OK);
        expect(await left(user, token)).toBe(0n);
        const before = world.echo.calls;
        expect((await freeCall(user, token)).status).toEqual(exceeded(QUOTA));
        expect(world.echo.calls).toBe(before);
        // protocol/reference-differences.md#d21: snet-sdk-python asks for a token before every call and stops if refused.
        expect((await requestToken(user)).status.code).toBe(grpc.status.OK);
      });
    },
    E2E_TIMEOUT_MS,
  );

  test(
    "10 concurrent calls at the quota edge: exactly 3 reach the service",
    async () => {
      await daemon.showLogsOnFailure(async () => {
        const user = newUser();
        const token = await tokenFor(user);
        const before = world.echo.calls;
        const results = await Promise.all(Array.from({ length: 10 }, () => freeCall(user, token)));
        expect(results.filter((r) => r.status.code === grpc.status.OK)).toHaveLength(Number(QUOTA));
        for (const r of results.filter((x) => x.status.code !== grpc.status.OK))
          expect(r.status).toEqual(exceeded(QUOTA));
        expect(world.echo.calls).toBe(before + Number(QUOTA));
        expect(await left(user, token)).toBe(0n);
      });
    },
    E2E_TIMEOUT_MS,
  );

  test(
    "re-casing the address gives no fresh quota (protocol/reference-differences.md#d13)",
    async () => {
      await daemon.showLogsOnFailure(async () => {
        const user = newUser();
        const lower = user.address.toLowerCase();
        const upper = `0x${user.address.slice(2).toUpperCase()}`;
        const checksummed = await tokenFor(user);
        expect((await freeCall(user, checksummed)).status.code).toBe(grpc.status.OK);
        const lowerToken = await tokenFor(user, { addressText: lower });
        expect((await freeCall(user, lowerToken, { addressText: lower })).status.code).toBe(grpc.status.OK);
        const upperToken = await tokenFor(user, { addressText: upper });
        expect(await left(user, upperToken, { addressText: upper })).toBe(1n);
        expect((await freeCall(user, upperToken, { addressText: upper })).status.code).toBe(grpc.status.OK);
        for (const [t, addressText] of [
          [checksummed, user.address],
          [lowerToken, lower],
          [upperToken, upper],
        ] as const) {
          expect((await freeCall(user, t, { addressText })).status).toEqual(exceeded(QUOTA));
          expect(await left(user, t, { addressText })).toBe(0n);
        }
      });
    },
    E2E_TIMEOUT_MS,
  );

  test(
    "free_calls_per_address overrides the metadata quota; -1 is unlimited",
    async () => {
      await daemon.showLogsOnFailure(async () => {
        expect(await left(VIP, await tokenFor(VIP))).toBe(5n);
        const lower = { ...UNLIMITED, address: UNLIMITED.address.toLowerCase() };
        const t = await tokenFor(lower);
        expect(await left(lower, t)).toBe(99_999_999n);
        for (let i = 0; i < 4; i++) expect((await freeCall(lower, t)).status.code).toBe(grpc.status.OK);
        expect(await left(lower, t)).toBe(99_999_999n);
      });
    },
    E2E_TIMEOUT_MS,
  );

  test(
    "a trusted signer asks for its users by user_id; each user has a quota; an untrusted caller may not",
    async () => {
      await daemon.showLogsOnFailure(async () => {
        const alice = await tokenFor(TRUSTED, { userId: "alice@example.com" });
        const bob = await tokenFor(TRUSTED, { userId: "bob@example.com" });
        for (let i = 0n; i < QUOTA; i++) {
          const r = await freeCall(TRUSTED, alice, { userId: "alice@example.com" });
          expect(r.status.code).toBe(grpc.status.OK);
          expect(r.headers["echo-snet-user-address"]).toBe(TRUSTED.address);
        }
        expect((await freeCall(TRUSTED, alice, { userId: "alice@example.com" })).status).toEqual(exceeded(QUOTA));
        expect(await left(TRUSTED, bob, { userId: "bob@example.com" })).toBe(QUOTA);
        // The token binds the user id: alice's token does not pay for bob.
        expect((await freeCall(TRUSTED, alice, { userId: "bob@example.com" })).status).toEqual({
          code: grpc.status.UNAUTHENTICATED,
          details: "token sign is not valid",
        });

        const untrusted = await requestToken(newUser(), { userId: "alice@example.com" });
        expect(untrusted.status).toEqual({
          code: grpc.status.PERMISSION_DENIED,
          details: "your address is not trusted by this service provider, the use of user_id is not allowed",
        });
      });
    },
    E2E_TIMEOUT_MS,
  );

  test(
    "an expired token is refused by the call and by GetFreeCallsAvailable",
    async () => {
      await daemon.showLogsOnFailure(async () => {
        const user = newUser();
        const head = await world.head();
        const r = await requestToken(user, { block: head, lifetime: 2n });
        const token = r.reply!.token;
        expect((await freeCall(user, token)).status.code).toBe(grpc.status.OK);
        await mine(world.anvil.rpcUrl, 3n);
        const now = await world.head();
        // The reference's text, which clients may match.
        const expected = {
          code: grpc.status.UNAUTHENTICATED,
          details: "authentication failed as the Free Call Token passed has expired",
        };
        expect((await freeCall(user, token, { block: now })).status).toEqual(expected);
        expect((await available(user, token, { block: now })).status).toEqual(expected);
        expect(await left(user, await tokenFor(user))).toBe(QUOTA - 1n);
      });
    },
    E2E_TIMEOUT_MS,
  );

  test(
    "wrong signers and stale blocks are refused",
    async () => {
      await daemon.showLogsOnFailure(async () => {
        const user = newUser();
        const other = newUser();
        const byOther = await requestToken(user, { signWith: other.key });
        expect(byOther.status).toEqual({
          code: grpc.status.PERMISSION_DENIED,
          details: `invalid signer, ${user.address} (from request) is not equal to ${other.address} (signer)`,
        });
        const stale = await requestToken(user, { block: (await world.head()) - 6n });
        expect(stale.status).toEqual({
          code: grpc.status.UNAUTHENTICATED,
          details: "authentication failed as the signature passed has expired",
        });

        const token = await tokenFor(user);
        const signedByOther = await freeCall(user, token, { signWith: other.key });
        expect(signedByOther.status).toEqual({
          code: grpc.status.UNAUTHENTICATED,
          details: `sign is not valid: invalid signer, ${user.address} (from request) is not equal to ${other.address} (signer)`,
        });
        // A token made by any key but the group's free_call_signer_address.
        const forged = signFreeCallToken(hexToBytes(other.key), {
          orgId: ORG_ID,
          groupName: GROUP_NAME,
          user: user.address.toLowerCase() as Address,
          userId: "",
          expiryBlock: (await world.head()) + 100n,
        });
        expect((await freeCall(user, forged)).status).toEqual({
          code: grpc.status.UNAUTHENTICATED,
          details: "token sign is not valid",
        });
        expect((await freeCall(user, token, { block: (await world.head()) + 6n })).status).toEqual({
          code: grpc.status.UNAUTHENTICATED,
          details: "authentication failed as the signature passed has expired",
        });
        const garbled = await freeCall(user, token.subarray(1));
        expect(garbled.status).toEqual({
          code: grpc.status.INVALID_ARGUMENT,
          details: "invalid token: signature is 64 bytes long, expected 65",
        });
        expect(await left(user, token)).toBe(QUOTA);
      });
    },
    E2E_TIMEOUT_MS,
  );
});

describe("snetd freecall", () => {
  test(
    "list shows usage per address; reset needs the daemon stopped and gives the quota back",
    async () => {
      const user = newUser();
      const token = await tokenFor(user);
      for (let i = 0n; i < QUOTA; i++) expect((await freeCall(user, token)).status.code).toBe(grpc.status.OK);
      const configFile = join(root, "snetd.config.json");

      const listed = await runCli(
        ["freecall", "list", "-c", configFile, "--address", user.address.toLowerCase(), "--json"],
        { binary: true },
      );
      expect(listed.stderr).toBe("");
      expect(listed.code).toBe(0);
      expect(JSON.parse(listed.stdout)).toEqual({
        service_id: SERVICE_ID,
        free_calls: [{ address: user.address, user_id: "", calls_made: "3", allowed: "3", remaining: "0" }],
      });
      const table = await runCli(["freecall", "list", "-c", configFile], { binary: true });
      expect(table.code).toBe(0);
      expect(table.stdout).toContain(user.address);

      const refused = await runCli(["freecall", "reset", "-c", configFile, "--address", user.address], {
        binary: true,
      });
      expect(refused.code).toBe(1);
      expect(refused.stderr).toContain("stop it, run the reset, then start it again");

      clients.close();
      await daemon.stop();
      const reset = await runCli(["freecall", "reset", "-c", configFile, "--address", user.address, "--json"], {
        binary: true,
      });
      expect(reset.stderr).toBe("");
      expect(reset.code).toBe(0);
      expect(JSON.parse(reset.stdout)).toEqual({
        reset: [{ address: getAddress(user.address), user_id: "", calls_made_before: "3" }],
      });

      daemon = await startDaemon({ config, binary: true });
      clients = clientsFor(daemon.endpoint);
      await daemon.showLogsOnFailure(async () => {
        expect(await left(user, token)).toBe(QUOTA);
        expect((await freeCall(user, token)).status.code).toBe(grpc.status.OK);
      });
    },
    E2E_TIMEOUT_MS,
  );
});

describe("v5 free calls (the JavaScript SDKs' protocol)", () => {
  test(
    "a token from `snetd freecall issue` gives its user free calls through v5 headers and the v5 GetFreeCallsAvailable, on the v6 quota",
    async () => {
      const user = newUser();
      const email = "dapp-user@example.com";
      const configFile = join(root, "snetd.config.json");
      const issued = await runCli(
        [
          "freecall",
          "issue",
          "-c",
          configFile,
          "--address",
          user.address,
          "--user-id",
          email,
          "--expiry-blocks",
          "1000",
          "--json",
        ],
        { binary: true },
      );
      expect(issued.stderr).toBe("");
      expect(issued.code).toBe(0);
      const t = JSON.parse(issued.stdout) as {
        address: string;
        email: string;
        tokenToMakeFreeCall: string;
        tokenExpirationBlock: string;
      };
      expect(t.address).toBe(getAddress(user.address));
      expect(t.email).toBe(email);
      const token = hexToBytes(t.tokenToMakeFreeCall);
      const expiry = BigInt(t.tokenExpirationBlock);
      expect(token.length).toBe(65);

      const v5 = async (block: bigint) => {
        const message = freeCallV5InvocationMessage(
          {
            userId: email,
            orgId: ORG_ID,
            serviceId: SERVICE_ID,
            groupIdBase64: world.group.base64,
            currentBlock: block,
          },
          token,
        );
        return signDigest(hexToBytes(user.key), personalDigest(message));
      };
      const v5Available = daemonRpc(
        daemon.endpoint,
        "/escrow.FreeCallStateService/GetFreeCallsAvailable",
        V5RequestSchema,
        V5ReplySchema,
      );
      try {
        await daemon.showLogsOnFailure(async () => {
          const leftV5 = async () => {
            const block = await world.head();
            const r = await v5Available.call({
              userId: email,
              tokenForFreeCall: token,
              tokenExpiryDateBlock: expiry,
              signature: await v5(block),
              currentBlock: block,
            });
            expect(r.status).toEqual({ code: grpc.status.OK, details: "" });
            expect(r.reply!.userId).toBe(email);
            return r.reply!.freeCallsAvailable;
          };
          expect(await leftV5()).toBe(QUOTA);
          for (let i = 0n; i < QUOTA; i++) {
            const block = await world.head();
            const md = {
              "snet-payment-type": "free-call",
              "snet-free-call-user-id": email,
              "snet-free-call-token-expiry-block": expiry.toString(),
              "snet-current-block-number": block.toString(),
              "snet-free-call-auth-token-bin": Buffer.from(token),
              "snet-payment-channel-signature-bin": Buffer.from(await v5(block)),
            };
            expect((await call(clients.echo, "Echo", { text: "v5" }, md)).status.code).toBe(grpc.status.OK);
          }
          expect(await leftV5()).toBe(0n);
        });
      } finally {
        v5Available.close();
      }
    },
    E2E_TIMEOUT_MS,
  );
});

describe("malformed daemon requests", () => {
  test(
    "bytes that are not the request message are INVALID_ARGUMENT naming the method and message, with a debug log line",
    async () => {
      const raw = new grpc.Client(daemon.endpoint, grpc.credentials.createInsecure());
      try {
        // Field 1 (address, a string) holding bytes that are not UTF-8.
        const status = await new Promise<{ code: number; details: string }>((resolve) =>
          raw.makeUnaryRequest(
            "/escrow.FreeCallStateService/GetFreeCallsAvailable",
            (b: Buffer) => b,
            (b: Buffer) => b,
            Buffer.from([0x0a, 0x02, 0xff, 0xfe]),
            (err) => resolve(err ? { code: err.code, details: err.details } : { code: 0, details: "" }),
          ),
        );
        expect(status.code).toBe(grpc.status.INVALID_ARGUMENT);
        expect(status.details).toStartWith(
          "request message cannot be decoded: /escrow.FreeCallStateService/GetFreeCallsAvailable as escrow.FreeCallStateRequest: ",
        );
        const logged = () =>
          daemon
            .logs()
            .split("\n")
            .filter((l) => l.includes("call refused") && l.includes("GetFreeCallsAvailable"));
        for (let i = 0; i < 50 && logged().length === 0; i++) await Bun.sleep(20);
        expect(logged().length).toBeGreaterThan(0);
      } finally {
        raw.close();
      }
    },
    E2E_TIMEOUT_MS,
  );
});

describe("daemons that do not give free calls", () => {
  test(
    "a key that is not the group's free_call_signer_address: tokens still issued (the Python SDK needs one), no free calls, and the call says why",
    async () => {
      const wrongKey = newUser();
      const other = await startDaemon({
        config: world.daemonConfig({ private_key_for_free_calls: wrongKey.key.slice(2), block_cache_ms: 0 }),
        binary: true,
      });
      const via = clientsFor(other.endpoint);
      try {
        await other.showLogsOnFailure(async () => {
          const r = await requestToken(newUser(), { via });
          expect(r.status.code).toBe(grpc.status.OK);
          expect(r.reply?.token.length).toBeGreaterThan(66);
          const asked = newUser();
          const own = await requestToken(asked, { via });
          expect(await left(asked, own.reply!.token, { via })).toBe(0n);
          // A genuine token (the group's signer key), which this daemon still cannot honour.
          const user = newUser();
          const token = signFreeCallToken(hexToBytes(FREE_CALL_SIGNER.privateKey), {
            orgId: ORG_ID,
            groupName: GROUP_NAME,
            user: user.address.toLowerCase() as Address,
            userId: "",
            expiryBlock: (await world.head()) + 100n,
          });
          const call = await freeCall(user, token, { via });
          expect(call.status).toEqual({
            code: grpc.status.FAILED_PRECONDITION,
            details: `free calls are not enabled on this daemon: private_key_for_free_calls belongs to ${wrongKey.address}, the group's free_call_signer_address is ${FREE_CALL_SIGNER.address}`,
          });
        });
      } finally {
        via.close();
        await other.stop();
      }
    },
    E2E_TIMEOUT_MS,
  );

  test(
    "min_balance_for_free_call: tokens are issued, but only holders get free calls",
    async () => {
      const other = await startDaemon({
        config: world.daemonConfig({
          private_key_for_free_calls: FREE_CALL_SIGNER.privateKey.slice(2),
          block_cache_ms: 0,
          min_balance_for_free_call: 1,
        }),
        binary: true,
      });
      const via = clientsFor(other.endpoint);
      try {
        await other.showLogsOnFailure(async () => {
          const poor = newUser();
          const poorToken = await tokenFor(poor, { via });
          expect(await left(poor, poorToken, { via })).toBe(0n);
          expect((await freeCall(poor, poorToken, { via })).status).toEqual({
            code: grpc.status.PERMISSION_DENIED,
            details: "you must have at least 1 FET (ASI) in your balance to use free calls",
          });
          // The test token has 8 decimals: one whole token is 10^8 cogs.
          const holder = newUser();
          await sendContractTx(world.deployment, DEPLOYER.privateKey, {
            address: world.deployment.token,
            abi: tokenAbi,
            functionName: "mint",
            args: [holder.address, 10n ** 8n],
          });
          const token = await tokenFor(holder, { via });
          expect(await left(holder, token, { via })).toBe(QUOTA);
          expect((await freeCall(holder, token, { via })).status.code).toBe(grpc.status.OK);
        });
      } finally {
        via.close();
        await other.stop();
      }
    },
    E2E_TIMEOUT_MS,
  );
});
