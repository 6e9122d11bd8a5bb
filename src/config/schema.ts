/**
 * The configuration schema: the key declarations of keys.ts validated as one object, then checked across
 * keys. `Config` is its output; `KEY_SPECS` and `GROUP_SPECS` walk the declarations for `init-config`, the
 * README reference table and the env-variable names.
 *
 * Leaves are `z.unknown()` plus a hand-written check (values.ts), because every problem must say the key, the
 * value given and what is expected (protocol/reference-differences.md#d32) — zod's generic messages do not.
 */
import { z } from "zod";
import { crossCheck } from "./cross-check.ts";
import { groupRegistry, type KeyMeta, keyRegistry } from "./key-builders.ts";
import { ConfigShape } from "./keys.ts";
import type { Address } from "./values.ts";

export type { ServiceCredential } from "./compound-values.ts";
export { groupRegistry, type KeyMeta, keyRegistry, type TextParse } from "./key-builders.ts";
export { PUBLIC_TOKEN_SECRET } from "./secret-values.ts";
export { type Address, type Hex, HIDDEN, parseDuration, parseHostPort } from "./values.ts";

export const ConfigSchema = ConfigShape.superRefine(
  (c, ctx) => {
    for (const p of crossCheck(c)) ctx.addIssue({ code: "custom", message: p.reason, path: p.path, params: p });
  },
  { when: () => true }, // report cross-key problems together with per-key ones
);

export type Config = z.output<typeof ConfigSchema>;

/** The configuration when nothing is set. */
export function defaultConfig(): Config {
  return ConfigSchema.parse({});
}

export interface KeySpec {
  /** Dotted path, e.g. `log.output.type`. */
  path: string;
  segments: string[];
  meta: KeyMeta;
}
export interface GroupSpec {
  path: string;
  segments: string[];
  description: string;
  /** Child names in declaration order. */
  children: string[];
}

function walk(shape: Record<string, z.core.$ZodType>, prefix: string[], keys: KeySpec[], groups: GroupSpec[]) {
  for (const [name, schema] of Object.entries(shape)) {
    const segments = [...prefix, name];
    const meta = keyRegistry.get(schema);
    if (meta) {
      keys.push({ path: segments.join("."), segments, meta });
      continue;
    }
    const g = groupRegistry.get(schema);
    if (!g || !(schema instanceof z.ZodPrefault) || !(schema.unwrap() instanceof z.ZodObject)) {
      throw new Error(`config schema entry "${segments.join(".")}" is neither a key nor a group`);
    }
    const inner = (schema.unwrap() as z.ZodObject).shape;
    groups.push({ path: segments.join("."), segments, description: g.description, children: Object.keys(inner) });
    walk(inner, segments, keys, groups);
  }
}

const keys: KeySpec[] = [];
const groups: GroupSpec[] = [];
walk(ConfigShape.shape, [], keys, groups);
/** Every key in declaration order. */
export const KEY_SPECS: readonly KeySpec[] = keys;
export const GROUP_SPECS: readonly GroupSpec[] = groups;
export const KEYS_BY_PATH: ReadonlyMap<string, KeySpec> = new Map(keys.map((k) => [k.path, k]));
export const GROUPS_BY_PATH: ReadonlyMap<string, GroupSpec> = new Map([
  ["", { path: "", segments: [], description: "", children: Object.keys(ConfigShape.shape) }],
  ...groups.map((g) => [g.path, g] as const),
]);

/**
 * Networks we know defaults for; any other name works with a
 * configured Registry (protocol/reference-differences.md#d33).
 */
export const KNOWN_NETWORKS = {
  main: { chainId: 1n, registry: "0x247debebb766e4fa99667265a158060018d5f4f8" },
  sepolia: { chainId: 11155111n, registry: "0x4dcc70c6fce4064803f0ae0ce48497b3f7182e5d" },
} as const satisfies Record<string, { chainId: bigint; registry: Address }>;
