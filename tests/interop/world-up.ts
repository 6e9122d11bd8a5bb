/**
 * Starts an interop world (anvil + contracts, test IPFS, echo service, org/service on the Registry,
 * snetd from the compiled binary) and prints one JSON line with everything a Python client needs, then
 * stays up until SIGINT/SIGTERM.
 *
 *   ./node_modules/.bin/bun tests/interop/world-up.ts [--source] [--logs <file>] [--free-calls <n>]
 *
 * `--source` runs `bun src/main.ts` instead of building the binary. `--logs <file>` rewrites the file
 * with the daemon's last ~200 log lines every second (the kit keeps no more). `--free-calls <n>` publishes
 * the group with the kit's free-call signer and a quota of n, and gives the daemon the signer key.
 */
import { writeFileSync } from "node:fs";
import { startInteropWorld } from "./interop-world.ts";

const args = process.argv.slice(2);
const logsAt = args.indexOf("--logs");
const logFile = logsAt === -1 ? undefined : args[logsAt + 1];
const freeAt = args.indexOf("--free-calls");
const freeCalls = freeAt === -1 ? undefined : Number(args[freeAt + 1]);
const w = await startInteropWorld({
  binary: !args.includes("--source"),
  ...(freeCalls === undefined ? {} : { freeCalls }),
});
// The keys in it are anvil's well-known test-mnemonic keys (tests/kit/contracts.ts), not secrets.
console.log(JSON.stringify(w.info));

const dump = () => {
  if (logFile) writeFileSync(logFile, `${w.daemon.logs()}\n`);
};
const timer = setInterval(dump, 1000);

const shutdown = async () => {
  clearInterval(timer);
  dump();
  await w.stop();
  process.exit(0);
};
process.on("SIGINT", () => void shutdown());
process.on("SIGTERM", () => void shutdown());
