/**
 * The release binaries that can run here do (issue 14): snetd-linux-x64 natively and snetd-linux-arm64
 * under qemu-user. Each reports the version, commit, platform and signer recovery the manifest promises,
 * writes the same init-config, and the arm64 one serves a passthrough call and a paid call, its payment
 * signatures checked by the pure-JS recovery (the native addon is linux-x64 only).
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as grpc from "@grpc/grpc-js";
import { parse as parseYaml } from "yaml";
import type { Manifest, ReleaseTarget } from "../../scripts/release.ts";
import { paymentMetadata, signPayment } from "../kit/client.ts";
import { CLIENTS } from "../kit/contracts.ts";
import { runCli, startDaemon } from "../kit/daemon.ts";
import { call, type EchoService, echoClient, startEchoService } from "../kit/echo-service.ts";
import { startWorld } from "../kit/world.ts";
import { ensureRelease, qemuArm64, RELEASE_BUILD_TIMEOUT_MS, releaseBinary } from "./kit.ts";

// qemu translates the whole runtime, so everything runs several times slower than natively.
const QEMU_TIMEOUT_MS = 120_000;

let manifest: Manifest;
const scratch = mkdtempSync(join(tmpdir(), "snetd-release-run-"));
beforeAll(async () => {
  manifest = await ensureRelease();
}, RELEASE_BUILD_TIMEOUT_MS);
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

/** The command that runs a target's binary on this linux-x64 machine. */
function command(target: ReleaseTarget): string[] {
  const binary = releaseBinary(manifest, target);
  return target === "linux-arm64" ? [...qemuArm64(), binary] : [binary];
}

for (const target of ["linux-x64", "linux-arm64"] as const) {
  describe(`snetd-${target}${target === "linux-arm64" ? " under qemu-aarch64" : ""}`, () => {
    test(
      "version reports the manifest's version, commit and signer recovery, and its own platform",
      async () => {
        const entry = manifest.targets.find((e) => e.target === target);
        const r = await runCli(["version"], { command: command(target), timeoutMs: QEMU_TIMEOUT_MS });
        expect(r.stderr).toBe("");
        expect(r.code).toBe(0);
        expect(r.stdout).toContain(`snetd ${manifest.version}\n`);
        expect(r.stdout).toMatch(new RegExp(`^git sha: +${manifest.commit}$`, "m"));
        expect(r.stdout).toMatch(new RegExp(`^runtime: +bun ${manifest.bun} \\(${target}\\)$`, "m"));
        expect(r.stdout).toMatch(new RegExp(`^signatures: ${entry?.signer_recovery.replace(/[()]/g, "\\$&")}$`, "m"));
      },
      QEMU_TIMEOUT_MS,
    );

    test(
      "init-config writes the full configuration, the same on every platform",
      async () => {
        const file = join(scratch, `${target}.yaml`);
        const r = await runCli(["init-config", "-o", file], { command: command(target), timeoutMs: QEMU_TIMEOUT_MS });
        expect(r.code).toBe(0);
        expect(r.stderr).toContain(`wrote ${file} (yaml)`);
        const written = readFileSync(file, "utf8");
        const config = parseYaml(written) as Record<string, unknown>;
        expect(Object.keys(config)).toContain("daemon_endpoint");
        expect(Object.keys(config)).toContain("payment_channel_storage_type");
        const native = await runCli(["init-config"], { command: command("linux-x64") });
        expect(written).toBe(native.stdout);
      },
      QEMU_TIMEOUT_MS,
    );
  });
}

describe("snetd-linux-arm64 under qemu-aarch64 serves", () => {
  let service: EchoService | undefined;
  afterAll(async () => {
    await service?.stop();
  });

  test(
    "a passthrough call reaches the service and comes back",
    async () => {
      service = await startEchoService();
      const daemon = await startDaemon({
        command: command("linux-arm64"),
        config: { blockchain_enabled: false, service_endpoint: `http://${service.address}` },
      });
      try {
        await daemon.showLogsOnFailure(async () => {
          const client = echoClient(daemon.endpoint);
          try {
            const r = await call(client, "Echo", { text: "from arm64" }, {}, { deadlineMs: 60_000 });
            expect(r.status.code).toBe(0);
            expect(r.response?.text).toBe("from arm64");
            expect(service?.calls).toBe(1);
          } finally {
            client.close();
          }
        });
      } finally {
        await daemon.stop();
      }
    },
    QEMU_TIMEOUT_MS,
  );

  test(
    "a paid call: a payment signed by the channel's client is admitted, one signed by a stranger is refused",
    async () => {
      const world = await startWorld();
      const client = { current: undefined as grpc.Client | undefined };
      try {
        const daemon = await startDaemon({
          command: command("linux-arm64"),
          config: world.daemonConfig({ block_cache_ms: 0 }),
        });
        try {
          await daemon.showLogsOnFailure(async () => {
            expect(daemon.logs()).toContain('signer_recovery="noble"');
            const echo = echoClient(daemon.endpoint);
            client.current = echo;
            const ch = await world.openFundedChannel();
            const paid = await call(echo, "Echo", { text: "paid on arm64" }, ch.pay(world.price), {
              deadlineMs: 60_000,
            });
            expect(paid.status).toEqual({ code: grpc.status.OK, details: "OK" });
            expect(paid.response?.text).toBe("paid on arm64");

            const stranger = CLIENTS.find((c) => c.address !== ch.client.address);
            if (!stranger) throw new Error("The kit has one client only");
            const amount = world.price * 2n;
            const signature = signPayment(stranger.privateKey, world.deployment.mpe, ch.id, 0n, amount);
            const refused = await call(
              echo,
              "Echo",
              { text: "forged" },
              paymentMetadata({ channelId: ch.id, nonce: 0n, amount, signature }),
              { deadlineMs: 60_000 },
            );
            expect(refused.status).toEqual({
              code: grpc.status.UNAUTHENTICATED,
              details: "payment is not signed by channel signer/sender",
            });
          });
        } finally {
          client.current?.close();
          await daemon.stop();
        }
      } finally {
        await world.stop();
      }
    },
    QEMU_TIMEOUT_MS,
  );
});
