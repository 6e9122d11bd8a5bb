/**
 * Registry events that change this daemon's metadata (protocol/operations.md#metadata-reload): `OrganizationModified(orgId)` and
 * `ServiceMetadataModified(orgId, serviceId, uri)` for our ids, found by polling `eth_getLogs` with a block
 * cursor (no WebSocket needed; the reference's subscription crashed, protocol/reference-differences.md#d34).
 *
 * Reorg-safe by design rather than by bookkeeping: every poll re-scans the last `overlapBlocks` blocks, so
 * an event that a reorg moved to another block is still seen, and an event is only a hint — the caller
 * re-reads the Registry's current URIs and compares documents, so a hint from an orphaned block, or the
 * same event seen twice, changes nothing. The first poll starts `overlapBlocks` back, covering changes
 * made between the start-up read and the watch.
 */
import { type Address, type Hex, numberToHex, type PublicClient, toEventSelector } from "viem";
import { orgIdToBytes32, serviceIdToBytes32 } from "./registry.ts";

const ORGANIZATION_MODIFIED = toEventSelector("OrganizationModified(bytes32)");
const SERVICE_METADATA_MODIFIED = toEventSelector("ServiceMetadataModified(bytes32,bytes32,bytes)");
/** Logs asked for per request at most; a watcher far behind catches up in steps. */
const MAX_RANGE = 5_000n;

export interface RegistryWatchOptions {
  client: Pick<PublicClient, "getBlockNumber" | "request">;
  registry: Address;
  orgId: string;
  serviceId: string;
  intervalMs: number;
  /** Blocks re-scanned on every poll; default 12. */
  overlapBlocks?: number;
  /** A matching event was seen: `what` says which and in which block. */
  onEvent: (what: string) => void;
  onError?: (err: unknown) => void;
}

export interface RegistryWatch {
  /** Polls now (tests, SIGHUP); resolves when the poll is done. */
  pollNow(): Promise<void>;
  stop(): void;
}

interface RawLog {
  topics: Hex[];
  blockNumber: Hex | null;
  blockHash: Hex | null;
  logIndex: Hex | null;
  removed?: boolean;
}

/** Polls the Registry's logs every `intervalMs` and reports the events of our organization and service. */
export function watchRegistryEvents(o: RegistryWatchOptions): RegistryWatch {
  const overlap = BigInt(o.overlapBlocks ?? 12);
  const org32 = orgIdToBytes32(o.orgId).toLowerCase();
  const service32 = serviceIdToBytes32(o.serviceId).toLowerCase();
  /** Logs already reported (block hash + index), by block number, so the overlap does not repeat them. */
  const seen = new Map<string, bigint>();
  let cursor: bigint | undefined;
  let running: Promise<void> | undefined;
  let stopped = false;

  const scan = async (from: bigint, to: bigint) => {
    const logs = (await o.client.request({
      method: "eth_getLogs",
      params: [
        {
          address: o.registry,
          fromBlock: numberToHex(from),
          toBlock: numberToHex(to),
          topics: [[ORGANIZATION_MODIFIED, SERVICE_METADATA_MODIFIED], org32 as Hex],
        },
      ],
    })) as unknown as RawLog[];
    for (const log of logs) {
      if (log.removed) continue;
      const [topic0, , topic2] = log.topics.map((t) => t.toLowerCase());
      const isService = topic0 === SERVICE_METADATA_MODIFIED;
      if (isService && topic2 !== service32) continue;
      const id = `${log.blockHash}:${log.logIndex}`;
      if (seen.has(id)) continue;
      const block = log.blockNumber ? BigInt(log.blockNumber) : to;
      seen.set(id, block);
      o.onEvent(`${isService ? "ServiceMetadataModified" : "OrganizationModified"} in block ${block}`);
    }
  };

  const poll = async () => {
    const head = await o.client.getBlockNumber({ cacheTime: 0 });
    // First poll, or a head behind the cursor (a reorg to a shorter chain, another node): step back.
    if (cursor === undefined || head < cursor) cursor = head > overlap ? head - overlap : 0n;
    let from = cursor + 1n > overlap ? cursor + 1n - overlap : 0n;
    while (from <= head) {
      const to = from + MAX_RANGE - 1n < head ? from + MAX_RANGE - 1n : head;
      await scan(from, to);
      cursor = to;
      from = to + 1n;
    }
    for (const [id, block] of seen) if (block + 2n * overlap < head) seen.delete(id);
  };

  const pollNow = () =>
    (running ??= poll()
      .catch((err) => o.onError?.(err))
      .finally(() => (running = undefined)));

  const timer = setInterval(
    () => {
      if (!stopped) void pollNow();
    },
    Math.max(100, o.intervalMs),
  );
  timer.unref?.();
  void pollNow();

  return {
    pollNow,
    stop() {
      stopped = true;
      clearInterval(timer);
    },
  };
}
