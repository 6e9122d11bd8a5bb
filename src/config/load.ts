/**
 * Loads the configuration: defaults < file < environment < flags (protocol/config.md#mechanics). Every source is first
 * flattened to dotted leaf paths (lower-cased keys, legacy keys mapped forward, unknown keys warned about),
 * the layers are overlaid, and the result is validated once by `ConfigSchema`. All problems of all sources
 * are reported together in one `ConfigError`; nothing here lets a stack trace reach the operator
 * (protocol/reference-differences.md#d32).
 */
import { readFileSync } from "node:fs";
import { envLayer, flagLayer } from "./env.ts";
import { readConfigFile } from "./file.ts";
import { looseSecretsWarning, secretKeysSet } from "./file-permissions.ts";
import { isRecord, unusedKeyWarnings } from "./flatten.ts";
import { ConfigError, type ConfigProblem } from "./problems.ts";
import { type Config, ConfigSchema } from "./schema.ts";

/** Re-exported so that callers keep importing the loader's names from one module. */
export { ENV_PREFIX, envName } from "./env.ts";
export { DEFAULT_CONFIG_FILE } from "./file.ts";
export { locateJsonError } from "./json-position.ts";
export { ConfigError, type ConfigProblem } from "./problems.ts";
/** Re-exported for callers that load and log the configuration in one place. */
export { redactedConfig } from "./render.ts";

export interface LoadConfigOptions {
  /** `-c/--config`; when absent, `snetd.config.json` in `cwd` is read if it exists. */
  file?: string;
  env: Record<string, string | undefined>;
  /** Keys (dotted paths, `-` or `_`, any case) set on the command line; `undefined` values are skipped. */
  flags?: Record<string, unknown>;
  cwd: string;
  /** Text, or bytes that must be UTF-8 (the default reads bytes, so a non-UTF-8 file is refused, not mangled). */
  readFile?: (path: string) => string | Uint8Array;
}

export interface LoadedConfig {
  config: Config;
  warnings: string[];
  source: { file?: string };
}

/**
 * @example
 * const { config, warnings } = loadConfig({ file: "snetd.yaml", env: process.env, cwd: process.cwd() });
 * // throws ConfigError listing every problem; print err.format() and exit 2
 */
export function loadConfig(opts: LoadConfigOptions): LoadedConfig {
  const read = opts.readFile ?? ((path: string) => readFileSync(path));
  const file = readConfigFile(opts.file, opts.cwd, read);
  const layers = [file.layer, envLayer(opts.env), flagLayer(opts.flags ?? {})];

  const merged = new Map<string, unknown>();
  for (const layer of layers) for (const [path, value] of layer.values) merged.set(path, value);
  const warnings = layers.flatMap((l) => l.warnings);
  if (file.path !== undefined) {
    const loose = looseSecretsWarning(file.path, secretKeysSet(file.layer.values));
    if (loose !== undefined) warnings.push(loose);
  }
  const problems = layers.flatMap((l) => l.problems);
  warnings.push(...unusedKeyWarnings(merged));

  const input: Record<string, unknown> = {};
  for (const [path, value] of merged) setPath(input, path.split("."), value);
  const parsed = ConfigSchema.safeParse(input);
  if (!parsed.success) throw new ConfigError([...problems, ...parsed.error.issues.map(issueToProblem)], warnings);
  if (problems.length > 0) throw new ConfigError(problems, warnings);
  return { config: parsed.data, warnings, source: file.path !== undefined ? { file: file.path } : {} };
}

function issueToProblem(issue: { path: PropertyKey[]; message: string; params?: unknown }): ConfigProblem {
  const path = issue.path
    .map((s, i) => (typeof s === "number" ? `[${s}]` : i === 0 ? String(s) : `.${String(s)}`))
    .join("");
  const params = (issue.params ?? {}) as { reason?: string; expected?: string; given?: unknown };
  return {
    path,
    given: params.given,
    reason: params.reason ?? issue.message,
    expected: params.expected ?? "a valid value",
  };
}

function setPath(target: Record<string, unknown>, segments: string[], value: unknown) {
  let node = target;
  for (const s of segments.slice(0, -1)) {
    const next = node[s];
    const section = isRecord(next) ? next : {};
    node[s] = section;
    node = section;
  }
  node[segments[segments.length - 1] ?? ""] = value;
}
