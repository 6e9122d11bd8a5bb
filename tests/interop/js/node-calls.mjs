// npm snet-sdk 2.0.0 calls against an interop world (tests/interop/js-world.ts), run by Node:
//
//   node node-calls.mjs <world.json> <mode: escrow|prepaid|free> <calls> <client index> [<free-call.json>]
//
// Every mode uses the SDK's public DefaultPaymentStrategy, as a dApp does: `concurrency: false` pays by
// escrow, `concurrency: true` (the SDK's default) with prepaid tokens; `free` adds the v5 free-call
// options (email, token, expiry block from free-call.json) and so tries free calls first. A service
// client keeps the first prepaid token it gets, planned for `concurrentCalls` prices, so `prepaid` and
// `free` (whose fallback is prepaid) ask for one call per call they make.
// Prints one line `RESULT <json>`: per call {"ok", "text", "payer", "type"} as the echo service saw it, or
// {"ok": false, "error"}; the first failure ends the list.
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const require = createRequire(import.meta.url);
const sdkModule = require("snet-sdk");
const SnetSDK = sdkModule.default;
const { DefaultPaymentStrategy } = sdkModule;
const grpc = require("@grpc/grpc-js");
const protoLoader = require("@grpc/proto-loader");
const { registerLocalChain } = require("./local-chain.cjs");

const [worldFile, mode, callsText, clientText, freeCallFile] = process.argv.slice(2);
const info = JSON.parse(readFileSync(worldFile, "utf8"));
const client = info.clients[Number(clientText)];

// The SDK looks contract addresses up by network id in the contract packages' tables (protocol/contracts.md#test-chain).
registerLocalChain(createRequire(require.resolve("snet-sdk")), info);

// What `protoc --grpc_out` would give a dApp: a client constructor for the service's proto.
const definition = protoLoader.loadSync(join(here, "../../kit/echo.proto"), { keepCase: true });
const EchoStub = grpc.loadPackageDefinition(definition).example.Echo;

const sdk = new SnetSDK({
  web3Provider: info.rpcUrl,
  privateKey: client.privateKey,
  networkId: info.chainId,
  ipfsEndpoint: info.ipfsUrl,
  defaultGasLimit: 300000,
});
const options = { concurrency: mode !== "escrow" };
if (mode === "free") Object.assign(options, JSON.parse(readFileSync(freeCallFile, "utf8")));
const serviceClient = await sdk.createServiceClient(
  info.orgId,
  info.serviceId,
  EchoStub,
  info.groupName,
  new DefaultPaymentStrategy(mode === "escrow" ? 1 : Number(callsText)),
  options,
);

const echo = (text) =>
  new Promise((resolve, reject) =>
    serviceClient.service.Echo({ text }, (error, reply) => (error ? reject(error) : resolve(reply))),
  );

const results = [];
for (let i = 0; i < Number(callsText); i++) {
  try {
    const reply = await echo(`node ${mode} ${i}`);
    results.push({
      ok: true,
      text: reply.text,
      payer: reply.metadata["snet-user-address"],
      type: reply.metadata["snet-payment-type"],
    });
  } catch (error) {
    results.push({
      ok: false,
      error: `${error?.code ?? ""} ${error?.details ?? error?.message ?? String(error)}`.trim(),
    });
    break;
  }
}
console.log(`RESULT ${JSON.stringify(results)}`);
// web3 and grpc keep sockets open; the result is out.
process.exit(0);
