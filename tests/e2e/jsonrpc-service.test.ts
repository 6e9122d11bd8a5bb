// A JSON-RPC 2.0 service sold through snetd (issue 11, protocol/upstreams.md#json-rpc): service_type "jsonrpc" and
// encoding "json" in the published metadata; the client sends JSON inside the gRPC frame, which becomes
// the call's params; the result comes back as the reply frame. Failures are never charged.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import * as grpc from "@grpc/grpc-js";
import {
  CALC_PROTOS,
  type CalcService,
  calcMetadata,
  mulPrice,
  startCalcJsonRpcService,
  USER_ADDRESS_HEADER,
} from "../kit/calc-service.ts";
import { channelStateReply, type PaidDaemon, startPaidDaemon } from "../kit/paid-daemon.ts";
import { prepaidMetadata, prepaidToken } from "../kit/prepaid-token.ts";
import { startWorld, type World } from "../kit/world.ts";

const E2E_TIMEOUT_MS = 60_000;
const SECRET = "jsonrpc-service-e2e-secret-0123456789-01";

let world: World;
let service: CalcService;
let snetd: PaidDaemon;

beforeAll(async () => {
  service = startCalcJsonRpcService();
  world = await startWorld({ serviceType: "jsonrpc", encoding: "json", protos: CALC_PROTOS });
  snetd = await startPaidDaemon(world, {
    service_endpoint: service.url,
    token_secret_key: SECRET,
    service_user_address_header: USER_ADDRESS_HEADER,
    enable_dynamic_pricing: true,
  });
}, 120_000);

afterAll(async () => {
  await snetd?.stop();
  await world?.stop();
  await service?.stop();
});

/** A call with a JSON body (as a client of an `encoding: json` service sends it): the raw reply text. */
function jsonCall(
  method: string,
  body: string,
  md: Record<string, string | Buffer>,
): Promise<{ code: number; details: string; reply?: string }> {
  const client = new grpc.Client(snetd.daemon.endpoint, grpc.credentials.createInsecure());
  return new Promise((resolve) => {
    client.makeUnaryRequest(
      `/calc.Calculator/${method}`,
      (s: string) => Buffer.from(s, "utf8"),
      (b: Buffer) => b.toString("utf8"),
      body,
      calcMetadata(md),
      { deadline: Date.now() + 10_000 },
      (err, reply) => {
        client.close();
        resolve(err ? { code: err.code, details: err.details } : { code: 0, details: "", reply: reply as string });
      },
    );
  });
}

describe("escrow", () => {
  test(
    "the JSON request becomes params, the result the reply (keys sorted, as the reference prints them)",
    async () => {
      await snetd.daemon.showLogsOnFailure(async () => {
        const ch = await world.openFundedChannel();
        const r = await jsonCall("add", '{"a": 40, "b": 2, "note": "hi"}', ch.pay(world.price));
        expect(r).toEqual({ code: 0, details: "", reply: '{"note":"hi","value":42}' });
        expect((await snetd.state(ch)).amount).toBe(world.price);
      });
    },
    E2E_TIMEOUT_MS,
  );

  test(
    "the service gets the payer's address in the opted-in header",
    async () => {
      const ch = await world.openFundedChannel();
      const r = await jsonCall("whoami", "{}", ch.pay(world.price));
      expect(r.reply).toBe(JSON.stringify({ note: ch.client.address }));
    },
    E2E_TIMEOUT_MS,
  );

  test(
    "a JSON-RPC error is INTERNAL with its message and is not charged",
    async () => {
      const ch = await world.openFundedChannel();
      const md = ch.pay(world.price);
      const r = await jsonCall("fail", "{}", md);
      expect(r).toEqual({ code: grpc.status.INTERNAL, details: "json-rpc error; error: the model crashed" });
      expect(service.served("fail")).toBeGreaterThanOrEqual(1);
      expect((await snetd.state(ch)).amount).toBe(0n);
      expect((await jsonCall("add", '{"a":1,"b":1}', md)).reply).toBe('{"note":"","value":2}');
    },
    E2E_TIMEOUT_MS,
  );

  test(
    "bad JSON from the service, or from the client, is a clear INTERNAL error and is not charged",
    async () => {
      const ch = await world.openFundedChannel();
      const fromService = await jsonCall("garbage", "{}", ch.pay(world.price));
      expect(fromService.code).toBe(grpc.status.INTERNAL);
      expect(fromService.details).toStartWith("json-rpc error; error: ");
      const fromClient = await jsonCall("add", "not json", ch.pay(world.price));
      expect(fromClient.code).toBe(grpc.status.INTERNAL);
      expect(fromClient.details).toStartWith("error unmarshaling request; error: ");
      expect((await snetd.state(ch)).amount).toBe(0n);
    },
    E2E_TIMEOUT_MS,
  );
});

test(
  'dynamic pricing: mul costs what the service\'s estimate_mul answers ({"price": n} in JSON)',
  async () => {
    const ch = await world.openFundedChannel();
    const price = mulPrice(6n, 7n);
    const wrong = await jsonCall("mul", '{"a":6,"b":7}', ch.pay(world.price));
    expect(wrong).toEqual({
      code: grpc.status.UNAUTHENTICATED,
      details: `income ${world.price} does not equal to price ${price}`,
    });
    expect(await jsonCall("mul", '{"a":6,"b":7}', ch.pay(price))).toEqual({
      code: 0,
      details: "",
      reply: '{"note":"","value":42}',
    });
    expect((await snetd.state(ch)).amount).toBe(price);
  },
  E2E_TIMEOUT_MS,
);

test(
  "prepaid calls use up the budget only when the service answered",
  async () => {
    const ch = await world.openFundedChannel();
    const md = prepaidMetadata(ch.id, await prepaidToken(world, snetd.daemon.endpoint, ch, 10n * world.price));
    expect((await jsonCall("add", '{"a":2,"b":3}', md)).reply).toBe('{"note":"","value":5}');
    expect((await jsonCall("fail", "{}", md)).code).toBe(grpc.status.INTERNAL);
    expect((await channelStateReply(world, snetd.stateRpc, ch)).usedAmount).toBe(world.price);
  },
  E2E_TIMEOUT_MS,
);
