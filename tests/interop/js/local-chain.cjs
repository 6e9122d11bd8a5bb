// Registers a local chain (anvil) in the contract packages' network tables, where both JavaScript SDKs
// look their contract addresses up by network id (protocol/contracts.md#test-chain). snet-sdk 2.0.0 reads
// `table[id].address`; snet-sdk-web 4.2.2 reads `table[id][tokenName][standType].address` (FET/prod by
// default) and, in one place, the flat form too; `transactionHash` gives the MPE's deployment block,
// from which the SDKs scan ChannelOpen events.

/** The entry for one contract, in both shapes. */
function localChainEntry(address, transactionHash) {
  const flat = { address, transactionHash };
  return { ...flat, FET: { prod: flat }, AGIX: { prod: flat } };
}

/** Adds the world's contracts to the given tables: { mpe, registry, token } lists of table objects. */
function addLocalChain(tables, info) {
  for (const t of tables.mpe) t[info.chainId] = localChainEntry(info.mpe, info.deployTx.mpe);
  for (const t of tables.registry) t[info.chainId] = localChainEntry(info.registry, info.deployTx.registry);
  for (const t of tables.token) t[info.chainId] = localChainEntry(info.token, info.deployTx.token);
}

/** Node: the tables as the SDK's own `require` resolves them (same module cache, so the SDK sees the entries). */
function registerLocalChain(sdkRequire, info) {
  addLocalChain(
    {
      mpe: [sdkRequire("singularitynet-platform-contracts/networks/MultiPartyEscrow.json")],
      registry: [sdkRequire("singularitynet-platform-contracts/networks/Registry.json")],
      token: [
        sdkRequire("singularitynet-token-contracts/networks/SingularityNetToken.json"),
        sdkRequire("singularitynet-token-contracts/networks/FetchToken.json"),
      ],
    },
    info,
  );
}

module.exports = { addLocalChain, registerLocalChain };
