// An HTTP/JSON AI service sold through snetd (issue 11, protocol/upstreams.md#http-request): service_type "http" in the
// published service metadata, the calculator's protos in the published archive, a real HTTP service
// (Bun.serve) behind dist/snetd, paid with escrow and prepaid tokens, over gRPC and gRPC-Web. A failing
// service or one answering bad JSON is never charged; `mul` costs what the service's price method says.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import * as grpc from "@grpc/grpc-js";
import {
  CALC_PROTOS,
  type CalcService,
  calcMetadata,
  calcRpc,
  mulPrice,
  NO_QUOTE,
  Numbers,
  Result,
  startCalcHttpService,
  USER_ADDRESS_HEADER,
} from "../kit/calc-service.ts";
import { curl, curlHeaders } from "../kit/curl.ts";
import { type ChannelRef, channelStateReply, type PaidDaemon, startPaidDaemon } from "../kit/paid-daemon.ts";
import { prepaidMetadata, prepaidToken } from "../kit/prepaid-token.ts";
import { startWorld, type World } from "../kit/world.ts";

const E2E_TIMEOUT_MS = 60_000;
const SECRET = "http-service-e2e-secret-0123456789-0123";

let world: World;
let service: CalcService;
let snetd: PaidDaemon;

beforeAll(async () => {
  service = startCalcHttpService();
  world = await startWorld({ serviceType: "http", protos: CALC_PROTOS });
  snetd = await startPaidDaemon(world, {
    service_endpoint: service.url,
    token_secret_key: SECRET,
    enable_dynamic_pricing: true,
    service_user_address_header: USER_ADDRESS_HEADER,
  });
}, 120_000);

afterAll(async () => {
  await snetd?.stop();
  await world?.stop();
  await service?.stop();
});

const rpc = (method: string) => calcRpc(snetd.daemon.endpoint, method);

/** One paid call of `method` with escrow metadata `md`; the status and the decoded reply. */
async function paid(
  method: string,
  req: { a?: bigint; b?: bigint; note?: string },
  md: Record<string, string | Buffer>,
) {
  const client = rpc(method);
  try {
    return await client.call(req, calcMetadata(md));
  } finally {
    client.close();
  }
}

const state = (ch: ChannelRef) => channelStateReply(world, snetd.stateRpc, ch);

describe("escrow", () => {
  test(
    "a paid call reaches the HTTP service as JSON and its JSON reply comes back",
    async () => {
      await snetd.daemon.showLogsOnFailure(async () => {
        const ch = await world.openFundedChannel();
        const r = await paid("add", { a: 9007199254740993n, b: 2n, note: "<&>" }, ch.pay(world.price));
        expect(r.status).toEqual({ code: grpc.status.OK, details: "" });
        expect(r.reply?.value).toBe(9007199254740995n);
        expect(r.reply?.note).toBe("<&>");
        expect(service.served("add")).toBeGreaterThanOrEqual(1);
        expect((await snetd.state(ch)).amount).toBe(world.price);
      });
    },
    E2E_TIMEOUT_MS,
  );

  test(
    "the service gets the payer's address in the opted-in header",
    async () => {
      const ch = await world.openFundedChannel();
      const r = await paid("whoami", {}, ch.pay(world.price));
      expect(r.status.code).toBe(grpc.status.OK);
      expect(r.reply?.note).toBe(ch.client.address);
    },
    E2E_TIMEOUT_MS,
  );

  test(
    "a failing service is not charged: the same payment then pays a call that succeeds",
    async () => {
      const ch = await world.openFundedChannel();
      const before = service.served("fail");
      const md = ch.pay(world.price);
      const r = await paid("fail", {}, md);
      expect(r.status).toEqual({
        code: grpc.status.UNAVAILABLE,
        details: "upstream http status 500: the model crashed",
      });
      expect(service.served("fail")).toBe(before + 1);
      expect((await snetd.state(ch)).amount).toBe(0n);
      const again = await paid("add", { a: 1n, b: 1n }, md);
      expect(again.status.code).toBe(grpc.status.OK);
    },
    E2E_TIMEOUT_MS,
  );

  test(
    "bad JSON from the service is a clear INTERNAL error, not charged, and the daemon carries on",
    async () => {
      const ch = await world.openFundedChannel();
      const r = await paid("garbage", {}, ch.pay(world.price));
      expect(r.status.code).toBe(grpc.status.INTERNAL);
      expect(r.status.details).toStartWith("jsonToProto error: invalid proto, can't convert json to proto msg: ");
      expect((await snetd.state(ch)).amount).toBe(0n);
      expect((await paid("add", { a: 2n, b: 2n }, ch.pay(world.price))).reply?.value).toBe(4n);
    },
    E2E_TIMEOUT_MS,
  );

  test(
    "a request above max_message_size_in_mb is refused unread, before the service runs, and not charged",
    async () => {
      const ch = await world.openFundedChannel();
      const before = service.served("add");
      const r = await paid("add", { note: "x".repeat(4 * 1024 * 1024 + 1) }, ch.pay(world.price));
      expect(r.status.code).toBe(grpc.status.RESOURCE_EXHAUSTED);
      expect(r.status.details).toStartWith("received message larger than max (");
      expect(service.served("add")).toBe(before);
      expect((await snetd.state(ch)).amount).toBe(0n);
    },
    E2E_TIMEOUT_MS,
  );

  test(
    "a gRPC-Web caller is served the same way",
    async () => {
      const ch = await world.openFundedChannel();
      const md = ch.pay(world.price);
      const headers: Record<string, string> = { "content-type": "application/grpc-web+proto", "x-grpc-web": "1" };
      for (const [k, v] of Object.entries(md)) headers[k] = typeof v === "string" ? v : v.toString("base64");
      const body = frame(toBinary(Numbers, create(Numbers, { a: 20n, b: 22n })));
      const res = await fetch(`${snetd.daemon.url}/calc.Calculator/add`, {
        method: "POST",
        headers,
        body: new Uint8Array(body),
      });
      const bytes = Buffer.from(await res.arrayBuffer());
      const length = bytes.readUInt32BE(1);
      const reply = fromBinary(Result, bytes.subarray(5, 5 + length)) as unknown as { value: bigint };
      expect(reply.value).toBe(42n);
      expect(bytes.subarray(5 + length + 5).toString()).toContain("grpc-status: 0");
      expect((await snetd.state(ch)).amount).toBe(world.price);
    },
    E2E_TIMEOUT_MS,
  );
});

