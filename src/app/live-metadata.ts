/**
 * Live metadata (protocol/operations.md#metadata-reload): the organization and service documents are re-read when the Registry
 * says they changed (its events, polled), periodically (`metadata_refresh_interval`) and on SIGHUP;
 * each new version is fetched, verified against its CID, validated and then swapped in whole (prices,
 * free calls, expiration threshold, endpoints) without a restart. A document that fails any of that is
 * refused: the daemon keeps serving the previous one, logs why and alerts once per distinct reason. An
 * unreachable IPFS or chain is not a refusal: the re-read is tried again a little later.
 *
 * Some fields cannot change under running calls and stored channels (group id, MPE or payment address,
 * encoding, service type, the store's endpoints when they come from the metadata): a version changing
 * them is refused with the advice to restart, which applies it.
 */

import { shortError } from "../chain/mpe.ts";
import { type RegistryWatch, watchRegistryEvents } from "../chain/registry-events.ts";
import type { Config } from "../config/schema.ts";
import { MetadataError } from "../core/errors.ts";
import type { MetadataSnapshot, OfferResult } from "../metadata/live-view.ts";
import { registryAddress } from "../metadata/resolve.ts";
import type { Alerter } from "../ops/alerts.ts";
import type { Logger } from "../ops/log.ts";
import { loadServedMetadata, type PaymentContext } from "./payment-context.ts";

const TRANSIENT = new Set(["unreachable", "timeout", "http-status"]);

/** Why `after` cannot replace `before` while running, if it cannot (the restart rule of the view). */
export function restartRule(config: Config) {
  return (before: MetadataSnapshot, after: MetadataSnapshot): string | undefined => {
    const a = before.group;
    const b = after.group;
    const fields: [string, unknown, unknown][] = [
      ["group_id", a.groupIdBase64, b.groupIdBase64],
      ["mpe_address", a.mpeAddress.toLowerCase(), b.mpeAddress.toLowerCase()],
      ["payment_address", a.paymentAddress.toLowerCase(), b.paymentAddress.toLowerCase()],
      ["encoding", a.encoding, b.encoding],
      ["service_type", a.serviceType, b.serviceType],
    ];
    // The store's endpoints come from the metadata only when the configuration names none (protocol/reference-differences.md#d6).
    if (
      config.payment_channel_storage_type === "etcd" &&
      config.payment_channel_storage_client.endpoints.length === 0
    ) {
      fields.push([
        "payment_channel_storage_client.endpoints",
        a.storageEndpoints.join(","),
        b.storageEndpoints.join(","),
      ]);
    }
    const changed = fields
      .filter(([, x, y]) => x !== y)
      .map(([name, x, y]) => `${name} "${String(x)}" → "${String(y)}"`);
    return changed.length > 0 ? `it changes ${changed.join(", ")}, which needs a restart of snetd to apply` : undefined;
  };
}

export type RefreshOutcome = OfferResult | { status: "unreachable"; reason: string };

export interface LiveMetadata {
  /** Re-reads both documents now and applies them if they changed; `why` goes into the log. */
  refresh(why: string): Promise<RefreshOutcome>;
  stop(): void;
}

export interface LiveMetadataOptions {
  config: Config;
  ctx: PaymentContext;
  log: Logger;
  alerts?: Alerter;
}

/** Starts the event watch and the periodic re-read (each off when its interval is 0). */
export async function startLiveMetadata(o: LiveMetadataOptions): Promise<LiveMetadata> {
  const { config, ctx, log } = o;
  const quiet: Logger = { ...log, info: (m, f) => log.debug(m, f) };
  let running: Promise<RefreshOutcome> | undefined;
  let again: string | undefined;
  let retry: ReturnType<typeof setTimeout> | undefined;
  let stopped = false;

  const attempt = async (why: string): Promise<RefreshOutcome> => {
    let loaded: Awaited<ReturnType<typeof loadServedMetadata>>;
    try {
      loaded = await loadServedMetadata(config, ctx.client, quiet);
    } catch (err) {
      const reason = err instanceof Error ? err.message : String(err);
      if (err instanceof MetadataError && TRANSIENT.has(err.reason)) {
        log.warn("metadata not re-read, will try again", { why, reason });
        scheduleRetry(why);
        return { status: "unreachable", reason };
      }
      return refuse(why, reason);
    }
    const protosBefore = ctx.metadata.current().group.apiSource;
    const result = ctx.metadata.offer({ group: loaded.group, org: loaded.org, service: loaded.service });
    if (result.status === "applied") {
      log.info("metadata updated without a restart", { why, changes: result.changes });
      // The proto archive is read at start only (protocol/operations.md#metadata-reload); say so when it moved.
      if (loaded.group.apiSource !== protosBefore && !config.service_proto_dir) {
        log.warn(
          "the service's proto files changed (service_api_source); snetd keeps the ones it loaded until it is restarted",
          {
            before: protosBefore ?? "none",
            after: loaded.group.apiSource ?? "none",
          },
        );
      }
    } else if (result.status === "refused") return refuse(why, result.reason);
    else log.debug("metadata unchanged", { why });
    return result;
  };

  const refuse = (why: string, reason: string): RefreshOutcome => {
    log.error("new metadata refused; still serving the previous metadata", { why, reason });
    o.alerts?.metadataRefused(reason);
    return { status: "refused", reason };
  };

  const scheduleRetry = (why: string) => {
    clearTimeout(retry);
    if (stopped) return;
    retry = setTimeout(
      () => void refresh(`retry after: ${why}`),
      Math.max(5_000, Math.min(config.metadata_watch_interval || 60_000, 60_000)),
    );
    retry.unref?.();
  };

  // One re-read at a time; triggers during one run it once more afterwards.
  const refresh = (why: string): Promise<RefreshOutcome> => {
    if (running) {
      again = why;
      return running;
    }
    running = attempt(why).finally(() => {
      running = undefined;
      if (again !== undefined && !stopped) {
        const next = again;
        again = undefined;
        void refresh(next);
      }
    });
    return running;
  };

  let watch: RegistryWatch | undefined;
  const fromRegistry = !(config.organization_metadata_file && config.service_metadata_file);
  if (fromRegistry && config.metadata_watch_interval > 0) {
    const registry = await registryAddress(ctx.client, config.registry_address_key);
    watch = watchRegistryEvents({
      client: ctx.client,
      registry,
      orgId: config.organization_id,
      serviceId: config.service_id,
      intervalMs: config.metadata_watch_interval,
      onEvent: (what) => void refresh(`Registry event ${what}`),
      onError: (err) => log.debug("Registry event poll failed", { error: shortError(err) }),
    });
    log.info("following Registry events for metadata changes", { registry, every_ms: config.metadata_watch_interval });
  }
  const periodic =
    config.metadata_refresh_interval > 0
      ? setInterval(() => void refresh("periodic re-read"), config.metadata_refresh_interval)
      : undefined;
  periodic?.unref?.();

  return {
    refresh,
    stop() {
      stopped = true;
      watch?.stop();
      clearInterval(periodic);
      clearTimeout(retry);
    },
  };
}
