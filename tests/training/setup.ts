/**
 * The training suites' world: the kit's world (anvil with the real contracts, the Registry, IPFS), a real
 * grpc-js training.Model provider, and dist/snetd with training on, the trainable protos of
 * fixtures/protos, and the provider as `model_maintenance_endpoint`.
 */

import { expect } from "bun:test";
import { join } from "node:path";
import type { Hex } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import type { ModelResponse } from "../../src/gen/training_pb.ts";
import { CLIENTS } from "../kit/contracts.ts";
import { type PaidDaemon, startPaidDaemon } from "../kit/paid-daemon.ts";
import { startWorld, type World, type WorldOptions } from "../kit/world.ts";
import { type ModelProvider, startModelProvider } from "./model-provider.ts";
import { signedBy, type TrainingClient, trainingClient } from "./training-client.ts";

export const PROTO_DIR = join(import.meta.dir, "fixtures/protos");

export interface TrainingWorld {
  world: World;
  provider: ModelProvider;
  snetd: PaidDaemon;
  t: TrainingClient;
  /** Signed AuthorizationDetails of `key` at the head. */
  auth(key: Hex, message: string): Promise<ReturnType<typeof signedBy>>;
  /** A model of Painter/sketch (no max_models_per_user) created by `key`; extra NewModel fields override. */
  createModel(key: Hex, model?: Record<string, unknown>): Promise<ModelResponse>;
  stop(): Promise<void>;
}

export const OWNER = CLIENTS[0]!;
export const FRIEND = CLIENTS[1]!;
export const STRANGER = CLIENTS[2]!;
export const lower = (key: Hex) => privateKeyToAccount(key).address.toLowerCase();

export interface TrainingWorldOptions {
  world?: WorldOptions;
  /** Daemon configuration besides training's. */
  config?: (world: World, provider: ModelProvider) => Record<string, unknown>;
}

export async function startTrainingWorld(opts: TrainingWorldOptions = {}): Promise<TrainingWorld> {
  const [world, provider] = await Promise.all([startWorld(opts.world), startModelProvider()]);
  let snetd: PaidDaemon;
  try {
    snetd = await startPaidDaemon(world, {
      model_training_enabled: true,
      model_maintenance_endpoint: provider.url,
      service_proto_dir: PROTO_DIR,
      ...(opts.config?.(world, provider) ?? {}),
    });
  } catch (err) {
    await provider.stop();
    await world.stop();
    throw err;
  }
  const t = trainingClient(snetd.daemon.endpoint);
  const tw: TrainingWorld = {
    world,
    provider,
    snetd,
    t,
    auth: async (key, message) => signedBy(key, message, await world.head()),
    async createModel(key, model = {}) {
      const r = await t.createModel({
        authorization: await tw.auth(key, "create_model"),
        model: {
          name: "style",
          description: "my style",
          grpcMethodName: "sketch",
          grpcServiceName: "Painter",
          ...model,
        },
      });
      expect(r.status).toEqual({ code: 0, details: "" });
      return r.reply!;
    },
    async stop() {
      t.close();
      await snetd.stop();
      await provider.stop();
      await world.stop();
    },
  };
  return tw;
}

/** Polls `check` until it holds (the status poller runs every 3 s); fails after `ms`. */
export async function eventually(what: string, check: () => Promise<boolean>, ms = 20_000): Promise<void> {
  const until = Date.now() + ms;
  while (Date.now() < until) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`still not true after ${ms} ms: ${what}`);
}
