/**
 * What the operator dashboard shows, as one value the daemon assembles on request (`snapshot()`), and its
 * JSON form: money, block numbers and channel ids are bigints in the daemon and decimal strings on the
 * wire, so no amount is rounded by a browser's 53-bit numbers.
 */

export type HealthState = "up" | "down" | "warning" | "off";

export interface DependencyHealth {
  /** "service", "chain", "store", "ipfs", "tls"… */
  name: string;
  state: HealthState;
  detail: string;
  /** When the state last changed (ISO 8601), if known. */
  since?: string;
}

export interface ChannelRow {
  id: bigint;
  sender: string;
  /** Signed for and not yet claimed, in cogs. */
  unclaimedCogs: bigint;
  expiration: bigint;
  nonce: bigint;
}

export interface ClaimRow {
  /** ISO 8601. */
  at: string;
  channelIds: bigint[];
  amountCogs: bigint;
  /** Transaction hash, when submitted. */
  tx?: string;
  status: "submitted" | "mined" | "failed";
  detail?: string;
}

export interface RefusalRow {
  reason: string;
  count: number;
  /** ISO 8601 of the latest. */
  last: string;
}

export interface DashboardSnapshot {
  /** ISO 8601, when assembled. */
  at: string;
  daemon: { organization_id: string; service_id: string; group: string; version: string; started_at: string };
  health: DependencyHealth[];
  calls: {
    /** Calls served in each of the last minutes, oldest first, the current (partial) minute last. */
    perMinute: number[];
    inFlight: number;
    total: number;
  };
  earnings: { earnedCogs: bigint; unclaimedCogs: bigint; claimedCogs: bigint };
  /** Chain head, to show how far each channel is from expiry. */
  currentBlock?: bigint;
  channels: ChannelRow[];
  claims: ClaimRow[];
  refusals: RefusalRow[];
  tls?: { source: string; notAfter: string; names: string[] };
}

/** JSON text of a snapshot: bigints as decimal strings. */
export function snapshotJson(s: DashboardSnapshot): string {
  return JSON.stringify(s, (_k, v: unknown) => (typeof v === "bigint" ? v.toString() : v));
}
