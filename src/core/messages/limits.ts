/**
 * Catalogue: what a client is told when the listener cuts it for exceeding a limit of the daemon port
 * (protocol/operations.md#listener-limits). These travel as HTTP/1.1 response bodies or HTTP/2 GOAWAY debug
 * data, not as gRPC statuses: no call exists yet when they are sent. Each names the config key to raise.
 */

/** HTTP/1.1 408: the request's headers were not complete in time (slowloris). */
export const headersTooSlow = (ms: number) => `request headers not received within ${ms} ms (headers_timeout)`;

/** HTTP/1.1 431: the request line and headers together are over the limit. */
export const headersTooLarge = (max: number) => `request headers larger than ${max} bytes (max_header_list_bytes)`;

/** HTTP/1.1 400: bytes that do not parse as an HTTP/1.1 request; `code` is the parser's error code. */
export const malformedHttpRequest = (code: string) => `malformed HTTP/1.1 request (${code})`;

/** HTTP 413: a plain HTTP endpoint's request body is over the limit. */
export const httpBodyTooLarge = (max: number) => `request body larger than ${max} bytes (max_http_body_bytes)`;

/** HTTP/2 GOAWAY debug data: the connection opened no call within the headers timeout. */
export const noRequestInTime = (ms: number) => `no complete request within ${ms} ms (headers_timeout)`;

/** HTTP/2 GOAWAY debug data: the connection had no call in progress for the idle timeout. */
export const connectionIdle = (ms: number) => `no call for ${ms} ms (idle_timeout)`;
