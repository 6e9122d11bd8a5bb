/** Every subcommand but version and help (main.ts adds those). */

import { claimCommand } from "./claim.ts";
import type { Command } from "./command.ts";
import { freecallCommand } from "./freecall.ts";
import { initConfigCommand } from "./init-config.ts";
import { listCommand } from "./list.ts";
import { serveCommand } from "./serve.ts";
import { storeCommand } from "./store.ts";

export async function commands(): Promise<Command[]> {
  return [serveCommand, initConfigCommand, listCommand, claimCommand, storeCommand, freecallCommand];
}
