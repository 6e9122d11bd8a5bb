/**
 * A Logger (src/ops/log.ts) that keeps its lines in memory, for suites that assert what an operator reads.
 *
 * @example
 * const log = captureLog();
 * await until(() => log.has("TLS certificate reloaded"), "the reload log line");
 */
import type { Fields, Logger } from "../../src/ops/log.ts";

export interface LogLine {
  level: "debug" | "info" | "warn" | "error";
  message: string;
  fields: Fields;
}

export interface CapturedLog extends Logger {
  readonly lines: LogLine[];
  /** Lines whose message contains `text`. */
  matching(text: string): LogLine[];
  has(text: string): boolean;
}

export function captureLog(echo = process.env.SNETD_TEST_LOG === "1"): CapturedLog {
  const lines: LogLine[] = [];
  const add =
    (level: LogLine["level"]) =>
    (message: string, fields: Fields = {}) => {
      lines.push({ level, message, fields });
      if (echo) console.log(level, message, fields);
    };
  const matching = (text: string) => lines.filter((l) => l.message.includes(text));
  return {
    lines,
    matching,
    has: (text) => matching(text).length > 0,
    debug: add("debug"),
    info: add("info"),
    warn: add("warn"),
    error: add("error"),
    close: async () => {},
  };
}
