// The real snet-cli against snetd: a client deposits, opens a channel and pays call by call with
// `snet client call`; the provider lists and claims with `snet treasurer`, including a claim left in
// flight; then an org and service published by snet-cli itself to the test IPFS are served by a second
// daemon. Every step is a real snet process with a throwaway HOME. 3.1.1 (the newest) runs its first
// three tests (channel, escrow calls, treasurer claim) in `npm test` and the rest in
// `npm run test:interop`; 3.0.0 runs only there (tests/interop/README.md).
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { mine } from "../kit/anvil.ts";
import { channelOnChain, mpeBalance } from "../kit/client.ts";
import { CLIENTS, PROVIDER, type TestAccount } from "../kit/contracts.ts";
import type { DaemonProcess } from "../kit/daemon.ts";
import { freePort } from "../kit/ports.ts";
import { type ClientName, clientGate, type Tier, tierRuns } from "./clients.ts";
import { type InteropWorld, startClaimOnly, startInteropWorld } from "./interop-world.ts";
import { fet, preflight, type RunResult, runPython } from "./python-env.ts";
import { configureSnetCli } from "./snet-cli-setup.ts";

const STEP_MS = 180_000;
const CHANNEL_VALUE = 1_000_000n;
// interop-world.ts: client 0 holds its tokens in its wallet, as a snet-cli user would.
const CLIENT = CLIENTS[0] as TestAccount;

snetCliSuite("snet-cli 3.1.1", "fast");
snetCliSuite("snet-cli 3.0.0", "legacy");

