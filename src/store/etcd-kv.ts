/**
 * The store contract's reads and commits as etcd KV requests: Range (one key, or a prefix in pages read
 * at one revision) and Txn (compares on mod revision, puts with leases, deletes). Keys live under the
 * store's namespace; keys and values are UTF-8 text.
 */
import { create } from "@bufbuild/protobuf";
import type { KeyValue } from "../gen/etcd/kv_pb.ts";
import {
  Compare_CompareResult,
  Compare_CompareTarget,
  KV,
  RangeRequestSchema,
  type RequestOp,
  RequestOpSchema,
  type TxnRequest,
  TxnRequestSchema,
} from "../gen/etcd/rpc_pb.ts";
import type { CommitResult, Entry, Transaction } from "./contract.ts";
import type { EtcdClient } from "./etcd-client.ts";
import { EtcdRequestError, GrpcStatus } from "./etcd-errors.ts";

/** Keys per Range page of a list. */
const PAGE = 500n;
const NUL = new Uint8Array([0]);
const decoder = new TextDecoder();

/** The smallest key greater than every key starting with `prefix`; etcd's "\0" means "to the end". */
export function prefixEnd(prefix: Uint8Array): Buffer {
  const end = Buffer.from(prefix);
  for (let i = end.length - 1; i >= 0; i--) {
    if (end[i]! < 0xff) {
      end[i]!++;
      return end.subarray(0, i + 1);
    }
  }
  return Buffer.from([0]);
}

/** The etcd range of keys under `prefix`; an empty prefix is the whole keyspace (key and end "\0"). */
export function keyRange(prefix: Uint8Array): { key: Uint8Array; end: Uint8Array } {
  return prefix.length === 0 ? { key: NUL, end: NUL } : { key: prefix, end: prefixEnd(prefix) };
}

/** How the store's text keys map to etcd's bytes under a namespace, and etcd's records back to entries. */
export interface Keyspace {
  toKey(key: string): Uint8Array;
  fromKey(raw: Uint8Array): string;
  entry(kv: KeyValue): Entry;
}

/** The keyspace under `namespace` (may be empty). */
export function keyspace(namespace: string): Keyspace {
  const skip = Buffer.byteLength(namespace, "utf8");
  const fromKey = (raw: Uint8Array) => decoder.decode(raw.subarray(skip));
  return {
    toKey: (key) => Buffer.from(namespace + key, "utf8"),
    fromKey,
    entry: (kv) => ({
      key: fromKey(kv.key),
      value: decoder.decode(kv.value),
      version: kv.modRevision,
      ...(kv.lease !== 0n ? { lease: kv.lease } : {}),
    }),
  };
}

/** The entry at `key`, or undefined (a linearizable read). */
export async function getOne(
  client: EtcdClient,
  ks: Keyspace,
  key: string,
  deadline: number,
): Promise<Entry | undefined> {
  const res = await client.unary(KV.method.range, create(RangeRequestSchema, { key: ks.toKey(key) }), {
    deadline,
    resend: true,
  });
  const kv = res.kvs[0];
  return kv ? ks.entry(kv) : undefined;
}

/** Every entry under `prefix` in key order, as one snapshot: later pages read at the first page's revision. */
export async function listPrefix(client: EtcdClient, ks: Keyspace, prefix: string, deadline: number): Promise<Entry[]> {
  let { key, end } = keyRange(ks.toKey(prefix));
  const out: Entry[] = [];
  let revision = 0n;
  for (;;) {
    const res = await client.unary(
      KV.method.range,
      create(RangeRequestSchema, { key, rangeEnd: end, limit: PAGE, revision }),
      { deadline, resend: true },
    );
    if (revision === 0n) revision = res.header?.revision ?? 0n;
    for (const kv of res.kvs) out.push(ks.entry(kv));
    const last = res.kvs.at(-1);
    if (!res.more || !last) return out;
    key = Buffer.concat([last.key, NUL]);
  }
}

/** The etcd Txn of a store transaction: compares on mod revision, then its puts and deletes. */
function txnRequest(ks: Keyspace, txn: Transaction): TxnRequest {
  const success: RequestOp[] = txn.then.map((op) =>
    create(
      RequestOpSchema,
      op.op === "delete"
        ? { request: { case: "requestDeleteRange", value: { key: ks.toKey(op.key) } } }
        : {
            request: {
              case: "requestPut",
              value: { key: ks.toKey(op.key), value: Buffer.from(op.value, "utf8"), lease: op.lease ?? 0n },
            },
          },
    ),
  );
  return create(TxnRequestSchema, {
    compare: txn.compare.map((c) => ({
      key: ks.toKey(c.key),
      target: Compare_CompareTarget.MOD,
      result: Compare_CompareResult.EQUAL,
      targetUnion: { case: "modRevision" as const, value: c.version },
    })),
    success,
  });
}

/**
 * Applies `txn` as one etcd Txn iff every compare on mod revision holds; whether it did and the revision it
 * wrote at. Never resent once sent.
 */
export async function commitTxn(
  client: EtcdClient,
  ks: Keyspace,
  txn: Transaction,
  deadline: number,
): Promise<CommitResult> {
  const res = await client.unary(KV.method.txn, txnRequest(ks, txn), { deadline, resend: false });
  return { succeeded: res.succeeded, revision: res.header?.revision ?? 0n };
}

/**
 * Applies each of `txns` iff its own compares hold, all in one etcd Txn of nested Txns (etcd-batch.ts: their
 * keys are all different); one result per transaction, in order. Never resent once sent.
 */
export async function commitTxns(
  client: EtcdClient,
  ks: Keyspace,
  txns: readonly Transaction[],
  deadline: number,
): Promise<CommitResult[]> {
  const request = create(TxnRequestSchema, {
    success: txns.map((t) => create(RequestOpSchema, { request: { case: "requestTxn", value: txnRequest(ks, t) } })),
  });
  const res = await client.unary(KV.method.txn, request, { deadline, resend: false });
  // Every nested write of one Txn is at the Txn's revision.
  const revision = res.header?.revision ?? 0n;
  return txns.map((_, i) => {
    const r = res.responses[i]?.response;
    if (r?.case !== "responseTxn") {
      const facts = { endpoint: client.where, sent: true, status: GrpcStatus.INTERNAL };
      throw new EtcdRequestError(
        `etcd at ${client.where} answered a batch of ${txns.length} transactions without a result for each`,
        facts,
      );
    }
    return { succeeded: r.value.succeeded, revision };
  });
}
