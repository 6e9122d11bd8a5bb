// The page script of the snet-sdk-web 4.2.2 suite, bundled for the browser by tests/interop/web-bundle.ts.
// It plays a dApp: a wallet (an EIP-1193 provider like MetaMask's, whose keys anvil holds), the SDK, and
// gRPC-Web calls to the daemon on another origin. The suite calls `window.snetInterop.run(...)`.
import { Buffer } from "buffer";
import protobuf from "protobufjs";
import fetchTokenTable from "singularitynet-token-contracts/networks/FetchToken.json";
import tokenTable from "singularitynet-token-contracts/networks/SingularityNetToken.json";
import * as sdkWeb from "snet-sdk-web";
import * as freeCallModule from "snet-sdk-web/dist/payment_strategies/FreeCallPaymentStrategy.js";
import * as stateService from "snet-sdk-web/dist/proto/state_service_pb_service.js";
// The contract tables snet-sdk-web itself imports (its own copy of the package), and the token tables.
import mpeTable from "snet-sdk-web/node_modules/singularitynet-platform-contracts/networks/MultiPartyEscrow.json";
import registryTable from "snet-sdk-web/node_modules/singularitynet-platform-contracts/networks/Registry.json";
import echoProto from "../../kit/echo.proto" with { type: "text" };
import localChain from "./local-chain.cjs";

// The global a dApp's bundler config provides (webpack's ProvidePlugin): the SDK uses Buffer at call time.
globalThis.Buffer = Buffer;

// snet-sdk-web is CommonJS marked __esModule; bundlers disagree on whether `default` is unwrapped.
const WebSdk = typeof sdkWeb.default === "function" ? sdkWeb.default : sdkWeb.default.default;
const { DefaultPaymentStrategy } = sdkWeb;
const FreeCallPaymentStrategy =
  typeof freeCallModule.default === "function" ? freeCallModule.default : freeCallModule.default.default;

/**
 * A dApp's free-calls-first strategy: snet-sdk-web 4.2.2's DefaultPaymentStrategy never tries free calls
 * (snet-sdk's does) and its FreeCallPaymentStrategy is not exported, so a dApp imports it from dist/ and
 * tries it before paying, as snet-sdk's DefaultPaymentStrategy does.
 */
class FreeCallFirstStrategy {
  constructor(concurrentCalls) {
    this._paid = new DefaultPaymentStrategy(concurrentCalls);
  }
  async getPaymentMetadata(serviceClient) {
    // It puts web3 4's bigint block number into a protobuf uint64 setter, which takes numbers only.
    const numberBlocks = Object.create(serviceClient, {
      getCurrentBlockNumber: { value: async () => Number(await serviceClient.getCurrentBlockNumber()) },
    });
    const free = new FreeCallPaymentStrategy(numberBlocks);
    // 4.2.2 gives its FreeCallStateService client the endpoint's host without the scheme, so grpc-web would
    // post to a path on the page's own origin: give it the daemon's URL.
    const endpoint = serviceClient._getServiceEndpoint();
    const stateClient = free._freeCallStateServiceClient;
    stateClient.serviceHost = `${endpoint.protocol}//${endpoint.host}`;
    // It also reads the request class from `client.method.requestType`, which only grpc-js clients have.
    stateClient.getFreeCallsAvailable.requestType = stateService.FreeCallStateService.GetFreeCallsAvailable.requestType;
    if (await free.isFreeCallAvailable()) return free.getPaymentMetadata();
    return this._paid.getPaymentMetadata(serviceClient);
  }
}

/** An injected wallet: this page's account, everything else (signing included) answered by anvil. */
function wallet(rpcUrl, account) {
  let id = 0;
  return {
    async request({ method, params }) {
      if (method === "eth_accounts" || method === "eth_requestAccounts") return [account];
      // web3 sends personal_sign(data, address, password); anvil takes (data, address).
      const args = method === "personal_sign" ? params.slice(0, 2) : params;
      const res = await fetch(rpcUrl, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ jsonrpc: "2.0", id: ++id, method, params: args ?? [] }),
      });
      const body = await res.json();
      if (body.error)
        throw Object.assign(new Error(body.error.message), { code: body.error.code, data: body.error.data });
      return body.result;
    },
    on() {},
    removeListener() {},
  };
}

/** What protoc-gen-js + ts-protoc-gen would give a dApp for `example.Echo/Echo`, built with protobufjs. */
function echoMethod() {
  const root = protobuf.parse(echoProto, { keepCase: true }).root;
  const Request = root.lookupType("example.EchoRequest");
  const Reply = root.lookupType("example.EchoReply");
  const message = (type, value) => ({
    serializeBinary: () => type.encode(type.create(value)).finish(),
    toObject: () => value,
  });
  return {
    methodName: "Echo",
    service: { serviceName: "example.Echo" },
    requestStream: false,
    responseStream: false,
    requestType: { deserializeBinary: (bytes) => message(Request, Request.toObject(Request.decode(bytes))) },
    responseType: {
      deserializeBinary: (bytes) => message(Reply, Reply.toObject(Reply.decode(bytes), { defaults: true })),
    },
    make: (value) => message(Request, value),
  };
}

/** Makes `calls` Echo calls in one service client; per call what the service saw, or the error. */
async function run({ info, clientIndex, mode, calls, freeCall }) {
  localChain.addLocalChain({ mpe: [mpeTable], registry: [registryTable], token: [tokenTable, fetchTokenTable] }, info);
  const account = info.clients[clientIndex].address;
  // tokenName/standType pick the table entry; the SDK reads them from the given config, not its defaults.
  const sdk = new WebSdk({
    web3Provider: wallet(info.rpcUrl, account),
    networkId: info.chainId,
    ipfsEndpoint: info.ipfsUrl,
    tokenName: "FET",
    standType: "prod",
    defaultGasLimit: 300000,
  });
  const options = { concurrency: mode !== "escrow", ...(mode === "free" ? freeCall : {}) };
  const strategy =
    mode === "free" ? new FreeCallFirstStrategy(1) : new DefaultPaymentStrategy(mode === "prepaid" ? calls : 1);
  const client = await sdk.createServiceClient(info.orgId, info.serviceId, info.groupName, strategy, options);
  const method = echoMethod();
  const results = [];
  for (let i = 0; i < calls; i++) {
    const text = `web ${mode} ${i}`;
    const outcome = await new Promise((resolve) => {
      client
        .unary(method, {
          request: method.make({ text }),
          onEnd: ({ status, statusMessage, message }) =>
            resolve(
              status === 0
                ? { ok: true, reply: message.toObject() }
                : { ok: false, error: `${status} ${statusMessage}` },
            ),
        })
        .catch((error) => resolve({ ok: false, error: String(error?.message ?? error) }));
    });
    if (!outcome.ok) {
      results.push(outcome);
      break;
    }
    const seen = outcome.reply.metadata ?? {};
    results.push({
      ok: true,
      text: outcome.reply.text,
      payer: seen["snet-user-address"],
      type: seen["snet-payment-type"],
    });
  }
  return results;
}

window.snetInterop = { run };
