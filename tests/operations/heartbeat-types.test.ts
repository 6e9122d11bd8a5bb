/**
 * `service_heartbeat_type` (protocol/operations.md#health-and-heartbeat): what the daemon probes to say
 * whether the service is up, as /heartbeat reports it. "" (the default) asks the service itself (gRPC
 * health Check); `http` asks the provider's own heartbeat URL, which must answer 2xx; `tcp` only needs the
 * port to accept a connection. Real processes all round: snetd, a grpc-js service, a Bun HTTP server, a
 * bare TCP listener.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import net from "node:net";
import { type DaemonProcess, startDaemon } from "../kit/daemon.ts";
import { type EchoService, startEchoService } from "../kit/echo-service.ts";
import { freePort } from "../kit/ports.ts";
import { until } from "../kit/wait.ts";

let service: EchoService;
const daemons: DaemonProcess[] = [];

beforeAll(async () => {
  service = await startEchoService();
});
afterAll(async () => {
  await Promise.all(daemons.map((d) => d.stop()));
  await service?.stop();
});

async function daemonWith(config: Record<string, unknown>): Promise<DaemonProcess> {
  const d = await startDaemon({
    config: { blockchain_enabled: false, service_endpoint: `http://${service.address}`, ...config },
  });
  daemons.push(d);
  return d;
}

const status = async (d: DaemonProcess) =>
  ((await (await fetch(`${d.url}/heartbeat`)).json()) as { status: string }).status;

test("http: the provider's heartbeat URL decides, and a non-2xx answer is Offline", async () => {
  let healthy = true;
  const heartbeat = Bun.serve({
    port: 0,
    hostname: "127.0.0.1",
    fetch: () => new Response(healthy ? "ok" : "down", { status: healthy ? 200 : 503 }),
  });
  try {
    const d = await daemonWith({
      service_heartbeat_type: "http",
      heartbeat_endpoint: `http://127.0.0.1:${heartbeat.port}/health`,
    });
    expect(await status(d)).toBe("Online");
    healthy = false;
    await until(async () => (await status(d)) === "Offline", "the daemon to report the heartbeat's 503", {
      timeoutMs: 10_000,
    });
  } finally {
    heartbeat.stop(true);
  }
});

test("tcp: a port that accepts connections is Online, even when it speaks no gRPC; a closed one is Offline", async () => {
  const listener = net.createServer((socket) => socket.destroy());
  await new Promise<void>((r) => listener.listen(0, "127.0.0.1", r));
  const port = (listener.address() as net.AddressInfo).port;
  const d = await daemonWith({ service_endpoint: `http://127.0.0.1:${port}`, service_heartbeat_type: "tcp" });
  expect(await status(d)).toBe("Online");
  await new Promise((r) => listener.close(r));
  await until(async () => (await status(d)) === "Offline", "the daemon to see the closed port", { timeoutMs: 10_000 });

  // The default asks the service itself: the same bare listener is not a gRPC service.
  const bare = net.createServer((socket) => socket.destroy());
  const barePort = await freePort();
  await new Promise<void>((r) => bare.listen(barePort, "127.0.0.1", r));
  try {
    const byDefault = await daemonWith({ service_endpoint: `http://127.0.0.1:${barePort}` });
    expect(await status(byDefault)).toBe("Offline");
  } finally {
    await new Promise((r) => bare.close(r));
  }
});
