/**
 * Everything `serve` builds before it listens: the listener settings from the configuration and, with
 * payments on, the payment context, the gate and the daemon's own services. A new payment type or a
 * new daemon service is wired here.
 */
import { createHash } from "node:crypto";
import type { Config } from "../config/schema.ts";
import { parseHostPort } from "../config/schema.ts";
import { badDaemonEndpoint, daemonTypeUnsupported } from "../core/messages/startup.ts";
import type { Address } from "../core/signatures.ts";
import { VERSION } from "../core/version.ts";
import { defaultRecovery } from "../crypto/native-recovery.ts";
import { priceOf } from "../metadata/pricing.ts";
import type { Logger } from "../ops/log.ts";
import { background } from "../payments/background.ts";
import type { EscrowDeps } from "../payments/escrow-gate.ts";
import { admitFreeCall } from "../payments/free-calls.ts";
import { paymentGate } from "../payments/gate.ts";
import { replicaSlots } from "../payments/leased-slots.ts";
import { admitPrepaid } from "../payments/prepaid.ts";
import { readUsage } from "../payments/prepaid-usage.ts";
import { providerControl } from "../payments/provider-control.ts";
import { type ChannelSlots, localSlots } from "../payments/slots.ts";
import { treasury } from "../payments/treasury.ts";
import { probeHeartbeatUrl, probeTcp, probeUpstream } from "../transport/health-probe.ts";
import { decodeBinaryHeader } from "../transport/metadata.ts";
import { channelStateService } from "../transport/services/channel-state.ts";
import { disabledPaymentServices } from "../transport/services/disabled.ts";
import { freeCallStateService } from "../transport/services/free-call-state.ts";
import { providerControlService } from "../transport/services/provider-control.ts";
import { tokenService } from "../transport/services/token.ts";
import { disabledTrainingService } from "../transport/services/training.ts";
import { startAutoClaimFor } from "./auto-claim-setup.ts";
import type { DaemonSettings } from "./daemon.ts";
import { freeCallSetup } from "./free-call-setup.ts";
import { limitLog, listenerLimits } from "./listener-limits.ts";
import { maybeStartManagedEtcd } from "./managed-etcd.ts";
import { type PaymentContext, paymentContext } from "./payment-context.ts";
import { contextHooks, type PaymentHooks } from "./payment-hooks.ts";
import { prepaidSetup } from "./prepaid-setup.ts";
import { replicaId } from "./replica-id.ts";
import { type TrainingSetup, trainingSetup } from "./training-setup.ts";
import { needsProtos, type UpstreamPlan, upstreamPlan } from "./upstream-setup.ts";

/** How long a stopping daemon waits for give-backs still being written. */
const GIVE_BACK_WAIT_MS = 10_000;

export interface BuiltSettings {
  settings: DaemonSettings;
  ctx?: PaymentContext;
  /** Stops what the settings started (managed etcd, auto-claim, leases, store), after the listener. */
  cleanup: () => Promise<void>;
}

/** The heartbeat's daemonID: sha256 of org, service, group and registry, as the reference computes it. */
function daemonId(ctx: PaymentContext | undefined, config: Config): string {
  const parts = ctx
    ? [config.organization_id, config.service_id, ctx.group.groupIdBase64, config.registry_address_key ?? ""]
    : [config.organization_id, config.service_id, "", ""];
  return createHash("sha256").update(parts.join("")).digest("hex");
}

/**
 * The probe `service_heartbeat_type` asks for (protocol/operations.md#health-and-heartbeat); "" leaves it
 * to the service's kind: a gRPC health Check, an HTTP request, or the executable.
 */
function heartbeatProbe(config: Config): Pick<DaemonSettings, "heartbeat"> {
  const url = config.heartbeat_endpoint;
  switch (config.service_heartbeat_type) {
    case "tcp":
    case "none":
      return { heartbeat: () => probeTcp(config.service_endpoint) };
    case "http":
    case "https":
      // cross-check.ts refuses an http heartbeat without its URL.
      return url === undefined ? {} : { heartbeat: () => probeHeartbeatUrl(url) };
    case "grpc":
      return { heartbeat: (up) => probeUpstream(up) };
    default:
      return {};
  }
}

function baseSettings(config: Config, log: Logger): DaemonSettings {
  const listen = parseHostPort(config.daemon_endpoint);
  if (!listen) throw badDaemonEndpoint(config.daemon_endpoint);
  if (config.daemon_type !== "grpc") throw daemonTypeUnsupported(config.daemon_type);
  return {
    host: listen.host,
    port: listen.port,
    serviceUrl: config.service_endpoint,
    maxMessageBytes: config.max_message_size_in_mb * 1024 * 1024,
    limits: listenerLimits(config),
    onLimit: limitLog(log),
    serviceTimeoutMs: config.service_timeout,
    ...heartbeatProbe(config),
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
    // With payments off no metadata is read, so no protos: binary Connect calls only.
    ...(config.connect_enabled
      ? { connect: { jsonUnavailable: "blockchain_enabled is false, so snetd loads no service metadata" } }
      : {}),
    onCallError: (path, err) => log.debug("call refused", { method: path, code: err.code, reason: err.message }),
    onInternalError: (err) => log.error("internal error", { error: err instanceof Error ? err.message : String(err) }),
  };
}

