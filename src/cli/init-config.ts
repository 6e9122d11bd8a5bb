/** `snetd init-config`: writes a configuration with every key, its default and a comment. */
import { existsSync, writeFileSync } from "node:fs";
import { renderConfig } from "../config/render.ts";
import type { Command } from "./command.ts";
import { usageError } from "./exit-codes.ts";

export const initConfigCommand: Command = {
  name: "init-config",
  summary: "write a configuration file with every key and its default",
  help: [
    "Usage: snetd init-config [-o FILE] [--format yaml|json] [--force]",
    "",
    "  -o, --output FILE   where to write (default: print to stdout)",
    "  --format FORMAT     yaml (with a comment per key, default) or json; default from the file extension",
    "  --force             overwrite an existing file",
  ].join("\n"),
  options: { output: { type: "string", short: "o" }, format: { type: "string" }, force: { type: "boolean" } },
  async run(values) {
    const output = values.output as string | undefined;
    const format = (values.format as string | undefined) ?? (output?.endsWith(".json") ? "json" : "yaml");
    if (format !== "yaml" && format !== "json")
      throw usageError(`--format "${format}" is not supported, expected yaml or json`);
    const text = renderConfig(format);
    if (!output) {
      process.stdout.write(text);
      return 0;
    }
    if (existsSync(output) && !values.force)
      throw usageError(`"${output}" already exists; use --force to overwrite it`);
    writeFileSync(output, text);
    console.error(`wrote ${output} (${format}); edit it, then run: snetd serve -c ${output}`);
    return 0;
  },
};
