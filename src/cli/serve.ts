/** `snetd serve`: load config, metadata, chain and store, then serve until SIGTERM/SIGINT. */
import { createHash } from "node:crypto";
import { parseHostPort } from "../config/schema.ts";
import type { Config } from "../config/schema.ts";
import { redactedConfig } from "../config/load.ts";
import { type Daemon, type DaemonSettings, startDaemon } from "../daemon.ts";
import { defaultRecovery } from "../crypto/native-recovery.ts";
import { priceOf } from "../metadata/pricing.ts";
import { type Logger, createLogger } from "../ops/log.ts";
import { type PaymentContext, paymentContext } from "../payments/context.ts";
import { paymentGate } from "../payments/gate.ts";
import { prepaidFeature } from "../payments/prepaid.ts";
import { freeCallFeature } from "../payments/free-calls.ts";
import { localSlots, leasedSlots } from "../payments/slots.ts";
import { stateService } from "../payments/state-service.ts";
import { controlService } from "../payments/control-service.ts";
import { treasury } from "../payments/treasury.ts";
import { startAutoClaim } from "../claims/auto-claim.ts";
import { localSource } from "../claims/sources.ts";
import { providerKey } from "./keys.ts";
import { maybeStartManagedEtcd } from "./managed-etcd.ts";
import { disabledPaymentServices } from "../payments/disabled-services.ts";
import { createWalletClient, defineChain, http } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { rpcUrlOf } from "../payments/context.ts";
import { VERSION } from "../version.ts";
import { CONFIG_OPTION, type Command } from "./command.ts";
import { CliError, Exit } from "./exit-codes.ts";
import { configFor } from "./load-config.ts";
import type { Address } from "../core/signatures.ts";

export function loggerFor(config: Config): Logger {
  return createLogger({
    level: config.log.level,
    format: config.log.formatter.type,
    outputs: config.log.output.type,
    filePattern: config.log.output.file_pattern,
    maxSizeMb: config.log.output.max_size_in_mb,
    rotationCount: config.log.output.rotation_count,
  });
}

function daemonId(ctx: PaymentContext | undefined, config: Config): string {
  const parts = ctx
    ? [config.organization_id, config.service_id, ctx.group.groupIdBase64, config.registry_address_key ?? ""]
    : [config.organization_id, config.service_id, "", ""];
  return createHash("sha256").update(parts.join("")).digest("hex");
}

