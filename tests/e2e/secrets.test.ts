// Secrets stay secret (issue 16): dist/snetd with every secret the configuration knows set to a known
// value — private_key (auto-claim signs with it), private_key_for_free_calls, token_secret_key, admin_token,
// the alerts SMTP password, and the etcd client key of an mTLS etcd — runs escrow, prepaid and free calls
// (accepted and refused), GetChannelState, an auto-claim, `snetd list` and `snetd claim`, and a refused
// start-up. Every log line, /heartbeat, /metrics, every error a client received and every CLI output is
// scanned for those secrets and for the full 65-byte signatures and tokens clients sent or received.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as grpc from "@grpc/grpc-js";
import { generatePrivateKey, privateKeyToAccount } from "viem/accounts";
import { signDigest } from "../../src/core/noble-recovery.ts";
import { hexToBytes } from "../../src/core/numbers.ts";
import {
  freeCallInvocationMessage,
  freeCallTokenRequestMessage,
  personalDigest,
  prepaidTokenRequestMessage,
} from "../../src/core/signatures.ts";
import { FreeCallTokenSchema, GetFreeCallTokenRequestSchema } from "../../src/gen/state_service_pb.ts";
import { TokenReplySchema, TokenRequestSchema } from "../../src/gen/token_service_pb.ts";
import { channelOnChain, signPayment } from "../kit/client.ts";
import { PROVIDER } from "../kit/contracts.ts";
import { type DaemonProcess, ensureBinary, runCli, startDaemon } from "../kit/daemon.ts";
import { daemonRpc } from "../kit/daemon-client.ts";
import { type CallResult, call, echoClient } from "../kit/echo-service.ts";
import { type EtcdCluster, makeTestPki, startEtcd } from "../kit/etcd.ts";
import { channelState } from "../kit/paid-daemon.ts";
import { secretScanner } from "../kit/secret-scan.ts";
import { until } from "../kit/wait.ts";
import { type Channel, ORG_ID, SERVICE_ID, startWorld, type World } from "../kit/world.ts";

const FREE_CALL_KEY = generatePrivateKey();
const TOKEN_SECRET = "secret-scan-token-secret-0123456789abcdef";
const ADMIN_TOKEN = "secret-scan-admin-token-4f1c9a";
const SMTP_PASSWORD = "secret-scan-smtp-password-77d2";
const USER_KEY = generatePrivateKey();

const scan = secretScanner();
let world: World;
let etcd: EtcdCluster;
let daemon: DaemonProcess;
let dir: string;
let configFile: string;
let config: Record<string, unknown>;
const logLines: string[] = [];
const statuses: string[] = [];

beforeAll(async () => {
  await ensureBinary();
  dir = mkdtempSync(join(tmpdir(), "snetd-secrets-"));
  const pki = makeTestPki(dir);
  [world, etcd] = await Promise.all([
    startWorld({ freeCallSignerAddress: privateKeyToAccount(FREE_CALL_KEY).address, freeCalls: 5 }),
    startEtcd({ tls: { certFile: pki.serverCertFile, keyFile: pki.serverKeyFile, caFile: pki.caFile } }),
  ]);
  config = world.daemonConfig({
    block_cache_ms: 0,
    log: { level: "debug" },
    payment_channel_storage_type: "etcd",
    payment_channel_storage_client: { endpoints: etcd.endpoints.map((e) => e.replace("127.0.0.1", "localhost")) },
    payment_channel_cert_path: pki.clientCertFile,
    payment_channel_key_path: pki.clientKeyFile,
    payment_channel_ca_path: pki.caFile,
    private_key: PROVIDER.privateKey,
    private_key_for_free_calls: FREE_CALL_KEY,
    min_balance_for_free_call: 0,
    token_secret_key: TOKEN_SECRET,
    admin_token: ADMIN_TOKEN,
    alerts_smtp: { host: "127.0.0.1", username: "snetd", password: SMTP_PASSWORD },
    auto_claim: { enabled: true, interval: "1s", unclaimed_threshold_cogs: Number(world.price) },
  });
  scan.secret("private_key", PROVIDER.privateKey);
  scan.secret("private_key_for_free_calls", FREE_CALL_KEY);
  scan.secret("token_secret_key", TOKEN_SECRET);
  scan.secret("admin_token", ADMIN_TOKEN);
  scan.secret("alerts_smtp.password", SMTP_PASSWORD);
  scan.secret("a client's key", USER_KEY);
  scan.pem("the etcd client key file", readFileSync(pki.clientKeyFile, "utf8"));
  daemon = await startDaemon({ config, binary: true, onLine: (l) => logLines.push(l) });
  // The CLI reads the same file; left readable by others on purpose, so snetd must warn about it.
  configFile = join(dir, "snetd.config.json");
  writeFileSync(configFile, JSON.stringify({ ...config, daemon_endpoint: daemon.endpoint }));
  chmodSync(configFile, 0o644);
}, 120_000);

