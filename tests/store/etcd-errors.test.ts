/**
 * How etcd request failures are classified (src/store/etcd-errors.ts): one test per mapping of the table,
 * then the same facts as the real client produces them against a real etcd (a closed port, a refused
 * request, a lease that is gone, a member that stopped answering).
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { create } from "@bufbuild/protobuf";
import {
  KV,
  Lease,
  LeaseRevokeRequestSchema,
  RangeRequestSchema,
  TxnRequestSchema,
} from "../../src/gen/etcd/rpc_pb.ts";
import { StoreUnavailableError } from "../../src/store/contract.ts";
import { etcdStore } from "../../src/store/etcd.ts";
import { etcdClient } from "../../src/store/etcd-client.ts";
import {
  commitOutcome,
  EtcdRequestError,
  etcdFailure,
  GrpcStatus,
  HTTP2_REFUSED_STREAM,
  memberUnwell,
  neverSent,
  readRetriable,
} from "../../src/store/etcd-errors.ts";
import { type EtcdCluster, startEtcd } from "../kit/etcd.ts";
import { freePort } from "../kit/ports.ts";

const at = "http://127.0.0.1:2379";
const fail = (facts: Omit<ConstructorParameters<typeof EtcdRequestError>[1], "endpoint">) =>
  new EtcdRequestError("test failure", { endpoint: at, ...facts });

describe("classification table", () => {
  test("no session could be established: never sent, so a commit did not apply and may go to the next member", () => {
    const err = fail({ sent: false, errno: "ECONNREFUSED" });
    expect(neverSent(err)).toBe(true);
    expect(commitOutcome(err)).toBe("not-applied");
    expect(readRetriable(err)).toBe(true);
    expect(memberUnwell(err)).toBe(true);
  });

  test("an HTTP/2 stream refused with REFUSED_STREAM was never processed", () => {
    const err = fail({ sent: false, rstCode: HTTP2_REFUSED_STREAM });
    expect(commitOutcome(err)).toBe("not-applied");
  });

  test("a connection that broke after the request was written: a commit's outcome is unknown, a read may be asked again", () => {
    const err = fail({ sent: true, errno: "ECONNRESET" });
    expect(neverSent(err)).toBe(false);
    expect(commitOutcome(err)).toBe("unknown");
    expect(readRetriable(err)).toBe(true);
    expect(memberUnwell(err)).toBe(true);
  });

  test("UNAVAILABLE from etcd (no leader, leader changed, request timed out): unknown for a commit, retried for a read, next member", () => {
    const err = fail({ sent: true, status: GrpcStatus.UNAVAILABLE });
    expect(commitOutcome(err)).toBe("unknown");
    expect(readRetriable(err)).toBe(true);
    expect(memberUnwell(err)).toBe(true);
  });

  test("UNKNOWN, INTERNAL and DEADLINE_EXCEEDED statuses of a sent commit leave its outcome unknown", () => {
    for (const status of [
      GrpcStatus.UNKNOWN,
      GrpcStatus.INTERNAL,
      GrpcStatus.DEADLINE_EXCEEDED,
      GrpcStatus.CANCELLED,
      GrpcStatus.ABORTED,
    ]) {
      expect({ status, outcome: commitOutcome(fail({ sent: true, status })) }).toEqual({ status, outcome: "unknown" });
      expect({ status, retried: readRetriable(fail({ sent: true, status })) }).toEqual({ status, retried: true });
    }
  });

  test("statuses etcd answers before proposing (bad request, no space, no permission) mean the commit did not apply and are not retried", () => {
    for (const status of [
      GrpcStatus.INVALID_ARGUMENT,
      GrpcStatus.FAILED_PRECONDITION,
      GrpcStatus.PERMISSION_DENIED,
      GrpcStatus.UNAUTHENTICATED,
      GrpcStatus.NOT_FOUND,
      GrpcStatus.OUT_OF_RANGE,
      GrpcStatus.UNIMPLEMENTED,
    ]) {
      const err = fail({ sent: true, status });
      expect({ status, outcome: commitOutcome(err), retried: readRetriable(err), unwell: memberUnwell(err) }).toEqual({
        status,
        outcome: "not-applied",
        retried: false,
        unwell: false,
      });
    }
  });

  test("RESOURCE_EXHAUSTED (too many requests) did not apply, and a read may ask again", () => {
    const err = fail({ sent: true, status: GrpcStatus.RESOURCE_EXHAUSTED });
    expect(commitOutcome(err)).toBe("not-applied");
    expect(readRetriable(err)).toBe(true);
  });

  test("our own deadline: nothing is retried, a sent commit's outcome is unknown, an unsent one's is not", () => {
    const sent = fail({ sent: true, timedOut: true });
    expect(readRetriable(sent)).toBe(false);
    expect(commitOutcome(sent)).toBe("unknown");
    expect(commitOutcome(fail({ sent: true, timedOut: true, status: GrpcStatus.INVALID_ARGUMENT }))).toBe("unknown");
    expect(commitOutcome(fail({ sent: false, timedOut: true }))).toBe("not-applied");
  });

  test("anything that is not an EtcdRequestError is unknown for a commit and never retried", () => {
    expect(commitOutcome(new Error("?"))).toBe("unknown");
    expect(readRetriable(new Error("?"))).toBe(false);
  });

  test("store errors: a deadline says so and names the endpoints; a commit's unknown outcome is in the message and the error", () => {
    const where = `"${at}"`;
    const late = etcdFailure(where, "commit a transaction", 3000, true, fail({ sent: true, timedOut: true }));
    expect(late).toBeInstanceOf(StoreUnavailableError);
    expect(late.outcome).toBe("unknown");
    expect(late.message).toBe(
      `etcd at ${where} did not commit a transaction within 3000 ms (no quorum or no member reachable; the outcome is unknown)`,
    );
    const refused = etcdFailure(where, "commit a transaction", 3000, true, fail({ sent: false }));
    expect(refused.outcome).toBe("not-applied");
    expect(refused.message).toBe(`etcd at ${where} could not commit a transaction: test failure`);
    const read = etcdFailure(where, 'read "k"', 3000, false, fail({ sent: true, errno: "ECONNRESET" }));
    expect(read.outcome).toBe("not-applied");
  });
});

describe("the facts as the client produces them", () => {
  let cluster: EtcdCluster;
  beforeAll(async () => {
    cluster = await startEtcd();
  });
  afterAll(async () => {
    await cluster?.stop();
  });
  const soon = () => Date.now() + 3000;
  const range = create(RangeRequestSchema, { key: Buffer.from("x") });

  test("a port with no etcd: ECONNREFUSED, never sent", async () => {
    const client = etcdClient({ endpoints: [`http://127.0.0.1:${await freePort()}`], connectionTimeoutMs: 1000 });
    try {
      const err = await client
        .unary(KV.method.range, range, { deadline: soon(), resend: true })
        .catch((e: unknown) => e);
      expect(err).toBeInstanceOf(EtcdRequestError);
      expect({ sent: (err as EtcdRequestError).sent, errno: (err as EtcdRequestError).errno }).toEqual({
        sent: false,
        errno: "ECONNREFUSED",
      });
    } finally {
      client.close();
    }
  });

  test("a transaction over etcd's operation limit: INVALID_ARGUMENT from grpc-status, sent, not applied", async () => {
    const client = etcdClient({ endpoints: cluster.endpoints, connectionTimeoutMs: 1000 });
    try {
      const ops = Array.from({ length: 200 }, (_, i) => ({
        request: { case: "requestPut" as const, value: { key: Buffer.from(`limit/${i}`) } },
      }));
      const err = await client
        .unary(KV.method.txn, create(TxnRequestSchema, { success: ops }), { deadline: soon(), resend: false })
        .catch((e: unknown) => e);
      expect({ sent: (err as EtcdRequestError).sent, status: (err as EtcdRequestError).status }).toEqual({
        sent: true,
        status: GrpcStatus.INVALID_ARGUMENT,
      });
      expect(commitOutcome(err)).toBe("not-applied");
    } finally {
      client.close();
    }
  });

  test("revoking a lease etcd does not know: NOT_FOUND", async () => {
    const client = etcdClient({ endpoints: cluster.endpoints, connectionTimeoutMs: 1000 });
    try {
      const err = await client
        .unary(Lease.method.leaseRevoke, create(LeaseRevokeRequestSchema, { ID: 12345n }), {
          deadline: soon(),
          resend: true,
        })
        .catch((e: unknown) => e);
      expect((err as EtcdRequestError).status).toBe(GrpcStatus.NOT_FOUND);
    } finally {
      client.close();
    }
  });

  test("a member that stops answering mid-request: the deadline ends the request; a commit's outcome is unknown and it is sent once", async () => {
    const store = await etcdStore({ endpoints: cluster.endpoints, requestTimeoutMs: 1000, namespace: "frozen/" });
    const member = cluster.members[0]!;
    try {
      expect(await store.get("k")).toBeUndefined();
      const before = await member.grpcStarted("Txn");
      member.freeze();
      const commit = await store
        .commit({ compare: [{ key: "k", version: 0n }], then: [{ op: "put", key: "k", value: "v" }] })
        .catch((e: unknown) => e);
      const read = await store.get("k").catch((e: unknown) => e);
      member.thaw();
      expect(commit).toBeInstanceOf(StoreUnavailableError);
      expect((commit as StoreUnavailableError).outcome).toBe("unknown");
      expect((commit as Error).message).toContain("did not commit a transaction within 1000 ms");
      expect(read).toBeInstanceOf(StoreUnavailableError);
      expect((read as StoreUnavailableError).outcome).toBe("not-applied");
      // Back: the store answers again, and etcd saw the commit at most once (never resent).
      const deadline = Date.now() + 10_000;
      while (Date.now() < deadline && (await store.get("k").catch(() => "down")) === "down") await Bun.sleep(100);
      expect((await member.grpcStarted("Txn")) - before).toBeLessThanOrEqual(1);
    } finally {
      member.thaw();
      await store.close();
    }
  });
});
