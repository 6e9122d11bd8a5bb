/**
 * The text sources: `SNET_` environment variables and command-line flags, each flattened into a layer after
 * reading its text according to the key's type.
 */
import { LEGACY_KEYS } from "./aliases.ts";
import { type Layer, newLayer, suggestPath, visit } from "./flatten.ts";
import { GROUPS_BY_PATH, KEYS_BY_PATH, type TextParse } from "./schema.ts";

export const ENV_PREFIX = "SNET_";

/**
 * `SNET_<KEY>` upper-case, `__` for nesting (`SNET_LOG__LEVEL`); a whole section as JSON text. Empty values
 * count as unset, as with the reference's viper.
 */
export function envLayer(env: Record<string, string | undefined>): Layer {
  const layer = newLayer();
  for (const name of Object.keys(env).sort()) {
    const raw = env[name];
    if (!name.toUpperCase().startsWith(ENV_PREFIX) || raw === undefined || raw === "") continue;
    const path = name.slice(ENV_PREFIX.length).toLowerCase().split("__").join(".");
    const where = ` (environment variable ${name})`;
    const known = KEYS_BY_PATH.has(resolveAlias(path)) || GROUPS_BY_PATH.has(path) || LEGACY_KEYS.has(path);
    if (path === "" || !known) {
      const hint = suggestPath(path);
      const envHint = hint === undefined ? "" : `, did you mean "${envName(hint)}"?`;
      layer.warnings.push(`unknown environment variable "${name}"${envHint}`);
      continue;
    }
    visit({ [path]: fromText(raw, path) }, "", { layer, where, typedPrefix: "" });
  }
  return layer;
}

export function flagLayer(flags: Record<string, unknown>): Layer {
  const layer = newLayer();
  for (const [name, value] of Object.entries(flags)) {
    if (value === undefined) continue;
    const path = name.toLowerCase().replace(/-/g, "_");
    const v = typeof value === "string" ? fromText(value, path) : value;
    visit({ [path]: v }, "", { layer, where: ` (flag --${name.replace(/_/g, "-")})`, typedPrefix: "" });
  }
  return layer;
}

/** The environment variable of a key path: `log.level` → `SNET_LOG__LEVEL`. */
export function envName(path: string): string {
  return ENV_PREFIX + path.toUpperCase().split(".").join("__");
}

function resolveAlias(path: string): string {
  const legacy = LEGACY_KEYS.get(path);
  return legacy?.kind === "alias" ? legacy.to : path;
}

/** Text from env or a flag, read according to the key's type (protocol/config.md#mechanics: env carries only text). */
function fromText(raw: string, path: string): unknown {
  const target = resolveAlias(path);
  const parse: TextParse = KEYS_BY_PATH.get(target)?.meta.parse ?? (GROUPS_BY_PATH.has(target) ? "json" : "text");
  const text = raw.trim();
  switch (parse) {
    case "text":
      return raw;
    case "bool":
      return /^(true|1)$/i.test(text) ? true : /^(false|0)$/i.test(text) ? false : raw;
    case "number":
      return /^-?\d+(\.\d+)?$/.test(text) ? Number(text) : raw;
    case "list":
      if (text.startsWith("[")) return tryJson(text) ?? raw;
      return text
        .split(",")
        .map((s) => s.trim())
        .filter((s) => s !== "");
    case "json":
      return tryJson(text) ?? raw;
  }
}

function tryJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
