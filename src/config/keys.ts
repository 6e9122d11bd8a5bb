/**
 * The configuration keys: every key of the reference daemon (protocol/config.md) plus ours, each
 * declared once with its default, a one-line description and its ★ mark. The zod schema, `init-config`, the
 * README reference table and the env-variable names are all derived from these declarations, so they cannot
 * drift apart.
 */
import { z } from "zod";
import { asCredentials, asFreeCalls } from "./compound-values.ts";
import {
  address,
  addresses,
  bool,
  cogs,
  duration,
  group,
  httpUrl,
  int,
  key,
  m,
  nonEmpty,
  oneOf,
  optHttpUrl,
  optInt,
  optText,
  secretKey,
  text,
} from "./key-builders.ts";
import { LIMIT_KEYS } from "./limit-keys.ts";
import { OPS_KEYS } from "./ops-keys.ts";
import { asPrivateKey, asTokenSecret } from "./secret-values.ts";
import {
  asEmail,
  asHeaderName,
  asHostPort,
  asListOf,
  asNonEmptyText,
  asOneOf,
  asPositiveNumber,
  asText,
  asUrl,
  ok,
  optional,
} from "./values.ts";

const LOG_LEVELS = ["debug", "info", "warn", "warning", "error", "fatal", "panic"] as const;

