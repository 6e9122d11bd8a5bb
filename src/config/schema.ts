/**
 * The configuration schema: every key of the reference daemon (shared/spec/config.md §2, §4, §5) plus ours,
 * each declared once with its default, a one-line description and its ★ mark. The zod schema, `init-config`,
 * the README reference table and the env-variable names are all derived from these declarations, so they
 * cannot drift apart.
 *
 * Leaves are `z.unknown()` plus a hand-written check, because every problem must say the key, the value given
 * and what is expected (pitfalls.md #36, #42) — zod's generic messages do not.
 */
import { z } from "zod";

/** How text from an environment variable or a flag is turned into a value of this key. */
export type TextParse = "text" | "bool" | "number" | "list" | "json";

export interface KeyMeta {
  /** Type as shown to users: "bool", "duration", "URL", "[address]"… */
  type: string;
  parse: TextParse;
  /** Default as written in a config file; `undefined` = unset. */
  default: unknown;
  description: string;
  /** ★: a working paid service needs it, or operators set it routinely. */
  important?: boolean;
  /** Never printed: start-up log, problems and warnings show "(set)" / a hidden marker instead. */
  secret?: boolean;
  /** A URL whose path or query may carry a provider API key (Infura, Alchemy): logged as its origin only. */
  keyInUrl?: boolean;
  /** Accepted for compatibility with the reference daemon; snetd does not act on it yet. */
  unused?: boolean;
}
type Extra = Pick<KeyMeta, "important" | "secret" | "keyInUrl" | "unused">;

export const keyRegistry = z.registry<KeyMeta>();
export const groupRegistry = z.registry<{ description: string }>();

/** Shown instead of a secret value in problems. */
export const HIDDEN = "(hidden)";

// ---------------------------------------------------------------------------------------------------------
// Value checks. Each returns the normalised value or why the value is wrong and what is expected.

export type Address = `0x${string}`;
export type Hex = `0x${string}`;
type Ok<T> = { ok: true; value: T };
type Bad = { ok: false; reason: string; expected: string; at?: (string | number)[]; given?: unknown };
type Check<T> = (value: unknown) => Ok<T> | Bad;

const ok = <T>(value: T): Ok<T> => ({ ok: true, value });
const bad = (reason: string, expected: string, at?: (string | number)[], given?: unknown): Bad => ({
  ok: false,
  reason,
  expected,
  ...(at ? { at } : {}),
  ...(given !== undefined ? { given } : {}),
});

/** Absent or empty text means unset. */
const optional = <T>(check: Check<T>): Check<T | undefined> => (value) =>
  value === undefined || value === "" ? ok(undefined) : check(value);

const asText: Check<string> = (value) =>
  typeof value === "string"
    ? ok(value)
    : (typeof value === "number" && Number.isFinite(value)) || typeof value === "bigint"
    ? ok(String(value)) // YAML reads `token: 518` as a number; the key means text
    : bad(`is ${kindOf(value)}`, "text");
const asNonEmptyText: Check<string> = (value) => {
  const r = asText(value);
  return r.ok && r.value.trim() === "" ? bad("is empty", "a non-empty value") : r;
};

const asBool: Check<boolean> = (value) =>
  typeof value === "boolean" ? ok(value) : bad("is not a boolean", "true or false");

const asInt = (min: number, max: number): Check<number> => (value) => {
  const n = typeof value === "string" && /^-?\d+$/.test(value.trim()) ? Number(value) : value;
  if (typeof n !== "number" || !Number.isInteger(n)) {
    return bad("is not an integer", `an integer from ${min} to ${max}`);
  }
  return n < min || n > max ? bad("is out of range", `an integer from ${min} to ${max}`) : ok(n);
};

const asPositiveNumber: Check<number> = (value) => {
  // The reference documents this key as "string or int"
  const n = typeof value === "string" && value.trim() !== "" ? Number(value) : value;
  return typeof n === "number" && Number.isFinite(n) && n > 0
    ? ok(n)
    : bad("is not a positive number", "a number above 0");
};

/** Amounts and block counts: bigint, written as an integer or a string of digits (large values must be text). */
const asBigint: Check<bigint> = (value) => {
  if (typeof value === "bigint" && value >= 0n) return ok(value); // exact integers from YAML
  if (typeof value === "number") {
    if (!Number.isSafeInteger(value) || value < 0) {
      return bad(
        "is not a safe whole number",
        'a whole number ≥ 0; write large amounts as a string of digits, e.g. "100000000000"',
      );
    }
    return ok(BigInt(value));
  }
  if (typeof value === "string" && /^\d{1,78}$/.test(value.trim())) return ok(BigInt(value.trim()));
  return bad("is not a whole number", 'a whole number ≥ 0 as digits, e.g. "100000000"');
};

