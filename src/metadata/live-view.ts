/**
 * The metadata a running daemon serves, swappable without a restart (protocol/operations.md#metadata-reload): readers take
 * `current()` on every use (the paid-call path reads the group's pricing through it), and a new version
 * replaces the old one in one assignment, so a call sees either the old documents or the new ones, never
 * a mix. A new version that changes what cannot change under running calls (say, the group id) is
 * refused by the `restartNeeded` rule the daemon gives, and the old one stays.
 */
import type { DaemonGroup, OrgMetadata, ServiceMetadata } from "./model.ts";

export interface MetadataSnapshot {
  group: DaemonGroup;
  org: OrgMetadata;
  service: ServiceMetadata;
}

export type OfferResult =
  | { status: "unchanged" }
  | { status: "applied"; changes: string[] }
  | { status: "refused"; reason: string };

export interface MetadataView {
  current(): MetadataSnapshot;
  /** Swaps in `next` when it differs from the current documents and needs no restart. */
  offer(next: MetadataSnapshot): OfferResult;
  /** Runs after each swap, with the new and the previous snapshot; returns an unsubscribe function. */
  onChange(listener: (next: MetadataSnapshot, previous: MetadataSnapshot) => void): () => void;
}

const json = (value: unknown) =>
  JSON.stringify(value, (_k, v: unknown) =>
    typeof v === "bigint"
      ? `${v}n`
      : v instanceof Map
        ? Object.fromEntries(v)
        : v instanceof Uint8Array
          ? Array.from(v)
          : v,
  );

/** What differs between two groups, one short phrase per field, for the log line of a swap. */
export function groupChanges(before: DaemonGroup, after: DaemonGroup): string[] {
  const out: string[] = [];
  for (const k of Object.keys({ ...before, ...after }) as (keyof DaemonGroup)[]) {
    if (json(before[k]) !== json(after[k])) out.push(`${k}: ${describe(before[k])} → ${describe(after[k])}`);
  }
  return out;
}

function describe(v: unknown): string {
  if (v === undefined) return "none";
  if (typeof v === "object" && v !== null && "model" in v) {
    const p = v as { model: string; priceInCogs?: bigint; methods?: ReadonlyMap<string, bigint> };
    if (p.priceInCogs !== undefined) return `${p.model} ${p.priceInCogs} cogs`;
    return `${p.model} {${[...(p.methods ?? new Map()).entries()].map(([m, c]) => `${m}: ${c}`).join(", ")}}`;
  }
  return typeof v === "string" ? `"${v}"` : json(v);
}

/** A view holding `initial`; `restartNeeded` says why a new snapshot cannot be applied live, if it cannot. */
export function createMetadataView(
  initial: MetadataSnapshot,
  restartNeeded: (before: MetadataSnapshot, after: MetadataSnapshot) => string | undefined = () => undefined,
): MetadataView {
  let snapshot = initial;
  let documents = json([initial.org, initial.service]);
  const listeners = new Set<(next: MetadataSnapshot, previous: MetadataSnapshot) => void>();
  return {
    current: () => snapshot,
    offer(next) {
      const nextDocuments = json([next.org, next.service]);
      if (nextDocuments === documents) return { status: "unchanged" };
      const why = restartNeeded(snapshot, next);
      if (why) return { status: "refused", reason: why };
      const previous = snapshot;
      snapshot = next;
      documents = nextDocuments;
      for (const l of listeners) l(next, previous);
      const changes = groupChanges(previous.group, next.group);
      return {
        status: "applied",
        changes: changes.length > 0 ? changes : ["documents changed; nothing the daemon uses"],
      };
    },
    onChange(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
  };
}