afterAll(async () => {
  await daemon?.stop();
  await etcd?.stop();
  await world?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
}, 60_000);

/** An echo call whose signature bytes are registered and whose status text is kept for the scan. */
async function echo(md: Record<string, string | Buffer>): Promise<CallResult<unknown>> {
  for (const [k, v] of Object.entries(md))
    if (k.endsWith("-bin") && typeof v !== "string") scan.signature(v, `the ${k} a client sent`);
  const client = echoClient(daemon.endpoint);
  try {
    const r = await call(client, "Echo", { text: "secret scan" }, md);
    statuses.push(`${r.status.code} ${r.status.details}`);
    return r;
  } finally {
    client.close();
  }
}

const pay = (ch: Channel, amount: bigint, key = ch.client.privateKey) => {
  const md = ch.pay(amount);
  md["snet-payment-channel-signature-bin"] = Buffer.from(signPayment(key, world.deployment.mpe, ch.id, 0n, amount));
  return md;
};

async function escrowFlows(ch: Channel): Promise<void> {
  for (const n of [1n, 2n, 3n]) expect((await echo(pay(ch, n * world.price))).status.code).toBe(grpc.status.OK);
  expect((await echo(pay(ch, 4n * world.price, USER_KEY))).status.code).not.toBe(grpc.status.OK);
  expect((await echo(pay(ch, 10n * world.price))).status.code).not.toBe(grpc.status.OK);
  const state = await channelState(world, daemon.endpoint, ch);
  scan.signature(state.signature, "the signature GetChannelState returned");
}

async function prepaidFlows(ch: Channel): Promise<void> {
  const rpc = daemonRpc(daemon.endpoint, "/escrow.TokenService/GetToken", TokenRequestSchema, TokenReplySchema);
  try {
    const head = await world.head();
    const amount = 20n * world.price;
    const claimSignature = signPayment(ch.client.privateKey, world.deployment.mpe, ch.id, 0n, amount);
    const signature = signDigest(
      hexToBytes(ch.client.privateKey),
      personalDigest(prepaidTokenRequestMessage(claimSignature, head)),
    );
    for (const s of [claimSignature, signature]) scan.signature(s, "a GetToken signature");
    const r = await rpc.call({
      channelId: ch.id,
      currentNonce: 0n,
      signedAmount: amount,
      signature,
      currentBlock: head,
      claimSignature,
    });
    expect(r.status).toEqual({ code: 0, details: "" });
    const token = r.reply!.token;
    scan.secret("a prepaid token", token);
    const md = {
      "snet-payment-type": "prepaid-call",
      "snet-payment-channel-id": ch.id.toString(),
      "snet-prepaid-auth-token-bin": Buffer.from(token),
    };
    expect((await echo(md)).status.code).toBe(grpc.status.OK);
    expect(
      (await echo({ ...md, "snet-prepaid-auth-token-bin": Buffer.from(`${token.slice(0, -4)}AAAA`) })).status.code,
    ).toBe(grpc.status.UNAUTHENTICATED);
  } finally {
    rpc.close();
  }
}

