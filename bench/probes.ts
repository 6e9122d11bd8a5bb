/**
 * One call before each fixed-body row, checked for gRPC status OK with a real client, so a row that
 * would measure nothing but refusals fails loudly instead of reporting a fast error path.
 */
import http2 from "node:http2";
import { decodeFrames, TRAILER_FLAG } from "../src/core/grpc-frames.ts";

/** Native gRPC over h2c; throws unless the call ends with grpc-status 0. */
export async function probeGrpc(target: string, path: string, body: Uint8Array): Promise<void> {
  const session = http2.connect(`http://${target}`);
  session.on("error", () => {});
  try {
    const { status, message } = await new Promise<{ status: string; message: string }>((resolve, reject) => {
      const req = session.request({
        ":method": "POST",
        ":path": path,
        "content-type": "application/grpc",
        te: "trailers",
      });
      let found: { status: string; message: string } | undefined;
      const note = (h: http2.IncomingHttpHeaders) => {
        if (h["grpc-status"] !== undefined)
          found = { status: String(h["grpc-status"]), message: decodeURIComponent(String(h["grpc-message"] ?? "")) };
      };
      req.on("response", note);
      req.on("trailers", note);
      req.on("data", () => {});
      req.on("error", reject);
      req.on("close", () => resolve(found ?? { status: "none", message: `stream closed with code ${req.rstCode}` }));
      req.end(Buffer.from(body));
    });
    if (status !== "0")
      throw new Error(
        `Probe call '${path}' on '${target}' ended with grpc-status '${status}' ('${message}'), expected '0'`,
      );
  } finally {
    session.close();
  }
}

/** gRPC-Web over HTTP/1.1; the status is in the trailer frame of the body (protocol/headers.md#grpc-web). */
export async function probeGrpcWeb(target: string, path: string, body: Uint8Array): Promise<void> {
  const response = await fetch(`http://${target}${path}`, {
    method: "POST",
    headers: { "content-type": "application/grpc-web+proto", "x-grpc-web": "1" },
    body: new Uint8Array(body),
  });
  const frames = decodeFrames(new Uint8Array(await response.arrayBuffer()));
  const trailer = frames.find((f) => f.flag & TRAILER_FLAG);
  const text = trailer ? new TextDecoder().decode(trailer.payload) : "";
  const status = /grpc-status:\s*(\d+)/i.exec(text)?.[1];
  if (response.status !== 200 || status !== "0") {
    throw new Error(
      `Probe gRPC-Web call '${path}' on '${target}' answered HTTP ${response.status} with trailers '${text.trim()}', expected grpc-status '0'`,
    );
  }
}
