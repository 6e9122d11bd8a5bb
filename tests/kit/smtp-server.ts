/**
 * A real SMTP server (Python aiosmtpd, tests/kit/smtp_sink.py) that records every message it accepts.
 * The venv comes from tests/kit/setup.sh; `SNETD_SMTP_PYTHON` points at another interpreter with aiosmtpd.
 *
 * @example
 * const smtp = await startSmtpServer({ user: "alerts", password: "secret" });
 * … host 127.0.0.1, port smtp.port …
 * const [mail] = await smtp.waitForMessages(1);
 */
import { type ChildProcess, spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { freePort } from "./ports.ts";
import { TOOLS_DIR } from "./tools.ts";
import { waitFor } from "./wait.ts";

export interface ReceivedMail {
  from: string;
  to: string[];
  subject: string;
  text: string;
  /** The AUTH login the client used, or null. */
  login: string | null;
}

export interface SmtpServer {
  port: number;
  messages: ReceivedMail[];
  waitForMessages(count: number, timeoutMs?: number): Promise<ReceivedMail[]>;
  stop(): Promise<void>;
}

const running = new Set<ChildProcess>();
process.on("exit", () => {
  for (const c of running) c.kill("SIGKILL");
});

export async function startSmtpServer(opts: { user?: string; password?: string } = {}): Promise<SmtpServer> {
  const python = process.env.SNETD_SMTP_PYTHON ?? join(TOOLS_DIR, "smtp-venv", "bin", "python");
  if (!existsSync(python))
    throw new Error(`No Python with aiosmtpd at "${python}": run tests/kit/setup.sh (or set SNETD_SMTP_PYTHON)`);
  const port = await freePort();
  const args = [join(import.meta.dir, "smtp_sink.py"), "--port", String(port)];
  if (opts.user) args.push("--user", opts.user, "--password", opts.password ?? "");
  const child = spawn(python, args, { stdio: ["ignore", "pipe", "pipe"] });
  running.add(child);
  child.on("exit", () => running.delete(child));
  const messages: ReceivedMail[] = [];
  let ready = false;
  let stderr = "";
  let partial = "";
  child.stderr?.on("data", (b: Buffer) => (stderr += b.toString("utf8")));
  child.stdout?.on("data", (b: Buffer) => {
    partial += b.toString("utf8");
    const lines = partial.split("\n");
    partial = lines.pop() ?? "";
    for (const line of lines.filter(Boolean)) {
      const obj = JSON.parse(line) as ReceivedMail | { ready: true };
      if ("ready" in obj) ready = true;
      else messages.push(obj);
    }
  });
  const exitedEarly = () => child.exitCode !== null || child.signalCode !== null;
  await waitFor("the SMTP server to start", () => {
    if (exitedEarly()) throw new Error(`The SMTP server exited at start: ${stderr}`);
    return ready ? true : undefined;
  });
  return {
    port,
    messages,
    waitForMessages: (count, timeoutMs = 20_000) =>
      waitFor(
        `${count} e-mail(s) at the SMTP server`,
        () => (messages.length >= count ? messages.slice(0, count) : undefined),
        { timeoutMs },
      ),
    async stop() {
      if (exitedEarly()) return;
      const gone = new Promise((r) => child.once("exit", r));
      child.kill("SIGTERM");
      await gone;
    },
  };
}