const GO_DURATION = /^(?:(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|μs|ms|s|m|h))+$/;
const UNIT_MS: Record<string, number> = { ns: 1e-6, us: 1e-3, µs: 1e-3, μs: 1e-3, ms: 1, s: 1e3, m: 6e4, h: 3.6e6 };

/**
 * Go duration text (`"100s"`, `"1m30s"`, `"250ms"`) in milliseconds, or undefined when it is not one.
 * The reference silently treats a typo as "no timeout" (pitfalls.md #42); we refuse it.
 */
export function parseDuration(text: string): number | undefined {
  const t = text.trim();
  if (t === "0") return 0;
  if (!GO_DURATION.test(t)) return undefined;
  let ms = 0;
  for (const [, amount, unit] of t.matchAll(/(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|μs|ms|s|m|h)/g)) {
    ms += Number(amount) * (UNIT_MS[unit ?? ""] ?? Number.NaN);
  }
  return Number.isFinite(ms) ? ms : undefined;
}
const asDuration: Check<number> = (value) => {
  const ms = typeof value === "string" ? parseDuration(value) : undefined;
  return ms === undefined ? bad("is not a duration", 'Go duration text such as "100s", "5m" or "1m30s"') : ok(ms);
};

const HAS_SCHEME = /^[a-z][a-z0-9+.-]*:\/\//i;
const asUrl = (schemes: readonly string[], example: string, defaultHttp: boolean): Check<string> => (value) => {
  const expected = `${schemes.join(" or ")} URL with a host, e.g. ${example}`;
  if (typeof value !== "string") return bad(`is ${kindOf(value)}`, expected);
  let text = value.trim();
  if (defaultHttp && !HAS_SCHEME.test(text)) text = `http://${text}`; // the reference prepends http:// too
  let parsed: URL;
  try {
    parsed = new URL(text);
  } catch {
    return bad("is not a URL", expected);
  }
  const scheme = parsed.protocol.slice(0, -1).toLowerCase();
  if (!schemes.includes(scheme)) return bad(`has scheme "${scheme}"`, expected);
  if (parsed.hostname === "") return bad("has no host", expected);
  return ok(text);
};

const HOST_PORT = /^(\[[0-9a-fA-F:.]+\]|[^:/\s[\]]+):(\d{1,5})$/;

