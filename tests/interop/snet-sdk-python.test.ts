// The real snet-sdk-python 5.0.0 against snetd (opt-in, see README.md here): escrow calls with the
// paid-call strategy, then the default strategy (free calls first, then prepaid tokens), then a claim in
// flight. The service grants 2 free calls; the SDK client already has an MPE deposit (interop-world.ts).
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { channelOnChain, claimOnChain, mpeBalance } from "../kit/client.ts";
import { CLIENTS, PROVIDER, type TestAccount } from "../kit/contracts.ts";
import { channelState } from "../kit/paid-daemon.ts";
import { type InteropWorld, startClaimOnly, startInteropWorld } from "./interop-world.ts";
import { interopGate, preflight, runPython } from "./python-env.ts";

const gate = interopGate("snet-sdk-python");
const STEP_MS = 240_000;
const FREE_CALLS = 2;
const CLIENT_INDEX = 1;
const CLIENT = CLIENTS[CLIENT_INDEX] as TestAccount;
// The SDK's first channel on a fresh chain.
const CHANNEL_ID = 0n;

let w: InteropWorld;
let home: string;
let worldFile: string;

interface CallResult {
  ok: boolean;
  text?: string;
  payer?: string;
  type?: string;
  error?: string;
  trace?: string;
}

async function sdkCalls(strategy: "default" | "paid", calls: number): Promise<CallResult[]> {
  const r = await runPython(gate, "python", [join(import.meta.dir, "sdk_calls.py"), worldFile, strategy, String(calls), String(CLIENT_INDEX)], home);
  const line = r.stdout.split("\n").find((l) => l.startsWith("RESULT "));
  if (r.code !== 0 || !line) throw new Error(`sdk_calls.py exited ${r.code}\nstdout:\n${r.stdout}\nstderr:\n${r.stderr}\nsnetd:\n${w.daemon.logs()}`);
  return JSON.parse(line.slice("RESULT ".length)) as CallResult[];
}

const succeeded = (type: string, texts: string[]) => texts.map((text) => ({ ok: true, text, payer: CLIENT.address, type }));

/** GetChannelState signed by the client, as the SDK asks before each paid call. */
async function signedAmount(): Promise<{ nonce: bigint; signed: bigint }> {
  const { nonce, amount } = await channelState(w.world, w.daemon.endpoint, { id: CHANNEL_ID, client: CLIENT });
  return { nonce, signed: amount };
}

describe.skipIf(!gate.run)("snet-sdk-python 5.0.0 against snetd", () => {
  beforeAll(async () => {
    await preflight(gate, "snet-sdk-python");
    // The SDK caches generated stubs and channel scans under ~/.snet; a cache from another chain hides new channels.
    home = mkdtempSync(join(tmpdir(), "snetd-interop-sdk-"));
    w = await startInteropWorld({ binary: true, freeCalls: FREE_CALLS });
    worldFile = join(home, "world.json");
    writeFileSync(worldFile, JSON.stringify(w.info));
  }, STEP_MS);

  afterAll(async () => {
    await w?.stop();
    if (home) rmSync(home, { recursive: true, force: true });
  });

  test("the paid-call strategy opens a channel and pays each call by escrow", async () => {
    expect(await sdkCalls("paid", 3)).toEqual(succeeded("escrow", ["sdk paid 0", "sdk paid 1", "sdk paid 2"]));
    expect((await channelOnChain(w.world.deployment, CHANNEL_ID)).sender).toBe(CLIENT.address);
    expect(await signedAmount()).toEqual({ nonce: 0n, signed: 3n * w.world.price });
  }, STEP_MS);

  test("the default strategy spends the free calls, then pays with prepaid tokens on the same channel", async () => {
    expect(await sdkCalls("default", 4)).toEqual([
      ...succeeded("free-call", ["sdk default 0", "sdk default 1"]),
      ...succeeded("prepaid-call", ["sdk default 2", "sdk default 3"]),
    ]);
    // Each prepaid call asked GetToken for one more price: the channel's claimable amount grew by two.
    expect(await signedAmount()).toEqual({ nonce: 0n, signed: 5n * w.world.price });
  }, STEP_MS);

  test("while a claim is in flight the SDK's chain-nonce payments are refused; once mined they pass", async () => {
    const started = await startClaimOnly(w.daemon.endpoint, w.info.mpe, CHANNEL_ID, 0n);
    expect({ nonce: started.nonce, amount: started.amount }).toEqual({ nonce: 0n, amount: 5n * w.world.price });
    const [refused] = await sdkCalls("paid", 1);
    expect(refused?.ok).toBe(false);
    expect(refused?.error).toContain("incorrect payment channel nonce, latest: 1, sent: 0");

    const before = await mpeBalance(w.world.deployment, PROVIDER.address);
    await claimOnChain(w.world.deployment, PROVIDER.privateKey, { channelId: CHANNEL_ID, amount: started.amount, signature: started.signature });
    expect(await mpeBalance(w.world.deployment, PROVIDER.address)).toBe(before + started.amount);
    expect(await sdkCalls("paid", 1)).toEqual(succeeded("escrow", ["sdk paid 0"]));
    expect(await signedAmount()).toEqual({ nonce: 1n, signed: w.world.price });
  }, STEP_MS);
});
