/**
 * Organization and service metadata documents (protocol/metadata.md): lossless parsing,
 * validation, and the one group the daemon serves (`selectGroup`).
 *
 * Integers that can exceed 2^53 (`price_in_cogs`, `payment_expiration_threshold`, `free_calls`) must
 * not pass through a double (protocol/reference-differences.md#d23), so documents are parsed with every
 * integer literal as a bigint.
 */
import { z } from "zod";
import { MetadataError } from "../core/errors.ts";
import { buildPricing, type Pricing } from "./pricing.ts";

// ---------------------------------------------------------------------------------------------------
// Lossless JSON

const INTEGER_LITERAL = /^-?(0|[1-9][0-9]*)$/;
/** JSON.parse source text access (TC39 stage 3; Bun, Node ≥ 21, Deno, V8 ≥ 11.4). */
const HAS_SOURCE_ACCESS = JSON.parse("1", (_k, v, ctx?: { source?: string }) => ctx?.source === "1" && v === 1);

/**
 * JSON.parse, except that every integer literal becomes a bigint (non-integers stay numbers).
 *
 * @example parseJsonLossless('{"a":18446744073709551617}') // { a: 18446744073709551617n }
 */
export function parseJsonLossless(text: string): unknown {
  return JSON.parse(text, (_key, value: unknown, context?: { source?: string }) => {
    if (typeof value !== "number") return value;
    if (HAS_SOURCE_ACCESS) {
      const source = context?.source ?? "";
      return INTEGER_LITERAL.test(source) ? BigInt(source) : value;
    }
    if (!Number.isInteger(value)) return value;
    if (Number.isSafeInteger(value)) return BigInt(value);
    throw new RangeError(`integer ${value} is beyond 2^53 and this runtime cannot read it exactly`);
  });
}

// ---------------------------------------------------------------------------------------------------
// Field schemas

/** A value for a message; documents are read with every integer as a bigint, nested ones included. */
const shownNumber = (x: unknown) =>
  typeof x !== "bigint" ? x : Number.isSafeInteger(Number(x)) ? Number(x) : x.toString();
const describe = (v: unknown) =>
  typeof v === "bigint" ? v.toString() : (JSON.stringify(v, (_k, x: unknown) => shownNumber(x)) ?? String(v));

/** Non-negative integer as bigint; also accepts a decimal string, as some tools write big numbers so. */
const uint = z.unknown().transform((v, ctx): bigint => {
  if (typeof v === "bigint" && v >= 0n) return v;
  if (typeof v === "string" && /^(0|[1-9][0-9]*)$/.test(v)) return BigInt(v);
  ctx.addIssue({ code: "custom", message: `expected a non-negative integer, got ${describe(v)}` });
  return z.NEVER;
});

const address = z
  .string()
  .regex(/^0x[0-9a-fA-F]{40}$/, {
    error: (i) => `expected a 0x-prefixed 20-byte hex address, got ${describe(i.input)}`,
  })
  .transform((a) => a.toLowerCase() as `0x${string}`);

/** group_id: standard base64 of 32 bytes (snet-cli writes 32 random bytes). */
const groupId = z
  .string()
  .regex(/^[A-Za-z0-9+/]{43}=$/, { error: (i) => `expected base64 of 32 bytes, got ${describe(i.input)}` });

const GO_DURATION_UNIT_MS: Record<string, number> = {
  ns: 1e-6,
  us: 1e-3,
  µs: 1e-3,
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
};

/** Go `time.Duration` text ("5s", "1m30s", "500ms") → milliseconds. */
const duration = z.string().transform((text, ctx): number => {
  if (text === "0") return 0;
  const parts = [...text.matchAll(/(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)/g)];
  if (parts.length === 0 || parts.map((p) => p[0]).join("") !== text) {
    ctx.addIssue({ code: "custom", message: `expected a duration such as "5s" or "500ms", got ${describe(text)}` });
    return z.NEVER;
  }
  return Math.round(parts.reduce((ms, p) => ms + Number(p[1]) * (GO_DURATION_UNIT_MS[p[2] ?? ""] ?? 0), 0));
});

