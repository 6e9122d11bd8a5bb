/**
 * Text made from the key declarations of schema.ts: the `init-config` file, the README reference table and
 * the start-up log view. Because all three walk the same declarations, a key cannot be documented with one
 * default and parsed with another.
 */
import { type Config, GROUP_SPECS, GROUPS_BY_PATH, KEYS_BY_PATH, type KeyMeta } from "./schema.ts";

const HEADER = [
  "snetd configuration: every key with its default. ★ = most deployments set it.",
  "Precedence: flags > environment > this file > defaults. Environment: SNET_<KEY>, with __ for nesting",
  '(SNET_LOG__LEVEL=debug). Keys are case-insensitive. Durations are Go duration text ("100s", "1m30s").',
];

/** The value written for a key's default; unset keys as "" (text) or null, both of which read back as unset. */
function fileDefault(meta: KeyMeta): unknown {
  if (meta.default !== undefined) return meta.default;
  return meta.parse === "text" ? "" : null;
}

function comment(meta: KeyMeta): string {
  const marks = `${meta.important ? "★ " : ""}${meta.description}`;
  return meta.unused ? `${marks} (accepted for compatibility; not used by snetd yet)` : marks;
}

/**
 * A complete config file: every key with its default. YAML carries a one-line comment per key and section;
 * JSON has no comments. Either loads back to exactly the defaults.
 */
export function renderConfig(format: "yaml" | "json"): string {
  return format === "json" ? `${JSON.stringify(defaultsTree(), null, 2)}\n` : renderYaml();
}

function defaultsTree(group = ""): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const name of GROUPS_BY_PATH.get(group)?.children ?? []) {
    const path = group === "" ? name : `${group}.${name}`;
    const key = KEYS_BY_PATH.get(path);
    out[name] = key ? fileDefault(key.meta) : defaultsTree(path);
  }
  return out;
}

function renderYaml(): string {
  const lines = HEADER.map((l) => `# ${l}`);
  const emit = (group: string, indent: string) => {
    for (const name of GROUPS_BY_PATH.get(group)?.children ?? []) {
      const path = group === "" ? name : `${group}.${name}`;
      const key = KEYS_BY_PATH.get(path);
      if (group === "") lines.push("");
      if (key) {
        lines.push(`${indent}# ${comment(key.meta)}`);
        // JSON text is valid YAML flow syntax, and quoting every string keeps "0x…", "1m" and "" as text
        lines.push(`${indent}${name}: ${JSON.stringify(fileDefault(key.meta))}`);
      } else {
        lines.push(`${indent}# ${GROUPS_BY_PATH.get(path)?.description ?? ""}`);
        lines.push(`${indent}${name}:`);
        emit(path, `${indent}  `);
      }
    }
  };
  emit("", "");
  return `${lines.join("\n")}\n`;
}

/** The markdown reference table (key | type | default | description) for the README. */
export function renderReference(): string {
  const cell = (s: string) => s.replace(/\|/g, "\\|").replace(/</g, "&lt;").replace(/\n/g, " ");
  const rows = ["| Key | Type | Default | Description |", "|---|---|---|---|"];
  const emit = (group: string) => {
    for (const name of GROUPS_BY_PATH.get(group)?.children ?? []) {
      const path = group === "" ? name : `${group}.${name}`;
      const key = KEYS_BY_PATH.get(path);
      if (!key) {
        emit(path);
        continue;
      }
      const m = key.meta;
      const def = m.default === undefined ? "unset" : `\`${JSON.stringify(m.default)}\``;
      const desc = `${m.important ? "★ " : ""}${m.description}${m.unused ? " (not used by snetd yet)" : ""}`;
      rows.push(`| \`${path}\` | ${cell(m.type)} | ${cell(def)} | ${cell(desc)} |`);
    }
  };
  emit("");
  const sections = GROUP_SPECS.map((g) => `- \`${g.path}\`: ${cell(g.description)}`);
  return [
    "Environment variables: `SNET_` + the upper-cased key, `__` between nested keys (`SNET_LOG__LEVEL`).",
    "Precedence: flag > environment > file > default. ★ = most deployments set it.",
    "",
    ...rows,
    "",
    "Sections:",
    "",
    ...sections,
    "",
  ].join("\n");
}

/**
 * The configuration for the start-up log: secrets (private keys, token secret, provider key, service
 * credentials) replaced by "(set)" / "(unset)", RPC URLs cut to their origin, bigints as decimal text.
 */
export function redactedConfig(config: Config): Record<string, unknown> {
  const walk = (node: unknown, group: string): Record<string, unknown> => {
    const out: Record<string, unknown> = {};
    for (const name of GROUPS_BY_PATH.get(group)?.children ?? []) {
      const path = group === "" ? name : `${group}.${name}`;
      const value = (node as Record<string, unknown> | undefined)?.[name];
      const meta = KEYS_BY_PATH.get(path)?.meta;
      if (!meta) out[name] = walk(value, path);
      else if (meta.secret) out[name] = isSet(value) ? "(set)" : "(unset)";
      else if (meta.keyInUrl && typeof value === "string") out[name] = urlOrigin(value);
      else out[name] = typeof value === "bigint" ? value.toString() : value;
    }
    return out;
  };
  return walk(config, "");
}

/** `https://sepolia.infura.io/v3/KEY` → `https://sepolia.infura.io/…`: enough to see which provider is used. */
function urlOrigin(text: string): string {
  try {
    const url = new URL(text);
    const rest = url.pathname !== "/" || url.search !== "" || url.username !== "" ? "/…" : "";
    return `${url.protocol}//${url.host}${rest}`;
  } catch {
    return "(set)";
  }
}

function isSet(value: unknown): boolean {
  if (value === undefined || value === null || value === "") return false;
  return !(Array.isArray(value) && value.length === 0);
}
