/**
 * The payment gate: reads the payment type of a proxied call and hands it to that type's admission.
 * A new payment type is a new `case` here plus its admission module beside this file. Free calls ignore
 * prices, so they never ask for a dynamic one.
 */
import type { Admission, PaidRequest, PaymentGate } from "../core/admission.ts";
import { freeCallsNotEnabled, prepaidNotEnabled } from "../core/messages/tokens.ts";
import { type FreeCallPayment, type PrepaidPayment, parsePayment } from "../core/payment-headers.ts";
import { admitEscrow, type EscrowDeps } from "./escrow-gate.ts";

export interface GateDeps {
  escrow: EscrowDeps;
  /** Decodes a `-bin` header value (base64, either alphabet, padded or not). */
  decodeBase64: (value: string) => Uint8Array;
  /** Prepaid and free calls, when enabled; `price` replaces the metadata's price of `path` (dynamic pricing). */
  prepaid?: (path: string, p: PrepaidPayment, price?: () => Promise<bigint>) => Promise<Admission>;
  freeCall?: (path: string, p: FreeCallPayment) => Promise<Admission>;
}

/** The gate of a daemon with payments on. */
export function paymentGate(d: GateDeps): PaymentGate {
  return {
    async admit(request: PaidRequest) {
      const payment = parsePayment(request.metadata, d.decodeBase64);
      switch (payment.type) {
        case "escrow": {
          // A dynamic price is this call's price (asked once the payment is otherwise valid); the metadata's is not consulted.
          const dynamic = request.price;
          return admitEscrow(dynamic ? { ...d.escrow, price: () => dynamic() } : d.escrow, request.path, payment);
        }
        case "prepaid-call":
          if (!d.prepaid) throw prepaidNotEnabled();
          return d.prepaid(request.path, payment, request.price);
        case "free-call":
          if (!d.freeCall) throw freeCallsNotEnabled();
          return d.freeCall(request.path, payment);
      }
    },
  };
}
