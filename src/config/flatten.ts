/**
 * Flattening one source into a layer of dotted leaf paths: keys lower-cased, legacy keys mapped forward,
 * unknown keys warned about with a suggestion. Layers are overlaid by loadConfig.
 */
import { LEGACY_KEYS, legacyWarning, privateKeyNote } from "./aliases.ts";
import { type ConfigProblem, show } from "./problems.ts";
import { GROUPS_BY_PATH, KEY_SPECS, KEYS_BY_PATH } from "./schema.ts";
import { suggest } from "./suggest.ts";

/** One source flattened to leaf paths. */
export interface Layer {
  values: Map<string, unknown>;
  warnings: string[];
  problems: ConfigProblem[];
}

interface VisitContext {
  layer: Layer;
  /** Where the source is, for messages: ` in snetd.config.json`. */
  where: string;
  /** The enclosing keys as the user typed them, for messages. */
  typedPrefix: string;
}

/** Flattens `node` (a section at `group`) into the layer; returns the section paths it entered. */
export function visit(
  node: Record<string, unknown>,
  group: string,
  ctx: VisitContext,
  seen = new Set<string>(),
): Set<string> {
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
      hookCandidates.push(typed); // log.<name> sections of log.hooks (protocol/config.md#logging)
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
export function suggestPath(path: string): string | undefined {
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
export function unusedKeyWarnings(values: Map<string, unknown>): string[] {
  const out: string[] = [];
  for (const [path, value] of values) {
    const meta = KEYS_BY_PATH.get(path)?.meta;
    if (!meta?.unused || value === null || show(value) === show(meta.default)) continue;
    if ((value === "" || (Array.isArray(value) && value.length === 0)) && !meta.default) continue;
    out.push(`config key "${path}" is accepted for compatibility, but snetd does not act on it yet`);
  }
  return out;
}

export function newLayer(): Layer {
  return { values: new Map(), warnings: [], problems: [] };
}

export function isRecord(x: unknown): x is Record<string, unknown> {
  return typeof x === "object" && x !== null && !Array.isArray(x);
}

export function kindOf(value: unknown): string {
  if (Array.isArray(value)) return "a list";
  if (typeof value === "string") return "text";
  return typeof value === "bigint" ? "a number" : `a ${typeof value}`;
}
