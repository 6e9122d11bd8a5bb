/**
 * Applies docs/protocol/.citation-map.tsv: replaces each old citation with its new one. Columns: `file:line`,
 * old text, new text; `\n` in either is a line break followed by the comment's continuation prefix
 * (` * `, `// `, `# `), which the replacement keeps. A row is found at its line when the file is where the
 * map says, else by its old text anywhere in the file, and when the file moved, in the one file of the
 * same name under the root. Rows apply bottom-up per file, so earlier line numbers stay valid.
 * Both this script and the map can go once applied.
 *
 * Usage: bun scripts/apply-citation-map.ts [--root DIR] [--dry-run]
 */
import { existsSync, readFileSync, readdirSync, statSync, writeFileSync } from "node:fs";
import { basename, dirname, join, relative } from "node:path";

interface Row {
  file: string;
  line: number;
  old: string;
  new: string;
}

const CONTINUATION = String.raw`\n([ \t]*(?:\* |\*|// |# )?)`;
const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");

export function readMap(text: string): Row[] {
  return text
    .split("\n")
    .slice(1)
    .filter((l) => l.trim() !== "")
    .map((l) => {
      const [location = "", old = "", replacement = ""] = l.split("\t");
      const at = location.lastIndexOf(":");
      return { file: location.slice(0, at), line: Number(location.slice(at + 1)), old: old.replace(/\\n/g, "\n"), new: replacement.replace(/\\n/g, "\n") };
    });
}

function findFile(root: string, file: string): string | undefined {
  if (existsSync(join(root, file))) return file;
  const matches: string[] = [];
  const walk = (dir: string) => {
    for (const name of readdirSync(dir)) {
      if (name === "node_modules" || name.startsWith(".")) continue;
      const path = join(dir, name);
      if (statSync(path).isDirectory()) walk(path);
      else if (name === basename(file)) matches.push(relative(root, path));
    }
  };
  walk(root);
  return matches.length === 1 ? matches[0] : undefined;
}

/** Applies `rows` to one file's text; returns the new text and the rows it could not place. */
export function applyRows(text: string, rows: readonly Row[]): { text: string; missed: Row[] } {
  const missed: Row[] = [];
  let out = text;
  for (const row of [...rows].sort((a, b) => b.line - a.line)) {
    const pattern = new RegExp(row.old.split("\n").map(escape).join(CONTINUATION), "g");
    const lineStart = out.split("\n").slice(0, row.line - 1).join("\n").length + (row.line > 1 ? 1 : 0);
    const lineEnd = out.indexOf("\n", lineStart) === -1 ? out.length : out.indexOf("\n", lineStart);
    const all = [...out.matchAll(pattern)];
    const match = all.find((m) => m.index >= lineStart && m.index < lineEnd) ?? (all.length === 1 ? all[0] : undefined);
    if (!match) {
      missed.push(row);
      continue;
    }
    const linePrefix = /^[ \t]*(?:\* |\*|\/\/ |# )?/.exec(out.slice(out.lastIndexOf("\n", match.index) + 1))?.[0] ?? "";
    const prefix = match[1] ?? linePrefix;
    out = out.slice(0, match.index) + row.new.split("\n").join(`\n${prefix}`) + out.slice(match.index + match[0].length);
  }
  return { text: out, missed };
}

if (import.meta.main) {
  const at = process.argv.indexOf("--root");
  const root = at > 0 ? (process.argv[at + 1] ?? ".") : join(dirname(new URL(import.meta.url).pathname), "..");
  const dryRun = process.argv.includes("--dry-run");
  const rows = readMap(readFileSync(join(root, "docs/protocol/.citation-map.tsv"), "utf8"));
  const byFile = new Map<string, Row[]>();
  for (const r of rows) byFile.set(r.file, [...(byFile.get(r.file) ?? []), r]);
  let applied = 0;
  let failed = 0;
  for (const [file, fileRows] of byFile) {
    const found = findFile(root, file);
    if (!found) {
      console.log(`${file}: not found under ${root} (${fileRows.length} row(s))`);
      failed += fileRows.length;
      continue;
    }
    const before = readFileSync(join(root, found), "utf8");
    const { text, missed } = applyRows(before, fileRows);
    for (const m of missed) console.log(`${found}:${m.line}: old text not found: ${JSON.stringify(m.old)}`);
    failed += missed.length;
    applied += fileRows.length - missed.length;
    if (!dryRun && text !== before) writeFileSync(join(root, found), text);
  }
  console.log(`${applied} row(s) ${dryRun ? "would apply" : "applied"}, ${failed} not placed`);
  process.exit(failed > 0 ? 1 : 0);
}