async function buildSettings(initial: Config, log: Logger): Promise<{ settings: DaemonSettings; ctx?: PaymentContext; cleanup: () => Promise<void> }> {
  let config = initial;
  const listen = parseHostPort(config.daemon_endpoint);
  if (!listen) throw new CliError(Exit.USAGE, `daemon_endpoint "${config.daemon_endpoint}" is not host:port`);
  const base: DaemonSettings = {
    host: listen.host,
    port: listen.port,
    ...(config.ssl_cert && config.ssl_key ? { tls: { certFile: config.ssl_cert, keyFile: config.ssl_key } } : {}),
    serviceUrl: config.service_endpoint,
    maxMessageBytes: config.max_message_size_in_mb * 1024 * 1024,
    serviceTimeoutMs: config.service_timeout,
    identity: {
      daemonId: daemonId(undefined, config),
      version: VERSION,
      blockchainEnabled: config.blockchain_enabled,
      network: config.blockchain_network_selected,
      serviceId: config.service_id,
    },
    encoding: "proto",
    metrics: config.metrics_enabled,
    ...(config.passthrough_enabled ? {} : { loopback: true }),
    onCallError: (path, err) => log.debug("call refused", { method: path, code: err.code, reason: err.message }),
    onInternalError: (err) => log.error("internal error", { error: err instanceof Error ? err.message : String(err) }),
  };
  if (config.daemon_type !== "grpc") {
    throw new CliError(Exit.USAGE, `daemon_type "${config.daemon_type}" is not supported by snetd yet, expected "grpc"`);
  }
  if (!config.blockchain_enabled) {
    log.warn("blockchain_enabled is false: calls are passed through without payment");
    return { settings: { ...base, methods: disabledPaymentServices() }, cleanup: async () => {} };
  }

  const member = await maybeStartManagedEtcd(config, log);
  if (member && config.payment_channel_storage_type === "etcd" && config.payment_channel_storage_client.endpoints.length === 0) {
    config = { ...config, payment_channel_storage_client: { ...config.payment_channel_storage_client, endpoints: [member.clientUrl] } };
  }
  let ctx: PaymentContext;
  try {
    ctx = await paymentContext(config, log, { watchEvents: true });
  } catch (err) {
    await member?.stop();
    throw err;
  }
  const recovery = defaultRecovery();
  let slots = localSlots();
  let lease: { revoke(): Promise<void> } | undefined;
  if (!ctx.store.exclusive) {
    const l = await ctx.store.grantLease(config.channel_lease_ttl_s);
    lease = l;
    slots = leasedSlots(ctx.store, l, `${process.pid}@${listen.host}:${listen.port}`);
  }
  const mpe = ctx.group.mpeAddress.toLowerCase() as Address;
  const allowed = config.allowed_user_flag ? new Set(config.allowed_user_addresses.map((a) => a.toLowerCase() as Address)) : undefined;
  // Prepaid (concurrent) calls and free calls, the SDKs' default paths (issue 7).
  const prepaid = await prepaidFeature(ctx, { mpe, slots, recovery, price: (path) => priceOf(ctx.group.pricing, path), ...(allowed ? { allowedSigners: allowed } : {}) });
  const free = await freeCallFeature(ctx, { recovery, log, ...(allowed ? { allowedSigners: allowed } : {}) });
  log.info("prepaid calls enabled", { token_secret: prepaid.secretSource });
  // End of issue 7 block.
  const gate = paymentGate({
    prepaid: prepaid.admit,
    freeCall: free.admit,
    escrow: {
      mpe,
      book: ctx.book,
      slots,
      keys: ctx.keys,
      blocks: ctx.blocks,
      recovery,
      expirationThreshold: ctx.group.expirationThreshold,
      price: (path) => priceOf(ctx.group.pricing, path),
      ...(allowed ? { allowedSigners: allowed } : {}),
    },
  });
  const paymentAddress = ctx.group.paymentAddress.toLowerCase() as Address;
  const tr = treasury({ store: ctx.store, keys: ctx.keys, book: ctx.book, slots });
  let autoClaim: { stop(): Promise<void> } | undefined;
  if (config.auto_claim.enabled) {
    const key = providerKey({ ...(config.private_key ? { configured: config.private_key } : {}) }, paymentAddress, ctx.group.groupName);
    const chain = defineChain({ id: ctx.chainId, name: `chain ${ctx.chainId}`, nativeCurrency: { name: "Ether", symbol: "ETH", decimals: 18 }, rpcUrls: { default: { http: [rpcUrlOf(config)] } } });
    autoClaim = startAutoClaim(
      { source: localSource(tr), publicClient: ctx.client, wallet: createWalletClient({ account: privateKeyToAccount(key.hex), chain, transport: http(rpcUrlOf(config)) }), mpe, batchSize: config.claim.batch_size },
      {
        intervalMs: config.auto_claim.interval,
        expiringWithin: config.auto_claim.expiring_within_blocks ? config.auto_claim.expiring_within_blocks : ctx.group.expirationThreshold * 2n,
        ...(config.auto_claim.unclaimed_threshold_cogs !== undefined ? { minAmount: config.auto_claim.unclaimed_threshold_cogs } : {}),
      },
      log,
    );
    log.info("auto-claim enabled", { interval_ms: config.auto_claim.interval });
  }
  log.info("payments enabled", {
    chain_id: ctx.chainId,
    mpe,
    group: ctx.group.groupName,
    payment_address: ctx.group.paymentAddress,
    store: ctx.store.kind,
    signer_recovery: recovery.name,
  });
  return {
    ctx,
    settings: {
      ...base,
      identity: { ...base.identity, daemonId: daemonId(ctx, config) },
      encoding: ctx.group.encoding,
      gate,
      methods: [
        stateService({ mpe, book: ctx.book, blocks: ctx.blocks, recovery, prepaid: prepaid.counters }),
        prepaid.method,
        ...free.methods,
        ...controlService({ mpe, paymentAddress, blocks: ctx.blocks, recovery, treasury: tr }),
      ],
    },
    cleanup: async () => {
      await autoClaim?.stop();
      await member?.stop();
      await lease?.revoke().catch(() => {});
      await ctx.close();
    },
  };
}

export const serveCommand: Command = {
  name: "serve",
  summary: "run the daemon in front of your service (default command)",
  help: [
    "Usage: snetd serve [-c FILE]",
    "",
    "  -c, --config FILE   configuration file (.json, .yaml, .yml); default ./snetd.config.json when present",
    "",
    "Runs until SIGTERM or SIGINT, then stops accepting calls, lets in-flight calls finish",
    "(drain_timeout) and exits 0. Exit 2: bad configuration; 3: chain, IPFS or store unreachable.",
  ].join("\n"),
  options: { ...CONFIG_OPTION },
  async run(values) {
    const warnings: string[] = [];
    const config = configFor(values, (w) => warnings.push(w));
    const log = loggerFor(config);
    for (const w of warnings) log.warn(w);
    log.info("starting snetd", { version: VERSION, config: redactedConfig(config) });
    const { settings, cleanup } = await buildSettings(config, log);
    let daemon: Daemon;
    try {
      daemon = await startDaemon(settings);
    } catch (err) {
      await cleanup();
      const e = err as NodeJS.ErrnoException;
      if (e.code === "EADDRINUSE" || e.code === "EACCES") {
        throw new CliError(Exit.USAGE, `cannot listen on daemon_endpoint "${config.daemon_endpoint}": ${e.message}`);
      }
      throw err;
    }
    log.info("snetd is ready", { endpoint: `${settings.host}:${daemon.port}`, service: config.service_endpoint, payments: config.blockchain_enabled });

    await new Promise<void>((resolve) => {
      let stopping = false;
      const stop = (signal: string) => {
        if (stopping) return;
        stopping = true;
        log.info("stopping: draining in-flight calls", { signal, in_flight: daemon.inFlight(), drain_timeout_ms: config.drain_timeout });
        daemon
          .stop(config.drain_timeout)
          .then(cleanup)
          .catch((err) => log.error("error while stopping", { error: String(err) }))
          .finally(() => {
            log.info("stopped");
            resolve();
          });
      };
      process.once("SIGTERM", () => stop("SIGTERM"));
      process.once("SIGINT", () => stop("SIGINT"));
    });
    await log.close();
    return Exit.OK;
  },
};