/** `host:port` (IPv6 in brackets) as host without brackets and port, or undefined. */
export function parseHostPort(text: string): { host: string; port: number } | undefined {
  const match = HOST_PORT.exec(text.trim().replace(/^(https?|grpc):\/\//i, "").replace(/\/$/, ""));
  if (!match) return undefined;
  const port = Number(match[2]);
  if (port < 1 || port > 65535) return undefined;
  return { host: (match[1] ?? "").replace(/^\[|\]$/g, ""), port };
}
const asHostPort: Check<string> = (value) => {
  const hp = typeof value === "string" ? parseHostPort(value) : undefined;
  if (!hp) return bad("is not host:port", "e.g. 127.0.0.1:8080");
  return ok(hp.host.includes(":") ? `[${hp.host}]:${hp.port}` : `${hp.host}:${hp.port}`);
};

const asAddress: Check<Address> = (value) =>
  typeof value === "string" && /^0x[0-9a-fA-F]{40}$/.test(value.trim())
    ? ok(value.trim().toLowerCase() as Address)
    : bad("is not an address", "0x followed by 40 hex digits");

const SECP256K1_N = 0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141n;
const asPrivateKey: Check<Hex> = (value) => {
  const expected = "64 hex digits (0x prefix optional; quote it in YAML) of a secp256k1 private key";
  if (typeof value !== "string" || !/^(0x)?[0-9a-fA-F]{64}$/.test(value.trim())) {
    return bad("is not a private key", expected);
  }
  const hex = value.trim().replace(/^0x/, "").toLowerCase();
  const k = BigInt(`0x${hex}`);
  return k === 0n || k >= SECP256K1_N ? bad("is outside the secp256k1 key range", expected) : ok(`0x${hex}` as Hex);
};

/** The reference's built-in secret: public, so anyone could forge prepaid tokens with it (pitfalls.md #11). */
export const PUBLIC_TOKEN_SECRET = "test-secret-key-at-least-32-bytes-long";
const asTokenSecret: Check<string | undefined> = optional((value) => {
  if (typeof value !== "string") return bad(`is ${kindOf(value)}`, "text of at least 32 bytes");
  if (value === PUBLIC_TOKEN_SECRET) {
    return bad(
      "is the public example secret of the reference daemon, so anyone could forge prepaid tokens",
      "a random value of at least 32 bytes (e.g. `openssl rand -hex 32`), or leave it empty and snetd generates one",
      undefined,
      value,
    );
  }
  const bytes = new TextEncoder().encode(value).length;
  return bytes < 32 ? bad(`is ${bytes} bytes long`, "at least 32 bytes of random text") : ok(value);
});

const asEmail: Check<string> = (value) =>
  value === "" || (typeof value === "string" && /^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(value.trim()))
    ? ok(typeof value === "string" ? value.trim() : "")
    : bad("is not an e-mail address", "e.g. ops@example.org");

const asOneOf = <const T extends string>(values: readonly T[]): Check<T> => (value) => {
  const text = typeof value === "string" ? value.trim().toLowerCase() : undefined;
  const hit = values.find((x) => x === text);
  return hit !== undefined ? ok(hit) : bad("is not a known value", `one of ${values.map((x) => `"${x}"`).join(", ")}`);
};

/** A list; a single value counts as a one-element list (the reference accepts that for log.output.type). */
const asListOf = <T>(item: Check<T>): Check<T[]> => (value) => {
  const items = Array.isArray(value) ? value : [value];
  const out: T[] = [];
  for (const [i, x] of items.entries()) {
    const r = item(x);
    if (!r.ok) return Array.isArray(value) ? { ...r, at: [i, ...(r.at ?? [])], given: r.given ?? x } : r;
    out.push(r.value);
  }
  return ok(out);
};

const isRecord = (x: unknown): x is Record<string, unknown> => typeof x === "object" && x !== null && !Array.isArray(x);

const asFreeCalls: Check<Record<Address, number>> = (value) => {
  if (!isRecord(value)) {
    return bad(`is ${kindOf(value)}`, 'an object of address → number of free calls, e.g. {"0xab…": 10}');
  }
  const out: Record<Address, number> = {};
  for (const [k, count] of Object.entries(value)) {
    const a = asAddress(k);
    if (!a.ok) return bad(a.reason, a.expected, [k], k);
    // The reference also reads "unlimited"/"infinity" as −1
    const n = count === "unlimited" || count === "infinity" ? -1 : count;
    if (typeof n !== "number" || !Number.isInteger(n) || n < -1) {
      return bad("is not a number of free calls", "an integer ≥ 0, or -1 for unlimited", [k], count);
    }
    out[a.value] = n; // keys lower-cased: usage is keyed by the 20-byte address (pitfalls.md #12)
  }
  return ok(out);
};

export interface ServiceCredential {
  key: string;
  value: string | number | boolean;
  location: "query" | "header" | "body";
}
const asLocation = asOneOf(["query", "header", "body"]);
const asCredentials: Check<ServiceCredential[]> = (value) => {
  if (!Array.isArray(value)) return bad(`is ${kindOf(value)}`, 'a list of {"key", "value", "location"} objects');
  const out: ServiceCredential[] = [];
  for (const [i, raw] of value.entries()) {
    if (!isRecord(raw)) return bad(`is ${kindOf(raw)}`, 'an object with "key", "value" and "location"', [i], raw);
    const item = Object.fromEntries(Object.entries(raw).map(([k, x]) => [k.toLowerCase(), x]));
    const k = asNonEmptyText(item.key);
    if (!k.ok) return { ...k, at: [i, "key"], given: item.key };
    const val = typeof item.value === "bigint" ? String(item.value) : item.value;
    if (typeof val !== "string" && typeof val !== "number" && typeof val !== "boolean") {
      return bad("is missing or not a scalar", "a string, number or boolean", [i, "value"], HIDDEN);
    }
    const location = asLocation(item.location);
    if (!location.ok) return { ...location, at: [i, "location"], given: item.location };
    out.push({ key: k.value, value: val, location: location.value });
  }
  return ok(out);
};

function kindOf(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "a list";
  if (typeof value === "object") return "an object";
  if (typeof value === "string") return "text";
  return typeof value === "bigint" ? "a number" : `a ${typeof value}`;
}

// ---------------------------------------------------------------------------------------------------------
// Key declarations.

function key<T>(meta: KeyMeta, check: Check<T>) {
  return z
    .unknown()
    .transform((input, ctx): T => {
      const value = input === undefined || input === null ? meta.default : input;
      const r = check(value);
      if (r.ok) return r.value;
      // A check names a given value only when it is safe to show; otherwise secrets stay hidden
      const given = r.given !== undefined ? r.given : meta.secret ? HIDDEN : value;
      ctx.addIssue({
        code: "custom",
        message: r.reason,
        path: r.at ?? [],
        params: { reason: r.reason, expected: r.expected, given },
      });
      return z.NEVER;
    })
    .prefault(null) // runs the check (and so the default) for absent keys too
    .register(keyRegistry, meta);
}

function group<S extends z.core.$ZodLooseShape>(description: string, shape: S) {
  const obj = z.object(shape);
  // Every child accepts an absent value (leaves default, groups recurse), so `{}` is a valid input
  return obj.prefault({} as z.input<typeof obj>).register(groupRegistry, { description });
}

const m = (type: string, parse: TextParse, def: unknown, description: string, extra?: Extra): KeyMeta => ({
  type,
  parse,
  default: def,
  description,
  ...extra,
});

const text = (def: string, d: string, x?: Extra) => key(m("string", "text", def, d, x), asText);
const optText = (d: string, x?: Extra) => key(m("string", "text", undefined, d, x), optional(asText));
const nonEmpty = (def: string, d: string, x?: Extra) => key(m("string", "text", def, d, x), asNonEmptyText);
const bool = (def: boolean, d: string, x?: Extra) => key(m("bool", "bool", def, d, x), asBool);
const int = (def: number, min: number, max: number, d: string, x?: Extra) =>
  key(m("int", "number", def, d, x), asInt(min, max));
const optInt = (min: number, max: number, d: string, x?: Extra) =>
  key(m("int", "number", undefined, d, x), optional(asInt(min, max)));
const duration = (def: string, d: string, x?: Extra) => key(m("duration", "text", def, d, x), asDuration);
const cogs = (def: number | undefined, d: string, x?: Extra) =>
  key(m("integer (bigint)", "text", def, d, x), def === undefined ? optional(asBigint) : asBigint);
const httpUrl = (def: string, example: string, d: string, x?: Extra) =>
  key(m("URL", "text", def, d, x), asUrl(["http", "https"], example, false));
const optHttpUrl = (example: string, d: string, x?: Extra) =>
  key(m("URL", "text", undefined, d, x), optional(asUrl(["http", "https"], example, false)));
const address = (d: string, x?: Extra) => key(m("address", "text", undefined, d, x), optional(asAddress));
const addresses = (def: string[], d: string, x?: Extra) => key(m("[address]", "list", def, d, x), asListOf(asAddress));
const secretKey = (d: string, x?: Extra) =>
  key(m("hex key", "text", undefined, d, { ...x, secret: true }), optional(asPrivateKey));
const oneOf = <const T extends string>(values: readonly T[], def: T, d: string, x?: Extra) =>
  key(m(values.map((s) => (s === "" ? '""' : s)).join(" | "), "text", def, d, x), asOneOf(values));

const LOG_LEVELS = ["debug", "info", "warn", "warning", "error", "fatal", "panic"] as const;

const ConfigShape = z.object({
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
  daemon_type: oneOf(["grpc", "http"], "grpc", "grpc, or http (legacy reverse proxy without payments)"),
  service_endpoint: key(
    m("URL", "text", "http://localhost:5000", "the AI service (upstream); https → TLS, no scheme → http://", {
      important: true,
    }),
    asUrl(["http", "https"], "http://localhost:5000", true),
  ),
  passthrough_enabled: bool(true, "false = answer each call with its own request (loopback test mode)"),
  executable_path: text("", "program run per call when the service type is process"),
  service_credentials: key(
    m("[{key, value, location}]", "json", [], "credentials added to upstream calls of http services", {
      secret: true,
    }),
    asCredentials,
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
    hot_reload: bool(false, "follow endpoint changes in the organization metadata"),
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
  auto_ssl_domain: text("", "ACME domain", { unused: true }),
  auto_ssl_cache_dir: text(".certs", "ACME certificate cache", { unused: true }),
  allowed_user_flag: bool(false, "only allowed_user_addresses may call (refused on main)"),
  allowed_user_addresses: addresses([], "callers allowed when allowed_user_flag is true"),
  authentication_addresses: addresses([], "signers allowed to use the configuration service"),
  rate_limit_per_minute: key(
    m("number", "number", undefined, "global request rate limit per minute; unset = unlimited"),
    optional(asPositiveNumber),
  ),
  burst_size: optInt(1, 2 ** 31 - 1, "rate limiter bucket size; unset = 2^31−1"),
  enable_dynamic_pricing: bool(false, "price methods with the pricing option 9999127 of the service proto"),
  model_training_enabled: bool(false, "serve the training.Daemon service", { unused: true }),
  model_maintenance_endpoint: optHttpUrl("http://localhost:5001", "provider's training.Model service", {
    unused: true,
  }),
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
  alerts_email: key(m("string", "text", "", "alert recipient; needs notification_endpoint", { unused: true }), asEmail),
  notification_endpoint: optHttpUrl("https://notify.example", "alert notification service", { unused: true }),
  service_heartbeat_type: oneOf(
    ["", "none", "tcp", "http", "https", "grpc"],
    "",
    'upstream probe: ""/none/tcp connect, http(s) GET heartbeat_endpoint, grpc health check',
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
  // Ours (config.md §8)
  data_dir: nonEmpty("./snetd-data", "directory of snetd's own state (the SQLite file)", { important: true }),
  organization_metadata_file: optText("local organization metadata JSON instead of Registry + IPFS"),
  service_metadata_file: optText("local service metadata JSON instead of Registry + IPFS"),
  service_proto_dir: optText("local directory of the service's .proto files"),
  token_address: address("payment token address; default: MultiPartyEscrow.token()"),
  block_cache_ms: int(1000, 0, 3_600_000, "how old the cached head block number may be, in milliseconds"),
  channel_lease_ttl_s: int(10, 1, 3600, "TTL in seconds of a channel's in-flight slot in etcd"),
  drain_timeout: duration("30s", "on SIGTERM/SIGINT, how long in-flight calls may finish"),
  metrics_enabled: bool(true, "serve Prometheus metrics"),
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

export const ConfigSchema = ConfigShape.superRefine(
  (c, ctx) => {
    for (const p of crossCheck(c)) ctx.addIssue({ code: "custom", message: p.reason, path: p.path, params: p });
  },
  { when: () => true }, // report cross-key problems together with per-key ones
);

export type Config = z.output<typeof ConfigSchema>;

/** The configuration when nothing is set. */
export function defaultConfig(): Config {
  return ConfigSchema.parse({});
}

export interface KeySpec {
  /** Dotted path, e.g. `log.output.type`. */
  path: string;
  segments: string[];
  meta: KeyMeta;
}
export interface GroupSpec {
  path: string;
  segments: string[];
  description: string;
  /** Child names in declaration order. */
  children: string[];
}

function walk(shape: Record<string, z.core.$ZodType>, prefix: string[], keys: KeySpec[], groups: GroupSpec[]) {
  for (const [name, schema] of Object.entries(shape)) {
    const segments = [...prefix, name];
    const meta = keyRegistry.get(schema);
    if (meta) {
      keys.push({ path: segments.join("."), segments, meta });
      continue;
    }
    const g = groupRegistry.get(schema);
    if (!g || !(schema instanceof z.ZodPrefault) || !(schema.unwrap() instanceof z.ZodObject)) {
      throw new Error(`config schema entry "${segments.join(".")}" is neither a key nor a group`);
    }
    const inner = (schema.unwrap() as z.ZodObject).shape;
    groups.push({ path: segments.join("."), segments, description: g.description, children: Object.keys(inner) });
    walk(inner, segments, keys, groups);
  }
}

const keys: KeySpec[] = [];
const groups: GroupSpec[] = [];
walk(ConfigShape.shape, [], keys, groups);
/** Every key in declaration order. */
export const KEY_SPECS: readonly KeySpec[] = keys;
export const GROUP_SPECS: readonly GroupSpec[] = groups;
export const KEYS_BY_PATH: ReadonlyMap<string, KeySpec> = new Map(keys.map((k) => [k.path, k]));
export const GROUPS_BY_PATH: ReadonlyMap<string, GroupSpec> = new Map([
  ["", { path: "", segments: [], description: "", children: Object.keys(ConfigShape.shape) }],
  ...groups.map((g) => [g.path, g] as const),
]);

/** Networks we know defaults for; any other name works with a configured Registry (pitfalls.md #37). */
export const KNOWN_NETWORKS = {
  main: { chainId: 1n, registry: "0x247debebb766e4fa99667265a158060018d5f4f8" },
  sepolia: { chainId: 11155111n, registry: "0x4dcc70c6fce4064803f0ae0ce48497b3f7182e5d" },
} as const satisfies Record<string, { chainId: bigint; registry: Address }>;

// ---------------------------------------------------------------------------------------------------------
// Checks across keys (config.md §1 "Start-up validation"). Values of keys that failed their own check are
// `z.NEVER` objects here, hence the typeof guards: every problem is still reported in one pass.

interface CrossProblem {
  path: string[];
  reason: string;
  expected: string;
  given: unknown;
}

/** Hosts that all mean "this machine" for the service/daemon clash check. */
const LOCAL_HOSTS = new Set(["0.0.0.0", "localhost", "127.0.0.1", "::", "::1", ""]);

function sameListener(serviceUrl: string, daemon: string): boolean {
  const d = parseHostPort(daemon);
  let s: URL;
  try {
    s = new URL(serviceUrl);
  } catch {
    return false;
  }
  if (!d) return false;
  const sPort = s.port !== "" ? Number(s.port) : s.protocol === "https:" ? 443 : 80;
  const sHost = s.hostname.replace(/^\[|\]$/g, "").toLowerCase();
  const dHost = d.host.toLowerCase();
  return sPort === d.port && (sHost === dHost || (LOCAL_HOSTS.has(sHost) && LOCAL_HOSTS.has(dHost)));
}

function crossCheck(c: z.output<typeof ConfigShape>): CrossProblem[] {
  const out: CrossProblem[] = [];
  const str = (x: unknown): x is string => typeof x === "string";
  if (str(c.service_endpoint) && str(c.daemon_endpoint) && sameListener(c.service_endpoint, c.daemon_endpoint)) {
    out.push({
      path: ["service_endpoint"],
      given: c.service_endpoint,
      reason: `is the daemon's own listen address (daemon_endpoint "${c.daemon_endpoint}")`,
      expected: "the address of the AI service, on another port than daemon_endpoint",
    });
  }
  if (str(c.ssl_cert) && str(c.ssl_key) && (c.ssl_cert === "") !== (c.ssl_key === "")) {
    const [missing, set] = c.ssl_cert === "" ? ["ssl_cert", "ssl_key"] : ["ssl_key", "ssl_cert"];
    out.push({
      path: [missing],
      given: "",
      reason: `is empty while ${set} is set`,
      expected: "both ssl_cert and ssl_key, or neither",
    });
  }
  if (c.allowed_user_flag === true) {
    if (c.blockchain_network_selected === "main") {
      out.push({
        path: ["allowed_user_flag"],
        given: true,
        reason: 'is true on network "main"',
        expected: "false: restricting callers is meant for test networks",
      });
    }
    if (Array.isArray(c.allowed_user_addresses) && c.allowed_user_addresses.length === 0) {
      out.push({
        path: ["allowed_user_addresses"],
        given: [],
        reason: "is empty while allowed_user_flag is true",
        expected: "at least one caller address",
      });
    }
  }
  if (str(c.alerts_email) && c.alerts_email !== "" && c.notification_endpoint === undefined) {
    out.push({
      path: ["notification_endpoint"],
      given: "",
      reason: "is empty while alerts_email is set",
      expected: "both alerts_email and notification_endpoint, or neither",
    });
  }
  if (str(c.notification_endpoint) && c.alerts_email === "") {
    out.push({
      path: ["alerts_email"],
      given: "",
      reason: "is empty while notification_endpoint is set",
      expected: "both alerts_email and notification_endpoint, or neither",
    });
  }
  if (
    (c.service_heartbeat_type === "http" || c.service_heartbeat_type === "https") && c.heartbeat_endpoint === undefined
  ) {
    out.push({
      path: ["heartbeat_endpoint"],
      given: "",
      reason: `is empty while service_heartbeat_type is "${c.service_heartbeat_type}"`,
      expected: "the http(s) URL to probe, e.g. http://localhost:5000/health",
    });
  }
  if (c.metering_enabled === true && c.metering_endpoint === undefined) {
    out.push({
      path: ["metering_endpoint"],
      given: "",
      reason: "is empty while metering_enabled is true",
      expected: "the metering service URL",
    });
  }
  return out;
}
