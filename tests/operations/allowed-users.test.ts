/**
 * Allowed users (curation mode, protocol/operations.md#allowed-users): with `allowed_user_flag`, only the addresses on
 * `allowed_user_addresses` are served, on every payment path — escrow calls, prepaid token requests (and
 * so prepaid calls), free-call token requests and free calls — and everyone else gets PERMISSION_DENIED
 * with the reference's text (not the reference's misleading "payment signature is not valid"). A refused
 * caller is never charged and the service never sees the call.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import * as grpc from "@grpc/grpc-js";
import { signFreeCallToken } from "../../src/core/free-call-token.ts";
import { hexToBytes } from "../../src/core/numbers.ts";
import type { Address } from "../../src/core/signatures.ts";
import { CLIENTS, FREE_CALL_SIGNER, type TestAccount } from "../kit/contracts.ts";
import { call } from "../kit/echo-service.ts";
import { type PaidDaemon, startPaidDaemon } from "../kit/paid-daemon.ts";
import { callerOf, payKit } from "../kit/pay-kit.ts";
import { GROUP_NAME, ORG_ID, startWorld, type World } from "../kit/world.ts";

const NOT_ALLOWED = {
  code: grpc.status.PERMISSION_DENIED,
  details: "you are not Authorized to call this service during curation process",
};
const OK = { code: grpc.status.OK, details: "OK" };
const ALLOWED = CLIENTS[0] as TestAccount;
const OUTSIDER = CLIENTS[1] as TestAccount;

let world: World;
let snetd: PaidDaemon;
let pay: ReturnType<typeof payKit>;

beforeAll(async () => {
  world = await startWorld({ freeCallSignerAddress: FREE_CALL_SIGNER.address, freeCalls: 5 });
  snetd = await startPaidDaemon(world, {
    allowed_user_flag: true,
    // Mixed case on purpose: addresses are compared as 20 bytes.
    allowed_user_addresses: [ALLOWED.address.toUpperCase().replace("0X", "0x")],
    private_key_for_free_calls: FREE_CALL_SIGNER.privateKey,
    min_balance_for_free_call: 0,
    token_secret_key: "allowed-users-secret-0123456789-0123456789",
  });
  pay = payKit(world, snetd.daemon.endpoint);
}, 120_000);

afterAll(async () => {
  pay?.close();
  await snetd?.stop();
  await world?.stop();
});

describe("allowed_user_flag", () => {
  test("escrow: the listed payer is served, anyone else refused before the service and without a charge", async () => {
    const mine = await world.openFundedChannel({ client: ALLOWED });
    const theirs = await world.openFundedChannel({ client: OUTSIDER });
    const before = world.echo.calls;
    expect((await call(snetd.echo, "Echo", { text: "ok" }, mine.pay(world.price))).status).toEqual(OK);
    expect((await call(snetd.echo, "Echo", { text: "no" }, theirs.pay(world.price))).status).toEqual(NOT_ALLOWED);
    expect(world.echo.calls).toBe(before + 1);
    expect((await snetd.state(theirs)).amount).toBe(0n);
  });

  test("prepaid: an outsider gets no token, the listed payer gets one and its calls go through", async () => {
    const theirs = await world.openFundedChannel({ client: OUTSIDER });
    expect((await pay.prepaidToken(theirs, 10n * world.price)).status).toEqual({
      code: NOT_ALLOWED.code,
      details: NOT_ALLOWED.details,
    });
    expect((await snetd.state(theirs)).amount).toBe(0n);

    const mine = await world.openFundedChannel({ client: ALLOWED });
    const t = await pay.prepaidToken(mine, 10n * world.price);
    expect(t.status).toEqual({ code: grpc.status.OK, details: "" });
    expect(
      (await call(snetd.echo, "Echo", { text: "prepaid" }, pay.prepaidMetadata(mine.id, t.reply!.token))).status,
    ).toEqual(OK);
  });

  test("free calls: an outsider gets no token, and a call with a valid token for them is refused too", async () => {
    const outsider = callerOf(OUTSIDER.privateKey);
    expect((await pay.freeCallToken(outsider)).status).toEqual({
      code: NOT_ALLOWED.code,
      details: NOT_ALLOWED.details,
    });
    // A token the group's signer did issue (before the list changed, say) does not get past the list.
    const token = signFreeCallToken(hexToBytes(FREE_CALL_SIGNER.privateKey), {
      orgId: ORG_ID,
      groupName: GROUP_NAME,
      user: outsider.address.toLowerCase() as Address,
      userId: "",
      expiryBlock: (await world.head()) + 100n,
    });
    const before = world.echo.calls;
    expect((await pay.freeCall(outsider, token)).status).toEqual(NOT_ALLOWED);
    expect(world.echo.calls).toBe(before);

    const allowed = callerOf(ALLOWED.privateKey);
    const mine = await pay.freeCallToken(allowed);
    expect(mine.status).toEqual({ code: grpc.status.OK, details: "" });
    expect((await pay.freeCall(allowed, mine.reply!.token)).status).toEqual(OK);
    expect(world.echo.calls).toBe(before + 1);
  });

  test("the refusal is logged with the caller's code, not as a bad signature", () => {
    expect(snetd.daemon.logs()).toContain("you are not Authorized to call this service during curation process");
    expect(snetd.daemon.logs()).not.toContain("payment signature is not valid");
  });
});
