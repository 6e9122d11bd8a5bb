/** `snetd store migrate`: moves the embedded store's state into etcd, for a provider outgrowing one machine. */
import { existsSync } from "node:fs";
import { openStore, sqlitePath } from "../app/open-store.ts";
import { migrateStore } from "../store/migrate.ts";
import { sqliteStore } from "../store/sqlite.ts";
import { CONFIG_OPTION, type Command } from "./command.ts";
import { usageError } from "./exit-codes.ts";
import { configFor } from "./load-config.ts";

export const storeCommand: Command = {
  name: "store",
  summary: "store operations (store migrate: copy the embedded store into etcd)",
  help: [
    "Usage: snetd store migrate [-c FILE] [--dry-run] [--json]",
    "",
    "Copies every record of the embedded store (data_dir) into the etcd cluster of",
    "payment_channel_storage_client.endpoints. Keys already in etcd are never overwritten: equal ones are",
    "skipped, different ones reported as conflicts. Stop the daemon first; start it again with",
    "payment_channel_storage_type: etcd.",
    "",
    "  --dry-run   count what would be copied, write nothing",
    "  --json      machine-readable report",
  ].join("\n"),
  options: { ...CONFIG_OPTION, "dry-run": { type: "boolean" }, json: { type: "boolean" } },
  positionals: true,
  async run(values, positionals) {
    if (positionals[0] !== "migrate")
      throw usageError(`expected "snetd store migrate", got "snetd store ${positionals.join(" ")}"`);
    const config = configFor(values, (w) => console.error(w));
    const path = sqlitePath(config);
    if (!existsSync(path)) throw usageError(`no embedded store at "${path}"; check data_dir`);
    if (config.payment_channel_storage_client.endpoints.length === 0) {
      throw usageError("payment_channel_storage_client.endpoints is empty: set the etcd endpoints to migrate to");
    }
    const from = sqliteStore({ path, readOnly: true });
    const to = await openStore({ ...config, payment_channel_storage_type: "etcd" }, undefined);
    try {
      const r = await migrateStore(from, to, "/snetd/", { dryRun: values["dry-run"] === true });
      if (values.json) console.log(JSON.stringify({ dry_run: values["dry-run"] === true, ...r }));
      else {
        console.log(
          `${values["dry-run"] ? "would copy" : "copied"} ${r.copied} record(s), skipped ${r.skipped}, conflicts ${r.conflicts.length}`,
        );
        for (const k of r.conflicts) console.log(`  conflict (kept the etcd value): ${k}`);
      }
      return r.conflicts.length ? 5 : 0;
    } finally {
      await from.close();
      await to.close();
    }
  },
};
