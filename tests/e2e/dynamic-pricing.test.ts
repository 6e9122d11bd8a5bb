// Dynamic pricing of a gRPC service (issue 11, protocol/upstreams.md#dynamic-pricing): the published protos annotate `mul`
// with the pricing option, `enable_dynamic_pricing` is on, and the service's own `estimate_mul` decides
// each call's price from the request. The first message is read for the price and put back in front of
// the body, so the service gets the call unchanged; the price call rides the daemon's one connection.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { create, toBinary } from "@bufbuild/protobuf";
import * as grpc from "@grpc/grpc-js";
import {
  CALC_PROTOS,
  type CalcRequest,
  type CalcService,
  calcMetadata,
  calcRpc,
  mulPrice,
  NO_QUOTE,
  Numbers,
  startCalcGrpcService,
} from "../kit/calc-service.ts";
import { channelStateReply, type PaidDaemon, startPaidDaemon } from "../kit/paid-daemon.ts";
import { prepaidMetadata, prepaidToken } from "../kit/prepaid-token.ts";
import { startWorld, type World } from "../kit/world.ts";

const E2E_TIMEOUT_MS = 60_000;
const SECRET = "dynamic-pricing-e2e-secret-0123456789-01";

let world: World;
let service: CalcService;
let snetd: PaidDaemon;

beforeAll(async () => {
  service = await startCalcGrpcService();
  world = await startWorld({ protos: CALC_PROTOS });
  snetd = await startPaidDaemon(world, {
    service_endpoint: `http://${service.url}`,
    token_secret_key: SECRET,
    enable_dynamic_pricing: true,
  });
}, 120_000);

afterAll(async () => {
  await snetd?.stop();
  await world?.stop();
  await service?.stop();
});

async function paid(method: string, req: CalcRequest, md: Record<string, string | Buffer>) {
  const client = calcRpc(snetd.daemon.endpoint, method);
  try {
    return await client.call(req, calcMetadata(md));
  } finally {
    client.close();
  }
}

describe("escrow", () => {
  test(
    "mul costs what estimate_mul answers; the metadata price is refused; add keeps the metadata price",
    async () => {
      await snetd.daemon.showLogsOnFailure(async () => {
        const ch = await world.openFundedChannel();
        const price = mulPrice(12n, -3n);
        const wrong = await paid("mul", { a: 12n, b: -3n }, ch.pay(world.price));
        expect(wrong.status).toEqual({
          code: grpc.status.UNAUTHENTICATED,
          details: `income ${world.price} does not equal to price ${price}`,
        });
        const ran = service.served("mul");
        const r = await paid("mul", { a: 12n, b: -3n }, ch.pay(price));
        expect(r.status.code).toBe(grpc.status.OK);
        expect(r.reply?.value).toBe(-36n);
        expect(service.served("mul")).toBe(ran + 1);
        expect((await snetd.state(ch)).amount).toBe(price);
        const added = await paid("add", { a: 1n, b: 2n }, ch.pay(price + world.price));
        expect(added.reply?.value).toBe(3n);
        expect((await snetd.state(ch)).amount).toBe(price + world.price);
      });
    },
    E2E_TIMEOUT_MS,
  );

  test(
    "a failing price method refuses the call before the service runs, and nothing is charged",
    async () => {
      const ch = await world.openFundedChannel();
      const ran = service.served("mul");
      const r = await paid("mul", { a: 1n, b: 1n, note: NO_QUOTE }, ch.pay(1n));
      expect(r.status).toEqual({
        code: grpc.status.INTERNAL,
        details: "internal error: rpc error: code = Internal desc = the model crashed",
      });
      expect(service.served("mul")).toBe(ran);
      expect((await snetd.state(ch)).amount).toBe(0n);
    },
    E2E_TIMEOUT_MS,
  );

  test(
    "the price method is asked only for a payment valid in every other way",
    async () => {
      const ch = await world.openFundedChannel();
      const asked = service.served("estimate_mul");
      // A stale nonce and an unknown channel are refused without a price call: nobody makes snetd call the service unpaid.
      const stale = await paid("mul", { a: 2n, b: 2n }, ch.pay(mulPrice(2n, 2n), 7n));
      expect(stale.status.code).toBe(1000); // IncorrectNonce: the client refreshes its channel state
      const unknown = await paid(
        "mul",
        { a: 2n, b: 2n },
        { ...ch.pay(mulPrice(2n, 2n)), "snet-payment-channel-id": "999999" },
      );
      expect(unknown.status.code).not.toBe(grpc.status.OK);
      expect(service.served("estimate_mul")).toBe(asked);
      expect((await paid("mul", { a: 2n, b: 2n }, ch.pay(mulPrice(2n, 2n)))).status.code).toBe(grpc.status.OK);
      expect(service.served("estimate_mul")).toBe(asked + 1);
    },
    E2E_TIMEOUT_MS,
  );

  test(
    "a failing service call is not charged",
    async () => {
      const ch = await world.openFundedChannel();
      expect((await paid("fail", {}, ch.pay(world.price))).status.code).toBe(grpc.status.INTERNAL);
      expect((await snetd.state(ch)).amount).toBe(0n);
    },
    E2E_TIMEOUT_MS,
  );

  test(
    "a gRPC-Web caller of a priced method is served too (the pre-read body is replayed)",
    async () => {
      const ch = await world.openFundedChannel();
      const price = mulPrice(5n, 5n);
      const headers: Record<string, string> = { "content-type": "application/grpc-web+proto", "x-grpc-web": "1" };
      for (const [k, v] of Object.entries(ch.pay(price))) headers[k] = typeof v === "string" ? v : v.toString("base64");
      const message = toBinary(Numbers, create(Numbers, { a: 5n, b: 5n }));
      const body = new Uint8Array(5 + message.length);
      new DataView(body.buffer).setUint32(1, message.length);
      body.set(message, 5);
      const res = await fetch(`${snetd.daemon.url}/calc.Calculator/mul`, { method: "POST", headers, body });
      expect(Buffer.from(await res.arrayBuffer()).toString("latin1")).toContain("grpc-status: 0");
      expect((await snetd.state(ch)).amount).toBe(price);
    },
    E2E_TIMEOUT_MS,
  );

  test(
    "price calls and calls share the daemon's one connection to the service",
    async () => {
      const ch = await world.openFundedChannel();
      let amount = 0n;
      for (let i = 1n; i <= 5n; i++) {
        amount += mulPrice(i, 2n);
        expect((await paid("mul", { a: i, b: 2n }, ch.pay(amount))).status.code).toBe(grpc.status.OK);
      }
      expect(service.peers.size).toBe(1);
    },
    E2E_TIMEOUT_MS,
  );
});

test(
  "prepaid: the budget is used by the service's price",
  async () => {
    const ch = await world.openFundedChannel();
    const token = await prepaidToken(world, snetd.daemon.endpoint, ch, 1000n);
    expect((await paid("mul", { a: 4n, b: 4n }, prepaidMetadata(ch.id, token))).reply?.value).toBe(16n);
    expect((await paid("mul", { a: 1n, b: 1n, note: NO_QUOTE }, prepaidMetadata(ch.id, token))).status.code).toBe(
      grpc.status.INTERNAL,
    );
    const reply = await channelStateReply(world, snetd.stateRpc, ch);
    expect(reply.usedAmount).toBe(16n);
  },
  E2E_TIMEOUT_MS,
);
