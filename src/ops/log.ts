/**
 * The daemon's log: levels, text or JSON lines, to stdout/stderr and/or a size-rotated file (the
 * reference's `log.*` keys). Built on consola so CLI output and daemon logs share one mechanism.
 */

import { basename, dirname } from "node:path";
import { type ConsolaInstance, createConsola, type LogObject } from "consola";
import { createStream } from "rotating-file-stream";

export type Fields = Record<string, unknown>;

export interface Logger {
  debug(message: string, fields?: Fields): void;
  info(message: string, fields?: Fields): void;
  warn(message: string, fields?: Fields): void;
  error(message: string, fields?: Fields): void;
  close(): Promise<void>;
}

export interface LogOptions {
  level: string;
  format: "text" | "json";
  outputs: readonly string[];
  /** File name; `%Y%m%d` is expanded once at start, as the reference does. */
  filePattern?: string;
  maxSizeMb?: number;
  rotationCount?: number;
}

/** consola levels: 0 error, 1 warn, 3 info, 4 debug. */
const LEVELS: Record<string, number> = {
  panic: 0,
  fatal: 0,
  error: 0,
  warn: 1,
  warning: 1,
  info: 3,
  debug: 4,
  trace: 5,
};

const render = (value: unknown) => (typeof value === "bigint" ? value.toString() : value);
const bigintSafe = (_k: string, v: unknown) => render(v);
const textValue = (v: unknown) =>
  typeof v === "object" && v !== null
    ? JSON.stringify(v, bigintSafe)
    : typeof v === "string"
      ? JSON.stringify(v)
      : String(render(v));

function line(format: "text" | "json", obj: LogObject): string {
  const [message, fields] = obj.args as [string, Fields | undefined];
  const level =
    obj.type === "warn"
      ? "warn"
      : obj.type === "error" || obj.type === "fatal"
        ? "error"
        : obj.type === "debug"
          ? "debug"
          : "info";
  const time = obj.date.toISOString();
  if (format === "json") return JSON.stringify({ time, level, msg: message, ...(fields ?? {}) }, bigintSafe);
  const extra = fields
    ? Object.entries(fields)
        .map(([k, v]) => ` ${k}=${textValue(v)}`)
        .join("")
    : "";
  return `${time} ${level.toUpperCase().padEnd(5)} ${message}${extra}`;
}

export function createLogger(opts: LogOptions): Logger {
  const writers: ((text: string) => void)[] = [];
  const closers: (() => Promise<void>)[] = [];
  for (const out of opts.outputs) {
    if (out === "stdout") writers.push((t) => process.stdout.write(t));
    else if (out === "stderr") writers.push((t) => process.stderr.write(t));
    else if (out === "file") {
      const now = new Date();
      const pattern = (opts.filePattern ?? "./snetd.%Y%m%d.log")
        .replace("%Y", String(now.getUTCFullYear()))
        .replace("%m", String(now.getUTCMonth() + 1).padStart(2, "0"))
        .replace("%d", String(now.getUTCDate()).padStart(2, "0"));
      const stream = createStream(basename(pattern), {
        path: dirname(pattern),
        size: `${opts.maxSizeMb ?? 10}M`,
        ...(opts.rotationCount ? { maxFiles: opts.rotationCount } : {}),
        compress: "gzip",
      });
      writers.push((t) => stream.write(t));
      closers.push(() => new Promise<void>((r) => stream.end(r)));
    }
  }
  const consola: ConsolaInstance = createConsola({
    level: LEVELS[opts.level] ?? 3,
    reporters: [
      {
        log: (obj) => {
          const text = `${line(opts.format, obj)}\n`;
          for (const w of writers) w(text);
        },
      },
    ],
  });
  return {
    debug: (m, f) => consola.debug(m, f),
    info: (m, f) => consola.info(m, f),
    warn: (m, f) => consola.warn(m, f),
    error: (m, f) => consola.error(m, f),
    close: async () => {
      await Promise.all(closers.map((c) => c()));
    },
  };
}

/** For tests and tools: nothing written. */
export const silentLogger: Logger = { debug() {}, info() {}, warn() {}, error() {}, close: async () => {} };
