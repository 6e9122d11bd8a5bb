/**
 * What the payment layer decides about a proxied call, in the terms the transport needs: which headers
 * the service gets and what happens when the call ends. Payment types implement `PaymentGate`; the
 * transport only ever sees an `Admission`.
 */
import type { MetadataView } from "./payment-headers.ts";

/** A proxied call as the payment layer sees it: the method and the client's metadata. */
export interface PaidRequest {
  readonly path: string;
  readonly metadata: MetadataView;
  /**
   * This call's own price (dynamic pricing: the service prices it), replacing the metadata's. Asked only
   * by payment types that charge, after their headers parsed; rejects with a SnetError to refuse the call.
   */
  readonly price?: () => Promise<bigint>;
}

/** What the payment layer decided for a call that may go ahead. */
export interface Admission {
  /** Headers set on the upstream request, overwriting the client's (`snet-user-address`). */
  readonly setHeaders: Readonly<Record<string, string>>;
  /** Client headers never forwarded. */
  readonly dropHeaders: readonly string[];
  /** What the call pays when it succeeds, in cogs (0 or absent for free calls): for metrics and the dashboard. */
  readonly earnedCogs?: bigint;
  /**
   * Called once when the call ends: `ok` true when the service answered grpc-status 0. The payment was
   * stored at admission, so there is nothing left to fail: `ok` keeps it, not `ok` gives it back (a
   * give-back the store does not take is retried in the background). Never rejects.
   */
  settle(ok: boolean): Promise<void>;
}

/** Decides whether a proxied call may reach the service; throws a SnetError to refuse it. */
export interface PaymentGate {
  admit(request: PaidRequest): Promise<Admission>;
}

/** Payments off: every call passes, and nobody can claim an identity (docs/protocol/reference-differences.md). */
export const FREE_PASS: Admission = {
  setHeaders: {},
  dropHeaders: ["snet-user-address"],
  settle: async () => {},
};
