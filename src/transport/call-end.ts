/**
 * How a paid call ends, shared by the proxy and the unary bridge: the admission is settled exactly once
 * (whichever of the service's answer, a local error or the client's cancel comes first), and a failure
 * gives the charge back before the client hears the error.
 */
import type { Admission } from "../core/admission.ts";
import type { SnetError } from "../core/errors.ts";
import type { ServerCall } from "./call.ts";
import { statusTrailers } from "./status.ts";

export interface CallEnd {
  /** Keeps (`ok`) or gives back the charge; calls after the first do nothing. */
  settle(ok: boolean): Promise<void>;
  /** Gives the charge back, then ends the call with `err`'s status. */
  fail(err: SnetError): Promise<void>;
}

/** The end of `call`, paid by `admission`. */
export function callEnd(call: ServerCall, admission: Admission): CallEnd {
  let settled = false;
  const settle = async (ok: boolean) => {
    if (settled) return;
    settled = true;
    await admission.settle(ok);
  };
  return {
    settle,
    async fail(err) {
      await settle(false);
      call.finish(statusTrailers(err));
    },
  };
}