// ---------------------------------------------------------------------------------------------------
// Documents (only the fields the daemon reads; the rest is dropped)

const OrgGroupSchema = z.object({
  group_name: z.string().min(1),
  group_id: groupId,
  payment: z.object({
    payment_address: address,
    payment_expiration_threshold: uint,
    payment_channel_storage_type: z.string().optional(),
    payment_channel_storage_client: z
      .object({
        connection_timeout: duration.optional(),
        request_timeout: duration.optional(),
        endpoints: z.array(z.string()).nullish(),
      })
      .optional(),
  }),
});

export const OrgMetadataSchema = z.object({
  org_id: z.string().optional(),
  org_name: z.string().optional(),
  groups: z.array(OrgGroupSchema),
});
export type OrgMetadata = z.output<typeof OrgMetadataSchema>;

const PricingEntrySchema = z.object({
  price_model: z.string(),
  price_in_cogs: uint.optional(),
  default: z.boolean().optional(),
  package_name: z.string().optional(),
  details: z
    .array(
      z.object({
        service_name: z.string().min(1),
        method_pricing: z.array(z.object({ method_name: z.string().min(1), price_in_cogs: uint })),
      }),
    )
    .optional(),
});

const ServiceGroupSchema = z.object({
  group_name: z.string().min(1),
  group_id: groupId.optional(),
  pricing: z.array(PricingEntrySchema),
  endpoints: z.array(z.string()).optional(),
  free_calls: uint.optional(),
  free_call_signer_address: z.union([z.literal(""), address]).optional(),
});

export const ServiceMetadataSchema = z.object({
  display_name: z.string().optional(),
  encoding: z.enum(["proto", "json"]).optional(),
  // Any text: `serve` refuses an unknown kind naming it (app/upstream-setup.ts); the tools do not care.
  service_type: z.string().optional(),
  mpe_address: address,
  service_api_source: z.string().optional(),
  model_ipfs_hash: z.string().optional(),
  groups: z.array(ServiceGroupSchema).min(1),
});
export type ServiceMetadata = z.output<typeof ServiceMetadataSchema>;

function pathText(path: readonly PropertyKey[]): string {
  let out = "";
  for (const p of path) out += typeof p === "number" ? `[${p}]` : `${out ? "." : ""}${String(p)}`;
  return out || "(document)";
}

function parseDocument<S extends z.ZodType>(schema: S, text: string | Uint8Array, doc: string): z.output<S> {
  let json: unknown;
  try {
    json = parseJsonLossless(typeof text === "string" ? text : new TextDecoder("utf-8", { fatal: true }).decode(text));
  } catch (err) {
    throw new MetadataError("invalid-document", `${doc} is not valid JSON: ${(err as Error).message}`, { cause: err });
  }
  const result = schema.safeParse(json);
  if (!result.success) {
    const problems = result.error.issues.map((i) => `${pathText(i.path)}: ${i.message}`).join("; ");
    throw new MetadataError("invalid-document", `${doc} is invalid: ${problems}`);
  }
  return result.data;
}

/**
 * `label` names the document in error messages, e.g. `organization metadata of "snet-test-org" from
 * "ipfs://Qm…"`.
 */
export function parseOrgMetadata(text: string | Uint8Array, label = "organization metadata"): OrgMetadata {
  return parseDocument(OrgMetadataSchema, text, label);
}

/** Also refuses a group without exactly one usable default pricing entry (protocol/payments.md#pricing). */
export function parseServiceMetadata(text: string | Uint8Array, label = "service metadata"): ServiceMetadata {
  const service = parseDocument(ServiceMetadataSchema, text, label);
  const problems: string[] = [];
  for (const g of service.groups) {
    try {
      buildPricing(g.pricing, `group "${g.group_name}"`);
    } catch (err) {
      problems.push((err as Error).message);
    }
  }
  if (problems.length > 0) throw new MetadataError("invalid-document", `${label} is invalid: ${problems.join("; ")}`);
  return service;
}

// ---------------------------------------------------------------------------------------------------
// The served group