describe("dynamic pricing: mul costs |a × b| cogs, as the service's estimate_mul says", () => {
  test(
    "the service's price is charged, the metadata price is refused",
    async () => {
      const ch = await world.openFundedChannel();
      const price = mulPrice(6n, 7n);
      const wrong = await paid("mul", { a: 6n, b: 7n }, ch.pay(world.price));
      expect(wrong.status).toEqual({
        code: grpc.status.UNAUTHENTICATED,
        details: `income ${world.price} does not equal to price ${price}`,
      });
      const before = service.served("mul");
      const r = await paid("mul", { a: 6n, b: 7n }, ch.pay(price));
      expect(r.status.code).toBe(grpc.status.OK);
      expect(r.reply?.value).toBe(42n);
      expect(service.served("mul")).toBe(before + 1);
      expect((await snetd.state(ch)).amount).toBe(price);
    },
    E2E_TIMEOUT_MS,
  );

  test(
    "a price method that fails refuses the call before the service runs",
    async () => {
      const ch = await world.openFundedChannel();
      const before = service.served("mul");
      const r = await paid("mul", { a: 1n, b: 1n, note: NO_QUOTE }, ch.pay(1n));
      expect(r.status.code).toBe(grpc.status.UNAVAILABLE);
      expect(r.status.details).toStartWith(
        'cannot get the price from the service: "/calc.Calculator/estimate_mul" failed: upstream http status 500',
      );
      expect(service.served("mul")).toBe(before);
      expect((await snetd.state(ch)).amount).toBe(0n);
    },
    E2E_TIMEOUT_MS,
  );
});

describe("Connect (curl, JSON) in front of an HTTP service", () => {
  test(
    "JSON in, dynamic price from the first message, JSON out: two mappings meet and nothing is lost",
    async () => {
      const ch = await world.openFundedChannel();
      const price = mulPrice(6n, 7n);
      const r = await curl(`${snetd.daemon.url}/calc.Calculator/mul`, {
        headers: { "content-type": "application/json", ...curlHeaders(ch.pay(price)) },
        data: JSON.stringify({ a: "6", b: 7, note: "<&>" }),
      });
      expect(r.status).toBe(200);
      // Canonical proto3 JSON towards the client (int64 as a string), whatever the service's Go-style JSON was.
      expect(r.json).toEqual({ value: "42", note: "<&>" });
      expect((await snetd.state(ch)).amount).toBe(price);
    },
    E2E_TIMEOUT_MS,
  );
});

describe("prepaid", () => {
  test(
    "prepaid calls use up the budget by the fixed and the dynamic price; failures give it back",
    async () => {
      await snetd.daemon.showLogsOnFailure(async () => {
        const ch = await world.openFundedChannel();
        const token = await prepaidToken(world, snetd.daemon.endpoint, ch, 1000n);
        const md = prepaidMetadata(ch.id, token);
        expect((await paid("add", { a: 1n, b: 2n }, md)).reply?.value).toBe(3n);
        expect((await paid("mul", { a: 3n, b: 5n }, md)).reply?.value).toBe(15n);
        expect((await paid("fail", {}, md)).status.code).toBe(grpc.status.UNAVAILABLE);
        expect((await paid("garbage", {}, md)).status.code).toBe(grpc.status.INTERNAL);
        const s = await state(ch);
        expect(s.plannedAmount).toBe(1000n);
        expect(s.usedAmount).toBe(world.price + 15n);
      });
    },
    E2E_TIMEOUT_MS,
  );
});

function frame(payload: Uint8Array): Buffer {
  const out = Buffer.alloc(5 + payload.length);
  out.writeUInt32BE(payload.length, 1);
  out.set(payload, 5);
  return out;
}
