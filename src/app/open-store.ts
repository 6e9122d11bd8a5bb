/** Opens the payment store the configuration names: embedded SQLite (default), etcd, or memory. */
import { join } from "node:path";
import type { Config } from "../config/schema.ts";
import { etcdEndpointsUnknown, etcdUnreachable, storeFileUnusable } from "../core/messages/startup.ts";
import type { DaemonGroup } from "../metadata/model.ts";
import type { Store } from "../store/contract.ts";
import { memoryStore } from "../store/memory.ts";
import { sqliteStore } from "../store/sqlite.ts";

/** Where the embedded store lives. */
export function sqlitePath(config: Config): string {
  return join(config.data_dir, "snetd-state.sqlite");
}

/** The store, with etcd endpoints from the config or else from the group's metadata. */
export async function openStore(
  config: Config,
  group: DaemonGroup | undefined,
  opts: { readOnly?: boolean } = {},
): Promise<Store> {
  const type = config.payment_channel_storage_type;
  if (type === "memory") return memoryStore();
  if (type === "sqlite") {
    try {
      return sqliteStore({ path: sqlitePath(config), ...(opts.readOnly ? { readOnly: true } : {}) });
    } catch (err) {
      throw storeFileUnusable((err as Error).message, config.data_dir, err);
    }
  }
  const client = config.payment_channel_storage_client;
  const endpoints = client.endpoints.length > 0 ? client.endpoints : (group?.storageEndpoints ?? []);
  if (endpoints.length === 0) {
    throw etcdEndpointsUnknown();
  }
  const tls = {
    ...(config.payment_channel_cert_path ? { certPath: config.payment_channel_cert_path } : {}),
    ...(config.payment_channel_key_path ? { keyPath: config.payment_channel_key_path } : {}),
    ...(config.payment_channel_ca_path ? { caPath: config.payment_channel_ca_path } : {}),
  };
  const connectionTimeoutMs = client.connection_timeout || group?.storageConnectionTimeoutMs || 5000;
  const requestTimeoutMs = client.request_timeout || group?.storageRequestTimeoutMs || 3000;
  try {
    // Loaded only for etcd deployments, so other deployments do not load the etcd client and its protobuf code.
    const { etcdStore } = await import("../store/etcd.ts");
    return await etcdStore({
      endpoints,
      connectionTimeoutMs,
      requestTimeoutMs,
      ...(Object.keys(tls).length ? { tls } : {}),
    });
  } catch (err) {
    throw etcdUnreachable(endpoints, (err as Error).message, err);
  }
}
