/**
 * Keys that configs in the wild still carry: the reference's deprecated aliases, the 2018 example keys, keys
 * of older reference releases, and keys documented but never read (protocol/config.md#legacy-keys,
 * protocol/reference-differences.md#d40). Paths are dotted and lower-case; keys are case-insensitive, so
 * `DAEMON_END_POINT` and `daemon_end_point` are the same entry.
 */

export type Legacy =
  /** Copied to `to` (unless `to` is set in the same place) with a warning naming the new key. */
  | { kind: "alias"; to: string }
  /** Dropped with a warning saying what replaced it. */
  | { kind: "removed"; use: string }
  /** Documented somewhere but never read by any daemon: dropped with a warning. */
  | { kind: "ignored" };

const alias = (to: string): Legacy => ({ kind: "alias", to });
const removed = (use: string): Legacy => ({ kind: "removed", use });
const ignored: Legacy = { kind: "ignored" };

const NO_TRANSACTIONS = 'the daemon sends no transactions; "snetd claim" and auto_claim sign with "private_key"';

export const LEGACY_KEYS: ReadonlyMap<string, Legacy> = new Map<string, Legacy>([
  // protocol/config.md#legacy-keys: deprecated aliases of the reference
  ["daemon_end_point", alias("daemon_endpoint")],
  ["ipfs_end_point", alias("ipfs_endpoint")],
  ["passthrough_endpoint", alias("service_endpoint")],
  ["metering_end_point", alias("metering_endpoint")],
  ["heartbeat_svc_end_point", alias("heartbeat_endpoint")],
  ["notification_svc_end_point", alias("notification_endpoint")],
  ["pvt_key_for_metering", alias("private_key_for_metering")],
  ["pvt_key_for_free_calls", alias("private_key_for_free_calls")],
  // protocol/config.md#legacy-keys: the 2018 name the reference now ignores silently
  ["ethereum_json_rpc_endpoint", alias("ethereum_json_rpc_http_endpoint")],
  // Names of earlier reference releases
  ["alert_email", alias("alerts_email")],
  ["enable_metrics", alias("metrics_enabled")],
  // protocol/config.md#legacy-keys: removed 2018 keys
  ["organization_name", removed('the Registry identifies organizations by id now, set "organization_id"')],
  ["service_name", removed('the Registry identifies services by id now, set "service_id"')],
  ["hdwallet_mnemonic", removed(NO_TRANSACTIONS)],
  ["hdwallet_index", removed(NO_TRANSACTIONS)],
  [
    "agent_contract_address",
    removed('MultiPartyEscrow replaced Agent contracts, set "organization_id" and "service_id"'),
  ],
  ["daemon_listening_port", removed('set "daemon_endpoint" (host:port)')],
  ["db_path", removed('snetd keeps its state under "data_dir"')],
  ["poll_sleep", removed("nothing polls on a fixed sleep any more")],
  ["service_type", removed('the service type is read from the service metadata ("service_type")')],
  ["wire_encoding", removed('the encoding is read from the service metadata ("encoding")')],
  ["log_level", removed('set "log.level" (debug, info, warn, error)')],
  [
    "log.output.rotation_time_in_sec",
    removed('files rotate by "log.output.file_pattern" and "log.output.max_size_in_mb"'),
  ],
  ["log.output.max_age_in_sec", removed('set "log.output.max_age_in_days"')],
  // protocol/config.md#legacy-keys: documented but absent from the reference code
  ["is_curation_in_progress", ignored],
  ["curation_address_for_validation", ignored],
  ["monitoring_enabled", ignored],
  ["monitoring_svc_end_point", ignored],
  ["config_path", ignored],
  ["network_id", ignored],
]);

/**
 * The warning for a legacy key. `typed` is the key as the user wrote it, `where` says where
 * (e.g. ` in snetd.config.json`), `shadowed` that the new key is set in the same place.
 */
export function legacyWarning(typed: string, entry: Legacy, where: string, shadowed = false): string {
  switch (entry.kind) {
    case "alias":
      return shadowed
        ? `config key "${typed}"${where} is deprecated and ignored because "${entry.to}" is also set`
        : `config key "${typed}"${where} is deprecated, use "${entry.to}" instead`;
    case "removed":
      return `config key "${typed}"${where} was removed and is ignored: ${entry.use}`;
    case "ignored":
      return `config key "${typed}"${where} is ignored: the reference daemon documents it but never reads it`;
  }
}

/**
 * 2018 configs carry `PRIVATE_KEY`, the key the daemon once claimed with. Keys are case-insensitive, so it
 * is our `private_key`; say what it is used for now when it is written the 2018 way.
 */
export function privateKeyNote(typed: string, where: string): string | undefined {
  if (typed.toLowerCase() !== "private_key" || typed === "private_key") return undefined;
  return `config key "${typed}"${where} is read as "private_key": ${NO_TRANSACTIONS}`;
}
