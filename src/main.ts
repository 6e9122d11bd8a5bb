#!/usr/bin/env bun
/**
 * snetd — the SingularityNET daemon: `snetd [command] [options]`. With no command, `serve`.
 * Every failure ends with one clear message and an exit code (cli/exit-codes.ts), never a stack trace.
 */
import { type Command, parseCommand } from "./cli/command.ts";
import { Exit, exitCodeOf } from "./cli/exit-codes.ts";
import { versionCommand } from "./cli/version.ts";
import { ConfigError } from "./config/load.ts";
import { SnetError } from "./core/errors.ts";
import { applyHeapSizing } from "./ops/heap-sizing.ts";

function usage(all: readonly Command[]): string {
  const width = Math.max(...all.map((c) => c.name.length));
  return [
    "snetd — sells calls to your AI service for SingularityNET MPE micropayments",
    "",
    "Usage: snetd [command] [options]      (no command = serve)",
    "",
    "Commands:",
    ...all.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`),
    "",
    'Run "snetd <command> --help" for the options of a command.',
    "Exit codes: 0 ok, 1 failure, 2 bad usage or config, 3 a dependency unreachable (claim: see its --help).",
  ].join("\n");
}

export async function main(argv: string[]): Promise<number> {
  // Loaded here, not at the top: serve may re-execute itself first (ops/heap-sizing.ts), with nothing loaded in vain.
  const { commands: loadCommands } = await import("./cli/commands.ts");
  const all = [...(await loadCommands()), versionCommand];
  const helpCommand: Command = {
    name: "help",
    summary: "show this help, or the help of a command",
    help: "Usage: snetd help [command]",
    options: {},
    positionals: true,
    async run(_v, positionals) {
      const target = positionals[0] && all.find((c) => c.name === positionals[0]);
      console.log(target ? target.help : usage(all));
      return 0;
    },
  };
  all.push(helpCommand);

  const first = argv[0];
  if (first === "--help" || first === "-h") return helpCommand.run({}, []);
  if (first === "--version" || first === "-v") return versionCommand.run({}, []);
  const named = first !== undefined && !first.startsWith("-") ? all.find((c) => c.name === first) : undefined;
  if (first !== undefined && !first.startsWith("-") && !named) {
    console.error(
      `unknown command "${first}", expected one of: ${all.map((c) => c.name).join(", ")}\nRun "snetd help" for usage`,
    );
    return Exit.USAGE;
  }
  const cmd = named ?? (all.find((c) => c.name === "serve") as Command);
  const { values, positionals, help } = parseCommand(cmd, named ? argv.slice(1) : argv);
  if (help) {
    console.log(cmd.help);
    return 0;
  }
  return cmd.run(values, positionals);
}

/** Whether `argv` runs serve: no command, `serve`, or options of serve alone. */
function servesWith(argv: readonly string[]): boolean {
  const first = argv[0];
  return (
    first === undefined ||
    first === "serve" ||
    (first.startsWith("-") && !["--help", "-h", "--version", "-v"].includes(first))
  );
}

if (import.meta.main) {
  if (servesWith(process.argv.slice(2))) applyHeapSizing();
  main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (err: unknown) => {
      // A configuration problem found after loading (e.g. an unreadable ssl_cert) is still bad config.
      if (err instanceof ConfigError) console.error(`invalid configuration:\n${err.format()}`);
      else if (err instanceof SnetError) console.error(err.message);
      else console.error(`snetd failed: ${err instanceof Error ? err.message : String(err)}`);
      if (process.env.SNETD_DEBUG) console.error(err);
      process.exit(exitCodeOf(err));
    },
  );
}
