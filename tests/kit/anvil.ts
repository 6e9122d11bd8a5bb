/**
 * A throw-away anvil chain for tests (protocol/contracts.md#test-chain): the binary from the npm platform package, on a
 * free loopback port, chain id 31337, automine, quiet, the 10 accounts of the standard test mnemonic.
 *
 * @example
 * const anvil = await startAnvil();
 * try { await mine(anvil.rpcUrl, 10n); } finally { await anvil.stop(); }
 */
import { type ChildProcess, spawn } from "node:child_process";
import { join } from "node:path";
import { freePort } from "./ports.ts";

export interface Anvil {
  rpcUrl: string;
  port: number;
  /** Kills the process (SIGTERM, then SIGKILL) and resolves once it has exited; safe to call twice. */
  stop(): Promise<void>;
}

export interface StartAnvilOptions {
  /** Interval mining every N seconds instead of one block per transaction. */
  blockTime?: number;
  /** 31337 by default; the JS SDKs only know the published networks (protocol/contracts.md#test-chain). */
  chainId?: number;
}

const ANVIL_BIN = join(import.meta.dir, "..", "..", "node_modules", "@foundry-rs", "anvil-linux-amd64", "bin", "anvil");
const READY_TIMEOUT_MS = 20_000;
const STOP_GRACE_MS = 3_000;
const START_ATTEMPTS = 3;

// Every child still running, so an exiting test runner can take them down with it (best effort: a
// SIGKILLed runner leaves them behind, nothing can be done about that from here).
const live = new Set<ChildProcess>();
let exitHookInstalled = false;
function killAllOnExit(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on("exit", () => {
    for (const child of live) child.kill("SIGKILL");
  });
}

/** Starts anvil and resolves once `eth_chainId` answers with the expected id. */
export async function startAnvil(opts: StartAnvilOptions = {}): Promise<Anvil> {
  let lastError: unknown;
  // A port from freePort() may be taken again before anvil binds it; a fresh port fixes that.
  for (let attempt = 0; attempt < START_ATTEMPTS; attempt++) {
    try {
      return await startOnce(await freePort(), opts);
    } catch (error) {
      lastError = error;
    }
  }
  throw lastError;
}

async function startOnce(port: number, opts: StartAnvilOptions): Promise<Anvil> {
  const chainId = opts.chainId ?? 31337;
  const args = ["--host", "127.0.0.1", "--port", String(port), "--chain-id", String(chainId), "--quiet"];
  if (opts.blockTime !== undefined) args.push("--block-time", String(opts.blockTime));

  const child = spawn(ANVIL_BIN, args, { stdio: ["ignore", "ignore", "pipe"] });
  killAllOnExit();
  live.add(child);
  let stderr = "";
  child.stderr?.setEncoding("utf8");
  child.stderr?.on("data", (chunk: string) => {
    stderr = (stderr + chunk).slice(-4000);
  });
  const exited = new Promise<void>((resolve) => {
    child.once("exit", () => {
      live.delete(child);
      resolve();
    });
    child.once("error", (error) => {
      stderr += `${error.message} (binary "${ANVIL_BIN}")`;
      live.delete(child);
      resolve();
    });
  });
  let hasExited = false;
  void exited.then(() => (hasExited = true));

  const stop = async (): Promise<void> => {
    if (hasExited) return;
    child.kill("SIGTERM");
    const timer = setTimeout(() => child.kill("SIGKILL"), STOP_GRACE_MS);
    await exited;
    clearTimeout(timer);
  };

  const rpcUrl = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + READY_TIMEOUT_MS;
  for (;;) {
    if (hasExited) {
      throw new Error(
        `anvil on port ${port} exited before answering: ${stderr.trim() || `exit code ${child.exitCode}`}`,
      );
    }
    const answered = await rpc<string>(rpcUrl, "eth_chainId", []).catch(() => undefined);
    if (answered !== undefined) {
      if (BigInt(answered) === BigInt(chainId)) return { rpcUrl, port, stop };
      await stop();
      throw new Error(`anvil on port ${port} answered chain id "${answered}", expected ${chainId}`);
    }
    if (Date.now() > deadline) {
      await stop();
      throw new Error(
        `anvil on port ${port} did not answer eth_chainId within ${READY_TIMEOUT_MS} ms: ${stderr.trim()}`,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

let rpcId = 0;

/** One JSON-RPC call; throws with the node's message on an error reply. */
export async function rpc<T>(rpcUrl: string, method: string, params: unknown[]): Promise<T> {
  const response = await fetch(rpcUrl, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ jsonrpc: "2.0", id: ++rpcId, method, params }),
  });
  if (!response.ok) throw new Error(`${method} on "${rpcUrl}" answered HTTP ${response.status}`);
  const body = (await response.json()) as { result?: T; error?: { message: string } };
  if (body.error) throw new Error(`${method} on "${rpcUrl}" failed: ${body.error.message}`);
  return body.result as T;
}

/** Mines `blocks` empty blocks at once (`anvil_mine`), e.g. to move past a channel's expiration. */
export async function mine(rpcUrl: string, blocks: bigint): Promise<void> {
  if (blocks < 1n) throw new RangeError(`cannot mine ${blocks} blocks, expected at least 1`);
  await rpc<null>(rpcUrl, "anvil_mine", [`0x${blocks.toString(16)}`]);
}

export async function blockNumber(rpcUrl: string): Promise<bigint> {
  return BigInt(await rpc<string>(rpcUrl, "eth_blockNumber", []));
}
