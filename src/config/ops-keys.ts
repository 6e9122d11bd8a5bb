/**
 * snetd's own keys for running unattended (issue #12): TLS upkeep, ACME, rate limits per payer and
 * channel, alerts, the admin listener. Spread into ConfigShape (keys.ts) after the reference keys, so
 * init-config and the README list them there. Wired by src/app/operations.ts and its neighbours.
 */
import { bool, cogs, duration, group, httpUrl, int, key, m, nonEmpty, optInt, optText, text } from "./key-builders.ts";
import { asBearerToken } from "./secret-values.ts";
import { asEmail, asHostPort, asPositiveNumber, asText, optional } from "./values.ts";

export const OPS_KEYS = {
  // TLS upkeep (src/ops/tls-reload.ts, acme.ts)
  ssl_reload_interval: duration(
    "10s",
    "how often ssl_cert/ssl_key are checked for changes, besides file events and SIGHUP",
  ),
  acme_http_port: int(80, 1, 65535, "port of the ACME HTTP-01 responder: 80, or where a proxy forwards port 80"),
  acme_directory_url: httpUrl(
    "https://acme-v02.api.letsencrypt.org/directory",
    "https://acme-staging-v02.api.letsencrypt.org/directory",
    "ACME directory; Let's Encrypt staging: https://acme-staging-v02.api.letsencrypt.org/directory",
  ),
  acme_email: key(
    m("string", "text", "", "contact e-mail registered with the ACME account (expiry notices); optional"),
    asEmail,
  ),
  acme_ca_file: optText("PEM the ACME directory's HTTPS certificate chains to (private CA); default: system roots"),
  // Rate limits besides the reference's global bucket (src/ops/rate-limit.ts)
  rate_limit_per_payer_per_minute: key(
    m(
      "number",
      "number",
      undefined,
      "calls per minute per payer (channel sender, free-call or token address); unset = unlimited",
    ),
    optional(asPositiveNumber),
  ),
  burst_size_per_payer: optInt(1, 2 ** 31 - 1, "per-payer bucket size; unset = one minute of its rate"),
  rate_limit_per_channel_per_minute: key(
    m("number", "number", undefined, "calls per minute per payment channel; unset = unlimited"),
    optional(asPositiveNumber),
  ),
  burst_size_per_channel: optInt(1, 2 ** 31 - 1, "per-channel bucket size; unset = one minute of its rate"),
  rate_limit_daemon_rpc_per_minute: key(
    m(
      "number",
      "number",
      undefined,
      "calls per minute to the daemon's own unary services (they cost chain reads); unset = unlimited",
    ),
    optional(asPositiveNumber),
  ),
  rate_limit_tracked_keys: int(
    10_000,
    100,
    10_000_000,
    "per-payer and per-channel buckets kept in memory (least recently used dropped)",
  ),
  // Alerts (src/ops/alerts.ts, alert-sinks.ts)
  alerts_smtp: group("SMTP server that sends alert e-mails to alerts_email", {
    host: text("", "SMTP host; empty = no alert e-mails"),
    port: int(587, 1, 65535, "SMTP port (587 submission, 465 with secure: true)"),
    secure: bool(false, "TLS from the first byte (port 465); false = STARTTLS when the server offers it"),
    require_tls: bool(true, "refuse to send without TLS (set false for a relay on localhost without TLS)"),
    username: text("", "SMTP login; empty = no AUTH"),
    password: key(m("string", "text", "", "SMTP password", { secret: true }), asText),
    from: nonEmpty("snetd@localhost", "sender address of alert e-mails"),
  }),
  alerts_cooldown: duration(
    "15m",
    "least time between two down alerts of one dependency (service, chain, IPFS, store)",
  ),
  alerts_channel_expiry_blocks: cogs(
    7200,
    "alert when a channel with unclaimed payments expires within this many blocks while auto_claim is off; 0 = never",
  ),
  health_probe_interval: duration(
    "15s",
    "how often the service, chain, store and IPFS are probed for the dashboard, metrics and alerts",
  ),
  // Live metadata (src/app/live-metadata.ts)
  metadata_watch_interval: duration(
    "30s",
    "how often the Registry is asked for OrganizationModified/ServiceMetadataModified events of this service; 0s = never",
  ),
  metadata_refresh_interval: duration(
    "1h",
    "re-read both metadata documents this often even without an event (and on SIGHUP); 0s = never",
  ),
  // Admin listener (src/ops/admin-server.ts, dashboard/)
  admin_endpoint: key(
    m(
      "host:port",
      "text",
      undefined,
      "listener for /metrics and the dashboard, apart from daemon_endpoint; unset = none",
    ),
    optional(asHostPort),
  ),
  admin_token: key(
    m(
      "string",
      "text",
      undefined,
      "bearer token for admin_endpoint, ≥ 16 bytes; required unless it is a loopback address",
      { secret: true },
    ),
    asBearerToken,
  ),
  dashboard_enabled: bool(true, "serve the operator dashboard at /dashboard/ on admin_endpoint"),
};