export interface DaemonGroup {
  orgId: string;
  serviceId?: string;
  groupName: string;
  /** As written in org metadata: packed as text into free-call and JWT messages. */
  groupIdBase64: string;
  /** Decoded: compared with a channel's groupId and used in storage keys. */
  groupId: Uint8Array;
  paymentAddress: `0x${string}`;
  expirationThreshold: bigint;
  storageEndpoints: string[];
  storageConnectionTimeoutMs?: number;
  storageRequestTimeoutMs?: number;
  mpeAddress: `0x${string}`;
  encoding: "proto" | "json";
  serviceType: string;
  pricing: Pricing;
  freeCalls: bigint;
  freeCallSignerAddress?: `0x${string}`;
  /** `service_api_source`, else the legacy bare-CID `model_ipfs_hash`. */
  apiSource?: string;
}

const quoteList = (names: string[]) => (names.length ? names.map((n) => `"${n}"`).join(", ") : "none");

/**
 * The group named `groupName` (config `daemon_group_name`, exact match) from both documents.
 * `ids` are the configured organization_id / service_id; the org id defaults to the document's `org_id`.
 */
export function selectGroup(
  org: OrgMetadata,
  service: ServiceMetadata,
  groupName: string,
  ids: { orgId?: string; serviceId?: string } = {},
): DaemonGroup {
  const orgId = ids.orgId ?? org.org_id ?? "";
  const orgDoc = `organization metadata of "${orgId}"`;
  const serviceDoc = `service metadata of "${orgId}"/"${ids.serviceId ?? "?"}"`;
  const og = org.groups.find((g) => g.group_name === groupName);
  if (!og) {
    throw new MetadataError(
      "not-found",
      `group "${groupName}" not found in ${orgDoc}, available: ${quoteList(org.groups.map((g) => g.group_name))}; check daemon_group_name`,
    );
  }
  const sg = service.groups.find((g) => g.group_name === groupName);
  if (!sg) {
    throw new MetadataError(
      "not-found",
      `group "${groupName}" not found in ${serviceDoc}, available: ${quoteList(service.groups.map((g) => g.group_name))}; check daemon_group_name`,
    );
  }
  // snet-cli copies group_id from the org; a different one means clients would open channels to a group
  // the daemon refuses, so stop here rather than at the first call.
  if (sg.group_id !== undefined && sg.group_id !== og.group_id) {
    throw new MetadataError(
      "invalid-document",
      `group "${groupName}" has group_id "${og.group_id}" in ${orgDoc} but "${sg.group_id}" in ${serviceDoc}; ` +
        "republish the service metadata with the organization's group_id",
    );
  }
  let pricing: Pricing;
  try {
    pricing = buildPricing(sg.pricing, `group "${groupName}" of ${serviceDoc}`);
  } catch (err) {
    throw new MetadataError("invalid-document", (err as Error).message, { cause: err });
  }
  const storage = og.payment.payment_channel_storage_client;
  const apiSource = service.service_api_source || service.model_ipfs_hash || undefined;
  return {
    orgId,
    ...(ids.serviceId !== undefined && { serviceId: ids.serviceId }),
    groupName,
    groupIdBase64: og.group_id,
    groupId: Uint8Array.from(atob(og.group_id), (c) => c.charCodeAt(0)),
    paymentAddress: og.payment.payment_address,
    expirationThreshold: og.payment.payment_expiration_threshold,
    storageEndpoints: storage?.endpoints ?? [],
    // 0 is Go's zero value, i.e. "not set".
    ...(storage?.connection_timeout && { storageConnectionTimeoutMs: storage.connection_timeout }),
    ...(storage?.request_timeout && { storageRequestTimeoutMs: storage.request_timeout }),
    mpeAddress: service.mpe_address,
    encoding: service.encoding ?? "proto",
    serviceType: service.service_type ?? "grpc",
    pricing,
    freeCalls: sg.free_calls ?? 0n,
    ...(sg.free_call_signer_address && { freeCallSignerAddress: sg.free_call_signer_address }),
    ...(apiSource !== undefined && { apiSource }),
  };
}