/** One in-flight call per channel: in memory for an embedded store, lease-bound keys on etcd. */
async function slotsFor(
  ctx: PaymentContext,
  config: Config,
  where: string,
): Promise<{ slots: ChannelSlots; stop(): Promise<void> }> {
  if (ctx.store.exclusive) return { slots: localSlots(), stop: async () => {} };
  const replica = replicaId(config.data_dir);
  const lease = await ctx.store.grantLease(config.channel_lease_ttl_s).catch((err: unknown) => {
    replica.release();
    throw err;
  });
  const slots = replicaSlots(ctx.store, lease, `${replica.id} ${where}`, ctx.keys, { replicaId: replica.id });
  return {
    slots,
    async stop() {
      slots.close();
      // Revoking deletes every slot this replica holds, so the group need not wait for the TTL.
      await lease.revoke().catch(() => {});
      replica.release();
    },
  };
}

export async function buildSettings(initial: Config, log: Logger, hooks: PaymentHooks = {}): Promise<BuiltSettings> {
  let config = initial;
  const base = baseSettings(config, log);
  if (!config.blockchain_enabled) {
    log.warn("blockchain_enabled is false: calls are passed through without payment");
    return {
      settings: { ...base, methods: [...disabledPaymentServices(), ...disabledTrainingService()] },
      cleanup: async () => {},
    };
  }

  const member = await maybeStartManagedEtcd(config, log);
  if (
    member &&
    config.payment_channel_storage_type === "etcd" &&
    config.payment_channel_storage_client.endpoints.length === 0
  ) {
    config = {
      ...config,
      payment_channel_storage_client: { ...config.payment_channel_storage_client, endpoints: [member.clientUrl] },
    };
  }
  let ctx: PaymentContext;
  try {
    ctx = await paymentContext(config, log, {
      watchEvents: true,
      protos: (service) => needsProtos(service.service_type, config),
      ...contextHooks(hooks),
    });
  } catch (err) {
    await member?.stop();
    throw err;
  }
  let plan: UpstreamPlan;
  try {
    const meta = { serviceType: ctx.service.service_type, protos: ctx.protos, protosProblem: ctx.protosProblem };
    plan = await upstreamPlan(config, meta, log);
  } catch (err) {
    await ctx.close();
    await member?.stop();
    throw err;
  }
  const recovery = defaultRecovery();
  const owned = await slotsFor(ctx, config, `${process.pid}@${base.host}:${base.port}`);
  const stopSlots = owned.stop;
  const slots = hooks.wrapSlots ? hooks.wrapSlots(owned.slots) : owned.slots;
  const mpe = ctx.group.mpeAddress.toLowerCase() as Address;
  const allowed = config.allowed_user_flag
    ? new Set(config.allowed_user_addresses.map((a) => a.toLowerCase() as Address))
    : undefined;
  // Allowed users and the per-payer/per-channel rate limits apply to every payment type alike.
  const guards = { ...(allowed ? { allowedSigners: allowed } : {}), ...(hooks.limit ? { limit: hooks.limit } : {}) };
  const price = (path: string) => priceOf(ctx.group.pricing, path);
  // Prepaid (concurrent) calls and free calls: the SDKs' default paths.
  const prepaid = await prepaidSetup(ctx, { mpe, slots, recovery, price, ...guards });
  const free = await freeCallSetup(ctx, { recovery, log, ...guards });
  log.info("prepaid calls enabled", { token_secret: prepaid.secretSource });
  const pending = background();
  const escrow: EscrowDeps = {
    mpe,
    book: ctx.book,
    slots,
    keys: ctx.keys,
    blocks: ctx.blocks,
    recovery,
    // Read on every call: live metadata may change it.
    get expirationThreshold() {
      return ctx.group.expirationThreshold;
    },
    price,
    background: pending,
    ...guards,
  };
  const gate = paymentGate({
    decodeBase64: decodeBinaryHeader,
    prepaid: (path, p, price) => admitPrepaid(price === undefined ? prepaid.deps : { ...prepaid.deps, price }, path, p),
    freeCall: (path, p) => admitFreeCall(free, path, p),
    escrow,
  });
  const training: TrainingSetup = await trainingSetup(ctx, config, { escrow, recovery, log });
  const paymentAddress = ctx.group.paymentAddress.toLowerCase() as Address;
  const tr = treasury({ store: ctx.store, keys: ctx.keys, book: ctx.book, slots });
  const autoClaim = startAutoClaimFor(ctx, config, tr, log, hooks.onClaim);
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
      ...(plan.unary ? { unary: plan.unary } : {}),
      ...(plan.connect ? { connect: plan.connect } : {}),
      ...(plan.priceMethods?.size ? { priceMethods: plan.priceMethods } : {}),
      methods: [
        channelStateService({
          mpe,
          book: ctx.book,
          blocks: ctx.blocks,
          recovery,
          prepaid: async (id) => (await readUsage(ctx, id)).usage,
        }),
        tokenService(prepaid.deps),
        ...freeCallStateService(free),
        ...providerControlService(providerControl({ mpe, paymentAddress, blocks: ctx.blocks, recovery, treasury: tr })),
        ...training.methods,
      ],
      ...(training.heartbeat ? { trainingMetadata: training.heartbeat } : {}),
    },
    cleanup: async () => {
      await training.stop();
      await autoClaim?.stop();
      // Give-backs of calls cut at the end of the drain need the store, and the slots they hold.
      await pending.settled(GIVE_BACK_WAIT_MS);
      // Revoking the lease frees every slot at once: while the store (maybe our own etcd member) still runs.
      await stopSlots();
      await ctx.close();
      await member?.stop();
    },
  };
}