export const ConfigShape = z.object({
  blockchain_enabled: bool(true, "false = dev mode: no chain, no metadata, no payment checks", { important: true }),
  blockchain_network_selected: nonEmpty(
    "sepolia",
    "network name; main and sepolia are built in, any other name works (the chain id is read from the node)",
    { important: true },
  ),
  ethereum_json_rpc_http_endpoint: optHttpUrl(
    "https://sepolia.example/rpc",
    "JSON-RPC endpoint for channel reads, block numbers and the Registry; no built-in third-party default",
    { important: true, keyInUrl: true },
  ),
  ethereum_json_rpc_ws_endpoint: key(
    m("URL", "text", undefined, "WebSocket JSON-RPC endpoint (ws:// or wss://), optional", { keyInUrl: true }),
    optional(asUrl(["ws", "wss"], "wss://sepolia.example/ws", false)),
  ),
  blockchain_provider_api_key: key(
    m("string", "text", "", "provider credential: JWT-looking → Bearer, Infura URL → Basic, else Bearer", {
      secret: true,
    }),
    asText,
  ),
  registry_address_key: address("Registry contract address; default: the built-in address of the network", {
    important: true,
  }),
  organization_id: nonEmpty("YOUR_ORG_ID", "organization id in the Registry", { important: true }),
  service_id: nonEmpty("YOUR_SERVICE_ID", "service id in the Registry", { important: true }),
  daemon_group_name: nonEmpty("default_group", "payment group of this daemon (in both metadata documents)", {
    important: true,
  }),
  daemon_endpoint: key(
    m("host:port", "text", "127.0.0.1:8080", "listen address for gRPC, gRPC-Web and HTTP", { important: true }),
    asHostPort,
  ),
  daemon_type: oneOf(
    ["grpc", "http"],
    "grpc",
    'grpc; http (the legacy reverse proxy without payments) is refused: use service_type "http"',
  ),
  service_endpoint: key(
    m("URL", "text", "http://localhost:5000", "the AI service (upstream); https → TLS, no scheme → http://", {
      important: true,
    }),
    asUrl(["http", "https"], "http://localhost:5000", true),
  ),
  passthrough_enabled: bool(true, "false = answer each call with its own request (loopback test mode)"),
  connect_enabled: bool(
    true,
    "serve Connect unary calls (curl, fetch): JSON bodies need the service's proto files, binary ones do not",
  ),
  executable_path: text("", 'program run per call (method name as its argument) for service_type "process"'),
  service_credentials: key(
    m(
      "[{key, value, location}]",
      "json",
      [],
      'added to every call of a service_type "http" service: location header, query or body',
      { secret: true },
    ),
    asCredentials,
  ),
  service_user_address_header: key(
    m(
      "string",
      "text",
      "",
      "header carrying the paying client's address to http and jsonrpc services; empty = not sent",
    ),
    asHeaderName,
  ),
  service_timeout: duration("100s", "upstream deadline when the client sent none"),
  max_message_size_in_mb: int(4, 1, 2048, "largest message accepted and sent upstream, 1–2048 MiB"),
  ipfs_endpoint: httpUrl(
    "https://ipfs.singularitynet.io:443",
    "https://ipfs.example:443",
    "IPFS (Kubo RPC) base URL for metadata and proto archives",
    { important: true },
  ),
  ipfs_timeout: int(30, 1, 3600, "IPFS request timeout in seconds"),
  lighthouse_endpoint: httpUrl(
    "https://gateway.lighthouse.storage/ipfs/",
    "https://gateway.example/ipfs/",
    "gateway URL prefix for filecoin:// metadata",
  ),
  payment_channel_storage_type: oneOf(
    ["sqlite", "etcd", "memory"],
    "sqlite",
    "sqlite (embedded file in data_dir), etcd (replica groups) or memory (lost on restart)",
    { important: true },
  ),
  payment_channel_storage_client: group("etcd client; empty or zero values come from the organization metadata", {
    endpoints: key(
      m("[URL]", "list", [], "etcd endpoints"),
      asListOf(asUrl(["http", "https"], "http://127.0.0.1:2379", false)),
    ),
    connection_timeout: duration("0s", "dial timeout, 0s = from organization metadata"),
    request_timeout: duration("0s", "request timeout, 0s = from organization metadata"),
    hot_reload: bool(
      false,
      "the reference's org-metadata reload; snetd follows metadata always (metadata_watch_interval) and restarts for new etcd endpoints",
      { unused: true },
    ),
  }),
  payment_channel_storage_server: group(
    "etcd member started by snetd; enabled when this section is in the file unless enabled is false",
    {
      enabled: bool(false, "start an etcd member", { important: true }),
      id: nonEmpty("storage-1", "member name"),
      scheme: oneOf(["http", "https"], "http", "client and peer URL scheme"),
      host: nonEmpty("127.0.0.1", "bind and advertise host"),
      client_port: int(2379, 1, 65535, "client port"),
      peer_port: int(2380, 1, 65535, "peer port"),
      token: nonEmpty("unique-token", "initial cluster token"),
      cluster: nonEmpty("storage-1=http://127.0.0.1:2380", "initial cluster"),
      startup_timeout: duration("1m", "how long to wait for the member to start"),
      data_dir: nonEmpty("storage-data-dir-1.etcd", "etcd data directory"),
      log_level: text("info", "etcd log level"),
      log_outputs: key(m("[string]", "list", ["./etcd-server.log"], "etcd log outputs"), asListOf(asText)),
      binary: nonEmpty("etcd", "etcd executable, looked up on PATH"),
    },
  ),
  payment_channel_cert_path: text("", "etcd client certificate (mTLS, used with https endpoints)"),
  payment_channel_key_path: text("", "etcd client key (mTLS)"),
  payment_channel_ca_path: text("", "etcd CA certificate (mTLS)"),
  ssl_cert: text("", "PEM certificate chain for the daemon endpoint; needs ssl_key"),
  ssl_key: text("", "PEM private key for ssl_cert"),
  auto_ssl_domain: text(
    "",
    "domain to obtain a certificate for from an ACME CA (Let's Encrypt); wins over ssl_cert/ssl_key",
  ),
  auto_ssl_cache_dir: text(".certs", "ACME account key and certificates (kept private, 0700)"),
  allowed_user_flag: bool(false, "only allowed_user_addresses may call (refused on main)"),
  allowed_user_addresses: addresses([], "callers allowed when allowed_user_flag is true"),
  authentication_addresses: addresses([], "signers allowed to use the configuration service (not built)", {
    unused: true,
  }),
  rate_limit_per_minute: key(
    m("number", "number", undefined, "global request rate limit per minute; unset = unlimited"),
    optional(asPositiveNumber),
  ),
  burst_size: optInt(
    1,
    2 ** 31 - 1,
    "rate limiter bucket size; unset = one minute of rate_limit_per_minute (the reference: 2^31−1)",
  ),
  enable_dynamic_pricing: bool(
    false,
    "methods with the pricing option of the service's protos cost what their price method answers",
  ),
  model_training_enabled: bool(
    false,
    "serve training.Daemon (needs the service's protos and a method taking training.ModelID)",
  ),
  model_maintenance_endpoint: optHttpUrl(
    "http://localhost:5001",
    "the provider's training.Model service; unset = service_endpoint",
  ),
  private_key_for_free_calls: secretKey(
    "signs free-call tokens; its address must equal free_call_signer_address of the group",
    { important: true },
  ),
  trusted_free_call_signers: addresses(
    ["0x3Bb9b2499c283cec176e7C707Ecb495B7a961ebf", "0x7DF35C98f41F3Af0df1dc4c7F7D4C19a71Dd059F"],
    "signers that may request free-call tokens for a user_id, exempt from the balance rule",
  ),
  min_balance_for_free_call: cogs(10, "whole tokens an untrusted free-call token request must hold"),
  free_calls_per_address: key(
    m("{address: int}", "json", {}, "per-address free-call quota override; -1 = unlimited"),
    asFreeCalls,
  ),
  token_expiry_in_minutes: int(1440, 1, 10 ** 7, "prepaid token lifetime in minutes"),
  token_secret_key: key(
    m("string", "text", undefined, "HS256 key of prepaid tokens, ≥ 32 bytes, same on all replicas; empty = generated", {
      important: true,
      secret: true,
    }),
    asTokenSecret,
  ),
  metering_enabled: bool(false, "SingularityNET-hosted usage metering", { unused: true }),
  metering_endpoint: optHttpUrl("https://metering.example", "metering service URL", { unused: true }),
  private_key_for_metering: key(
    m("hex key", "text", undefined, "key that signs metering reports", { secret: true, unused: true }),
    optional(asPrivateKey),
  ),
  alerts_email: key(m("string", "text", "", "alert e-mail recipient; snetd sends it through alerts_smtp"), asEmail),
  notification_endpoint: optHttpUrl("https://notify.example", "webhook that receives each alert as a JSON POST"),
  service_heartbeat_type: oneOf(
    ["", "none", "tcp", "http", "https", "grpc"],
    "",
    'service probe: "" by service kind (gRPC health Check, HTTP request, executable); none/tcp TCP connect; http(s) GET heartbeat_endpoint (2xx); grpc health Check',
  ),
  heartbeat_endpoint: optHttpUrl("http://localhost:5000/health", "URL probed by http(s) heartbeats"),
  log: group("logger", {
    level: key(m(LOG_LEVELS.join(" | "), "text", "info", "least severe level written"), (x) => {
      const r = asOneOf(LOG_LEVELS)(x);
      return r.ok ? ok(r.value === "warning" ? "warn" : r.value) : r;
    }),
    timezone: nonEmpty("UTC", "time zone of timestamps"),
    formatter: group("line format", {
      type: oneOf(["text", "json"], "text", "text or json lines"),
      timestamp_format: text("2006-01-02T15:04:05.999Z07:00", "timestamp layout (Go reference-time syntax)"),
    }),
    output: group("destinations", {
      type: key(
        m("[file | stdout | stderr]", "list", ["stdout"], "where log lines go; a single string also works"),
        asListOf(asOneOf(["file", "stdout", "stderr"])),
      ),
      file_pattern: nonEmpty("./snet-daemon.%Y%m%d.log", "log file name, strftime pattern expanded at start"),
      current_link: text("./snet-daemon.log", "symlink to the current log file"),
      max_size_in_mb: int(10, 1, 1 << 20, "rotate after this many MiB"),
      max_age_in_days: int(7, 0, 36500, "delete rotated files older than this"),
      rotation_count: int(0, 0, 1 << 20, "rotated files kept, 0 = all"),
    }),
    hooks: key(
      m("[string]", "list", [], "names of log.<name> hook sections (email, telegram_bot)", { unused: true }),
      asListOf(asNonEmptyText),
    ),
  }),
  experimental: group("listener internals of the reference daemon", {
    split_grpc_web: bool(false, "serve gRPC-Web on its own listener", { unused: true }),
    use_original_cmux: bool(false, "use cmux for protocol matching", { unused: true }),
    traffic_split: group("separate listeners", {
      grpc: optInt(1, 65535, "gRPC port", { unused: true }),
      http: optInt(1, 65535, "HTTP port", { unused: true }),
    }),
  }),
  // Ours, not in the reference
  data_dir: nonEmpty("./snetd-data", "directory of snetd's own state (the SQLite file)", { important: true }),
  organization_metadata_file: optText("local organization metadata JSON instead of Registry + IPFS"),
  service_metadata_file: optText("local service metadata JSON instead of Registry + IPFS"),
  service_proto_dir: optText("local directory of the service's .proto files"),
  token_address: address("payment token address; default: MultiPartyEscrow.token()"),
  block_cache_ms: int(1000, 0, 3_600_000, "how old the cached head block number may be, in milliseconds"),
  channel_lease_ttl_s: int(10, 1, 3600, "TTL in seconds of a channel's in-flight slot in etcd"),
  drain_timeout: duration("30s", "on SIGTERM/SIGINT, how long in-flight calls may finish"),
  metrics_enabled: bool(true, "serve Prometheus metrics"),
  ...OPS_KEYS,
  ...LIMIT_KEYS,
  auto_claim: group("claims submitted by the daemon itself (needs private_key)", {
    enabled: bool(false, "claim channels periodically"),
    expiring_within_blocks: cogs(0, "claim channels expiring within this many blocks; 0 = 2 × the group's threshold"),
    unclaimed_threshold_cogs: cogs(undefined, "claim a channel once its unclaimed amount reaches this (cogs)"),
    interval: duration("5m", "how often to look for channels to claim"),
  }),
  claim: group("snetd claim", {
    batch_size: int(20, 1, 1000, "channels per multi-channel claim transaction"),
  }),
  private_key: secretKey("key that signs claim transactions (snetd claim, auto_claim); never printed"),
});
