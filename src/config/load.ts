/**
 * Loads the configuration: defaults < file < environment < flags (config.md §1). Every source is first
 * flattened to dotted leaf paths (lower-cased keys, legacy keys mapped forward, unknown keys warned about),
 * the layers are overlaid, and the result is validated once by `ConfigSchema`. All problems of all sources
 * are reported together in one `ConfigError`; nothing here lets a stack trace reach the operator
 * (pitfalls.md #36).
 */
import { readFileSync } from "node:fs";
import { extname, resolve } from "node:path";
import { parseDocument } from "yaml";
import { LEGACY_KEYS, legacyWarning, privateKeyNote } from "./aliases.ts";
import {
  type Config,
  ConfigSchema,
  GROUPS_BY_PATH,
  HIDDEN,
  KEY_SPECS,
  KEYS_BY_PATH,
  type TextParse,
} from "./schema.ts";
import { suggest } from "./suggest.ts";

/** Re-exported for callers that load and log the configuration in one place. */
export { redactedConfig } from "./render.ts";

export const DEFAULT_CONFIG_FILE = "snetd.config.json";
export const ENV_PREFIX = "SNET_";

export interface ConfigProblem {
  /** Key path (`log.level`, `allowed_user_addresses[1]`) or, for file problems, the file. */
  path: string;
  /** The value given; `undefined` when nothing was given. Secrets are replaced by a hidden marker. */
  given: unknown;
  /** What would be accepted. */
  expected: string;
  /** What is wrong with `given`; defaults to "is not valid". */
  reason?: string;
}

export class ConfigError extends Error {
  override readonly name = "ConfigError";
  /** `warnings`: what loading also noticed (unknown keys, aliases); often the cause of a problem. */
  constructor(
    readonly problems: ConfigProblem[],
    readonly warnings: string[] = [],
  ) {
    super(formatProblems(problems));
  }
  /** One line per problem: `daemon_endpoint: "abc" is not host:port, expected e.g. 127.0.0.1:8080`. */
  format(): string {
    return formatProblems(this.problems);
  }
}

function formatProblems(problems: readonly ConfigProblem[]): string {
  return problems
    .map((p) => {
      const what = p.given === undefined ? "" : `${show(p.given)} `;
      return `${p.path}: ${what}${p.reason ?? "is not valid"}, expected ${p.expected}`;
    })
    .join("\n");
}

function show(value: unknown): string {
  if (value === HIDDEN) return "the value (hidden)";
  if (typeof value === "bigint") return value.toString();
  try {
    const text = JSON.stringify(value, (_k, x: unknown) => (typeof x === "bigint" ? Number(x) : x)) ?? String(value);
    return text.length > 120 ? `${text.slice(0, 117)}...` : text;
  } catch {
    return String(value);
  }
}

export interface LoadConfigOptions {
  /** `-c/--config`; when absent, `snetd.config.json` in `cwd` is read if it exists. */
  file?: string;
  env: Record<string, string | undefined>;
  /** Keys (dotted paths, `-` or `_`, any case) set on the command line; `undefined` values are skipped. */
  flags?: Record<string, unknown>;
  cwd: string;
  readFile?: (path: string) => string;
}

export interface LoadedConfig {
  config: Config;
  warnings: string[];
  source: { file?: string };
}

/** One source flattened to leaf paths. */
interface Layer {
  values: Map<string, unknown>;
  warnings: string[];
  problems: ConfigProblem[];
}

/**
 * @example
 * const { config, warnings } = loadConfig({ file: "snetd.yaml", env: process.env, cwd: process.cwd() });
 * // throws ConfigError listing every problem; print err.format() and exit 2
 */
export function loadConfig(opts: LoadConfigOptions): LoadedConfig {
  const read = opts.readFile ?? ((path: string) => readFileSync(path, "utf8"));
  const file = readConfigFile(opts.file, opts.cwd, read);
  const layers = [file.layer, envLayer(opts.env), flagLayer(opts.flags ?? {})];

  const merged = new Map<string, unknown>();
  for (const layer of layers) for (const [path, value] of layer.values) merged.set(path, value);
  const warnings = layers.flatMap((l) => l.warnings);
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
    node = isRecord(next) ? next : (node[s] = {});
  }
  node[segments[segments.length - 1] ?? ""] = value;
}

