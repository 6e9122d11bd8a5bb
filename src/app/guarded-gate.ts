/**
 * The rate limits and call accounting around the payment gate (protocol/operations.md#rate-limits):
 *
 * - the reference's global bucket (`rate_limit_per_minute`, `burst_size`) is taken before any payment
 *   work, for every proxied call;
 * - the per-payer and per-channel buckets are taken inside the payment admissions, once the payment is
 *   verified (`payerLimit`), so a forged channel-id header cannot spend another client's bucket;
 * - the daemon's own unary services have their own bucket (`rate_limit_daemon_rpc_per_minute`): they cost
 *   chain reads; health is never limited, so probes keep working under load. Each client address has its
 *   own buckets too (`rate_limit_daemon_rpc_per_address_per_minute`, and for the two that mint tokens
 *   `rate_limit_token_rpc_per_address_per_minute`), so one client cannot use up the shared one.
 *
 * Every outcome is counted for the metrics and the dashboard. Buckets are per process: N replicas behind a
 * load balancer admit up to N times the configured rates.
 */
import { type Admission, FREE_PASS, type PaidRequest, type PaymentGate } from "../core/admission.ts";
import { toSnetError } from "../core/errors.ts";
import { rateLimited } from "../core/messages/operations.ts";
import type { Address } from "../core/signatures.ts";
import type { Activity } from "../ops/dashboard/activity.ts";
import type { DaemonMetrics } from "../ops/metrics.ts";
import type { RateLimiter } from "../ops/rate-limit.ts";
import type { PayerLimit } from "../payments/payer-limit.ts";
import type { DaemonMethod } from "../transport/services/method.ts";
import { statusTrailers } from "../transport/status.ts";

export interface GateGuards {
  /** The global bucket only (no scopes). */
  global?: RateLimiter<never>;
  metrics?: DaemonMetrics;
  activity?: Activity;
}

/**
 * A refusal's reason for the dashboard, with the numbers and addresses that vary per call taken out, so
 * "income 200 does not equal to price 100" and "income 300 …" count as one reason.
 */
export function refusalReason(message: string): string {
  return message.replace(/0x[0-9a-fA-F]{6,}/g, "0x…").replace(/\d+/g, "N");
}

/** The payment type a call claims, for labels: the header as sent, else what the gate assumes. */
const paymentType = (r: PaidRequest, paymentsOn: boolean) =>
  r.metadata.get("snet-payment-type")?.[0] ?? (paymentsOn ? "escrow" : "none");

/** Wraps `inner` (undefined = payments off) with the global bucket and the accounting. */
export function guardedGate(inner: PaymentGate | undefined, g: GateGuards): PaymentGate {
  return {
    async admit(request) {
      const type = paymentType(request, inner !== undefined);
      let admission: Admission;
      try {
        const d = g.global?.take();
        if (d && !d.allowed) throw rateLimited(d.retryAfterMs);
        admission = inner ? await inner.admit(request) : FREE_PASS;
      } catch (err) {
        const e = toSnetError(err);
        g.metrics?.refused(e.code);
        g.metrics?.call(type, "refused");
        g.activity?.refusal(refusalReason(e.message));
        throw err;
      }
      g.metrics?.admitted(type);
      const settle = admission.settle;
      return {
        ...admission,
        async settle(ok) {
          await settle(ok);
          g.metrics?.settled(ok);
          g.metrics?.call(type, ok ? "ok" : "service_error");
          if (ok) {
            g.metrics?.earned(admission.earnedCogs ?? 0n);
            g.activity?.call(admission.earnedCogs ?? 0n);
          }
        },
      };
    },
  };
}

/** The hook the payment admissions call once a payment is verified: payer and channel buckets. */
export function payerLimit(limiter: RateLimiter<"payer" | "channel">): PayerLimit {
  return ({ payer, channel }: { payer: Address; channel?: bigint }) => {
    const d = limiter.take(channel === undefined ? { payer } : { payer, channel: channel.toString() });
    if (!d.allowed) throw rateLimited(d.retryAfterMs);
  };
}

/** Per-address scopes of the daemon's own methods: every one takes from "rpc", token minters from "token" too. */
export type MethodScope = "rpc" | "token";

/** The methods that mint tokens: a signature check each, and a chain read for free-call tokens. */
const TOKEN_METHODS = new Set(["/escrow.TokenService/GetToken", "/escrow.FreeCallStateService/GetFreeCallToken"]);

export interface MethodLimiters {
  /** One bucket for all clients. */
  global?: RateLimiter<never>;
  /** Buckets per client address (the call's peer); a call whose address is unknown skips them. */
  perAddress?: RateLimiter<MethodScope>;
}

/** The daemon's own methods behind their buckets, the client's own first; a refused call never reaches its handler. */
export function limitMethods(methods: readonly DaemonMethod[], limiters: MethodLimiters): DaemonMethod[] {
  return methods.map((m) => ({
    path: m.path,
    // Kept: Connect JSON calls find the method's types here (a limited method is still callable with JSON).
    ...(m.types ? { types: m.types } : {}),
    serve(call, maxMessageBytes, onError) {
      const peer = call.peer;
      const mine =
        peer === undefined
          ? undefined
          : limiters.perAddress?.take(TOKEN_METHODS.has(m.path) ? { rpc: peer, token: peer } : { rpc: peer });
      const d = mine && !mine.allowed ? mine : limiters.global?.take();
      if (!d || d.allowed) return m.serve(call, maxMessageBytes, onError);
      const refusal = rateLimited(d.retryAfterMs);
      onError?.(call.path, refusal);
      call.body.resume();
      call.finish(statusTrailers(refusal));
      return Promise.resolve();
    },
  }));
}
