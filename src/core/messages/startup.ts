/**
 * Catalogue: why the daemon or a command cannot start — for the operator, not for clients. INVALID_ARGUMENT
 * means "change the configuration" (exit 2), UNAVAILABLE "a dependency is unreachable" (exit 3).
 */
import { Code, SnetError } from "../errors.ts";

const config = (message: string, cause?: unknown) => new SnetError(Code.INVALID_ARGUMENT, message, { cause });
const unreachable = (message: string, cause?: unknown) => new SnetError(Code.UNAVAILABLE, message, { cause });

/** Payments need a chain node and none is configured. */
export const noRpcEndpoint = (network: string) =>
  config(
    `ethereum_json_rpc_http_endpoint is not set; snetd has no default RPC provider (network "${network}"), set it to your node's URL`,
  );

/** The configured chain node does not answer. */
export const chainUnreachable = (rpcUrl: string, detail: string, cause: unknown) =>
  unreachable(`cannot reach the Ethereum node at ${rpcUrl}: ${detail}; check ethereum_json_rpc_http_endpoint`, cause);

/** The organization or service metadata cannot be loaded or verified. */
export const metadataUnavailable = (detail: string, cause: unknown) =>
  unreachable(`cannot load the service metadata: ${detail}`, cause);

/** The embedded store file cannot be opened. */
export const storeFileUnusable = (detail: string, dataDir: string, cause: unknown) =>
  unreachable(`${detail}; check data_dir ("${dataDir}")`, cause);

/** etcd is the store but neither the config nor the metadata names endpoints. */
export const etcdEndpointsUnknown = () =>
  config(
    "payment_channel_storage_type is etcd but no endpoints are known: set payment_channel_storage_client.endpoints or the group's payment_channel_storage_client in the organization metadata",
  );

/** No etcd endpoint answers. */
export const etcdUnreachable = (endpoints: readonly string[], detail: string, cause: unknown) =>
  unreachable(
    `cannot reach etcd at ${endpoints.join(", ")}: ${detail}; check payment_channel_storage_client.endpoints`,
    cause,
  );

/** The managed etcd member could not start: a timeout is unreachable, anything else a setting to change. */
export const managedEtcdFailed = (detail: string, key: string, timedOut: boolean, cause: unknown) =>
  (timedOut ? unreachable : config)(`${detail} (change ${key})`, cause);

/** Two replicas of a group must not share a data_dir: it holds the replica's identity. */
export const dataDirInUse = (dataDir: string, detail: string, cause: unknown) =>
  config(
    `data_dir "${dataDir}" belongs to another running snetd (${detail}); give each replica its own data_dir`,
    cause,
  );

/** `daemon_endpoint` is not host:port. */
export const badDaemonEndpoint = (value: string) => config(`daemon_endpoint "${value}" is not host:port`);

/** `daemon_type` names a mode snetd does not offer (http: the reference's legacy reverse proxy without payments). */
export const daemonTypeUnsupported = (value: string) =>
  config(
    value === "http"
      ? 'daemon_type "http" (the legacy reverse proxy without payments) is not supported: set daemon_type "grpc" and sell an HTTP service with service_type "http" in the service metadata'
      : `daemon_type "${value}" is not supported, expected "grpc"`,
  );

/** The service metadata names an upstream kind snetd does not know. */
export const serviceTypeUnknown = (value: string) =>
  config(
    `service_type "${value}" in the service metadata is not supported, expected "grpc", "http", "jsonrpc" or "process"; republish the metadata`,
  );

/** A `process` service without `executable_path`. */
export const executablePathMissing = () =>
  config(
    'executable_path is not set, expected the program to run per call (the service metadata says service_type "process")',
  );

/** `executable_path` does not name a runnable file. */
export const executableNotRunnable = (file: string, detail: string) =>
  config(`executable_path "${file}" cannot be run (${detail}), expected an executable file`);

/** An upstream setting the adapter refuses (service_endpoint, service_credentials). */
export const upstreamMisconfigured = (detail: string) => config(detail);

/** The service's .proto files do not compile (the reference aborts with the same prefix). */
export const protosUnusable = (detail: string, cause: unknown) =>
  config(`${detail}; fix the proto files of the service (service_api_source or service_proto_dir)`, cause);

/** The listener's port is taken or not allowed. */
export const cannotListen = (endpoint: string, detail: string) =>
  config(`cannot listen on daemon_endpoint "${endpoint}": ${detail}`);

/** `--private-key-file` cannot be read. */
export const keyFileUnreadable = (file: string, detail: string) =>
  config(`cannot read --private-key-file "${file}": ${detail}`);

/** A claim needs the provider's key and none is given. */
export const noPrivateKey = () =>
  config("no private key: set private_key in the config, SNET_PRIVATE_KEY, or pass --private-key-file FILE");

/** The key itself is never part of a message. */
export const keyNotHex = () => config("the private key is not 32 bytes of hex (the key itself is not shown)");

/** The key is not the payment address's, so its claims would fail on-chain. */
export const keyNotPaymentAddress = (owner: string, paymentAddress: string, groupName: string) =>
  config(
    `the private key belongs to ${owner}, not to ${paymentAddress}, the payment address of group "${groupName}"; only the payment address can claim`,
  );
