/**
 * `npm run check:architecture`: the rules that keep src/ readable, checked on every `npm test`.
 *
 * 1. Imports only point down the layers below (a folder may import its own files, lower layers and
 *    the leaves); nothing imports upward, so folders cannot form cycles.
 * 2. core/ is runtime-free: no node:, bun: or deno: imports (it also runs under `deno check`).
 * 3. No source file over 300 lines (generated code excepted).
 * 4. Client-visible messages exist once: a SnetError is built with a literal message only inside the
 *    catalogue (core/messages/) and core/errors.ts.
 * 5. Exported functions of core/, payments/, store/ and training/ carry a doc comment saying what and why.
 *
 * Usage: bun scripts/check-architecture.ts [src-dir]   (default: src). Exit 1 lists every violation.
 */
import { readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, relative, resolve, sep } from "node:path";
import ts from "typescript";

/** Top to bottom; a folder may import folders of later rows only. Folders of one row are peers. */
export const LAYERS: readonly (readonly string[])[] = [
  ["main.ts"],
  ["cli"],
  ["app"],
  ["transport"],
  ["claims", "training"],
  ["payments"],
  ["metadata"],
  ["chain", "store", "crypto"],
  ["core"],
];
/** Importable from every layer above core; they import nothing of ours but core. */
export const LEAVES: readonly string[] = ["config", "ops", "gen"];
const GENERATED = "gen";
const MAX_LINES = 300;
const RUNTIME_FREE = "core";
const CATALOGUE = ["core/messages/", "core/errors.ts"];
const DOCUMENTED = ["core", "payments", "store", "training"];

export interface Violation {
  file: string;
  line: number;
  rule: "layer" | "unknown-folder" | "runtime" | "size" | "message" | "doc";
  detail: string;
}

const folderOf = (rel: string): string => (rel.includes("/") ? rel.slice(0, rel.indexOf("/")) : rel);
const rankOf = (folder: string): number => LAYERS.findIndex((row) => row.includes(folder));

function sourceFiles(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) out.push(...sourceFiles(path));
    else if (/\.(ts|mts)$/.test(name) && !name.endsWith(".d.ts")) out.push(path);
  }
  return out;
}

const lineOf = (text: string, pos: number) => text.slice(0, pos).split("\n").length;

/** Whether `from` (a folder or main.ts) may import `to`. */
export function mayImport(from: string, to: string): boolean {
  if (from === to) return true;
  if (LEAVES.includes(from)) return to === "core";
  if (LEAVES.includes(to)) return from !== "core";
  const a = rankOf(from);
  const b = rankOf(to);
  return a >= 0 && b >= 0 && b > a;
}

/** SnetError built from a string or template literal: `new SnetError(Code.X, "…")` or `new SnetError(code, \`…\`)`. */
function literalErrors(source: ts.SourceFile): number[] {
  const found: number[] = [];
  const visit = (node: ts.Node) => {
    if (ts.isNewExpression(node) && ts.isIdentifier(node.expression) && node.expression.text === "SnetError") {
      const message = node.arguments?.[1];
      if (message && (ts.isStringLiteralLike(message) || ts.isTemplateExpression(message)))
        found.push(node.getStart(source));
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return found;
}

/** Exported functions (declarations and `const f = () =>`) without a JSDoc comment: their names and positions. */
function undocumentedExports(source: ts.SourceFile): { name: string; pos: number }[] {
  const found: { name: string; pos: number }[] = [];
  for (const st of source.statements) {
    if (!ts.canHaveModifiers(st) || !ts.getModifiers(st)?.some((m) => m.kind === ts.SyntaxKind.ExportKeyword)) continue;
    let name: string | undefined;
    if (ts.isFunctionDeclaration(st)) name = st.name?.text;
    else if (ts.isVariableStatement(st)) {
      const d = st.declarationList.declarations[0];
      const init = d?.initializer;
      if (d && ts.isIdentifier(d.name) && init && (ts.isArrowFunction(init) || ts.isFunctionExpression(init)))
        name = d.name.text;
    }
    if (name && ts.getJSDocCommentsAndTags(st).length === 0) found.push({ name, pos: st.getStart(source) });
  }
  return found;
}

export function checkArchitecture(srcDir: string): Violation[] {
  const root = resolve(srcDir);
  const violations: Violation[] = [];
  for (const path of sourceFiles(root)) {
    const rel = relative(root, path).split(sep).join("/");
    const folder = folderOf(rel);
    const text = readFileSync(path, "utf8");
    if (folder !== rel && rankOf(folder) < 0 && !LEAVES.includes(folder)) {
      violations.push({
        file: rel,
        line: 1,
        rule: "unknown-folder",
        detail: `folder "${folder}" is in no layer of scripts/check-architecture.ts`,
      });
    }
    if (folder !== GENERATED) {
      const lines = text.split("\n").length - (text.endsWith("\n") ? 1 : 0);
      if (lines > MAX_LINES)
        violations.push({
          file: rel,
          line: MAX_LINES + 1,
          rule: "size",
          detail: `${lines} lines, at most ${MAX_LINES}`,
        });
    }
    const source = ts.createSourceFile(rel, text, ts.ScriptTarget.Latest, true);
    for (const ref of ts.preProcessFile(text, true, true).importedFiles) {
      const spec = ref.fileName;
      const line = lineOf(text, ref.pos);
      if (folder === RUNTIME_FREE && /^(node|bun|deno):/.test(spec)) {
        violations.push({ file: rel, line, rule: "runtime", detail: `core/ is runtime-free but imports "${spec}"` });
      }
      if (!spec.startsWith(".")) continue;
      const target = relative(root, resolve(dirname(path), spec))
        .split(sep)
        .join("/");
      if (target.startsWith("..")) continue;
      const to = folderOf(target);
      if (!mayImport(folder, to))
        violations.push({
          file: rel,
          line,
          rule: "layer",
          detail: `${folder} must not import ${to} ("${spec}"): imports only point down`,
        });
    }
    if (DOCUMENTED.includes(folder)) {
      for (const u of undocumentedExports(source)) {
        violations.push({
          file: rel,
          line: lineOf(text, u.pos),
          rule: "doc",
          detail: `exported "${u.name}" needs a one-line doc comment: what it does and why`,
        });
      }
    }
    if (!CATALOGUE.some((c) => rel === c || rel.startsWith(c))) {
      for (const pos of literalErrors(source)) {
        violations.push({
          file: rel,
          line: lineOf(text, pos),
          rule: "message",
          detail: "a SnetError with a literal message belongs in the catalogue (core/messages/)",
        });
      }
    }
  }
  return violations;
}

if (import.meta.main) {
  const dir = process.argv[2] ?? "src";
  const violations = checkArchitecture(dir);
  for (const v of violations) console.error(`${dir}/${v.file}:${v.line}: [${v.rule}] ${v.detail}`);
  if (violations.length > 0) {
    console.error(`check-architecture: ${violations.length} violation(s); the layers are in ARCHITECTURE.md`);
    process.exit(1);
  }
  console.log(
    "check-architecture: imports point down, core is runtime-free, files ≤ 300 lines, messages in the catalogue, exports documented",
  );
}
