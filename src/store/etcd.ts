/**
 * The etcd backend of the store contract, shared by every replica of a group (protocol/config.md#etcd-member), on our own
 * etcd v3 gRPC client over node:http2 (etcd-client.ts).
 *
 * A commit is one etcd transaction whose compares are on mod revisions (concurrent commits travel together
 * as nested transactions of one, etcd-batch.ts): etcd reports a missing key with
 * mod revision 0, so `version: 0n` ("must not exist") is the same compare as any other. Every request
 * carries one absolute deadline (`requestTimeoutMs`), sent as grpc-timeout and enforced here, so a paid
 * call never waits on etcd longer than that, and every failure to reach a quorum surfaces as
 * `StoreUnavailableError` naming the endpoints.
 *
 * Retries: a request that never reached a member (no session could be established) moves to the next
 * endpoint; reads are also retried after mid-flight failures; a commit that may have reached etcd is never
 * resent, because a resent compare-and-swap would report `false` for a write that in fact happened.
 *
 * @example
 * const store = await etcdStore({ endpoints: ["http://127.0.0.1:2379"], namespace: "snetd/" });
 */
import { readFileSync } from "node:fs";
import { isIP } from "node:net";
import { create } from "@bufbuild/protobuf";
import { Maintenance, StatusRequestSchema } from "../gen/etcd/rpc_pb.ts";
import { type Store, StoreUnavailableError, type Transaction } from "./contract.ts";
import { groupCommits } from "./etcd-batch.ts";
import { etcdClient } from "./etcd-client.ts";
import type { KeepaliveOptions, TlsMaterial } from "./etcd-connection.ts";
import { etcdFailure } from "./etcd-errors.ts";
import { commitTxn, commitTxns, getOne, keyspace, listPrefix } from "./etcd-kv.ts";
import { type Bounded, leaseKeeper } from "./etcd-lease.ts";
import { watchPrefix } from "./etcd-watch.ts";

export { prefixEnd } from "./etcd-kv.ts";
export type { EtcdStoreLease } from "./etcd-lease.ts";

export interface EtcdStoreOptions {
  /** Client URLs, e.g. `http://127.0.0.1:2379`; all http or all https. */
  endpoints: string[];
  /** Bound on the first contact with the cluster at open, and on establishing any one session. Default 5000. */
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
  /** HTTP/2 keep-alive pings while requests or streams are open (protocol/config.md#etcd-member: 10 s, answered within 3 s). */
  keepalive?: KeepaliveOptions;
}

export interface EtcdStoreDeps {
  log?: { warn(message: string): void };
}

function readPem(path: string, key: string, what: string): Buffer {
  try {
    return readFileSync(path);
  } catch (err) {
    throw new Error(`cannot read the etcd ${what} "${path}" (${key}): ${(err as Error).message}`, { cause: err });
  }
}

/** Reads the certificate files named by the TLS settings; without a CA file the system's roots apply. */
function tlsMaterial(tls: NonNullable<EtcdStoreOptions["tls"]>): TlsMaterial {
  if (Boolean(tls.certPath) !== Boolean(tls.keyPath)) {
    throw new Error(
      `etcd mTLS needs both payment_channel_cert_path and payment_channel_key_path, got cert "${tls.certPath ?? ""}" and key "${tls.keyPath ?? ""}"`,
    );
  }
  return {
    ...(tls.caPath ? { ca: readPem(tls.caPath, "payment_channel_ca_path", "CA certificate") } : {}),
    ...(tls.certPath ? { cert: readPem(tls.certPath, "payment_channel_cert_path", "client certificate") } : {}),
    ...(tls.keyPath ? { key: readPem(tls.keyPath, "payment_channel_key_path", "client key") } : {}),
    ...(tls.serverName ? { serverName: tls.serverName } : {}),
  };
}

/** Checks the endpoints against the TLS settings before anything connects. */
function checkEndpoints(opts: EtcdStoreOptions): void {
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
    // Bun's TLS refuses an IP address as SNI server name, and without an override the endpoint's host is sent.
    throw new Error(
      `etcd TLS endpoint "${ipHost.href}" uses an IP address, which this runtime cannot send as TLS server name: use the host name in the server certificate instead`,
    );
  }
}

/** Connects to etcd and checks that a member answers before returning the store. */
export async function etcdStore(opts: EtcdStoreOptions, deps: EtcdStoreDeps = {}): Promise<Store> {
  if (opts.endpoints.length === 0) throw new Error("etcd store needs at least one endpoint, got none");
  const requestTimeoutMs = opts.requestTimeoutMs ?? 3000;
  const connectionTimeoutMs = opts.connectionTimeoutMs ?? 5000;
  checkEndpoints(opts);
  const tls = opts.tls ? tlsMaterial(opts.tls) : undefined;
  const client = etcdClient({
    endpoints: opts.endpoints,
    connectionTimeoutMs,
    ...(tls ? { tls } : {}),
    ...(opts.keepalive ? { keepalive: opts.keepalive } : {}),
  });
  const where = client.where;
  const ks = keyspace(opts.namespace ?? "");
  let closed = false;

  /** Runs `fn` under one absolute deadline; any failure becomes StoreUnavailableError naming the endpoints. */
  async function run<T>(
    what: string,
    timeoutMs: number,
    isCommit: boolean,
    fn: (deadline: number) => Promise<T>,
  ): Promise<T> {
    if (closed) throw new StoreUnavailableError(`the etcd store for ${where} is closed`);
    try {
      return await fn(Date.now() + timeoutMs);
    } catch (err) {
      throw etcdFailure(where, what, timeoutMs, isCommit, err);
    }
  }
  const bounded: Bounded = (what, isCommit, fn) => run(what, requestTimeoutMs, isCommit, fn);
  const leases = leaseKeeper({ client, bounded, requestTimeoutMs, log: deps.log });
  // Concurrent commits share one etcd Txn (etcd-batch.ts).
  const commits = groupCommits({
    one: (txn, deadline) => commitTxn(client, ks, txn, deadline),
    many: (txns, deadline) => commitTxns(client, ks, txns, deadline),
  });
  const transact = (txn: Transaction) => bounded("commit a transaction", true, (deadline) => commits(txn, deadline));
  const watchers = new Set<{ close(): void }>();

  try {
    await run("answer a status request", connectionTimeoutMs, false, (deadline) =>
      client.unary(Maintenance.method.status, create(StatusRequestSchema), { deadline, resend: true }),
    );
  } catch (err) {
    client.close();
    throw err;
  }

  return {
    kind: "etcd",
    exclusive: false,
    get: (key) => bounded(`read "${key}"`, false, (deadline) => getOne(client, ks, key, deadline)),
    list: (prefix) => bounded(`list "${prefix}"`, false, (deadline) => listPrefix(client, ks, prefix, deadline)),
    commit: async (txn: Transaction) => (await transact(txn)).succeeded,
    transact,
    grantLease(ttlSeconds) {
      if (closed) return Promise.reject(new StoreUnavailableError(`the etcd store for ${where} is closed`));
      return leases.grant(ttlSeconds);
    },
    async watch(prefix, listener) {
      const w = await watchPrefix({ client, ks, bounded, requestTimeoutMs, log: deps.log }, prefix, listener);
      watchers.add(w);
      return {
        close() {
          watchers.delete(w);
          w.close();
        },
      };
    },
    async close() {
      if (closed) return;
      closed = true;
      // Stop renewing without revoking: leased keys then expire after their TTL, as after a crash.
      leases.close();
      for (const w of watchers) w.close();
      watchers.clear();
      client.close();
    },
  };
}
