/**
 * `service_type: process` (protocol/upstreams.md#process): one run of `executable_path` per call, with the
 * method name as its only argument, the request message on stdin and the reply on stdout. No shell.
 *
 * Unlike the reference: stdin is written while the process runs (the reference wrote it before start,
 * so requests over the 64 KiB pipe buffer hung), stderr goes to the log instead of into the reply,
 * output is capped, and the deadline or the client's cancel kills the whole process group.
 */
import { spawn } from "node:child_process";
import type { SnetError } from "../../core/errors.ts";
import {
  processExitStatus,
  processFailed,
  processNotStarted,
  processOutputTooLarge,
  processSignalStatus,
} from "../../core/messages/upstreams.ts";
import { splitGrpcPath } from "../../metadata/protos/methods.ts";
import { callSignal, causeText, type UnaryUpstream } from "./unary.ts";

export interface ProcessUpstreamOptions {
  /** `executable_path`. */
  readonly executable: string;
  /** Largest stdout accepted (e.g. max_message_size_in_mb); more kills the process. */
  readonly maxOutputBytes: number;
  /** Receives stderr, one line at a time (long lines cut). */
  readonly onStderr?: (line: string, pid: number | undefined) => void;
}

/** stderr quoted back in a failure message: the last bytes, where the error usually is. */
const STDERR_TAIL_BYTES = 4096;
const STDERR_LINE_CHARS = 8192;

export function processUpstream(opts: ProcessUpstreamOptions): UnaryUpstream {
  const running = new Set<() => void>();
  return {
    call(req) {
      const parts = splitGrpcPath(req.path);
      const method = parts.ok ? parts.method : (req.path.split("/").pop() ?? "");
      return run(opts, method, req, running);
    },
    async close() {
      for (const kill of running) kill();
    },
  };
}

function run(
  opts: ProcessUpstreamOptions,
  method: string,
  req: Parameters<UnaryUpstream["call"]>[0],
  running: Set<() => void>,
): Promise<Uint8Array> {
  return new Promise((resolve, reject) => {
    const stop = callSignal(req, `process "${opts.executable}"`);
    // detached: its own process group, so a kill also reaches what a wrapper script started.
    const child = spawn(opts.executable, [method], { stdio: ["pipe", "pipe", "pipe"], detached: true, shell: false });
    const stdout: Uint8Array[] = [];
    let stdoutBytes = 0;
    let stderrTail = "";
    let stderrLine = "";
    let failure: SnetError | undefined;
    let settled = false;

    const killGroup = () => {
      if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
      try {
        process.kill(-child.pid, "SIGKILL");
      } catch {
        child.kill("SIGKILL");
      }
    };
    const finish = (outcome: () => void) => {
      if (settled) return;
      settled = true;
      stop.done();
      running.delete(killGroup);
      outcome();
    };
    const fail = (err: SnetError) => {
      failure ??= err;
      killGroup();
    };
    running.add(killGroup);
    stop.signal.addEventListener("abort", () => fail(stop.reason() as SnetError), { once: true });

    child.on("error", (err) => {
      // spawn failed (no such file, not executable): there is no process to wait for.
      if (child.pid === undefined) finish(() => reject(processNotStarted(opts.executable, causeText(err), err)));
    });
    // A process that exits without reading its input makes the write fail with EPIPE; its exit status tells.
    child.stdin.on("error", () => {});
    child.stdin.end(req.message);

    child.stdout.on("data", (chunk: Buffer) => {
      stdoutBytes += chunk.length;
      if (stdoutBytes > opts.maxOutputBytes) return fail(processOutputTooLarge(opts.maxOutputBytes));
      stdout.push(chunk);
    });
    child.stderr.setEncoding("utf8");
    child.stderr.on("data", (text: string) => {
      stderrTail = (stderrTail + text).slice(-STDERR_TAIL_BYTES);
      const lines = (stderrLine + text).split("\n");
      stderrLine = (lines.pop() ?? "").slice(0, STDERR_LINE_CHARS);
      for (const line of lines) opts.onStderr?.(line.slice(0, STDERR_LINE_CHARS), child.pid);
    });

    // 'close' waits for the pipes; after a kill, a grandchild outside the group could hold them open,
    // so a killed call ends at 'exit'.
    const done = (code: number | null, signal: NodeJS.Signals | null) =>
      finish(() => {
        if (stderrLine) opts.onStderr?.(stderrLine, child.pid);
        if (failure) return reject(failure);
        if (code === 0) return resolve(concat(stdout, stdoutBytes));
        const status = code !== null ? processExitStatus(code) : processSignalStatus(signal);
        const output =
          new TextDecoder().decode(concat(stdout, stdoutBytes).subarray(0, STDERR_TAIL_BYTES)) + stderrTail;
        reject(processFailed(status, output));
      });
    child.on("exit", (code, signal) => {
      if (failure) {
        child.stdout.destroy();
        child.stderr.destroy();
        done(code, signal);
      }
    });
    child.on("close", done);
  });
}

function concat(parts: readonly Uint8Array[], total: number): Uint8Array {
  const out = new Uint8Array(total);
  let offset = 0;
  for (const p of parts) {
    out.set(p, offset);
    offset += p.length;
  }
  return out;
}
