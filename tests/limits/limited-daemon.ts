/**
 * The fixture of most limit suites: a real echo service behind snetd with payments off and the suite's
 * limits set, plus one well-behaved grpc-js client that must keep being served. Registers its own
 * beforeAll/afterAll; read the fields inside tests.
 *
 * @example
 * const fx = limitedDaemon({ max_concurrent_streams: 4 });
 * test("…", async () => { await call(fx.good, "Echo", { text: "ok" }); });
 */
import { afterAll, beforeAll } from "bun:test";
import type * as grpc from "@grpc/grpc-js";
import { type DaemonProcess, startDaemon } from "../kit/daemon.ts";
import { type EchoService, echoClient, startEchoService } from "../kit/echo-service.ts";

export interface LimitedDaemon {
  service: EchoService;
  daemon: DaemonProcess;
  /** A client that respects every limit. */
  good: grpc.Client;
}

/** Starts the fixture before the file's tests with `limits` in the daemon's config, and stops it after. */
export function limitedDaemon(limits: Record<string, unknown>): LimitedDaemon {
  const fx = {} as LimitedDaemon;
  beforeAll(async () => {
    fx.service = await startEchoService();
    fx.daemon = await startDaemon({
      config: { blockchain_enabled: false, service_endpoint: `http://${fx.service.address}`, ...limits },
    });
    fx.good = echoClient(fx.daemon.endpoint);
  });
  afterAll(async () => {
    fx.good?.close();
    await fx.daemon?.stop();
    await fx.service?.stop();
  });
  return fx;
}
