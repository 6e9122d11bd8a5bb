/** Every subcommand but version and help (main.ts adds those). */
import type { Command } from "./command.ts";
import { initConfigCommand } from "./init-config.ts";
import { serveCommand } from "./serve.ts";
import { listCommand } from "./list.ts";
import { claimCommand } from "./claim.ts";
import { freecallCommand } from "./freecall.ts";
import { storeCommand } from "./store.ts";

export async function commands(): Promise<Command[]> {
  return [serveCommand, initConfigCommand, listCommand, claimCommand, storeCommand, freecallCommand];
}