// ---------------------------------------------------------------------------------------------------------
// Sources

function readConfigFile(
  given: string | undefined,
  cwd: string,
  read: (path: string) => string,
): { layer: Layer; path?: string } {
  const layer = newLayer();
  const shown = given ?? DEFAULT_CONFIG_FILE;
  const path = resolve(cwd, shown);
  const fileProblem = (reason: string, expected: string) => {
    layer.problems.push({ path: "config file", given: shown, reason, expected });
    return { layer };
  };
  const format = extname(path).toLowerCase();
  if (![".json", ".yaml", ".yml"].includes(format)) {
    return fileProblem(`has the extension "${format}"`, "a .json, .yaml or .yml file");
  }
  let text: string;
  try {
    text = read(path).replace(/^\uFEFF/, "");
  } catch (err) {
    const code = (err as { code?: unknown }).code;
    if (code === "ENOENT" && given === undefined) return { layer }; // no default file: defaults + env only
    if (code === "ENOENT") return fileProblem("does not exist", `an existing file (looked for ${path})`);
    return fileProblem(`cannot be read (${typeof code === "string" ? code : String(err)})`, "a readable file");
  }
  const parsed = format === ".json" ? parseJson(text) : parseYaml(text);
  if (!parsed.ok) {
    const syntax = format === ".json" ? "JSON" : "YAML";
    layer.problems.push({
      path: shown,
      given: undefined,
      reason: `bad ${syntax} at line ${parsed.line}, column ${parsed.column}: ${parsed.message}`,
      expected: format === ".json" ? "a JSON object of config keys" : "a YAML mapping of config keys",
    });
    return { layer, path };
  }
  const doc = parsed.value ?? {}; // an empty YAML file sets nothing
  if (!isRecord(doc)) {
    layer.problems.push({
      path: shown,
      given: undefined,
      reason: `holds ${kindOf(doc)}`,
      expected: "a mapping of config keys",
    });
    return { layer, path };
  }
  const seen = visit(doc, "", { layer, where: ` in ${shown}`, typedPrefix: "" });
  // config.md §4: the embedded etcd member runs when its section is present in the file, unless disabled
  const server = "payment_channel_storage_server";
  if (seen.has(server) && !layer.values.has(`${server}.enabled`)) layer.values.set(`${server}.enabled`, true);
  return { layer, path };
}

/**
 * `SNET_<KEY>` upper-case, `__` for nesting (`SNET_LOG__LEVEL`); a whole section as JSON text. Empty values
 * count as unset, as with the reference's viper.
 */
