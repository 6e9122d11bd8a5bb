// The real snet-cli 3.1.1 against an HTTP service sold by snetd (part of npm test's fast subset): the
// service metadata says service_type "http" and its archive holds the calculator's protos; snet-cli
// compiles those protos, signs the metadata price and calls gRPC as for any service, unchanged; snetd
// turns each call into a JSON POST to a real HTTP service. A failing service is not charged.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CALC_PROTOS, type CalcService, startCalcHttpService } from "../kit/calc-service.ts";
import { CLIENTS, type TestAccount } from "../kit/contracts.ts";
import { clientGate } from "./clients.ts";
import { type InteropWorld, startInteropWorld } from "./interop-world.ts";
import { fet, preflight, type RunResult, runPython } from "./python-env.ts";
import { configureSnetCli } from "./snet-cli-setup.ts";

const gate = clientGate("snet-cli 3.1.1", "fast");
const STEP_MS = 180_000;
const CHANNEL_VALUE = 1_000_000n;
// interop-world.ts: client 0 holds its tokens in its wallet, as a snet-cli user would.
const CLIENT = CLIENTS[0] as TestAccount;

let w: InteropWorld;
let service: CalcService;
let home: string;
let channelId: bigint;

async function snet(args: string[], expectOk = true): Promise<RunResult> {
  const r = await runPython(gate, "snet", args, home);
  if (expectOk && r.code !== 0) {
    throw new Error(
      `'snet ${args.join(" ")}' exited ${r.code}\nstdout:\n${r.stdout}\nstderr:\n${r.stderr}\nsnetd:\n${w.daemon.logs()}`,
    );
  }
  return r;
}

/** `snet client call` of a calculator method: exit code, the reply's `value`, the status details. */
async function calc(method: string, args: Record<string, number>) {
  const r = await snet(
    ["client", "call", w.info.orgId, w.info.serviceId, w.info.groupName, method, JSON.stringify(args), "-y"],
    false,
  );
  const out = r.stdout + r.stderr;
  return {
    code: r.code,
    value: /^value: (-?\d+)$/m.exec(r.stdout)?.[1],
    details: /details = "(.*)"/.exec(out)?.[1],
  };
}

async function signedAmount(): Promise<bigint> {
  const r = await snet(["client", "get-channel-state", channelId.toString(), w.info.daemonUrl]);
  return BigInt(/current_signed_amount_in_cogs\s+=\s+(\d+)/.exec(r.stdout)?.[1] ?? "-1");
}

describe.skipIf(!gate.run)("snet-cli 3.1.1 against an HTTP service sold by snetd", () => {
  beforeAll(async () => {
    await preflight(gate);
    home = mkdtempSync(join(tmpdir(), "snetd-interop-http-"));
    service = startCalcHttpService();
    w = await startInteropWorld({
      binary: true,
      serviceType: "http",
      protos: CALC_PROTOS,
      daemonConfig: { service_endpoint: service.url },
    });
    const { info } = w;
    await configureSnetCli(snet, home, info, { client: CLIENT });
    await snet(["account", "deposit", fet(CHANNEL_VALUE), "-y", "-q"]);
    const opened = await snet([
      "channel",
      "open",
      info.orgId,
      info.groupName,
      fet(CHANNEL_VALUE),
      "+2000blocks",
      "-y",
      "-q",
      "--open-new-anyway",
    ]);
    channelId = BigInt(/#channel_id\s+(\d+)/.exec(opened.stdout)?.[1] ?? "-1");
  }, STEP_MS);

  afterAll(async () => {
    await w?.stop();
    await service?.stop();
    if (home) rmSync(home, { recursive: true, force: true });
  });

  test(
    "snet client call reaches the HTTP service and pays the metadata price",
    async () => {
      const price = w.world.price;
      expect(await calc("add", { a: 2, b: 3 })).toEqual({ code: 0, value: "5", details: undefined });
      expect(await signedAmount()).toBe(price);
      expect(await calc("add", { a: 40, b: 2 })).toEqual({ code: 0, value: "42", details: undefined });
      expect(await signedAmount()).toBe(2n * price);
      expect(service.served("add")).toBe(2);
    },
    STEP_MS,
  );

  test(
    "a failing service and bad JSON are reported to snet and not charged",
    async () => {
      const before = await signedAmount();
      const failed = await calc("fail", { a: 1, b: 1 });
      expect(failed.code).not.toBe(0);
      expect(failed.details).toBe("upstream http status 500: the model crashed");
      const garbage = await calc("garbage", { a: 1, b: 1 });
      expect(garbage.code).not.toBe(0);
      expect(garbage.details).toStartWith("jsonToProto error: invalid proto, can't convert json to proto msg: ");
      expect(await signedAmount()).toBe(before);
      expect(await calc("add", { a: 1, b: 1 })).toMatchObject({ code: 0, value: "2" });
      expect(await signedAmount()).toBe(before + w.world.price);
    },
    STEP_MS,
  );
});
