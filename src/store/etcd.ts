/**
 * The etcd backend of the store contract, shared by every replica of a group (protocol/state.md#etcd).
 *
 * A commit is one etcd transaction whose compares are on mod revisions: etcd reports a missing key with
 * mod revision 0, so `version: 0n` ("must not exist") is the same compare as any other. Every request
 * carries one absolute deadline (`requestTimeoutMs`), so a paid call never waits on etcd longer than
 * that, and every failure to reach a quorum surfaces as `StoreUnavailableError` naming the endpoints.
 *
 * Retries: a request that never reached a member (connection refused) moves to the next endpoint; reads
 * are also retried after mid-flight failures; a commit that may have reached etcd is never resent,
 * because a resent compare-and-swap would report `false` for a write that in fact happened.
 *
 * @example
 * const store = await etcdStore({ endpoints: ["http://127.0.0.1:2379"], namespace: "snetd/" });
 */
import { isIP } from "node:net";
import { Etcd3, type IOptions, type IRangeResponse, type IRequestOp, isRecoverableError, type Lease as EtcdLease } from "etcd3";
import { TIMED_OUT, etcdFailure, failoverPolicy, isBrokenCircuit, isDeadline } from "./etcd-errors.ts";
import { credentials } from "./etcd-tls.ts";
import { type Entry, type Lease, type Store, StoreUnavailableError, type Transaction } from "./contract.ts";

export interface EtcdStoreOptions {
  /** Client URLs, e.g. `http://127.0.0.1:2379`; all http or all https. */
  endpoints: string[];
  /** Bound on the first contact with the cluster at open. Default 5000. */
  connectionTimeoutMs?: number;
  /** Bound on every request, retries included. Default 3000. */
  requestTimeoutMs?: number;
  /** mTLS material (`payment_channel_cert_path`, `payment_channel_key_path`, `payment_channel_ca_path`). */
  tls?: {
    certPath?: string;
    keyPath?: string;
    caPath?: string;
    /** Name to expect in the server certificate instead of the endpoint's host (needed under Bun for IP endpoints). */
    serverName?: string;
  };
  /** Prefix added to every key in etcd, so several groups or tests can share one cluster. */
  namespace?: string;
}

/**
 * A lease of this store. `lost` turns true when etcd3 gives the lease up: etcd reports it expired or
 * revoked, or no renewal got through for two TTLs (an outage). Its keys are then gone or about to go,
 * and nothing renews it again; a holder must take a new lease (see payments/slots.ts).
 */
export interface EtcdStoreLease extends Lease {
  readonly lost: boolean;
}

export interface EtcdStoreDeps {
  log?: { warn(message: string): void };
}


const PAGE = 500;
/** The timer that backs the gRPC deadline fires a little later, in case a layer below ignores the deadline. */
const SAFETY_MARGIN_MS = 250;

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
const keyRange = (prefix: Buffer) => (prefix.length === 0 ? { key: Buffer.from([0]), end: Buffer.from([0]) } : { key: prefix, end: prefixEnd(prefix) });