function envLayer(env: Record<string, string | undefined>): Layer {
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

function flagLayer(flags: Record<string, unknown>): Layer {
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

/** Text from env or a flag, read according to the key's type (config.md §1: env carries only text). */
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
      return text.split(",").map((s) => s.trim()).filter((s) => s !== "");
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

// ---------------------------------------------------------------------------------------------------------
// Flattening

interface VisitContext {
  layer: Layer;
  /** Where the source is, for messages: ` in snetd.config.json`. */
  where: string;
  /** The enclosing keys as the user typed them, for messages. */
  typedPrefix: string;
}

/** Flattens `node` (a section at `group`) into the layer; returns the section paths it entered. */
function visit(node: Record<string, unknown>, group: string, ctx: VisitContext, seen = new Set<string>()): Set<string> {
  const aliases: { typed: string; to: string; value: unknown; legacy: string }[] = [];
  const hookCandidates: string[] = [];
  for (const [rawKey, value] of Object.entries(node)) {
    const typed = ctx.typedPrefix + rawKey;
    const path = (group === "" ? "" : `${group}.`) + rawKey.toLowerCase();
    if (KEYS_BY_PATH.has(path)) {
      const note = privateKeyNote(typed, ctx.where);
      if (note !== undefined) ctx.layer.warnings.push(note);
      ctx.layer.values.set(path, value);
    } else if (path !== "" && GROUPS_BY_PATH.has(path)) {
      seen.add(path);
      if (isRecord(value)) visit(value, path, { ...ctx, typedPrefix: `${typed}.` }, seen);
      else if (value !== null) {
        const children = GROUPS_BY_PATH.get(path)?.children ?? [];
        ctx.layer.problems.push({
          path,
          given: value,
          reason: `is ${kindOf(value)}`,
          expected: `a section with the keys ${children.join(", ")}`,
        });
      }
    } else if (LEGACY_KEYS.has(path)) {
      const legacy = LEGACY_KEYS.get(path);
      if (legacy?.kind === "alias") aliases.push({ typed, to: legacy.to, value, legacy: path });
      else if (legacy) ctx.layer.warnings.push(legacyWarning(typed, legacy, ctx.where));
    } else if (group === "log" && isRecord(value)) {
      hookCandidates.push(typed); // log.<name> sections of log.hooks (config.md §5)
    } else {
      ctx.layer.warnings.push(unknownKeyWarning(typed, path, ctx.where));
    }
  }
  for (const a of aliases) {
    const legacy = LEGACY_KEYS.get(a.legacy);
    if (!legacy) continue;
    const shadowed = ctx.layer.values.has(a.to);
    ctx.layer.warnings.push(legacyWarning(a.typed, legacy, ctx.where, shadowed));
    if (!shadowed) ctx.layer.values.set(a.to, a.value);
  }
  if (hookCandidates.length > 0) {
    const hooks = ctx.layer.values.get("log.hooks");
    const names = (Array.isArray(hooks) ? hooks : [hooks]).map((h) => String(h).toLowerCase());
    for (const typed of hookCandidates) {
      const name = typed.slice(typed.lastIndexOf(".") + 1).toLowerCase();
      if (!names.includes(name)) ctx.layer.warnings.push(unknownKeyWarning(typed, `log.${name}`, ctx.where));
    }
  }
  return seen;
}

function unknownKeyWarning(typed: string, path: string, where: string): string {
  const hint = suggestPath(path);
  return `unknown key "${typed}"${where}${hint === undefined ? "" : `, did you mean "${hint}"?`}`;
}

/** A sibling within typo distance, else a key elsewhere with exactly this last name (`level` → `log.level`). */
function suggestPath(path: string): string | undefined {
  const cut = path.lastIndexOf(".");
  const group = cut < 0 ? "" : path.slice(0, cut);
  const name = path.slice(cut + 1);
  const children = GROUPS_BY_PATH.get(group)?.children;
  const sibling = children ? suggest(name, children) : undefined;
  if (sibling !== undefined) return group === "" ? sibling : `${group}.${sibling}`;
  const elsewhere = KEY_SPECS.find((k) => k.segments[k.segments.length - 1] === name);
  if (elsewhere) return elsewhere.path;
  return cut < 0 ? undefined : suggest(path, KEYS_BY_PATH.keys());
}

/** Keys kept for compatibility but not acted on: setting them should not fail silently. */
function unusedKeyWarnings(values: Map<string, unknown>): string[] {
  const out: string[] = [];
  for (const [path, value] of values) {
    const meta = KEYS_BY_PATH.get(path)?.meta;
    if (!meta?.unused || value === null || show(value) === show(meta.default)) continue;
    if ((value === "" || (Array.isArray(value) && value.length === 0)) && !meta.default) continue;
    out.push(`config key "${path}" is accepted for compatibility, but snetd does not act on it yet`);
  }
  return out;
}

// ---------------------------------------------------------------------------------------------------------
// Parsers with positions

type Parsed = { ok: true; value: unknown } | { ok: false; line: number; column: number; message: string };

function parseYaml(text: string): Parsed {
  const doc = parseDocument(text, {
    // Integers stay exact (cog amounts above 2^53), and 0x… stays text: unquoted addresses are common
    intAsBigInt: true,
    customTags: (tags) =>
      tags.filter((t) => !(typeof t === "object" && "format" in t && (t.format === "HEX" || t.format === "OCT"))),
  });
  const err = doc.errors[0];
  if (!err) return { ok: true, value: smallIntsAsNumbers(doc.toJS()) };
  const pos = err.linePos?.[0];
  const message = (err.message.split("\n")[0] ?? err.message).replace(/ at line \d+, column \d+:?$/, "");
  return { ok: false, line: pos?.line ?? 1, column: pos?.col ?? 1, message };
}

/** Integers that fit a double become numbers again, so YAML and JSON give the same values. */
function smallIntsAsNumbers(value: unknown): unknown {
  if (typeof value === "bigint") {
    return value >= BigInt(Number.MIN_SAFE_INTEGER) && value <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(value) : value;
  }
  if (Array.isArray(value)) return value.map(smallIntsAsNumbers);
  if (isRecord(value)) return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, smallIntsAsNumbers(v)]));
  return value;
}

