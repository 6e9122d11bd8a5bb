/**
 * Which upstream a daemon sells (protocol/upstreams.md#adapter-selection): the kind is the service metadata's
 * `service_type`, not a config key. http needs the service's compiled protos, dynamic pricing the price
 * methods they declare; both are built once here, at start. Every problem stops the start naming what to
 * change; compile warnings are logged.
 */
import { constants } from "node:fs";
import { access } from "node:fs/promises";
import type { Config } from "../config/schema.ts";
import { MetadataError } from "../core/errors.ts";
import {
  executableNotRunnable,
  executablePathMissing,
  protosUnusable,
  serviceTypeUnknown,
  upstreamMisconfigured,
} from "../core/messages/startup.ts";
import type { CompiledProtos } from "../metadata/protos/compile.ts";
import { dynamicPricing } from "../metadata/protos/dynamic-pricing.ts";
import type { ProtoNeed } from "../metadata/resolve.ts";
import type { Logger } from "../ops/log.ts";
import { type ProbeResult, probeExecutable, probeHttp } from "../transport/health-probe.ts";
import { httpUpstream } from "../transport/upstreams/http-upstream.ts";
import { jsonRpcUpstream } from "../transport/upstreams/jsonrpc-upstream.ts";
import { processUpstream } from "../transport/upstreams/process-upstream.ts";
import type { UnaryUpstream } from "../transport/upstreams/unary.ts";

export const SERVICE_TYPES = ["grpc", "http", "jsonrpc", "process"] as const;
export type ServiceType = (typeof SERVICE_TYPES)[number];

export interface UpstreamPlan {
  readonly serviceType: ServiceType;
  /** The adapter of a non-gRPC service, with its probe and whether it gets the payer's address. */
  readonly unary?: { adapter: UnaryUpstream; probe: () => Promise<ProbeResult>; forwardUserAddress: boolean };
  /** `enable_dynamic_pricing`: priced method path → its price method's path. */
  readonly priceMethods?: ReadonlyMap<string, string>;
  /** The compiled protos, when a feature needed them (also for training). */
  readonly protos?: CompiledProtos;
  /** `connect_enabled`: the protos for JSON calls, or why there are none (binary Connect calls need none). */
  readonly connect?: { readonly protos?: CompiledProtos; readonly jsonUnavailable?: string };
}

/** The metadata's service_type, checked; absent means grpc. */
export function serviceTypeOf(value: string | undefined): ServiceType {
  const type = value ?? "grpc";
  if (!(SERVICE_TYPES as readonly string[]).includes(type)) throw serviceTypeUnknown(type);
  return type as ServiceType;
}

/**
 * Whether start-up loads the service's proto files: required for http services, dynamic pricing and
 * training; "optional" for Connect JSON calls alone (without them the daemon starts and JSON calls are off).
 */
export function needsProtos(serviceType: string | undefined, config: Config): ProtoNeed {
  if (serviceType === "http" || config.enable_dynamic_pricing || config.model_training_enabled) return true;
  return config.connect_enabled ? "optional" : false;
}

