/**
 * Alerts (src/ops/alerts.ts, alert-sinks.ts) delivered to a real SMTP server (aiosmtpd, with AUTH) and a
 * real webhook receiver that fails before it accepts: one alert per outage and one per recovery however
 * many probes fail, flapping held to the cool-down, channel expiry told once, and a dead sink does not
 * hold up the others.
 */
import { afterAll, afterEach, beforeAll, describe, expect, test } from "bun:test";
import { emailSink, webhookSink } from "../../src/ops/alert-sinks.ts";
import { type Alert, type Alerter, createAlerter } from "../../src/ops/alerts.ts";
import { captureLog } from "../kit/capture-log.ts";
import { freePort } from "../kit/ports.ts";
import { type SmtpServer, startSmtpServer } from "../kit/smtp-server.ts";
import { until } from "../kit/wait.ts";
import { startWebhookReceiver, type WebhookReceiver } from "../kit/webhook-receiver.ts";

const daemon = { organization_id: "snet-org", service_id: "echo", group: "default_group", daemon_id: "d1" };
const fast = { firstDelayMs: 20, attempts: 5, timeoutMs: 5000 };
let smtp: SmtpServer;
let hook: WebhookReceiver;
let alerter: Alerter | undefined;

beforeAll(async () => {
  smtp = await startSmtpServer({ user: "alerts", password: "s3cret" });
  hook = await startWebhookReceiver();
});
afterAll(async () => {
  await smtp?.stop();
  await hook?.stop();
});
afterEach(() => {
  alerter?.close();
  smtp.messages.length = 0;
  hook.requests.length = 0;
});

const email = () =>
  emailSink({
    to: "ops@example.org",
    from: "snetd@example.org",
    host: "127.0.0.1",
    port: smtp.port,
    secure: false,
    username: "alerts",
    password: "s3cret",
    ...fast,
  });

const bodies = () => hook.delivered().map((r) => r.body as Alert);

describe("component outages", () => {
  test("an outage sends one alert and its recovery one more, by e-mail and webhook, through webhook failures", async () => {
    const log = captureLog();
    hook.failNext(2); // the receiver is down for the first two tries
    alerter = createAlerter({
      sinks: [email(), webhookSink({ url: hook.url, ...fast })],
      log,
      daemon,
      cooldownMs: 60_000,
    });
    alerter.report("service", true);
    for (let i = 0; i < 1000; i++) alerter.report("service", false, "connect ECONNREFUSED 127.0.0.1:5000");
    await alerter.drained();
    alerter.report("service", true, "SERVING");
    for (let i = 0; i < 100; i++) alerter.report("service", true, "SERVING");
    await alerter.drained();

    expect(bodies().map((b) => b.kind)).toEqual(["component_down", "component_up"]);
    expect(hook.requests.map((r) => r.status)).toEqual([503, 503, 200, 200]);
    const down = bodies()[0]!;
    expect(down).toMatchObject({
      level: "error",
      component: "service",
      title: "snetd snet-org/echo/default_group: service is down",
      message: "snetd cannot reach the AI service: connect ECONNREFUSED 127.0.0.1:5000",
      daemon,
    });
    expect(hook.requests[0]?.headers["content-type"]).toBe("application/json");

    const mails = await smtp.waitForMessages(2);
    expect(mails.map((m) => m.subject)).toEqual([
      "snetd snet-org/echo/default_group: service is down",
      "snetd snet-org/echo/default_group: service recovered",
    ]);
    expect(mails[0]).toMatchObject({ from: "snetd@example.org", to: ["ops@example.org"], login: "alerts" });
    expect(mails[0]?.text).toContain("detail: connect ECONNREFUSED 127.0.0.1:5000");
    expect(mails[0]?.text).toContain("organization_id: snet-org");
    expect(smtp.messages).toHaveLength(2);
  });

  test("a component that is down at the first probe is reported; one that is up is not", async () => {
    alerter = createAlerter({ sinks: [webhookSink({ url: hook.url, ...fast })], log: captureLog(), daemon });
    alerter.report("chain", true);
    alerter.report("ipfs", false, "HTTP 502");
    alerter.report("store", true);
    await alerter.drained();
    expect(bodies().map((b) => [b.kind, b.component])).toEqual([["component_down", "ipfs"]]);
  });

  test("flapping sends at most one down alert per cool-down, then the state it settled in", async () => {
    alerter = createAlerter({
      sinks: [webhookSink({ url: hook.url, ...fast })],
      log: captureLog(),
      daemon,
      cooldownMs: 3000,
    });
    alerter.report("store", false, "etcd: no leader");
    alerter.report("store", true);
    for (let i = 0; i < 10; i++) {
      alerter.report("store", false, "etcd: no leader");
      alerter.report("store", true);
    }
    alerter.report("store", false, "etcd: still no leader");
    await alerter.drained();
    expect(bodies().map((b) => b.kind)).toEqual(["component_down", "component_up"]);
    // At the end of the cool-down the store is still down: that is told, with how often it changed.
    await until(() => hook.delivered().length === 3, "the alert after the cool-down", { timeoutMs: 15_000 });
    const last = bodies()[2]!;
    expect(last.kind).toBe("component_down");
    expect(last.details).toMatchObject({ detail: "etcd: still no leader", changes_since_last_alert: "21" });
  });

  test("flapping that ends where the last alert left it sends nothing more", async () => {
    alerter = createAlerter({
      sinks: [webhookSink({ url: hook.url, ...fast })],
      log: captureLog(),
      daemon,
      cooldownMs: 1000,
    });
    alerter.report("chain", false, "timeout");
    alerter.report("chain", true);
    alerter.report("chain", false, "timeout");
    alerter.report("chain", true);
    await Bun.sleep(1500); // past the cool-down: the pending check must find nothing to tell
    await alerter.drained();
    expect(bodies().map((b) => b.kind)).toEqual(["component_down", "component_up"]);
  });
});

