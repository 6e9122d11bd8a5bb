/**
 * The listener limits' wiring (app/listener-limits.ts): the transport's fallback limits are the config's
 * defaults, and a flood of cuts becomes one warn line a minute per limit, not one per connection.
 */
import { describe, expect, test } from "bun:test";
import { limitLog, listenerLimits } from "../../src/app/listener-limits.ts";
import { defaultConfig } from "../../src/config/schema.ts";
import type { Logger } from "../../src/ops/log.ts";
import { DEFAULT_LIMITS } from "../../src/transport/limits.ts";

function recordingLog() {
  const lines: { level: string; message: string; fields: Record<string, unknown> | undefined }[] = [];
  const at = (level: string) => (message: string, fields?: Record<string, unknown>) =>
    void lines.push({ level, message, fields });
  const log: Logger = {
    debug: at("debug"),
    info: at("info"),
    warn: at("warn"),
    error: at("error"),
    close: async () => {},
  };
  return { log, lines };
}

describe("listener limits", () => {
  test("DEFAULT_LIMITS, used when a listener is given none, are the config's defaults", () => {
    expect(listenerLimits(defaultConfig())).toEqual(DEFAULT_LIMITS);
  });

  test("cuts log once per limit a minute, then with the count since; idle closes only at debug", () => {
    const { log, lines } = recordingLog();
    let now = 0;
    const onLimit = limitLog(log, () => now);
    for (let i = 0; i < 50; i++) onLimit("max_connections_per_address", "203.0.113.7");
    onLimit("headers_timeout", "198.51.100.1");
    onLimit("idle_timeout", "198.51.100.2");
    expect(lines.filter((l) => l.level === "warn").map((l) => l.fields)).toEqual([
      { limit: "max_connections_per_address", peer: "203.0.113.7" },
      { limit: "headers_timeout", peer: "198.51.100.1" },
    ]);
    expect(lines.filter((l) => l.level === "debug")).toHaveLength(1);
    now = 60_001;
    onLimit("max_connections_per_address", "203.0.113.8");
    expect(lines.at(-1)?.fields).toEqual({
      limit: "max_connections_per_address",
      peer: "203.0.113.8",
      more_cut_in_the_last_minute: 49,
    });
  });
});
