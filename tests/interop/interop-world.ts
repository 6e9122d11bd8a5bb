/**
 * A world for the real Python clients (snet-cli, snet-sdk-python): the kit's world, with the service
 * metadata's group `endpoints` pointing at the daemon (clients dial `endpoints[0]`),
 * tokens for the test clients (client 0 in its wallet, the others already in the MPE), and snetd in front.
 *
 * @example
 * const w = await startInteropWorld();
 * try { console.log(w.info.daemonEndpoint); } finally { await w.stop(); }
 */
import type { Address, Hex } from "viem";
import { signDigest } from "../../src/core/noble-recovery.ts";
import { bigintToMinimalBytes, bytesToBigint, hexToBytes } from "../../src/core/numbers.ts";
import { personalDigest, startClaimMessage } from "../../src/core/signatures.ts";
import { PaymentReplySchema, StartClaimRequestSchema } from "../../src/gen/control_service_pb.ts";
import { fundClient } from "../kit/client.ts";
import {
  CLIENTS,
  DEPLOYER,
  FREE_CALL_SIGNER,
  PROVIDER,
  sendContractTx,
  type TestAccount,
  tokenAbi,
} from "../kit/contracts.ts";
import { type DaemonProcess, ensureBinary, startDaemon } from "../kit/daemon.ts";
import { daemonRpc } from "../kit/daemon-client.ts";
import { freePort } from "../kit/ports.ts";
import { GROUP_NAME, ORG_ID, SERVICE_ID, startWorld, type World, type WorldOptions } from "../kit/world.ts";

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
  /** The example AI service behind the daemon, for starting more daemons by hand. */
  serviceEndpoint: string;
  orgId: string;
  serviceId: string;
  groupName: string;
  groupIdBase64: string;
  price: string;
  /** Cogs minted to each client: client 0 holds them in its wallet, the others in their MPE escrow balance. */
  mintedCogs: string;
  clients: { address: Address; privateKey: Hex }[];
  provider: { address: Address; privateKey: Hex };
}

export interface InteropWorld {
  world: World;
  daemon: DaemonProcess;
  info: InteropInfo;
  /** Starts one more daemon the same way (binary or source); the world's stop() does not stop it. */
  startDaemon(config: Record<string, unknown>): Promise<DaemonProcess>;
  stop(): Promise<void>;
}

export interface InteropWorldOptions extends WorldOptions {
  /** Run dist/snetd (built by `ensureBinary()` when older than the source) instead of `bun src/main.ts`. */
  binary?: boolean;
  /** Cogs minted to each of CLIENTS[0..clientCount); deposited into the MPE for all but client 0. */
  mint?: bigint;
  clientCount?: number;
  daemonConfig?: Record<string, unknown>;
}

export async function startInteropWorld(options: InteropWorldOptions = {}): Promise<InteropWorld> {
  // Free calls need the group's signer key in the daemon; the clients hold no 10 FET, so no balance rule.
  const opts: InteropWorldOptions =
    options.freeCalls !== undefined && options.freeCallSignerAddress === undefined
      ? {
          ...options,
          freeCallSignerAddress: FREE_CALL_SIGNER.address,
          daemonConfig: {
            private_key_for_free_calls: FREE_CALL_SIGNER.privateKey.slice(2),
            min_balance_for_free_call: 0,
            ...options.daemonConfig,
          },
        }
      : options;
  const mint = opts.mint ?? 10_000_000n;
  const clients: TestAccount[] = CLIENTS.slice(0, opts.clientCount ?? 3);
  if (opts.binary) await ensureBinary();
  const daemonEndpoint = `127.0.0.1:${await freePort()}`;
  // The daemon's URL in the group endpoints: snet-cli and the SDK dial endpoints[0].
  const world = await startWorld({ ...opts, endpoints: [`http://${daemonEndpoint}`] });
  let daemon: DaemonProcess | undefined;
  try {
    // Client 0 (snet-cli) gets wallet tokens and deposits itself. The others (SDK) get an escrow
    // deposit too: snet-sdk-python 5.0.0 sends an account's first transaction with nonce 1, which never
    // mines (Account._get_nonce), so SDK accounts must have sent a transaction before.
    for (const [i, client] of clients.entries()) {
      if (i === 0)
        await sendContractTx(world.deployment, DEPLOYER.privateKey, {
          address: world.deployment.token,
          abi: tokenAbi,
          functionName: "mint",
          args: [client.address, mint],
        });
      else await fundClient(world.deployment, client.privateKey, mint);
    }

    const launch = (config: Record<string, unknown>) => startDaemon({ config, binary: opts.binary === true });
    daemon = await launch(world.daemonConfig({ daemon_endpoint: daemonEndpoint, ...opts.daemonConfig }));
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
      serviceEndpoint: `http://${world.echo.address}`,
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
      startDaemon: launch,
      async stop() {
        await d.stop().catch(() => {});
        await world.stop();
      },
    };
  } catch (err) {
    await daemon?.stop().catch(() => {});
    await world.stop();
    throw err;
  }
}

export interface StartedClaim {
  nonce: bigint;
  amount: bigint;
  signature: Uint8Array;
}

/**
 * `ProviderControlService/StartClaim` as the provider, without the on-chain claim that snet-cli sends
 * right after: leaves the channel "claim in flight" (daemon nonce = chain nonce + 1, protocol/payments.md#old-nonce).
 */
export async function startClaimOnly(
  endpoint: string,
  mpe: Address,
  channelId: bigint,
  daemonNonce: bigint,
): Promise<StartedClaim> {
  const rpc = daemonRpc(
    endpoint,
    "/escrow.ProviderControlService/StartClaim",
    StartClaimRequestSchema,
    PaymentReplySchema,
  );
  try {
    const signature = signDigest(
      hexToBytes(PROVIDER.privateKey),
      personalDigest(startClaimMessage(mpe, channelId, daemonNonce)),
    );
    const r = await rpc.call({ mpeAddress: mpe, channelId: bigintToMinimalBytes(channelId), signature });
    if (!r.reply)
      throw new Error(
        `StartClaim of channel ${channelId} at nonce ${daemonNonce} failed: ${r.status.code} "${r.status.details}"`,
      );
    return {
      nonce: bytesToBigint(r.reply.channelNonce),
      amount: bytesToBigint(r.reply.signedAmount),
      signature: r.reply.signature,
    };
  } finally {
    rpc.close();
  }
}
