/**
 * Leases on etcd: granted with LeaseGrant, renewed every TTL/3 over one LeaseKeepAlive stream shared by
 * every lease of the store (re-opened, on the next endpoint if need be, after it breaks), revoked with
 * LeaseRevoke. A lease is `lost` when etcd answers a renewal with TTL <= 0 (expired or revoked): its keys
 * are gone, nothing renews it again, and a holder takes a new one (payments/leased-slots.ts). Silence alone
 * never loses a lease: etcd expires none while it has no leader, and a new leader extends them all, so after
 * an outage renewals resume and the slots held on it stay held — or etcd says the lease is gone.
 */
import { create } from "@bufbuild/protobuf";
import {
  LeaseGrantRequestSchema,
  LeaseKeepAliveRequestSchema,
  LeaseRevokeRequestSchema,
  Lease as LeaseService,
} from "../gen/etcd/rpc_pb.ts";
import type { Lease } from "./contract.ts";
import type { BidiStream, EtcdClient } from "./etcd-client.ts";
import { EtcdRequestError, GrpcStatus } from "./etcd-errors.ts";

/** A lease of the etcd store; `lost` as described above. */
export interface EtcdStoreLease extends Lease {
  readonly lost: boolean;
}

/** Runs one request under the store's deadline, turning failures into StoreUnavailableError (etcd.ts). */
export type Bounded = <T>(what: string, isCommit: boolean, fn: (deadline: number) => Promise<T>) => Promise<T>;

export interface LeaseKeeperDeps {
  client: EtcdClient;
  bounded: Bounded;
  requestTimeoutMs: number;
  log?: { warn(message: string): void } | undefined;
}

export interface LeaseKeeper {
  grant(ttlSeconds: number): Promise<EtcdStoreLease>;
  /** Stops renewing without revoking: the leases expire after their TTL, as after a crash. */
  close(): void;
}

interface Held {
  id: bigint;
  ttlMs: number;
  renewedAt: number;
  lost: boolean;
  timer: ReturnType<typeof setInterval>;
}

type KeepAliveStream = BidiStream<typeof LeaseKeepAliveRequestSchema>;

/** Grants and keeps alive the leases of one store. */
export function leaseKeeper(deps: LeaseKeeperDeps): LeaseKeeper {
  const { client } = deps;
  const held = new Map<bigint, Held>();
  let stream: KeepAliveStream | undefined;
  let opening: Promise<KeepAliveStream> | undefined;
  let closed = false;

  const forget = (h: Held) => {
    clearInterval(h.timer);
    held.delete(h.id);
  };

  const lose = (h: Held, reason: string) => {
    if (h.lost) return;
    h.lost = true;
    forget(h);
    if (!closed) deps.log?.warn(`etcd lease "${h.id}" at ${client.where} was lost, its keys are gone: ${reason}`);
  };

  /** The keep-alive stream, opened when there is none; one attempt at a time. */
  const keepAliveStream = (): Promise<KeepAliveStream> => {
    if (stream) return Promise.resolve(stream);
    if (opening) return opening;
    let ended = false;
    let self: KeepAliveStream | undefined;
    opening = client
      .stream(
        LeaseService.method.leaseKeepAlive,
        {
          message(res) {
            const h = held.get(res.ID);
            if (!h) return;
            if (res.TTL <= 0n) lose(h, "etcd reports it expired or revoked");
            else h.renewedAt = Date.now();
          },
          end() {
            // The next renewal opens a new stream; the leases survive a break shorter than their TTL.
            ended = true;
            if (stream === self) stream = undefined;
          },
        },
        Date.now() + deps.requestTimeoutMs,
      )
      .then((s) => {
        self = s;
        if (closed) s.close();
        else if (!ended) stream = s;
        return s;
      })
      .finally(() => {
        opening = undefined;
      });
    return opening;
  };

  const renew = (h: Held) => {
    if (h.lost || closed) return;
    keepAliveStream().then(
      (s) => s.send(create(LeaseKeepAliveRequestSchema, { ID: h.id })),
      () => {
        // Unreachable now; the next tick tries again.
      },
    );
  };

  return {
    async grant(ttlSeconds) {
      if (!Number.isInteger(ttlSeconds) || ttlSeconds < 1) {
        throw new Error(`a lease TTL must be a whole number of seconds of at least 1, got "${ttlSeconds}"`);
      }
      const res = await deps.bounded(`grant a ${ttlSeconds} s lease`, false, async (deadline) => {
        const r = await client.unary(
          LeaseService.method.leaseGrant,
          create(LeaseGrantRequestSchema, { TTL: BigInt(ttlSeconds) }),
          { deadline, resend: true },
        );
        if (r.error)
          throw new EtcdRequestError(`etcd refused the lease: ${r.error}`, {
            endpoint: client.where,
            sent: true,
            status: GrpcStatus.FAILED_PRECONDITION,
          });
        return r;
      });
      const ttlMs = Number(res.TTL > 0n ? res.TTL : BigInt(ttlSeconds)) * 1000;
      const h: Held = {
        id: res.ID,
        ttlMs,
        renewedAt: Date.now(),
        lost: false,
        timer: setInterval(() => renew(h), Math.max(ttlMs / 3, 100)),
      };
      h.timer.unref?.();
      if (closed) forget(h);
      else held.set(h.id, h);
      const lease: EtcdStoreLease = {
        id: h.id,
        ttlSeconds,
        get lost() {
          return h.lost;
        },
        revoke: () => {
          forget(h);
          return deps.bounded(`revoke lease "${h.id}"`, false, async (deadline) => {
            try {
              await client.unary(LeaseService.method.leaseRevoke, create(LeaseRevokeRequestSchema, { ID: h.id }), {
                deadline,
                resend: true,
              });
            } catch (err) {
              // Already expired or revoked: the keys are gone, which is what revoking asks for.
              if (!(err instanceof EtcdRequestError && err.status === GrpcStatus.NOT_FOUND)) throw err;
            }
          });
        },
      };
      return lease;
    },
    close() {
      closed = true;
      for (const h of held.values()) clearInterval(h.timer);
      held.clear();
      stream?.close();
      stream = undefined;
    },
  };
}
