/**
 * `passthrough_enabled: false`: the daemon answers every proxied call itself with the request's own
 * messages (the reference's loopback test mode), after payment, without any service behind it.
 */

import type { Admission } from "../core/admission.ts";
import type { ServerCall } from "./call.ts";

export async function loopbackCall(call: ServerCall, admission: Admission): Promise<void> {
  call.sendHeaders({ "content-type": "application/grpc" });
  await new Promise<void>((resolve) => {
    call.body.on("data", (chunk: Buffer) => call.write(chunk));
    call.body.on("end", resolve);
    call.body.on("error", resolve);
  });
  await admission.settle(!call.finished);
  call.finish({ "grpc-status": "0" });
}
