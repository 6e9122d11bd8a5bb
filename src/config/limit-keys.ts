/**
 * Limits of the daemon port an anonymous client cannot exceed (issue #16; protocol/operations.md#listener-limits):
 * connections, header time and size, idle time, streams per connection, plain HTTP bodies, and the daemon's
 * own RPCs per client address. Spread into ConfigShape (keys.ts) after the operations keys. Enforced by
 * src/transport/limits.ts, http-bridge.ts and app/guarded-gate.ts; wired in app/daemon-settings.ts.
 */
import { duration, int } from "./key-builders.ts";

const MAX = 2 ** 31 - 1;

export const LIMIT_KEYS = {
  max_connections: int(
    10_000,
    0,
    MAX,
    "open connections on daemon_endpoint; one more is closed at once; 0 = unlimited",
  ),
  max_connections_per_address: int(
    100,
    0,
    MAX,
    "open connections from one client IP address; 0 = unlimited (behind a reverse proxy every client has the proxy's address)",
  ),
  headers_timeout: duration(
    "10s",
    "time from connect (TLS handshake included) until the first request's headers are complete; 0s = no limit",
  ),
  idle_timeout: duration(
    "5m",
    "a connection with no call in progress is closed after this (HTTP/2: GOAWAY); 0s = never",
  ),
  max_concurrent_streams: int(
    250,
    1,
    MAX,
    "calls in flight on one HTTP/2 connection; more are refused with REFUSED_STREAM",
  ),
  max_header_list_bytes: int(
    64 * 1024,
    1024,
    16 * 1024 * 1024,
    "request headers of one call or HTTP request, in bytes",
  ),
  max_http_body_bytes: int(
    1024 * 1024,
    0,
    MAX,
    "body of a plain HTTP request (/heartbeat, /encoding, /metrics); larger gets 413",
  ),
  rate_limit_daemon_rpc_per_address_per_minute: int(
    600,
    0,
    MAX,
    "calls per minute from one client IP address to the daemon's own unary services (health excepted); 0 = unlimited",
  ),
  rate_limit_token_rpc_per_address_per_minute: int(
    60,
    0,
    MAX,
    "GetToken and GetFreeCallToken calls per minute from one client IP address; 0 = unlimited",
  ),
};
