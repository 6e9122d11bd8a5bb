/**
 * Wiring of training.Daemon (protocol/upstreams.md#training-activation): on when `model_training_enabled` is true
 * and the service's protos compile and have a trainable method; then the provider's training.Model at
 * `model_maintenance_endpoint` (else `service_endpoint`) over one shared connection, the models in the
 * payment store, and the status poller. Otherwise every training RPC answers the reference's "service end
 * point is not defined" error, and the heartbeat has no `trainingMetadata`.
 */
import type { Config } from "../config/schema.ts";
import type { SignerRecovery } from "../core/signatures.ts";
import type { Logger } from "../ops/log.ts";
import type { EscrowDeps } from "../payments/escrow-gate.ts";
import { trainingKeys } from "../store/training-records.ts";
import { type TrainingCatalog, trainingCatalog } from "../training/catalog.ts";
import type { TrainingDeps } from "../training/context.ts";
import { modelBook } from "../training/model-book.ts";
import { startStatusPoller } from "../training/status-poller.ts";
import { decodeBinaryHeader } from "../transport/metadata.ts";
import type { DaemonMethod } from "../transport/services/method.ts";
import { disabledTrainingService, trainingService } from "../transport/services/training.ts";
import { trainingModelClient } from "../transport/upstreams/training-model.ts";
import type { PaymentContext } from "./payment-context.ts";

export interface TrainingSetup {
  methods: DaemonMethod[];
  /** The heartbeat's `trainingMetadata`; absent while training is off. */
  heartbeat?: Record<string, unknown>;
  stop(): Promise<void>;
}

/** Training off: the RPCs answer with the reference's error. */
export const trainingOff = (): TrainingSetup => ({ methods: disabledTrainingService(), stop: async () => {} });

async function catalogOf(ctx: PaymentContext, log: Logger): Promise<TrainingCatalog | undefined> {
  // The proto compiler (protobufjs) is loaded only when training is on.
  const { compileProtos } = await import("../metadata/protos/compile.ts");
  let catalog: TrainingCatalog;
  try {
    catalog = trainingCatalog(compileProtos(ctx.protos ?? {}));
  } catch (err) {
    log.warn("model_training_enabled is true but the service's proto files do not compile: training is off", {
      error: (err as Error).message,
    });
    return undefined;
  }
  if (!catalog.inProto) {
    log.warn(
      "model_training_enabled is true but no method of the service's protos takes a training.ModelID: training is off",
    );
    return undefined;
  }
  return catalog;
}

/** Training as the configuration and the service's protos say. */
export async function trainingSetup(
  ctx: PaymentContext,
  config: Config,
  deps: { escrow: EscrowDeps; recovery: SignerRecovery; log: Logger },
): Promise<TrainingSetup> {
  const { log } = deps;
  if (!config.model_training_enabled) return trainingOff();
  const catalog = await catalogOf(ctx, log);
  if (!catalog) return trainingOff();
  const url = config.model_maintenance_endpoint ?? config.service_endpoint;
  const provider = trainingModelClient({ url, maxMessageBytes: config.max_message_size_in_mb * 1024 * 1024 });
  const d: TrainingDeps = {
    book: modelBook(ctx.store, trainingKeys(ctx.prefix, config.service_id)),
    provider,
    auth: { blocks: ctx.blocks, recovery: deps.recovery },
    catalog,
    ids: { organizationId: config.organization_id, serviceId: config.service_id, groupId: ctx.group.groupIdBase64 },
    callTimeoutMs: config.service_timeout,
    escrow: deps.escrow,
    decodeBase64: decodeBinaryHeader,
    onBackgroundError: (what, err) =>
      log.warn(`training: could not ${what}`, { error: err instanceof Error ? err.message : String(err) }),
  };
  const poller = startStatusPoller(d);
  const methods = Object.fromEntries(catalog.methods);
  log.info("training enabled", { training_endpoint: url, trainable_methods: JSON.stringify(methods) });
  return {
    methods: trainingService(d, config.service_timeout),
    heartbeat: { trainingEnabled: true, trainingInProto: true, trainingMethods: methods },
    async stop() {
      await poller.stop();
      provider.close();
    },
  };
}
