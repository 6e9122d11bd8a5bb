/**
 * Connection limits (protocol/operations.md#listener-limits): a flood of connections from one address is closed
 * at once past `max_connections_per_address`, and past `max_connections` in all, before a byte is read;
 * clients from other addresses, and connections already open, keep being served; a closed connection gives
 * its place back. Payments are off: the limits sit in front of them.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import type http2 from "node:http2";
import { type DaemonProcess, startDaemon } from "../kit/daemon.ts";
import { type EchoService, startEchoService } from "../kit/echo-service.ts";
import { until } from "../kit/wait.ts";
import {
  callOn,
  ECHO,
  echoes,
  echoRequest,
  FRAME,
  frame,
  h2Session,
  http1Request,
  OTHER_ADDRESS,
  PREFACE,
  parseFrames,
  type RawConnection,
  rawConnection,
} from "./raw-clients.ts";

/** Generous bounds: a refused connection closes at once, these only turn a hang into a failure. */
const CUT_MS = 5_000;

let service: EchoService;
const daemons: DaemonProcess[] = [];
const open: { destroy(): void }[] = [];

beforeAll(async () => {
  service = await startEchoService();
});

afterAll(async () => {
  for (const o of open) o.destroy();
  for (const d of daemons) await d.stop();
  await service?.stop();
});

async function daemon(limits: Record<string, unknown>): Promise<DaemonProcess> {
  // headers_timeout is long here so the held connections stay until the test lets them go.
  const d = await startDaemon({
    config: {
      blockchain_enabled: false,
      service_endpoint: `http://${service.address}`,
      headers_timeout: "60s",
      ...limits,
    },
  });
  daemons.push(d);
  return d;
}

/** A connection that speaks the HTTP/2 preface and then waits: a held place. */
async function holder(endpoint: string, localAddress = "127.0.0.1"): Promise<RawConnection> {
  const c = await rawConnection(endpoint, { localAddress });
  open.push(c.socket);
  c.send(Buffer.concat([PREFACE, frame(FRAME.SETTINGS, 0, 0)]));
  return c;
}

/** The server answered the preface with its SETTINGS: the connection was accepted. */
const accepted = (c: RawConnection) => parseFrames(c.received()).some((f) => f.type === FRAME.SETTINGS);

/** Opens `n` holders at once and sorts them into accepted and refused (closed with no byte from the server). */
async function flood(endpoint: string, n: number, localAddress = "127.0.0.1") {
  const conns = await Promise.all(Array.from({ length: n }, () => holder(endpoint, localAddress)));
  await until(() => conns.every((c) => c.closed || accepted(c)), "every flood connection to be accepted or closed", {
    timeoutMs: CUT_MS,
  });
  return {
    accepted: conns.filter((c) => !c.closed && accepted(c)),
    refused: conns.filter((c) => c.closed && c.received().length === 0),
  };
}

/**
 * Takes `n` places one by one, retrying a refused one for a while: the kit's start-up probe may still hold a
 * place for a moment after it closed, and the flood that follows must meet a daemon exactly full.
 */
async function fill(endpoint: string, n: number, localAddress = "127.0.0.1"): Promise<RawConnection[]> {
  const held: RawConnection[] = [];
  const deadline = Date.now() + CUT_MS;
  while (held.length < n) {
    if (Date.now() > deadline) throw new Error(`Only ${held.length} of ${n} connections accepted within ${CUT_MS} ms`);
    const c = await holder(endpoint, localAddress);
    await until(() => c.closed || accepted(c), "a holder to be accepted or closed", { timeoutMs: CUT_MS });
    if (c.closed) await Bun.sleep(50);
    else held.push(c);
  }
  return held;
}

/** The daemon's count of cuts by `limit` (snetd_listener_cuts_total), read from another address. */
async function cuts(d: DaemonProcess, limit: string): Promise<number> {
  const r = await http1Request(d.endpoint, { method: "GET", path: "/metrics", localAddress: OTHER_ADDRESS });
  const m = new RegExp(`^snetd_listener_cuts_total\\{limit="${limit}"\\} (\\d+)$`, "m").exec(r.body.toString());
  return m ? Number(m[1]) : 0;
}

describe("max_connections_per_address", () => {
  test("a flood from one address is closed past the limit; another address and the held connections are served", async () => {
    const d = await daemon({ max_connections_per_address: 5 });
    await d.showLogsOnFailure(async () => {
      const held = await fill(d.endpoint, 5);
      const before = await cuts(d, "max_connections_per_address");
      const f = await flood(d.endpoint, 15);
      expect(f.refused.length).toBe(15);
      expect(f.accepted.length).toBe(0);

      // Meanwhile another address is served, and the held connections are untouched.
      expect(await echoes(d.endpoint, "from elsewhere", OTHER_ADDRESS)).toBe(true);
      expect(await echoes(d.endpoint, "still refused", "127.0.0.1")).toBe(false);
      expect(held.every((c) => !c.closed)).toBe(true);

      // The operator hears of it once, not once per connection…
      expect(d.logs()).toContain('limit="max_connections_per_address"');
      expect(d.logs().split("client cut by a listener limit").length - 1).toBe(1);
      // …and sees every one on /metrics: the 15 of the flood and the refused call above.
      expect(await cuts(d, "max_connections_per_address")).toBe(before + 16);

      // Closed connections give their places back.
      for (const c of held) c.socket.destroy();
      await until(() => echoes(d.endpoint, "welcome back", "127.0.0.1"), "127.0.0.1 to be served again", {
        timeoutMs: CUT_MS,
        intervalMs: 100,
      });
    });
  });
});

describe("max_connections", () => {
  test("past the total, new connections are closed at once while open ones keep calling; places come back", async () => {
    const d = await daemon({ max_connections: 6, max_connections_per_address: 0 });
    await d.showLogsOnFailure(async () => {
      // A well-behaved client connected before the flood…
      const good: http2.ClientHttp2Session = h2Session(d.endpoint, OTHER_ADDRESS);
      open.push(good);
      expect((await callOn(good, ECHO, echoRequest("before"))).status).toBe(0);

      const held = await fill(d.endpoint, 5);
      const f = await flood(d.endpoint, 15);
      expect(f.refused.length).toBe(15);
      expect(f.accepted.length).toBe(0);
      // …a newcomer from any address is refused too while the daemon is full…
      const late = await holder(d.endpoint, "127.0.0.3");
      expect(await late.closedWithin(CUT_MS)).toBe(true);
      expect(late.received().length).toBe(0);
      // …but the connection already open is served throughout.
      for (const text of ["during 1", "during 2", "during 3"]) {
        const r = await callOn(good, ECHO, echoRequest(text));
        expect(r.status).toBe(0);
        expect(r.body.includes(Buffer.from(text))).toBe(true);
      }
      expect(d.logs()).toContain('limit="max_connections"');

      for (const c of held) c.socket.destroy();
      await until(() => echoes(d.endpoint, "room again", "127.0.0.3"), "a new connection to be accepted again", {
        timeoutMs: CUT_MS,
        intervalMs: 100,
      });
    });
  });
});
