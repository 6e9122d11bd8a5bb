/**
 * The running daemon: one listener, the daemon's own methods, the payment gate and the proxy, wired
 * from resolved settings. Everything that reads the chain or the store happens before this
 * (app/daemon-settings.ts); here only sockets. The certificate comes ready in a holder (app/tls-setup.ts).
 */
import { type Admission, FREE_PASS, type PaymentGate } from "../core/admission.ts";
import { type SnetError, toSnetError } from "../core/errors.ts";
import type { CompiledProtos } from "../metadata/protos/compile.ts";
import { type DaemonMetrics, daemonMetrics } from "../ops/metrics.ts";
import type { CertificateHolder } from "../ops/tls-holder.ts";
import type { ServerCall } from "../transport/call.ts";
import { connectCodec } from "../transport/connect-codec.ts";
import { withReplayedBody } from "../transport/first-message.ts";
import { cachedProbe, type ProbeResult, probeUpstream } from "../transport/health-probe.ts";
import { type HeartbeatSource, httpApp } from "../transport/http-app.ts";
import type { LimitHit, ListenerLimits } from "../transport/limits.ts";
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
  /** The certificate served, kept current by app/tls-setup.ts (file reloads or ACME). */
  tls?: CertificateHolder;
  serviceUrl: string;
  maxMessageBytes: number;
  /** What one client can hold on the port (transport/limits.ts); its defaults when absent. */
  limits?: ListenerLimits;
  /** Told of every client cut by a listener limit. */
  onLimit?: (hit: LimitHit, peer: string) => void;
  serviceTimeoutMs: number;
  /** Heartbeat fields that do not change at run time. */
  identity: { daemonId: string; version: string; blockchainEnabled: boolean; network: string; serviceId: string };
  encoding: string;
  /** Absent = payments off: every call passes, `snet-user-address` stripped. */
  gate?: PaymentGate;
  /** The daemon's own methods besides health (channel state, tokens, free calls, treasurer). */
  methods?: readonly DaemonMethod[];
  /** The service's probe chosen by `service_heartbeat_type`; absent: by the service's kind. */
  heartbeat?: (up: Upstream) => Promise<ProbeResult>;
  /** A non-gRPC service (service_type http, jsonrpc, process): calls go through its adapter. */
  unary?: { adapter: UnaryUpstream; probe: () => Promise<ProbeResult>; forwardUserAddress: boolean };
  /** `enable_dynamic_pricing`: priced method path → its price method's path (needs `gate`). */
  priceMethods?: ReadonlyMap<string, string>;
  /** `connect_enabled`: Connect unary calls, JSON with the service's compiled protos (else binary only). */
  connect?: { protos?: CompiledProtos; jsonUnavailable?: string };
  /** `passthrough_enabled: false`: answer calls with their own request instead of calling the service. */
  loopback?: boolean;
  /** The heartbeat's `trainingMetadata` (protocol/headers.md#heartbeat), when training is on. */
  trainingMetadata?: Record<string, unknown>;
  /** Serve /metrics (prom-client) on the daemon port. */
  metrics?: boolean;
  /** The metrics registry (app/operations.ts shares it with the admin listener); made here when absent. */
  meter?: DaemonMetrics;
  /** Called for every call refused or failed inside the daemon (not for service errors). */
  onCallError?: (path: string, err: SnetError) => void;
  onInternalError?: (err: unknown) => void;
}

export interface Daemon {
  readonly port: number;
  readonly upstream: Upstream;
  /** The service's readiness (cached for a second), as /heartbeat and health Check report it. */
  probe(): Promise<ProbeResult>;
  inFlight(): number;
  stop(drainMs: number): Promise<void>;
}

export async function startDaemon(s: DaemonSettings): Promise<Daemon> {
  const up = createUpstream({ url: s.serviceUrl, maxMessageBytes: s.maxMessageBytes });
  const configured = s.heartbeat;
  const probe = cachedProbe(configured ? () => configured(up) : (s.unary?.probe ?? (() => probeUpstream(up))));
  const unary = s.unary;
  const priceSource: PriceSource | undefined = s.priceMethods && {
    priceMethods: s.priceMethods,
    fetch: unary
      ? (c) => fetchDynamicPriceVia(unary.adapter, c, s.encoding === "json" ? "json" : "proto")
      : (c) => fetchDynamicPrice(up, c),
  };
  let server: RunningServer | undefined;
  const metrics = s.meter ?? (s.metrics ? daemonMetrics() : undefined);
  metrics?.inFlightFrom(() => server?.inFlight() ?? 0);
  const proxyOptions = { maxMessageBytes: s.maxMessageBytes, defaultTimeoutMs: s.serviceTimeoutMs };
  const bridgeOptions = { ...proxyOptions, forwardUserAddress: unary?.forwardUserAddress ?? false };

  const heartbeat: HeartbeatSource = {
    async heartbeat() {
      const p = await probe();
      return {
        daemonID: s.identity.daemonId,
        timestamp: String(Math.floor(Date.now() / 1000)),
        status: p.serving ? "Online" : "Offline",
        serviceheartbeat: JSON.stringify({
          serviceID: s.identity.serviceId,
          status: p.serving ? "SERVING" : "NOT_SERVING",
        }),
        daemonVersion: s.identity.version,
        blockchainEnabled: s.identity.blockchainEnabled,
        blockchainNetwork: s.identity.network,
        storageClientCertDetails: { validFrom: "", validTill: "" },
        ...(s.trainingMetadata ? { trainingMetadata: s.trainingMetadata } : {}),
      };
    },
    encoding: () => s.encoding,
    ...(metrics && s.metrics ? { metrics: () => metrics.render() } : {}),
  };

  const proxied = async (call: ServerCall) => {
    let admission: Admission;
    const priced = s.gate ? pricedCall(call, priceSource, s.maxMessageBytes) : undefined;
    try {
      admission = s.gate ? await s.gate.admit(priced?.request ?? call) : FREE_PASS;
    } catch (err) {
      const e = toSnetError(err);
      s.onCallError?.(call.path, e);
      // Refused before the service saw anything; drain the body so the stream closes cleanly.
      call.body.resume();
      call.finish(statusTrailers(e));
      return;
    }
    // A dynamic price read the first message; a passthrough gets it back in front of the body.
    const first = priced?.first();
    const replayed = first ? withReplayedBody(call, first) : call;
    if (s.loopback) await loopbackCall(replayed, admission);
    else if (unary) await unaryBridgeCall(call, unary.adapter, admission, bridgeOptions, first);
    else await proxyCall(replayed, up, admission, proxyOptions);
  };

  const own = [...healthMethods(probe), ...(s.methods ?? [])];
  const connect = s.connect && connectCodec({ ...s.connect, own });
  server = await startServer({
    host: s.host,
    port: s.port,
    ...(s.tls ? { tls: s.tls } : {}),
    maxMessageBytes: s.maxMessageBytes,
    ...(s.limits ? { limits: s.limits } : {}),
    ...(s.onLimit ? { onLimit: s.onLimit } : {}),
    handlers: { methods: methodTable(own), proxied, http: httpApp(heartbeat).fetch },
    ...(connect ? { connect } : {}),
    ...(s.onInternalError ? { onError: s.onInternalError } : {}),
    ...(s.onCallError ? { onMethodError: s.onCallError } : {}),
  });

  return {
    port: server.port,
    upstream: up,
    probe,
    inFlight: () => server.inFlight(),
    async stop(drainMs) {
      await server.close(drainMs);
      up.close();
      await unary?.adapter.close();
    },
  };
}
