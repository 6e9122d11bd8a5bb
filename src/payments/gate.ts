/** The payment gate: reads the payment type of a proxied call and hands it to the right admission. */
import { Code, SnetError } from "../core/errors.ts";
import { type Payment, parsePayment } from "../core/payment-headers.ts";
import type { PaymentGate } from "../daemon.ts";
import { decodeBinaryHeader } from "../transport/metadata.ts";
import type { Admission } from "../transport/proxy.ts";
import { type EscrowDeps, admitEscrow } from "./escrow-gate.ts";

export interface GateDeps {
  escrow: EscrowDeps;
  /** Prepaid and free calls, when enabled. */
  prepaid?: (path: string, p: Extract<Payment, { type: "prepaid-call" }>) => Promise<Admission>;
  freeCall?: (path: string, p: Extract<Payment, { type: "free-call" }>) => Promise<Admission>;
}

export function paymentGate(d: GateDeps): PaymentGate {
  return {
    async admit(call) {
      const payment = parsePayment(call.metadata, decodeBinaryHeader);
      switch (payment.type) {
        case "escrow":
          return admitEscrow(d.escrow, call.path, payment);
        case "prepaid-call":
          if (!d.prepaid) throw new SnetError(Code.UNIMPLEMENTED, "prepaid-call payments are not enabled on this daemon");
          return d.prepaid(call.path, payment);
        case "free-call":
          if (!d.freeCall) throw new SnetError(Code.UNAUTHENTICATED, "free calls are not enabled on this daemon");
          return d.freeCall(call.path, payment);
      }
    },
  };
}
