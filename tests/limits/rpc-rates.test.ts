/**
 * The daemon's own RPCs per client address (protocol/operations.md#listener-limits): GetToken and
 * GetFreeCallToken share a bucket per address (`rate_limit_token_rpc_per_address_per_minute`), every daemon
 * RPC takes from another (`rate_limit_daemon_rpc_per_address_per_minute`); a client past either gets the
 * reference's RESOURCE_EXHAUSTED text with a retry-after, while another address is served and health is
 * never limited. Payments are off: the disabled services still answer (and are limited) the same way, and
 * refills are one call per minute, so nothing here depends on timing.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import * as grpc from "@grpc/grpc-js";
import { type DaemonProcess, startDaemon } from "../kit/daemon.ts";
import { type EchoService, startEchoService } from "../kit/echo-service.ts";
import { type GrpcOutcome, grpcCall, OTHER_ADDRESS } from "./raw-clients.ts";

const FREE_CALL_TOKEN = "/escrow.FreeCallStateService/GetFreeCallToken";
const GET_TOKEN = "/escrow.TokenService/GetToken";
const CHANNEL_STATE = "/escrow.PaymentChannelStateService/GetChannelState";
const HEALTH = "/grpc.health.v1.Health/Check";
const LIMITED = "rate limiting , too many requests to handle";
const DISABLED = "error in generating token because blockchain is disabled, contact service provider";

let service: EchoService;
let daemon: DaemonProcess;

beforeAll(async () => {
  service = await startEchoService();
  daemon = await startDaemon({
    config: {
      blockchain_enabled: false,
      service_endpoint: `http://${service.address}`,
      rate_limit_token_rpc_per_address_per_minute: 3,
      rate_limit_daemon_rpc_per_address_per_minute: 6,
    },
  });
});

afterAll(async () => {
  await daemon?.stop();
  await service?.stop();
});

const from = (path: string, localAddress = "127.0.0.1") =>
  grpcCall(daemon.endpoint, path, Buffer.alloc(0), { localAddress });

function expectLimited(r: GrpcOutcome) {
  expect({ status: r.status, message: r.message }).toEqual({
    status: grpc.status.RESOURCE_EXHAUSTED,
    message: LIMITED,
  });
  expect(Number(r.metadata["retry-after"])).toBeGreaterThanOrEqual(1);
}

describe("daemon RPCs per client address", () => {
  test("token RPCs past their bucket are refused for that address only; other RPCs have their own; health is free", async () => {
    await daemon.showLogsOnFailure(async () => {
      // Three token requests are served (with payments off, the refusal says why)…
      for (let i = 0; i < 3; i++)
        expect(await from(FREE_CALL_TOKEN)).toMatchObject({
          status: grpc.status.FAILED_PRECONDITION,
          message: DISABLED,
        });
      // …the fourth, of either kind, is rate limited.
      expectLimited(await from(FREE_CALL_TOKEN));
      expectLimited(await from(GET_TOKEN));

      // Another address has its own buckets.
      expect(await from(FREE_CALL_TOKEN, OTHER_ADDRESS)).toMatchObject({
        status: grpc.status.FAILED_PRECONDITION,
        message: DISABLED,
      });
      expect((await from(GET_TOKEN, OTHER_ADDRESS)).status).toBe(grpc.status.OK);

      // The first address's bucket of all daemon RPCs (6) had 3 taken by the served token calls; refused
      // calls took nothing.
      for (let i = 0; i < 3; i++) expect((await from(CHANNEL_STATE)).status).toBe(grpc.status.OK);
      expectLimited(await from(CHANNEL_STATE));

      // Health is never limited: probes work for a client that is limited everywhere else.
      for (let i = 0; i < 10; i++) expect((await from(HEALTH)).status).toBe(grpc.status.OK);
      // The proxied service is not a daemon RPC either.
      expect((await grpcCall(daemon.endpoint, "/example.Echo/Echo", Buffer.from([0x12, 2, 0x68, 0x69]))).status).toBe(
        grpc.status.OK,
      );
    });
  });
});
