/**
 * Where alerts go: e-mail over SMTP (nodemailer) to `alerts_email`, and a JSON POST to
 * `notification_endpoint`. Both retry with exponential backoff; the webhook gives up at once on a 4xx
 * other than 408/429 (the receiver said the request itself is wrong). Unlike the reference, the webhook
 * body is the alert as plain JSON (not a JSON string of base64) and nothing is signed.
 */
import type { Transporter } from "nodemailer";
import type { Alert, AlertSink } from "./alerts.ts";

export interface RetryPolicy {
  /** Tries in all; default 5. */
  attempts?: number;
  /** Wait before the second try, doubled after each; default 1 s, capped at 60 s. */
  firstDelayMs?: number;
  /** One try's time limit; default 10 s. */
  timeoutMs?: number;
}

class Permanent extends Error {
  override readonly name = "Permanent";
}

async function withRetries(policy: RetryPolicy, attempt: (timeoutMs: number) => Promise<void>): Promise<void> {
  const attempts = policy.attempts ?? 5;
  let delay = policy.firstDelayMs ?? 1000;
  for (let i = 1; ; i++) {
    try {
      return await attempt(policy.timeoutMs ?? 10_000);
    } catch (err) {
      if (err instanceof Permanent || i >= attempts) {
        throw new Error(`${(err as Error).message} (after ${i} ${i === 1 ? "try" : "tries"})`);
      }
      await new Promise((r) => setTimeout(r, delay));
      delay = Math.min(delay * 2, 60_000);
    }
  }
}

export interface WebhookSinkOptions extends RetryPolicy {
  url: string;
  /** Extra request headers (e.g. an Authorization the receiver expects). */
  headers?: Record<string, string>;
}

/** POSTs each alert as JSON; 2xx = delivered. */
export function webhookSink(opts: WebhookSinkOptions): AlertSink {
  const origin = new URL(opts.url).origin; // never log a path that may carry a token
  return {
    name: "webhook",
    send: (alert) =>
      withRetries(opts, async (timeoutMs) => {
        let res: Response;
        try {
          res = await fetch(opts.url, {
            method: "POST",
            headers: { "content-type": "application/json", "user-agent": "snetd-alerts", ...opts.headers },
            body: JSON.stringify(alert),
            signal: AbortSignal.timeout(timeoutMs),
          });
        } catch (err) {
          throw new Error(`Webhook ${origin} not reachable: ${(err as Error).message}`);
        }
        await res.body?.cancel();
        if (res.ok) return;
        const text = `Webhook ${origin} answered HTTP ${res.status}; expected 2xx`;
        if (res.status >= 400 && res.status < 500 && res.status !== 408 && res.status !== 429)
          throw new Permanent(text);
        throw new Error(text);
      }),
  };
}

export interface EmailSinkOptions extends RetryPolicy {
  /** Recipients (`alerts_email`, comma-separated allowed). */
  to: string;
  from: string;
  host: string;
  port: number;
  /** TLS from the first byte (port 465); otherwise STARTTLS when the server offers it. */
  secure: boolean;
  /** Refuse to send without STARTTLS (credentials never in clear text). */
  requireTls?: boolean;
  username?: string;
  password?: string;
}

/** Sends each alert as a plain-text e-mail. */
export function emailSink(opts: EmailSinkOptions): AlertSink {
  // nodemailer is loaded at the first alert, not at start: most daemons never send one (memory, start-up).
  let transport: Promise<Transporter> | undefined;
  const transportOf = () =>
    (transport ??= import("nodemailer").then(({ default: nodemailer }) =>
      nodemailer.createTransport({
        host: opts.host,
        port: opts.port,
        secure: opts.secure,
        requireTLS: opts.requireTls ?? false,
        ...(opts.username ? { auth: { user: opts.username, pass: opts.password ?? "" } } : {}),
        connectionTimeout: opts.timeoutMs ?? 10_000,
        greetingTimeout: opts.timeoutMs ?? 10_000,
        socketTimeout: opts.timeoutMs ?? 10_000,
      }),
    ));
  return {
    name: "email",
    send: (alert) =>
      withRetries(opts, async () => {
        try {
          await (await transportOf()).sendMail({
            from: opts.from,
            to: opts.to,
            subject: alert.title,
            text: emailText(alert),
          });
        } catch (err) {
          const e = err as Error & { responseCode?: number };
          const text = `SMTP server ${opts.host}:${opts.port} refused the alert: ${e.message}`;
          // 5xx is a permanent SMTP failure (bad recipient, auth refused); 4xx and network errors are worth a retry.
          if (e.responseCode !== undefined && e.responseCode >= 500) throw new Permanent(text);
          throw new Error(text);
        }
      }),
  };
}

/** The e-mail body: the message, then one line per detail and the daemon's identity. */
export function emailText(alert: Alert): string {
  const lines = [alert.message, ""];
  for (const [k, v] of Object.entries(alert.details)) if (v !== "") lines.push(`${k}: ${v}`);
  lines.push(`time: ${alert.time}`);
  for (const [k, v] of Object.entries(alert.daemon)) if (v) lines.push(`${k}: ${v}`);
  return `${lines.join("\n")}\n`;
}