async function freeCallFlows(): Promise<void> {
  const user = privateKeyToAccount(USER_KEY).address;
  const rpc = daemonRpc(
    daemon.endpoint,
    "/escrow.FreeCallStateService/GetFreeCallToken",
    GetFreeCallTokenRequestSchema,
    FreeCallTokenSchema,
  );
  try {
    const block = await world.head();
    const fields = {
      addressText: user,
      userId: "",
      orgId: ORG_ID,
      serviceId: SERVICE_ID,
      groupIdBase64: world.group.base64,
      currentBlock: block,
    };
    const signature = signDigest(hexToBytes(USER_KEY), personalDigest(freeCallTokenRequestMessage(fields)));
    scan.signature(signature, "a GetFreeCallToken signature");
    const r = await rpc.call({ address: user, signature, currentBlock: block });
    expect(r.status).toEqual({ code: 0, details: "" });
    const token = r.reply!.token;
    scan.signature(token, "a free-call token");
    scan.signature(token.subarray(0, 65), "the free-call signer's signature in a token");
    const invocation = signDigest(hexToBytes(USER_KEY), personalDigest(freeCallInvocationMessage(fields, token)));
    const md = {
      "snet-payment-type": "free-call",
      "snet-free-call-user-address": user,
      "snet-current-block-number": block.toString(),
      "snet-free-call-auth-token-bin": Buffer.from(token),
      "snet-payment-channel-signature-bin": Buffer.from(invocation),
    };
    expect((await echo(md)).status.code).toBe(grpc.status.OK);
    const forged = signDigest(
      hexToBytes(generatePrivateKey()),
      personalDigest(freeCallInvocationMessage(fields, token)),
    );
    expect((await echo({ ...md, "snet-payment-channel-signature-bin": Buffer.from(forged) })).status.code).not.toBe(
      grpc.status.OK,
    );
  } finally {
    rpc.close();
  }
}

describe("secrets never leave the daemon", () => {
  test("escrow, prepaid and free calls, an auto-claim, the CLI and a refused start: no secret anywhere", async () => {
    await daemon.showLogsOnFailure(async () => {
      const ch = await world.openFundedChannel();
      await escrowFlows(ch);
      await prepaidFlows(await world.openFundedChannel());
      await freeCallFlows();
      // auto_claim signs a claim transaction with private_key: wait until it reached the chain.
      await until(
        async () => (await channelOnChain(world.deployment, ch.id)).nonce > 0n,
        "the auto-claim of the paid channel",
        { timeoutMs: 60_000, intervalMs: 500 },
      );
      for (const path of ["/heartbeat", "/metrics"]) {
        const r = await fetch(`${daemon.url}${path}`);
        expect(r.status).toBe(200);
        scan.text(path, await r.text());
      }
    });
    const env = {};
    const cli = [
      await runCli(["list", "channels", "-c", configFile], { binary: true, env }),
      await runCli(["claim", "--all", "-y", "--json", "-c", configFile], { binary: true, env, timeoutMs: 120_000 }),
      // A start refused for a bad value next to the keys: the problem list must not show them.
      await runCli(["serve", "-c", writeBadConfig()], { binary: true, env }),
    ];
    expect(cli[2]!.code).toBe(2);
    expect(cli[2]!.stderr).toContain("chmod 600");
    await daemon.stop();
    for (const [i, r] of cli.entries()) scan.text(`CLI run ${i} (exit ${r.code})`, `${r.stdout}\n${r.stderr}`);
    for (const [i, line] of logLines.entries()) scan.text(`daemon log line ${i + 1}`, line);
    for (const s of statuses) scan.text("a status a client received", s);
    // The scan looked at something: debug logs of every flow (refusals, claims), and many spellings.
    expect(logLines.some((l) => l.includes("auto-claim: claimed"))).toBe(true);
    expect(logLines.length).toBeGreaterThan(10);
    expect(scan.size).toBeGreaterThan(40);
    expect(scan.hits()).toEqual([]);
  }, 240_000);
});

function writeBadConfig(): string {
  const path = join(dir, "bad.config.json");
  writeFileSync(path, JSON.stringify({ ...config, daemon_endpoint: "not an endpoint", token_secret_key: "short" }));
  chmodSync(path, 0o644);
  return path;
}
