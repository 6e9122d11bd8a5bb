// Not a test: prints what snet-sdk 2.0.0 sends for a v5 free call (the GetFreeCallsAvailable request as
// hex, the call's metadata) and what the daemon answers, for work on v5 support (README.md here).
//
//   node observe-free-call.mjs <world.json with deployTx, as js-world.ts writes> <free-call.json>
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const require = createRequire(import.meta.url);
const sdkModule = require("snet-sdk");
const grpc = require("@grpc/grpc-js");
const protoLoader = require("@grpc/proto-loader");
const { registerLocalChain } = require("./local-chain.cjs");
const FreeCall = createRequire(require.resolve("snet-sdk"))("./payment_strategies/FreeCallPaymentStrategy.js").default;
const [worldFile, freeCallFile] = process.argv.slice(2);
const info = JSON.parse(readFileSync(worldFile, "utf8"));
registerLocalChain(createRequire(require.resolve("snet-sdk")), info);
const EchoStub = grpc.loadPackageDefinition(protoLoader.loadSync(join(here, "../../kit/echo.proto"))).example.Echo;
const sdk = new sdkModule.default({
  web3Provider: info.rpcUrl,
  privateKey: info.clients[1].privateKey,
  networkId: info.chainId,
  ipfsEndpoint: info.ipfsUrl,
});
const sc = await sdk.createServiceClient(
  info.orgId,
  info.serviceId,
  EchoStub,
  info.groupName,
  new sdkModule.DefaultPaymentStrategy(1),
  JSON.parse(readFileSync(freeCallFile, "utf8")),
);
const fc = new FreeCall(sc);
const req = await fc._getFreeCallStateRequest();
console.log("GetFreeCallsAvailable request hex:", Buffer.from(req.serializeBinary()).toString("hex"));
const md = await fc.getPaymentMetadata();
console.log(
  "call metadata:",
  JSON.stringify(
    md.map((m) =>
      Object.fromEntries(
        Object.entries(m).map(([k, v]) => [
          k,
          Buffer.isBuffer(v) || v instanceof Uint8Array ? `<${v.length} bytes>` : v,
        ]),
      ),
    ),
  ),
);
try {
  await fc._getFreeCallsAvailable();
} catch (e) {
  console.log("GetFreeCallsAvailable error:", e.code, e.details);
}
process.exit(0);
