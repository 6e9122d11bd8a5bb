/**
 * Watches of a key prefix over etcd's Watch stream, one stream per watcher. The watch starts at the
 * revision etcd reports when it is created, so every change after `watch()` resolves is delivered, in
 * revision order. A stream that breaks (member restarted, connection lost, leader lost) is opened again,
 * on the next endpoint if need be, from the last revision seen + 1, so nothing is missed or repeated; if
 * etcd compacted that history meanwhile, the listener hears `compacted` and the watch goes on from the
 * oldest revision left.
 */
import { create } from "@bufbuild/protobuf";
import { Event_EventType } from "../gen/etcd/kv_pb.ts";
import {
  WatchRequestSchema as RequestSchema,
  Watch,
  type WatchRequestSchema,
  type WatchResponse,
} from "../gen/etcd/rpc_pb.ts";
import type { WatchEvent, Watcher } from "./contract.ts";
import type { BidiStream, EtcdClient } from "./etcd-client.ts";
import { EtcdRequestError } from "./etcd-errors.ts";
import { type Keyspace, keyRange } from "./etcd-kv.ts";
import type { Bounded } from "./etcd-lease.ts";

export interface WatchDeps {
  client: EtcdClient;
  ks: Keyspace;
  bounded: Bounded;
  /** Bound on opening a stream again after a break. */
  requestTimeoutMs: number;
  log?: { warn(message: string): void } | undefined;
}

const FIRST_RETRY_MS = 100;
const MAX_RETRY_MS = 2_000;

/** Watches every key under `prefix`; resolves once etcd has created the watch. */
export async function watchPrefix(
  deps: WatchDeps,
  prefix: string,
  listener: (event: WatchEvent) => void,
): Promise<Watcher> {
  const { client, ks } = deps;
  const { key, end } = keyRange(ks.toKey(prefix));
  /** The first revision not yet delivered; 0 until etcd created the watch ("from now"). */
  let next = 0n;
  let stream: BidiStream<typeof WatchRequestSchema> | undefined;
  let latest: object | undefined;
  let closed = false;
  let retryMs = FIRST_RETRY_MS;
  let retryTimer: ReturnType<typeof setTimeout> | undefined;
  let created: (() => void) | undefined;
  let failed: ((err: EtcdRequestError) => void) | undefined;

  const deliver = (event: WatchEvent) => {
    try {
      listener(event);
    } catch (err) {
      deps.log?.warn(`a listener of the etcd watch on "${prefix}" failed: ${(err as Error).message}`);
    }
  };

  const onResponse = (res: WatchResponse) => {
    if (closed) return;
    if (res.created && next === 0n) next = (res.header?.revision ?? 0n) + 1n;
    if (res.created) {
      retryMs = FIRST_RETRY_MS;
      created?.();
    }
    if (res.canceled) {
      stream?.close();
      stream = undefined;
      if (res.compactRevision > 0n) {
        next = res.compactRevision;
        deliver({ type: "compacted", revision: res.compactRevision });
        return void open();
      }
      deps.log?.warn(
        `etcd cancelled the watch on "${prefix}" at ${client.where}: ${res.cancelReason || "no reason given"}`,
      );
      return retry();
    }
    for (const ev of res.events) {
      const kv = ev.kv;
      if (!kv) continue;
      deliver(
        ev.type === Event_EventType.DELETE
          ? { type: "delete", key: ks.fromKey(kv.key) }
          : { type: "put", entry: ks.entry(kv) },
      );
      next = kv.modRevision + 1n;
    }
    // A progress notification: every change up to this revision has been delivered.
    if (!res.created && res.events.length === 0 && res.header && res.header.revision >= next)
      next = res.header.revision + 1n;
  };

  const onEnd = (err: EtcdRequestError | undefined) => {
    if (closed || err === undefined) return;
    stream = undefined;
    if (next === 0n) failed?.(err);
    else retry();
  };

  const retry = () => {
    if (closed || retryTimer) return;
    retryTimer = setTimeout(() => {
      retryTimer = undefined;
      void open();
    }, retryMs);
    retryMs = Math.min(retryMs * 2, MAX_RETRY_MS);
  };

  const open = async (deadline = Date.now() + deps.requestTimeoutMs): Promise<void> => {
    if (closed) return;
    try {
      // Only the newest stream speaks: a late word from one already replaced must not move `next` or retry.
      const attempt = {};
      latest = attempt;
      const s = await client.stream(
        Watch.method.watch,
        { message: (res) => latest === attempt && onResponse(res), end: (err) => latest === attempt && onEnd(err) },
        deadline,
      );
      if (closed) return s.close();
      stream = s;
      const createRequest = { key, rangeEnd: end, startRevision: next, progressNotify: true };
      s.send(create(RequestSchema, { requestUnion: { case: "createRequest", value: createRequest } }));
    } catch (err) {
      if (next === 0n) failed?.(err as EtcdRequestError);
      else retry();
    }
  };

  const watcher: Watcher = {
    close() {
      closed = true;
      clearTimeout(retryTimer);
      stream?.close();
      stream = undefined;
    },
  };
  await deps.bounded(
    `watch "${prefix}"`,
    false,
    (deadline) =>
      new Promise<void>((resolve, reject) => {
        const timer = setTimeout(
          () =>
            failed?.(
              new EtcdRequestError("no answer before the deadline", {
                endpoint: client.where,
                sent: true,
                timedOut: true,
              }),
            ),
          Math.max(0, deadline - Date.now()),
        );
        const settle = () => {
          clearTimeout(timer);
          created = undefined;
          failed = undefined;
        };
        created = () => {
          settle();
          resolve();
        };
        failed = (err) => {
          settle();
          watcher.close();
          reject(err);
        };
        void open(deadline);
      }),
  );
  return watcher;
}
