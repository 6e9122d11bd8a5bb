/**
 * Alerts from a running paid daemon (protocol/operations.md#health-and-heartbeat) to a real SMTP server (aiosmtpd, with AUTH) and a
 * real webhook receiver: the AI service going down sends one "down" alert by each way however many probes
 * fail, and coming back one "recovered"; IPFS going away is told the same way; a channel with unclaimed
 * cogs near its expiry is told once while auto-claim is off, and a channel far from expiry is not.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import * as grpc from "@grpc/grpc-js";
import type { Alert } from "../../src/ops/alerts.ts";
import { call, type EchoService, startEchoService } from "../kit/echo-service.ts";
import { type PaidDaemon, startPaidDaemon } from "../kit/paid-daemon.ts";
import { type SmtpServer, startSmtpServer } from "../kit/smtp-server.ts";
import { until } from "../kit/wait.ts";
import { startWebhookReceiver, type WebhookReceiver } from "../kit/webhook-receiver.ts";
import { startWorld, type World } from "../kit/world.ts";

const PROBE_MS = 250;
let world: World;
let smtp: SmtpServer;
let hook: WebhookReceiver;
let snetd: PaidDaemon;
let restarted: EchoService | undefined;

const alerts = () => hook.delivered().map((r) => r.body as Alert);
const ofKind = (kind: Alert["kind"], component?: string) =>
  alerts().filter((a) => a.kind === kind && (component === undefined || a.component === component));
const mails = (subject: string) => smtp.messages.filter((m) => m.subject.includes(subject));
/** Lets the monitor probe several more times, for "nothing more was sent" checks. */
const someProbes = () => Bun.sleep(8 * PROBE_MS);

beforeAll(async () => {
  world = await startWorld();
  smtp = await startSmtpServer({ user: "alerts", password: "s3cret" });
  hook = await startWebhookReceiver();
  snetd = await startPaidDaemon(world, {
    alerts_email: "ops@example.org",
    alerts_smtp: {
      host: "127.0.0.1",
      port: smtp.port,
      require_tls: false,
      username: "alerts",
      password: "s3cret",
      from: "snetd@example.org",
    },
    notification_endpoint: hook.url,
    health_probe_interval: `${PROBE_MS}ms`,
    alerts_cooldown: "1m",
    alerts_channel_expiry_blocks: 5000,
  });
}, 120_000);

afterAll(async () => {
  await snetd?.stop();
  await restarted?.stop();
  await smtp?.stop();
  await hook?.stop();
  await world?.stop();
});

describe("alerts from serve", () => {
  test("the service down: one alert by e-mail and webhook; back up: one recovered alert", async () => {
    await snetd.daemon.showLogsOnFailure(async () => {
      await world.echo.stop();
      await until(
        () => ofKind("component_down", "service").length === 1 && mails("service is down").length === 1,
        "the down alert",
      );
      await someProbes();
      expect(ofKind("component_down", "service")).toHaveLength(1);
      expect(mails("service is down")).toHaveLength(1);
      const down = ofKind("component_down", "service")[0]!;
      expect(down.message).toStartWith("snetd cannot reach the AI service: ");
      expect(down.daemon).toMatchObject({
        organization_id: "snet-test-org",
        service_id: "example-service",
        group: "default_group",
      });
      expect(mails("service is down")[0]).toMatchObject({
        from: "snetd@example.org",
        to: ["ops@example.org"],
        login: "alerts",
      });

      restarted = await startEchoService({ port: world.echo.port });
      await until(
        () => ofKind("component_up", "service").length === 1 && mails("service recovered").length === 1,
        "the recovered alert",
      );
      await someProbes();
      expect(ofKind("component_down", "service")).toHaveLength(1);
      expect(ofKind("component_up", "service")).toHaveLength(1);
    });
  });

  test("a channel worth claiming near expiry is told once; one far from expiry is not", async () => {
    await snetd.daemon.showLogsOnFailure(async () => {
      const near = await world.openFundedChannel(); // expires ~1100 blocks ahead: within 5000
      const far = await world.openFundedChannel({ expiration: (await world.head()) + 1_000_000n });
      expect((await call(snetd.echo, "Echo", { text: "near" }, near.pay(world.price))).status.code).toBe(
        grpc.status.OK,
      );
      expect((await call(snetd.echo, "Echo", { text: "far" }, far.pay(world.price))).status.code).toBe(grpc.status.OK);
      await until(() => ofKind("channel_near_expiry").length >= 1, "the channel expiry alert");
      await someProbes();
      const told = ofKind("channel_near_expiry");
      expect(told.map((a) => a.details.channel_id)).toEqual([String(near.id)]);
      expect(told[0]!.details).toMatchObject({
        unclaimed_cogs: String(world.price),
        expiration_block: String(near.expiration),
      });
      expect(told[0]!.message).toContain(`snetd claim --channel-id ${near.id}`);
    });
  });

  test("IPFS going away is a down alert of its own", async () => {
    await world.ipfs.stop();
    await until(() => ofKind("component_down", "ipfs").length === 1, "the IPFS down alert");
    expect(ofKind("component_down", "ipfs")[0]!.title).toBe(
      "snetd snet-test-org/example-service/default_group: ipfs is down",
    );
  });
});