function parseJson(text: string): Parsed {
  try {
    return { ok: true, value: JSON.parse(text) };
  } catch (err) {
    // JSON.parse in Bun gives no position; find it ourselves
    const found = locateJsonError(text);
    const offset = found?.offset ?? 0;
    const before = text.slice(0, offset).split("\n");
    const message = found?.message ?? String((err as Error).message);
    return { ok: false, line: before.length, column: (before[before.length - 1] ?? "").length + 1, message };
  }
}

/** First syntax error of a JSON text (RFC 8259), or undefined if it has none. */
export function locateJsonError(text: string): { offset: number; message: string } | undefined {
  let i = 0;
  class Stop {
    constructor(readonly message: string) {}
  }
  const ws = () => {
    while (i < text.length && " \t\n\r".includes(text[i] ?? "")) i++;
  };
  const fail = (message: string): never => {
    throw new Stop(i >= text.length ? "unexpected end of file" : message);
  };
  const expect = (c: string) => (text[i] === c ? i++ : fail(`expected "${c}"`));
  const str = () => {
    expect('"');
    for (;;) {
      const c = text[i];
      if (c === undefined) fail("unterminated string");
      else if (c === '"') return void i++;
      else if (c === "\\") {
        i++;
        if (text[i] === "u" && /^[0-9a-fA-F]{4}$/.test(text.slice(i + 1, i + 5))) i += 5;
        else if ('"\\/bfnrt'.includes(text[i] ?? "x")) i++;
        else fail("bad escape in string");
      } else if (c < " ") fail("control character in string");
      else i++;
    }
  };
  const value = (): void => {
    ws();
    const c = text[i];
    if (c === "{" || c === "[") {
      const close = c === "{" ? "}" : "]";
      i++;
      ws();
      if (text[i] === close) return void i++;
      for (;;) {
        ws();
        if (c === "{") {
          if (text[i] !== '"') fail("expected a quoted property name");
          str();
          ws();
          expect(":");
        }
        value();
        ws();
        if (text[i] === ",") i++;
        else if (text[i] === close) return void i++;
        else fail(`expected "," or "${close}"`);
      }
    }
    if (c === '"') return str();
    const lit = /-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?|true|false|null/y;
    lit.lastIndex = i;
    if (lit.exec(text)) return void (i = lit.lastIndex);
    fail(`unexpected character "${c}"`);
  };
  try {
    value();
    ws();
    if (i < text.length) fail("unexpected text after the end of the document");
    return undefined;
  } catch (e) {
    if (e instanceof Stop) return { offset: i, message: e.message };
    throw e;
  }
}

// ---------------------------------------------------------------------------------------------------------

function newLayer(): Layer {
  return { values: new Map(), warnings: [], problems: [] };
}

function isRecord(x: unknown): x is Record<string, unknown> {
  return typeof x === "object" && x !== null && !Array.isArray(x);
}

function kindOf(value: unknown): string {
  if (Array.isArray(value)) return "a list";
  if (typeof value === "string") return "text";
  return typeof value === "bigint" ? "a number" : `a ${typeof value}`;
}
