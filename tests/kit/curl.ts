/**
 * The real `curl` binary as a Connect client (docs/protocol/headers.md#connect): one POST with a JSON or
 * binary body and headers, the reply's status, headers and body, and the command line as a user would
 * type it, so a suite can print what it ran (the README's curl example comes from there).
 *
 * @example
 * const r = await curl(`${daemon.url}/example.Echo/Echo`, { headers: { "content-type": "application/json", ...curlHeaders(ch.pay(price)) }, data: '{"text":"hi"}' });
 * console.log(r.command);
 * expect(r.status).toBe(200);
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

export interface CurlOptions {
  headers?: Record<string, string>;
  /** Text is sent as `-d '<text>'`; bytes from a temp file with `--data-binary @file`. */
  data?: string | Uint8Array;
  method?: string;
  /** HTTP/2 with prior knowledge (h2c) instead of HTTP/1.1. */
  http2?: boolean;
  /** curl gives up (and hangs up) after this long: a client that goes away. */
  maxTimeSeconds?: number;
}

export interface CurlReply {
  status: number;
  /** Lower-case names; repeated headers joined with ", ". */
  headers: Record<string, string>;
  body: Buffer;
  /** The body parsed as JSON (undefined when it is not JSON). */
  json: unknown;
  /** The command line, shell-quoted, as it can be pasted into a terminal. */
  command: string;
}

const quote = (s: string) => (/^[\w@%+=:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`);

/** Payment metadata as HTTP header values: `-bin` values (Buffers) base64, the rest as they are. */
export function curlHeaders(metadata: Record<string, string | Buffer | Uint8Array>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(metadata)) out[k] = typeof v === "string" ? v : Buffer.from(v).toString("base64");
  return out;
}

/** One request with the real curl; fails only when curl itself fails (an HTTP error status is a reply). */
export async function curl(url: string, opts: CurlOptions = {}): Promise<CurlReply> {
  const args = ["curl", "-sS", "-i"];
  if (opts.http2) args.push("--http2-prior-knowledge");
  if (opts.method) args.push("-X", opts.method);
  if (opts.maxTimeSeconds !== undefined) args.push("--max-time", String(opts.maxTimeSeconds));
  args.push(url);
  for (const [k, v] of Object.entries(opts.headers ?? {})) args.push("-H", `${k}: ${v}`);
  let dir: string | undefined;
  if (typeof opts.data === "string") {
    args.push("-d", opts.data);
  } else if (opts.data) {
    dir = mkdtempSync(join(tmpdir(), "snetd-curl-"));
    writeFileSync(join(dir, "body.bin"), opts.data);
    args.push("--data-binary", `@${join(dir, "body.bin")}`);
  }
  try {
    const proc = Bun.spawn(args, { stdout: "pipe", stderr: "pipe" });
    const [out, err, code] = await Promise.all([
      new Response(proc.stdout).arrayBuffer(),
      new Response(proc.stderr).text(),
      proc.exited,
    ]);
    if (code !== 0) throw new Error(`curl exited with ${code}: ${err.trim()}`);
    return { ...parse(Buffer.from(out)), command: args.map(quote).join(" ") };
  } finally {
    if (dir) rmSync(dir, { recursive: true, force: true });
  }
}

/** Splits `curl -i` output: header blocks (a 100 Continue first, possibly), then the body. */
function parse(out: Buffer): Omit<CurlReply, "command"> {
  let rest = out;
  for (;;) {
    const end = rest.indexOf("\r\n\r\n");
    if (end < 0)
      throw new Error(
        `curl printed no complete header block: ${JSON.stringify(rest.toString("latin1").slice(0, 200))}`,
      );
    const lines = rest.subarray(0, end).toString("latin1").split("\r\n");
    rest = rest.subarray(end + 4);
    const status = Number((lines[0] ?? "").split(" ")[1]);
    if (status === 100) continue;
    const headers: Record<string, string> = {};
    for (const line of lines.slice(1)) {
      const colon = line.indexOf(":");
      if (colon <= 0) continue;
      const k = line.slice(0, colon).trim().toLowerCase();
      const v = line.slice(colon + 1).trim();
      headers[k] = headers[k] === undefined ? v : `${headers[k]}, ${v}`;
    }
    let json: unknown;
    try {
      json = JSON.parse(rest.toString("utf8"));
    } catch {
      json = undefined;
    }
    return { status, headers, body: rest, json };
  }
}
