/** `snetd serve`: load config, metadata, chain and store, then serve until SIGTERM/SIGINT. */

import { type Daemon, startDaemon } from "../app/daemon.ts";
import { buildSettings } from "../app/daemon-settings.ts";
import { loggerFor } from "../app/logger.ts";
import { prepareOperations } from "../app/operations.ts";
import { redactedConfig } from "../config/load.ts";
import { cannotListen } from "../core/messages/startup.ts";
import { VERSION } from "../core/version.ts";
import { CONFIG_OPTION, type Command } from "./command.ts";
import { Exit } from "./exit-codes.ts";
import { configFor } from "./load-config.ts";

export const serveCommand: Command = {
  name: "serve",
  summary: "run the daemon in front of your service (default command)",
  help: [
    "Usage: snetd serve [-c FILE]",
    "",
    "  -c, --config FILE   configuration file (.json, .yaml, .yml); default ./snetd.config.json when present",
    "",
    "Runs until SIGTERM or SIGINT, then stops accepting calls, lets in-flight calls finish",
    "(drain_timeout) and exits 0. SIGHUP re-reads ssl_cert/ssl_key and the metadata.",
    "Exit 2: bad configuration; 3: chain, IPFS or store unreachable.",
  ].join("\n"),
  options: { ...CONFIG_OPTION },
  async run(values) {
    const warnings: string[] = [];
    const config = configFor(values, (w) => warnings.push(w));
    const log = loggerFor(config);
    for (const w of warnings) log.warn(w);
    log.info("starting snetd", { version: VERSION, config: redactedConfig(config) });
    const ops = prepareOperations(config, log);
    const { settings, ctx, cleanup } = await buildSettings(config, log, ops.hooks);
    let daemon: Daemon;
    try {
      daemon = await startDaemon(await ops.settings({ settings, ...(ctx ? { ctx } : {}), cleanup }));
      await ops.started(daemon, ctx).catch(async (err) => {
        await daemon.stop(0);
        throw err;
      });
    } catch (err) {
      await ops.stop();
      await cleanup();
      const e = err as NodeJS.ErrnoException;
      if (e.code === "EADDRINUSE" || e.code === "EACCES") throw cannotListen(config.daemon_endpoint, e.message);
      throw err;
    }
    log.info("snetd is ready", {
      endpoint: `${settings.host}:${daemon.port}`,
      service: config.service_endpoint,
      payments: config.blockchain_enabled,
    });

    await new Promise<void>((resolve) => {
      let stopping = false;
      const stop = (signal: string) => {
        if (stopping) return;
        stopping = true;
        log.info("stopping: draining in-flight calls", {
          signal,
          in_flight: daemon.inFlight(),
          drain_timeout_ms: config.drain_timeout,
        });
        process.off("SIGHUP", hangUp);
        daemon
          .stop(config.drain_timeout)
          .then(() => ops.stop())
          .then(cleanup)
          .catch((err) => log.error("error while stopping", { error: String(err) }))
          .finally(() => {
            log.info("stopped");
            resolve();
          });
      };
      const hangUp = () =>
        void ops.reload("SIGHUP").catch((err) => log.error("SIGHUP reload failed", { error: String(err) }));
      process.on("SIGHUP", hangUp);
      process.once("SIGTERM", () => stop("SIGTERM"));
      process.once("SIGINT", () => stop("SIGINT"));
    });
    await log.close();
    return Exit.OK;
  },
};
