/**
 * The running daemon: one listener, the daemon's own methods, the payment gate and the proxy, wired
 * from resolved settings. Everything that reads the chain or the store happens before this
 * (app/daemon-settings.ts); here only sockets, and the TLS files the listener needs.
 */
import { X509Certificate, createPrivateKey } from "node:crypto";
import { readFileSync } from "node:fs";
import { createSecureContext } from "node:tls";
import { ConfigError, type ConfigProblem } from "../config/load.ts";
import { type Admission, FREE_PASS, type PaymentGate } from "../core/admission.ts";
import { type SnetError, toSnetError } from "../core/errors.ts";
import { daemonMetrics } from "../ops/metrics.ts";
import type { ServerCall } from "../transport/call.ts";
import { withReplayedBody } from "../transport/first-message.ts";
import { cachedProbe, type ProbeResult, probeUpstream } from "../transport/health-probe.ts";
import { type HeartbeatSource, httpApp } from "../transport/http-app.ts";
import { loopbackCall } from "../transport/loopback.ts";
import { type PriceSource, pricedCall } from "../transport/priced-call.ts";
import { proxyCall } from "../transport/proxy.ts";
import { type RunningServer, startServer } from "../transport/server.ts";
import { healthMethods } from "../transport/services/health.ts";
import { type DaemonMethod, methodTable } from "../transport/services/method.ts";
import { statusTrailers } from "../transport/status.ts";
import { unaryBridgeCall } from "../transport/unary-bridge.ts";
import { upstream as createUpstream, type Upstream } from "../transport/upstream.ts";
import { fetchDynamicPrice, fetchDynamicPriceVia } from "../transport/upstreams/dynamic-price.ts";
import type { UnaryUpstream } from "../transport/upstreams/unary.ts";

export interface DaemonSettings {
  host: string;
  port: number;
  tls?: { certFile: string; keyFile: string };
  serviceUrl: string;
  maxMessageBytes: number;
  serviceTimeoutMs: number;
  /** Heartbeat fields that do not change at run time. */
  identity: { daemonId: string; version: string; blockchainEnabled: boolean; network: string; serviceId: string };
  encoding: string;
  /** Absent = payments off: every call passes, `snet-user-address` stripped. */
  gate?: PaymentGate;
  /** The daemon's own methods besides health (channel state, tokens, free calls, treasurer). */
  methods?: readonly DaemonMethod[];
  /** A non-gRPC service (service_type http, jsonrpc, process): calls go through its adapter. */
  unary?: { adapter: UnaryUpstream; probe: () => Promise<ProbeResult>; forwardUserAddress: boolean };
  /** `enable_dynamic_pricing`: priced method path → its price method's path (needs `gate`). */
  priceMethods?: ReadonlyMap<string, string>;
  /** `passthrough_enabled: false`: answer calls with their own request instead of calling the service. */
  loopback?: boolean;
  /** Serve /metrics (prom-client). */
  metrics?: boolean;
  /** Called for every call refused or failed inside the daemon (not for service errors). */
  onCallError?: (path: string, err: SnetError) => void;
  onInternalError?: (err: unknown) => void;
}

export interface Daemon {
  readonly port: number;
  readonly upstream: Upstream;
  inFlight(): number;
  stop(drainMs: number): Promise<void>;
}

/**
 * Reads ssl_cert/ssl_key and checks they form a usable pair, so a wrong path or PEM is a configuration
 * problem naming the key (exit 2), not a crash with a bare ENOENT or OpenSSL code.
 */
function tlsCredentials(files: { certFile: string; keyFile: string }): { cert: Buffer; key: Buffer } {
  const problems: ConfigProblem[] = [];
  const read = (path: string, file: string, expected: string) => {
    try {
      return readFileSync(file);
    } catch (err) {
      problems.push({ path, given: file, reason: `cannot be read (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`, expected });
      return undefined;
    }
  };
  const cert = read("ssl_cert", files.certFile, "a readable PEM certificate chain file");
  const key = read("ssl_key", files.keyFile, "a readable PEM private key file");
  if (!cert || !key) throw new ConfigError(problems);
  try {
    createSecureContext({ cert, key });
    // Deno's createSecureContext checks nothing until a handshake; parsing both and matching them does.
    if (!new X509Certificate(cert).checkPrivateKey(createPrivateKey(key))) throw new Error("the key does not belong to the first certificate");
  } catch (err) {
    const reason = `is not a usable certificate and key pair with ssl_key "${files.keyFile}" (${(err as Error).message})`;
    throw new ConfigError([{ path: "ssl_cert", given: files.certFile, reason, expected: "a PEM certificate chain and the PEM private key of its first certificate" }]);
  }
  return { cert, key };
}

