/**
 * Checks across keys (protocol/config.md#mechanics). Values of keys that failed their own check are
 * `z.NEVER` objects here, hence the typeof guards: every problem is still reported in one pass.
 */
import type { z } from "zod";
import type { ConfigShape } from "./keys.ts";
import { parseHostPort } from "./values.ts";

export interface CrossProblem {
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

/** Metrics and the dashboard without a token are acceptable only where no other machine can connect. */
const isLoopback = (host: string) => host === "localhost" || host === "::1" || /^127\.\d+\.\d+\.\d+$/.test(host);

export function crossCheck(c: z.output<typeof ConfigShape>): CrossProblem[] {
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
  // snetd sends alert e-mails itself (the reference only POSTed them to notification_endpoint); the
  // webhook stands alone.
  const smtp = c.alerts_smtp as { host?: unknown } | undefined;
  if (str(c.alerts_email) && c.alerts_email !== "" && typeof smtp?.host === "string" && smtp.host === "") {
    out.push({
      path: ["alerts_smtp", "host"],
      given: "",
      reason: `is empty while alerts_email "${c.alerts_email}" is set`,
      expected: "the SMTP server that sends alert e-mails, e.g. smtp.example.org (with port, username, password)",
    });
  }
  if (
    (c.service_heartbeat_type === "http" || c.service_heartbeat_type === "https") &&
    c.heartbeat_endpoint === undefined
  ) {
    out.push({
      path: ["heartbeat_endpoint"],
      given: "",
      reason: `is empty while service_heartbeat_type is "${c.service_heartbeat_type}"`,
      expected: "the http(s) URL to probe, e.g. http://localhost:5000/health",
    });
  }
  if (
    str(c.admin_endpoint) &&
    c.admin_token === undefined &&
    !isLoopback(parseHostPort(c.admin_endpoint)?.host ?? "")
  ) {
    out.push({
      path: ["admin_token"],
      given: "",
      reason: `is empty while admin_endpoint "${c.admin_endpoint}" is reachable from other machines`,
      expected: "a token of at least 16 bytes, or a loopback admin_endpoint such as 127.0.0.1:9090",
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
