/** CORS for browsers (snet-sdk-web): permissive, no credentials (protocol/headers.md#cors). */

export const EXPOSED_HEADERS =
  "grpc-status, grpc-message, grpc-encoding, grpc-accept-encoding, grpc-timeout, grpc-status-details-bin, x-grpc-web, Retry-After";

/** CORS headers of a response; `exposeAlso` adds response header names a page may read (Connect metadata). */
export function corsHeaders(origin: string | undefined, exposeAlso: readonly string[] = []): Record<string, string> {
  return {
    "access-control-allow-origin": origin || "*",
    "access-control-expose-headers": exposeAlso.length
      ? `${EXPOSED_HEADERS}, ${exposeAlso.join(", ")}`
      : EXPOSED_HEADERS,
    vary: "Origin",
  };
}

export function preflightHeaders(
  requestHeaders: Record<string, string | string[] | undefined>,
): Record<string, string> {
  const origin = requestHeaders.origin as string | undefined;
  const out: Record<string, string> = {
    ...corsHeaders(origin),
    "access-control-allow-methods": "GET, POST, OPTIONS, HEAD",
    "access-control-allow-headers": (requestHeaders["access-control-request-headers"] as string | undefined) || "*",
    "access-control-max-age": "86400",
  };
  if (requestHeaders["access-control-request-private-network"]) out["access-control-allow-private-network"] = "true";
  return out;
}