describe("channels near expiry", () => {
  test("told once per channel and expiration, with the amount and what to do", async () => {
    alerter = createAlerter({ sinks: [email(), webhookSink({ url: hook.url, ...fast })], log: captureLog(), daemon });
    const ch = {
      channelId: 42n,
      sender: "0x1111111111111111111111111111111111111111",
      unclaimedCogs: 12_345_678_901_234_567_890n,
      expiration: 1_000_100n,
      currentBlock: 1_000_000n,
    };
    for (let i = 0; i < 50; i++) alerter.channelNearExpiry(ch);
    alerter.channelNearExpiry({ ...ch, expiration: 2_000_000n, currentBlock: 1_999_990n }); // extended, then near again
    await alerter.drained();
    expect(bodies()).toHaveLength(2);
    expect(bodies()[0]).toMatchObject({
      kind: "channel_near_expiry",
      title:
        "snetd snet-org/echo/default_group: channel 42 expires in 100 blocks with 12345678901234567890 cogs unclaimed",
      details: { channel_id: "42", unclaimed_cogs: "12345678901234567890", expiration_block: "1000100" },
    });
    const [mail] = await smtp.waitForMessages(1);
    expect(mail?.text).toContain('run "snetd claim --channel-id 42"');
  });
});

describe("delivery", () => {
  test("a 4xx answer is not retried and is logged", async () => {
    const log = captureLog();
    hook.failNext(1, 400);
    alerter = createAlerter({ sinks: [webhookSink({ url: hook.url, ...fast })], log, daemon });
    alerter.report("ipfs", false, "HTTP 502");
    await alerter.drained();
    expect(hook.requests.map((r) => r.status)).toEqual([400]);
    expect(log.matching("Alert not delivered")[0]?.fields.reason).toBe(
      `Webhook ${new URL(hook.url).origin} answered HTTP 400; expected 2xx (after 1 try)`,
    );
  });

  test("an unreachable SMTP server is retried, then given up, without holding up the webhook", async () => {
    const log = captureLog();
    const deadPort = await freePort(); // nothing listens there
    const dead = emailSink({
      to: "ops@example.org",
      from: "snetd@example.org",
      host: "127.0.0.1",
      port: deadPort,
      secure: false,
      attempts: 3,
      firstDelayMs: 300,
    });
    alerter = createAlerter({ sinks: [dead, webhookSink({ url: hook.url, ...fast })], log, daemon });
    alerter.report("service", false, "down");
    await until(() => hook.delivered().length === 1, "the webhook alert");
    expect(log.has("Alert not delivered")).toBe(false); // the e-mail is still being retried
    await alerter.drained();
    expect(String(log.matching("Alert not delivered")[0]?.fields.reason)).toMatch(
      new RegExp(`SMTP server 127.0.0.1:${deadPort} refused the alert: .*ECONNREFUSED.* \\(after 3 tries\\)`),
    );
  });
});