/** Builds the upstream of a paid daemon from its config and the loaded metadata. */
export async function upstreamPlan(
  config: Config,
  meta: {
    serviceType: string | undefined;
    protos?: Record<string, string> | undefined;
    protosProblem?: string | undefined;
  },
  log: Logger,
): Promise<UpstreamPlan> {
  const serviceType = serviceTypeOf(meta.serviceType);
  const need = needsProtos(serviceType, config);
  const protos = need && meta.protos ? await compile(meta.protos, log, need === "optional") : undefined;
  const connect = config.connect_enabled ? connectPlan(protos, meta.protosProblem, log) : undefined;
  let priceMethods: ReadonlyMap<string, string> | undefined;
  if (config.enable_dynamic_pricing && protos) {
    const pricing = dynamicPricing(protos);
    for (const w of pricing.warnings) log.warn(`dynamic pricing: ${w}`);
    priceMethods = pricing.priceMethods;
    if (priceMethods.size === 0) {
      log.warn(
        "enable_dynamic_pricing is true but no method of the service's protos has the pricing option; every method keeps the metadata price",
      );
    } else {
      log.info("dynamic pricing enabled", { methods: [...priceMethods.keys()].join(", ") });
    }
  }
  // Keys of another kind are not errors (one config may serve several services), but worth saying.
  if (config.service_credentials.length > 0 && serviceType !== "http") {
    log.warn(`service_credentials is set but the service type is "${serviceType}"; only http services use it`);
  }
  if (config.executable_path !== "" && serviceType !== "process") {
    log.warn(`executable_path is set but the service type is "${serviceType}"; only process services use it`);
  }
  const base = {
    serviceType,
    ...(priceMethods ? { priceMethods } : {}),
    ...(protos ? { protos } : {}),
    ...(connect ? { connect } : {}),
  };
  if (serviceType === "grpc") return base;
  const adapter = await adapterFor(serviceType, config, protos, log);
  const probe =
    serviceType === "process"
      ? () => probeExecutable(config.executable_path)
      : () => probeHttp(config.service_endpoint);
  log.info("upstream", {
    service_type: serviceType,
    ...(serviceType === "process" ? { executable: config.executable_path } : { endpoint: config.service_endpoint }),
  });
  return { ...base, unary: { adapter, probe, forwardUserAddress: config.service_user_address_header !== "" } };
}

/** Connect calls: JSON with the compiled protos, else binary only, said once at start. */
function connectPlan(
  protos: CompiledProtos | undefined,
  problem: string | undefined,
  log: Logger,
): UpstreamPlan["connect"] {
  if (protos) return { protos };
  const jsonUnavailable = `the service's proto files could not be loaded (${problem ?? "they do not compile"})`;
  log.warn(`Connect JSON calls are off: ${jsonUnavailable}; binary Connect calls (application/proto) still work`);
  return { jsonUnavailable };
}

/** Compiles the service's protos; with `optional`, a failure is logged and yields undefined. */
async function compile(
  sources: Record<string, string>,
  log: Logger,
  optional = false,
): Promise<CompiledProtos | undefined> {
  // The proto compiler (protobufjs) is loaded only by daemons that need the service's protos.
  const { compileProtos } = await import("../metadata/protos/compile.ts");
  let protos: CompiledProtos;
  try {
    protos = compileProtos(sources);
  } catch (err) {
    if (optional && err instanceof MetadataError) return void log.warn(`service protos not compiled: ${err.message}`);
    if (err instanceof MetadataError) throw protosUnusable(err.message, err);
    throw err;
  }
  for (const name of protos.replaced) {
    log.warn(`proto file "${name}" of the service is replaced by snetd's own copy of that file`);
  }
  log.info("service protos compiled", { files: protos.files.map((f) => f.name).join(", ") });
  return protos;
}

async function adapterFor(
  type: Exclude<ServiceType, "grpc">,
  config: Config,
  protos: CompiledProtos | undefined,
  log: Logger,
): Promise<UnaryUpstream> {
  const maxBytes = config.max_message_size_in_mb * 1024 * 1024;
  const userAddressHeader =
    config.service_user_address_header !== "" ? { userAddressHeader: config.service_user_address_header } : {};
  if (type === "process") {
    const file = config.executable_path;
    if (file === "") throw executablePathMissing();
    try {
      await access(file, constants.X_OK);
    } catch (err) {
      throw executableNotRunnable(file, (err as NodeJS.ErrnoException).code ?? (err as Error).message);
    }
    return processUpstream({
      executable: file,
      maxOutputBytes: maxBytes,
      onStderr: (line, pid) => log.info("service stderr", { pid: pid ?? "?", line }),
    });
  }
  try {
    if (type === "jsonrpc") {
      return jsonRpcUpstream({ endpoint: config.service_endpoint, maxResponseBytes: maxBytes, ...userAddressHeader });
    }
    // needsProtos() is true for http, and loading refuses a service without proto files.
    if (!protos) throw new Error("an http service needs its proto files");
    return httpUpstream({
      endpoint: config.service_endpoint,
      protos,
      credentials: config.service_credentials,
      maxResponseBytes: maxBytes,
      ...userAddressHeader,
    });
  } catch (err) {
    throw upstreamMisconfigured((err as Error).message);
  }
}