export async function startDaemon(s: DaemonSettings): Promise<Daemon> {
  const tls = s.tls ? tlsCredentials(s.tls) : undefined;
  const up = createUpstream({ url: s.serviceUrl, maxMessageBytes: s.maxMessageBytes });
  const probe = cachedProbe(s.unary?.probe ?? (() => probeUpstream(up)));
  const unary = s.unary;
  const priceSource: PriceSource | undefined = s.priceMethods && {
    priceMethods: s.priceMethods,
    fetch: unary ? (c) => fetchDynamicPriceVia(unary.adapter, c, s.encoding === "json" ? "json" : "proto") : (c) => fetchDynamicPrice(up, c),
  };
  let server: RunningServer | undefined;
  const metrics = s.metrics ? daemonMetrics(() => server?.inFlight() ?? 0) : undefined;
  const proxyOptions = { maxMessageBytes: s.maxMessageBytes, defaultTimeoutMs: s.serviceTimeoutMs };
  const bridgeOptions = { ...proxyOptions, forwardUserAddress: unary?.forwardUserAddress ?? false };

  const heartbeat: HeartbeatSource = {
    async heartbeat() {
      const p = await probe();
      return {
        daemonID: s.identity.daemonId,
        timestamp: String(Math.floor(Date.now() / 1000)),
        status: p.serving ? "Online" : "Offline",
        serviceheartbeat: JSON.stringify({ serviceID: s.identity.serviceId, status: p.serving ? "SERVING" : "NOT_SERVING" }),
        daemonVersion: s.identity.version,
        blockchainEnabled: s.identity.blockchainEnabled,
        blockchainNetwork: s.identity.network,
        storageClientCertDetails: { validFrom: "", validTill: "" },
      };
    },
    encoding: () => s.encoding,
    ...(metrics ? { metrics: () => metrics.render() } : {}),
  };

  const proxied = async (call: ServerCall) => {
    let admission: Admission;
    const priced = s.gate ? pricedCall(call, priceSource, s.maxMessageBytes) : undefined;
    try {
      admission = s.gate ? await s.gate.admit(priced?.request ?? call) : FREE_PASS;
    } catch (err) {
      const e = toSnetError(err);
      s.onCallError?.(call.path, e);
      metrics?.refused(e.code);
      // Refused before the service saw anything; drain the body so the stream closes cleanly.
      call.body.resume();
      call.finish(statusTrailers(e));
      return;
    }
    if (metrics) {
      metrics.admitted(call.metadata.get("snet-payment-type")?.[0] ?? (s.gate ? "escrow" : "none"));
      const settle = admission.settle;
      admission = { ...admission, settle: (ok) => (metrics.settled(ok), settle(ok)) };
    }
    // A dynamic price read the first message; a passthrough gets it back in front of the body.
    const first = priced?.first();
    const replayed = first ? withReplayedBody(call, first) : call;
    if (s.loopback) await loopbackCall(replayed, admission);
    else if (unary) await unaryBridgeCall(call, unary.adapter, admission, bridgeOptions, first);
    else await proxyCall(replayed, up, admission, proxyOptions);
  };

  server = await startServer({
    host: s.host,
    port: s.port,
    ...(tls ? { tls } : {}),
    maxMessageBytes: s.maxMessageBytes,
    handlers: { methods: methodTable([...healthMethods(probe), ...(s.methods ?? [])]), proxied, http: httpApp(heartbeat).fetch },
    ...(s.onInternalError ? { onError: s.onInternalError } : {}),
    ...(s.onCallError ? { onMethodError: s.onCallError } : {}),
  });

  return {
    port: server.port,
    upstream: up,
    inFlight: () => server.inFlight(),
    async stop(drainMs) {
      await server.close(drainMs);
      up.close();
      await unary?.adapter.close();
    },
  };
}
