/**
 * snet-cli pointed at an interop world, as a user would set it up: a `local` network on the test chain, the
 * Registry and MPE addresses, the token (by hand: snet-cli has no `snet set` for it), the test IPFS, and one
 * key identity per account, the last one created being current.
 */
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { TestAccount } from "../kit/contracts.ts";
import type { InteropInfo } from "./interop-world.ts";

/** Configures the snet-cli whose home is `home`; `snet` runs one command there and throws on failure. */
export async function configureSnetCli(
  snet: (args: string[]) => Promise<unknown>,
  home: string,
  info: InteropInfo,
  identities: Record<string, TestAccount>,
): Promise<void> {
  await snet(["network", "create", "local", info.rpcUrl]);
  await snet(["network", "local"]);
  await snet(["set", "current_registry_at", info.registry]);
  await snet(["set", "current_multipartyescrow_at", info.mpe]);
  // protocol/contracts.md#test-chain: there is no `snet set` for the token; the key goes into [network.local] by hand.
  const configFile = join(home, ".snet/config");
  const config = readFileSync(configFile, "utf8");
  writeFileSync(
    configFile,
    config.replace(/^(current_multipartyescrow_at = .*)$/m, `$1\ncurrent_fetchtoken_at = ${info.token}`),
  );
  await snet(["set", "default_ipfs_endpoint", info.ipfsMultiaddr]);
  for (const [name, account] of Object.entries(identities)) {
    await snet(["identity", "create", name, "key", "--private-key", account.privateKey, "--network", "local", "-de"]);
  }
}
