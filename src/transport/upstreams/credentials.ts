/**
 * `service_credentials` of HTTP services (protocol/upstreams.md#service-credentials): values the daemon adds to each
 * request in a header, the query string or the JSON body. Body values replace a same-named message field.
 */
import { credentialsBadLocation, credentialsEmptyKey } from "../../core/messages/upstreams.ts";
import type { GoJsonValue } from "./go-json.ts";

export interface ServiceCredential {
  readonly key: string;
  readonly value: unknown;
  readonly location: string;
}

/** The reference's start-up check: its text for the first bad entry, undefined when all are valid. */
export function checkCredentials(list: readonly ServiceCredential[]): string | undefined {
  for (const c of list) {
    if (c.location !== "body" && c.location !== "header" && c.location !== "query") return credentialsBadLocation();
    if (c.key === "") return credentialsEmptyKey();
  }
  return undefined;
}

/**
 * Header and query values must be text; numbers and booleans are sent as their text (the reference
 * silently drops them, which leaves a provider wondering why its key never arrives); other kinds
 * (objects, lists, null) are left out of headers and queries, as in the reference.
 */
function asText(value: unknown): string | undefined {
  if (typeof value === "string") return value;
  if (typeof value === "number" || typeof value === "boolean" || typeof value === "bigint") return String(value);
  return undefined;
}

export function applyCredentials(
  list: readonly ServiceCredential[],
  target: { url: URL; headers: Headers; body: { [key: string]: GoJsonValue } },
): void {
  for (const c of list) {
    if (c.location === "body") {
      target.body[c.key] = c.value as GoJsonValue;
      continue;
    }
    const text = asText(c.value);
    if (text === undefined) continue;
    if (c.location === "header") target.headers.set(c.key, text);
    else if (c.location === "query") target.url.searchParams.append(c.key, text);
  }
}
