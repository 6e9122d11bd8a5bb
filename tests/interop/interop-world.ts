/**
 * A world for the real Python clients (snet-cli, snet-sdk-python): the kit's world, with the service
 * metadata republished so its group `endpoints` point at the daemon (clients dial `endpoints[0]`),
 * tokens minted to the test clients' wallets (they deposit themselves), and snetd in front.
 *
 * @example
 * const w = await startInteropWorld();
 * try { console.log(w.info.daemonEndpoint); } finally { await w.stop(); }
 */
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import type { Address, Hex } from "viem";
import { CLIENTS, DEPLOYER, PROVIDER, type TestAccount, sendContractTx, tokenAbi } from "../kit/contracts.ts";
import { type DaemonProcess, startDaemon } from "../kit/daemon.ts";
import { freePort } from "../kit/ports.ts";
import { buildProtoArchive, buildServiceMetadata, publishService } from "../kit/registry-publish.ts";
import { buildOrgMetadata } from "../kit/registry-publish.ts";
import { GROUP_NAME, ORG_ID, SERVICE_ID, type World, type WorldOptions, startWorld } from "../kit/world.ts";

const repoRoot = resolve(import.meta.dir, "../..");

/** What a client-side script needs to talk to the world; printed as JSON by world-up.ts. */
export interface InteropInfo {
  rpcUrl: string;
  chainId: number;
  mpe: Address;
  registry: Address;
  token: Address;
  ipfsMultiaddr: string;
  ipfsUrl: string;
  daemonEndpoint: string;
  daemonUrl: string;
  orgId: string;
  serviceId: string;
  groupName: string;
  groupIdBase64: string;
  price: string;
  /** Tokens (cogs) minted to each client wallet, not deposited. */
  mintedCogs: string;
  clients: { address: Address; privateKey: Hex }[];
  provider: { address: Address; privateKey: Hex };
}

export interface InteropWorld {
  world: World;
  daemon: DaemonProcess;
  info: InteropInfo;
  stop(): Promise<void>;
}

export interface InteropWorldOptions extends WorldOptions {
  /** Run the compiled binary (built into a private temp dir, so a concurrent build of dist/snetd is not disturbed). */
  binary?: boolean;
  /** Cogs minted to each of CLIENTS[0..clientCount). */
  mint?: bigint;
  clientCount?: number;
  daemonConfig?: Record<string, unknown>;
}

/** Builds snetd into `dir` with build.ts; returns the executable path. */
export function buildDaemon(dir: string): string {
  const outfile = join(dir, "snetd");
  const proc = Bun.spawnSync({
    cmd: [process.execPath, join(repoRoot, "build.ts")],
    cwd: repoRoot,
    env: { ...process.env, SNETD_OUTFILE: outfile },
    stdout: "pipe",
    stderr: "pipe",
  });
  if (proc.exitCode !== 0) throw new Error(`build.ts failed (exit ${proc.exitCode}):\n${proc.stdout.toString()}${proc.stderr.toString()}`);
  return outfile;
}

export async function startInteropWorld(opts: InteropWorldOptions = {}): Promise<InteropWorld> {
  const mint = opts.mint ?? 10_000_000n;
  const clients: TestAccount[] = CLIENTS.slice(0, opts.clientCount ?? 2);
  const buildDir = opts.binary ? mkdtempSync(join(tmpdir(), "snetd-interop-build-")) : undefined;
  const world = await startWorld(opts);
  let daemon: DaemonProcess | undefined;
  try {
    const daemonPort = await freePort();
    const daemonEndpoint = `127.0.0.1:${daemonPort}`;
    // Republish with the daemon's URL in the group endpoints: snet-cli and the SDK dial endpoints[0].
    const orgMetadata = buildOrgMetadata({
      orgId: ORG_ID,
      groupName: GROUP_NAME,
      groupIdBase64: world.group.base64,
      paymentAddress: PROVIDER.address,
      expirationThreshold: world.expirationThreshold,
      ...(opts.etcdEndpoints ? { etcdEndpoints: opts.etcdEndpoints } : {}),
    });
    const serviceMetadata = buildServiceMetadata({
      mpeAddress: world.deployment.mpe,
      groupName: GROUP_NAME,
      groupIdBase64: world.group.base64,
      priceInCogs: world.price,
      endpoints: [`http://${daemonEndpoint}`],
      ...(opts.methodPricing ? { methodPricing: opts.methodPricing } : {}),
      ...(opts.freeCallSignerAddress ? { freeCallSignerAddress: opts.freeCallSignerAddress } : {}),
      ...(opts.freeCalls !== undefined ? { freeCalls: opts.freeCalls } : {}),
    });
    const protoArchive = await buildProtoArchive({ "echo.proto": readFileSync(join(repoRoot, "tests/kit/echo.proto"), "utf8") });
    await publishService({ deployment: world.deployment, ipfs: world.ipfs, orgId: ORG_ID, serviceId: SERVICE_ID, orgMetadata, serviceMetadata, protoArchive });

    for (const client of clients) {
      await sendContractTx(world.deployment, DEPLOYER.privateKey, { address: world.deployment.token, abi: tokenAbi, functionName: "mint", args: [client.address, mint] });
    }

    const binaryPath = buildDir ? buildDaemon(buildDir) : undefined;
    daemon = await startDaemon({
      config: world.daemonConfig({ daemon_endpoint: daemonEndpoint, ...opts.daemonConfig }),
      ...(binaryPath ? { command: [binaryPath] } : {}),
    });
    const d = daemon;
    const info: InteropInfo = {
      rpcUrl: world.anvil.rpcUrl,
      chainId: world.deployment.chainId,
      mpe: world.deployment.mpe,
      registry: world.deployment.registry,
      token: world.deployment.token,
      ipfsMultiaddr: world.ipfs.multiaddr,
      ipfsUrl: world.ipfs.url,
      daemonEndpoint: d.endpoint,
      daemonUrl: d.url,
      orgId: ORG_ID,
      serviceId: SERVICE_ID,
      groupName: GROUP_NAME,
      groupIdBase64: world.group.base64,
      price: world.price.toString(),
      mintedCogs: mint.toString(),
      clients: clients.map((c) => ({ address: c.address, privateKey: c.privateKey })),
      provider: { address: PROVIDER.address, privateKey: PROVIDER.privateKey },
    };
    return {
      world,
      daemon: d,
      info,
      async stop() {
        await d.stop().catch(() => {});
        await world.stop();
        if (buildDir) rmSync(buildDir, { recursive: true, force: true });
      },
    };
  } catch (err) {
    await daemon?.stop().catch(() => {});
    await world.stop();
    if (buildDir) rmSync(buildDir, { recursive: true, force: true });
    throw err;
  }
}