/** Connects to etcd and checks that a member answers before returning the store. */
export async function etcdStore(opts: EtcdStoreOptions, deps: EtcdStoreDeps = {}): Promise<Store> {
  if (opts.endpoints.length === 0) throw new Error("etcd store needs at least one endpoint, got none");
  const requestTimeoutMs = opts.requestTimeoutMs ?? 3000;
  const connectionTimeoutMs = opts.connectionTimeoutMs ?? 5000;
  const where = `"${opts.endpoints.join(",")}"`;
  const ns = Buffer.from(opts.namespace ?? "", "utf8");
  const toKey = (key: string) => Buffer.concat([ns, Buffer.from(key, "utf8")]);
  const fromKey = (raw: Buffer) => raw.subarray(ns.length).toString("utf8");

  const urls = opts.endpoints.map((e) => {
    try {
      return new URL(e);
    } catch {
      throw new Error(`etcd endpoint "${e}" is not a URL: expected e.g. "http://127.0.0.1:2379"`);
    }
  });
  const plain = urls.find((u) => u.protocol !== "https:");
  if (opts.tls && plain) throw new Error(`etcd TLS settings need https endpoints, got "${plain.href}"`);
  const secure = urls.filter((u) => u.protocol === "https:");
  const ipHost = secure.find((u) => isIP(u.hostname.replace(/^\[|\]$/g, "")) !== 0);
  if (ipHost && !opts.tls?.serverName && process.versions.bun) {
    // Bun's tls.connect refuses an IP address as SNI server name, and grpc-js always sends the endpoint's host.
    throw new Error(
      `etcd TLS endpoint "${ipHost.href}" uses an IP address, which this runtime cannot send as TLS server name: use the host name in the server certificate instead`,
    );
  }
  const serverName = opts.tls?.serverName;
  let client: Etcd3;
  try {
    client = new Etcd3({
      hosts: opts.endpoints,
      ...(opts.tls ? { credentials: credentials(opts.tls) } : {}),
      // protocol/state.md#etcd: client keep-alive 10 s, timeout 3 s.
      grpcOptions: { "grpc.keepalive_time_ms": 10_000, "grpc.keepalive_timeout_ms": 3_000, ...(serverName ? { "grpc.ssl_target_name_override": serverName } : {}) },
      faultHandling: { global: failoverPolicy(opts.endpoints.length) },
    });
  } catch (err) {
    throw new Error(`cannot configure the etcd client for ${where}: ${(err as Error).message}`, { cause: err });
  }

  const leases = new Set<EtcdLease>();
  const watchers = new Set<{ cancel(): Promise<void> }>();
  let closed = false;

  /** Runs `fn` under one deadline; any failure becomes StoreUnavailableError naming the endpoints. */
  async function bounded<T>(what: string, timeoutMs: number, idempotent: boolean, fn: (deadline: Date) => Promise<T>): Promise<T> {
    if (closed) throw new StoreUnavailableError(`the etcd store for ${where} is closed`);
    const deadline = new Date(Date.now() + timeoutMs);
    let timer: ReturnType<typeof setTimeout> | undefined;
    const expired = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(TIMED_OUT), timeoutMs + SAFETY_MARGIN_MS);
    });
    const attempt = async (): Promise<T> => {
      let previous: unknown;
      for (;;) {
        try {
          return await fn(deadline);
        } catch (err) {
          // A circuit opened by our own retries says less than the failure that opened it.
          if (isBrokenCircuit(err) && previous !== undefined) throw previous;
          const retry = idempotent && isRecoverableError(err as Error) && !isDeadline(err) && Date.now() + 50 < deadline.getTime();
          if (!retry) throw err;
          previous = err;
          await new Promise((r) => setTimeout(r, 50));
        }
      }
    };
    try {
      return await Promise.race([attempt(), expired]);
    } catch (err) {
      if (err instanceof StoreUnavailableError) throw err;
      throw etcdFailure(where, what, timeoutMs, idempotent, err);
    } finally {
      clearTimeout(timer);
    }
  }

  const toEntry = (kv: IRangeResponse["kvs"][number]): Entry => ({
    key: fromKey(kv.key),
    value: kv.value.toString("utf8"),
    version: BigInt(kv.mod_revision),
    ...(kv.lease !== "0" && kv.lease !== "" ? { lease: BigInt(kv.lease) } : {}),
  });

  try {
    await bounded("answer a status request", connectionTimeoutMs, true, (deadline) => client.maintenance.status({ deadline }));
  } catch (err) {
    client.close();
    throw err;
  }

  const store: Store = {
    kind: "etcd",
    exclusive: false,
    get(key) {
      return bounded(`read "${key}"`, requestTimeoutMs, true, async (deadline) => {
        const res = await client.kv.range({ key: toKey(key) }, { deadline });
        const kv = res.kvs[0];
        return kv ? toEntry(kv) : undefined;
      });
    },
    list(prefix) {
      return bounded(`list "${prefix}"`, requestTimeoutMs, true, async (deadline) => {
        let { key, end } = keyRange(toKey(prefix));
        const out: Entry[] = [];
        let revision: string | undefined;
        for (;;) {
          // Later pages read at the first page's revision, so the list is one consistent snapshot.
          const res = await client.kv.range({ key, range_end: end, limit: PAGE, ...(revision ? { revision } : {}) }, { deadline });
          revision ??= res.header.revision;
          out.push(...res.kvs.map(toEntry));
          const last = res.kvs.at(-1);
          if (!res.more || !last) return out;
          key = Buffer.concat([last.key, Buffer.from([0])]);
        }
      });
    },
    async commit(txn: Transaction) {
      return (await store.transact(txn)).succeeded;
    },
    transact(txn: Transaction) {
      return bounded("commit a transaction", requestTimeoutMs, false, async (deadline) => {
        const success: IRequestOp[] = txn.then.map((op) =>
          op.op === "delete"
            ? { request_delete_range: { key: toKey(op.key) } }
            : { request_put: { key: toKey(op.key), value: Buffer.from(op.value, "utf8"), ...(op.lease !== undefined ? { lease: op.lease.toString() } : {}) } },
        );
        const res = await client.kv.txn(
          {
            compare: txn.compare.map((c) => ({ key: toKey(c.key), target: "Mod", result: "Equal", mod_revision: c.version.toString() })),
            success,
            failure: [],
          },
          { deadline },
        );
        return { succeeded: res.succeeded, revision: BigInt(res.header.revision) };
      });
    },
    async watch(prefix, listener) {
      if (closed) throw new StoreUnavailableError(`the etcd store for ${where} is closed`);
      // etcd3 re-establishes a broken watch from the last revision it delivered.
      const w = await client.watch().prefix(toKey(prefix)).create();
      w.on("put", (kv) => listener({ type: "put", entry: toEntry(kv) }));
      w.on("delete", (kv) => listener({ type: "delete", key: fromKey(kv.key) }));
      w.on("error", () => {});
      watchers.add(w);
      return {
        close() {
          watchers.delete(w);
          void w.cancel().catch(() => undefined);
        },
      };
    },
    async grantLease(ttlSeconds) {
      if (!Number.isInteger(ttlSeconds) || ttlSeconds < 1) {
        throw new Error(`a lease TTL must be a whole number of seconds of at least 1, got "${ttlSeconds}"`);
      }
      if (closed) throw new StoreUnavailableError(`the etcd store for ${where} is closed`);
      // etcd3 renews the lease every TTL/3 until released, revoked, or told by etcd that it is gone.
      const lease = client.lease(ttlSeconds, { deadline: new Date(Date.now() + requestTimeoutMs) });
      let id: bigint | undefined;
      let lost = false;
      lease.on("lost", (err: Error) => {
        lost = true;
        leases.delete(lease);
        if (id !== undefined && !closed) deps.log?.warn(`etcd lease "${id}" at ${where} was lost, its keys are gone: ${err.message}`);
      });
      leases.add(lease);
      try {
        id = BigInt(await bounded(`grant a ${ttlSeconds} s lease`, requestTimeoutMs, false, () => lease.grant()));
      } catch (err) {
        // Also stops renewals if the grant succeeds after our deadline; the lease then expires on its own.
        leases.delete(lease);
        lease.release();
        throw err;
      }
      const granted = id;
      const handle: EtcdStoreLease = {
        id: granted,
        ttlSeconds,
        get lost() {
          return lost;
        },
        revoke: () =>
          bounded(`revoke lease "${granted}"`, requestTimeoutMs, true, async (deadline) => {
            leases.delete(lease);
            await lease.revoke({ deadline });
          }),
      };
      return handle;
    },
    async close() {
      if (closed) return;
      closed = true;
      // Stop renewing without revoking: leased keys then expire after their TTL, as after a crash.
      for (const l of leases) l.release();
      leases.clear();
      for (const w of watchers) void w.cancel().catch(() => undefined);
      watchers.clear();
      client.close();
    },
  };
  return store;
}