function snetCliSuite(client: ClientName, tier: Tier): void {
  const gate = clientGate(client, tier);
  // The newest client's core (channel, calls, claim) runs in npm test; the rest with test:interop.
  const more = tier !== "fast" || tierRuns("full");
  if (gate.run && !more) console.log(`tests/interop: ${client}: 5 more tests run in 'npm run test:interop'`);
  const moreTest = test.skipIf(!more);

  let w: InteropWorld;
  let home: string;
  let channelId: bigint;

  async function snet(args: string[], expectOk = true): Promise<RunResult> {
    const r = await runPython(gate, "snet", args, home);
    if (expectOk && r.code !== 0) {
      throw new Error(
        `'snet ${args.join(" ")}' exited ${r.code}\nstdout:\n${r.stdout}\nstderr:\n${r.stderr}\nsnetd:\n${w.daemon.logs()}`,
      );
    }
    return r;
  }
  const as = (identity: "client" | "provider") => snet(["identity", identity]);

  /** `snet client call`: the reply text and the payment metadata the service saw (printed by snet). */
  async function paidCall(text: string, org = w.info.orgId, service = w.info.serviceId, extra: string[] = []) {
    const r = await snet([
      "client",
      "call",
      org,
      service,
      w.info.groupName,
      "Echo",
      JSON.stringify({ text }),
      "-y",
      ...extra,
    ]);
    const meta = (key: string) => new RegExp(`key: "${key}"\\s+value: "([^"]*)"`).exec(r.stdout)?.[1];
    return {
      text: /^text: "(.*)"$/m.exec(r.stdout)?.[1],
      nonce: meta("snet-payment-channel-nonce"),
      amount: meta("snet-payment-channel-amount"),
      payer: meta("snet-user-address"),
    };
  }

  async function channelState(id: bigint, endpoint = w.info.daemonUrl) {
    const r = await snet(["client", "get-channel-state", id.toString(), endpoint]);
    const field = (name: string) => BigInt(new RegExp(`${name}\\s+=\\s+(\\d+)`).exec(r.stdout)?.[1] ?? "-1");
    return {
      nonce: field("current_nonce"),
      signed: field("current_signed_amount_in_cogs"),
      unspent: field("current_unspent_amount_in_cogs"),
    };
  }

  /** `print-unclaimed` rows: channel id → [nonce, amount in FET text]. */
  async function unclaimed(endpoint = w.info.daemonUrl): Promise<Map<string, [string, string]>> {
    const r = await snet(["treasurer", "print-unclaimed", "--endpoint", endpoint]);
    const rows = r.stdout.split("\n").filter((l) => /^\d+\s+\d+\s+\S+$/.test(l.trim()));
    return new Map(
      rows
        .map((l) => l.trim().split(/\s+/) as [string, string, string])
        .map(([id, nonce, amount]) => [id, [nonce, amount]]),
    );
  }

  /** A refused `snet client call`: snet exits non-zero and prints the daemon's status details. */
  async function refusedCall(channel: bigint): Promise<string> {
    const r = await snet(
      [
        "client",
        "call",
        w.info.orgId,
        w.info.serviceId,
        w.info.groupName,
        "Echo",
        "{}",
        "-y",
        "--channel-id",
        channel.toString(),
      ],
      false,
    );
    expect(r.code).not.toBe(0);
    return /details = "(.*)"/.exec(r.stdout + r.stderr)?.[1] ?? `(no status details in:\n${r.stdout}\n${r.stderr})`;
  }

  async function openChannel(org: string, value = CHANNEL_VALUE, expiration = "+2000blocks"): Promise<bigint> {
    const r = await snet([
      "channel",
      "open",
      org,
      w.info.groupName,
      fet(value),
      expiration,
      "-y",
      "-q",
      "--open-new-anyway",
    ]);
    const id = /#channel_id\s+(\d+)/.exec(r.stdout)?.[1];
    if (id === undefined) throw new Error(`'snet channel open' printed no channel id:\n${r.stdout}`);
    return BigInt(id);
  }

  describe.skipIf(!gate.run)(`${client} against snetd`, () => {
    beforeAll(async () => {
      await preflight(gate);
      home = mkdtempSync(join(tmpdir(), "snetd-interop-cli-"));
      w = await startInteropWorld({ binary: true });
      const { info } = w;
      await configureSnetCli(snet, home, info, { provider: PROVIDER, client: CLIENT });
    }, STEP_MS);

    afterAll(async () => {
      await w?.stop();
      if (home) rmSync(home, { recursive: true, force: true });
    });

    test(
      "a client deposits and opens a channel from the org metadata on the test IPFS",
      async () => {
        await as("client");
        await snet(["account", "deposit", fet(5n * CHANNEL_VALUE), "-y", "-q"]);
        channelId = await openChannel(w.info.orgId);
        const onChain = await channelOnChain(w.world.deployment, channelId);
        expect(onChain.recipient).toBe(PROVIDER.address);
        expect(onChain.value).toBe(CHANNEL_VALUE);
      },
      STEP_MS,
    );

    test(
      "snet client call pays each call with the next cumulative amount",
      async () => {
        for (let i = 1n; i <= 3n; i++) {
          expect(await paidCall(`hi ${i}`)).toEqual({
            text: `hi ${i}`,
            nonce: "0",
            amount: (i * w.world.price).toString(),
            payer: CLIENT.address,
          });
        }
        expect(await channelState(channelId)).toEqual({ nonce: 0n, signed: 300n, unspent: CHANNEL_VALUE - 300n });
      },
      STEP_MS,
    );

    test(
      "the treasurer lists and claims the channel; the provider's escrow balance grows",
      async () => {
        await as("provider");
        expect(await unclaimed()).toEqual(new Map([[channelId.toString(), ["0", fet(300n)]]]));
        const before = await mpeBalance(w.world.deployment, PROVIDER.address);
        await snet(["treasurer", "claim-all", "--endpoint", w.info.daemonUrl, "-y", "-q"]);
        expect(await mpeBalance(w.world.deployment, PROVIDER.address)).toBe(before + 300n);
        expect((await channelOnChain(w.world.deployment, channelId)).nonce).toBe(1n);
        expect(await unclaimed()).toEqual(new Map());
      },
      STEP_MS,
    );

    moreTest(
      "after the claim the client signs the new nonce from a fresh amount",
      async () => {
        await as("client");
        expect(await paidCall("after claim")).toMatchObject({ text: "after claim", nonce: "1", amount: "100" });
      },
      STEP_MS,
    );

    moreTest(
      "a claim in flight: the client pays at the daemon's nonce, claim-all submits both payments",
      async () => {
        const started = await startClaimOnly(w.daemon.endpoint, w.info.mpe, channelId, 1n);
        expect({ nonce: started.nonce, amount: started.amount }).toEqual({ nonce: 1n, amount: 100n });
        // protocol/payments.md#old-nonce: unspent = value − old-nonce amount − current amount.
        expect(await channelState(channelId)).toEqual({ nonce: 2n, signed: 0n, unspent: CHANNEL_VALUE - 300n - 100n });
        expect(await paidCall("in flight")).toMatchObject({ text: "in flight", nonce: "2", amount: "100" });
        expect(await channelState(channelId)).toEqual({
          nonce: 2n,
          signed: 100n,
          unspent: CHANNEL_VALUE - 300n - 100n - 100n,
        });

        await as("provider");
        const before = await mpeBalance(w.world.deployment, PROVIDER.address);
        await snet(["treasurer", "claim-all", "--endpoint", w.info.daemonUrl, "-y", "-q"]);
        expect(await mpeBalance(w.world.deployment, PROVIDER.address)).toBe(before + 200n);
        expect((await channelOnChain(w.world.deployment, channelId)).nonce).toBe(3n);
      },
      STEP_MS,
    );

    moreTest(
      "snet channel extend-add fixes a channel refused as near expiry or short of funds",
      async () => {
        await as("client");
        // Threshold 100 blocks: a channel expiring 130 blocks ahead is usable until the head moves 30.
        const id = await openChannel(w.info.orgId, 150n, "+130blocks");
        const onThis = ["--channel-id", id.toString()];
        expect(await paidCall("small", w.info.orgId, w.info.serviceId, onThis)).toMatchObject({
          text: "small",
          nonce: "0",
          amount: "100",
        });
        expect(await refusedCall(id)).toBe(
          "not enough tokens on payment channel, channel amount: 150, payment amount: 200",
        );
        await mine(w.info.rpcUrl, 40n);
        expect(await refusedCall(id)).toStartWith("payment channel is near to be expired, expiration time: ");

        await snet([
          "channel",
          "extend-add",
          id.toString(),
          "--expiration",
          "+2000blocks",
          "--amount",
          fet(100n),
          "-y",
          "-q",
        ]);
        expect(await paidCall("topped up", w.info.orgId, w.info.serviceId, onThis)).toMatchObject({
          text: "topped up",
          nonce: "0",
          amount: "200",
        });
      },
      STEP_MS,
    );

    moreTest(
      "snet service print-service-status reports the daemon's health as Available",
      async () => {
        const r = await snet(["service", "print-service-status", w.info.orgId, w.info.serviceId]);
        expect(r.stdout).toContain(`endpoint: ${w.info.daemonUrl}`);
        expect(r.stdout).toContain("status: Available");
      },
      STEP_MS,
    );

    moreTest(
      "an org and service published by snet-cli are served by snetd",
      async () => {
        const dir = join(home, "publish");
        mkdirSync(join(dir, "proto"), { recursive: true });
        writeFileSync(join(dir, "proto/echo.proto"), readFileSync(resolve(import.meta.dir, "../kit/echo.proto")));
        const port = await freePort();
        await as("provider");
        // The metadata files land in the working directory, the throwaway HOME.
        await snet(["organization", "metadata-init", "CLI Org", "cli-org", "individual"]);
        await snet(["organization", "add-group", "default_group", PROVIDER.address, "http://127.0.0.1:2379"]);
        await snet([
          "organization",
          "metadata-add-description",
          "--description",
          "d",
          "--short-description",
          "s",
          "--url",
          "https://example.com",
        ]);
        await snet(["organization", "create", "cli-org", "-y", "-q"]);
        await snet([
          "service",
          "metadata-init",
          join(dir, "proto"),
          "CLI Echo",
          "--group-name",
          "default_group",
          "--endpoints",
          `http://127.0.0.1:${port}`,
          "--fixed-price",
          fet(200n),
        ]);
        await snet(["service", "publish", "cli-org", "cli-echo", "-y", "-q"]);

        let second: DaemonProcess | undefined;
        try {
          second = await w.startDaemon(
            w.world.daemonConfig({
              organization_id: "cli-org",
              service_id: "cli-echo",
              daemon_endpoint: `127.0.0.1:${port}`,
            }),
          );
          await as("client");
          const id = await openChannel("cli-org");
          expect(await paidCall("published by snet", "cli-org", "cli-echo")).toMatchObject({
            text: "published by snet",
            nonce: "0",
            amount: "200",
          });
          expect(await paidCall("again", "cli-org", "cli-echo")).toMatchObject({ text: "again", amount: "400" });
          await as("provider");
          const before = await mpeBalance(w.world.deployment, PROVIDER.address);
          await snet(["treasurer", "claim-all", "--endpoint", second.url, "-y", "-q"]);
          expect(await mpeBalance(w.world.deployment, PROVIDER.address)).toBe(before + 400n);
          expect((await channelOnChain(w.world.deployment, id)).nonce).toBe(1n);
        } catch (err) {
          if (second) console.error(`second snetd last log lines:\n${second.logs()}`);
          throw err;
        } finally {
          await second?.stop();
        }
      },
      STEP_MS,
    );
  });
}
