/**
 * Fails (exit 1, listing file:line) when a comment in the code cites a markdown file or an anchor that is
 * not in the repository, and when a link between the protocol notes is broken. The citation forms are
 * listed in docs/protocol/README.md#citing-these-files.
 *
 * Usage: bun scripts/check-doc-citations.ts [--root DIR]
 */
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, extname, join, relative, resolve, sep } from "node:path";
import ts from "typescript";

/** Folders whose comments are checked; `proto/` too, because src/gen copies its comments. */
export const CODE_DIRS = ["src", "tests", "bench", "demo", "scripts", "proto"] as const;
/** Markdown whose links are checked. */
export const DOCS_DIR = "docs/protocol";
/** Where a short citation is looked up, after the citing file's own folder. */
const SEARCH_BASES = ["", "docs", DOCS_DIR];

const SCRIPT_EXTS = new Set([".ts", ".tsx", ".mts", ".cts", ".js", ".mjs", ".cjs"]);
const HASH_COMMENT_EXTS = new Set([".py", ".sh"]);
const SKIP_DIRS = new Set(["node_modules", ".git", ".cache", "dist"]);

export interface CitationProblem {
  /** Relative to the root, with forward slashes. */
  file: string;
  line: number;
  citation: string;
  reason: string;
}

/** A piece of comment text and the line of the file it starts on. */
interface Comment {
  text: string;
  line: number;
}

/**
 * A markdown file name ending in ".md", optionally followed by `#anchor` or ` §anchor`. The anchor may look
 * like `9.2`, so that numbered section references are reported rather than read as a bare file citation.
 */
const CITATION =
  /(?<![\w/.-])((?:\.{1,2}\/)*(?:[\w.-]+\/)*[\w.-]*[\w-]\.md)\b(?:#([\w-]+)|[ \t]?§[ \t]?([\w-]+(?:\.[\w-]+)*))?/g;

/** GitHub's heading slug: lower case, punctuation dropped, spaces as hyphens. */
export function slug(heading: string): string {
  return heading
    .replace(/\[([^\]]*)\]\([^)]*\)/g, "$1")
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{M}\p{N}\p{Pc} -]/gu, "")
    .replace(/ /g, "-");
}

/** Every anchor of a markdown text: heading slugs (duplicates numbered as GitHub does) and explicit ids. */
export function anchorsOf(markdown: string): Set<string> {
  const anchors = new Set<string>();
  const seen = new Map<string, number>();
  let fence: string | undefined;
  for (const line of markdown.split("\n")) {
    const f = /^\s*(```|~~~)/.exec(line);
    if (f) {
      if (fence === undefined) fence = f[1];
      else if (fence === f[1]) fence = undefined;
      continue;
    }
    if (fence !== undefined) continue;
    const h = /^#{1,6}\s+(.*?)\s*#*\s*$/.exec(line);
    if (h) {
      const base = slug(h[1] ?? "");
      const n = seen.get(base) ?? 0;
      seen.set(base, n + 1);
      anchors.add(n === 0 ? base : `${base}-${n}`);
    }
    for (const m of line.matchAll(/<a\s+(?:id|name)="([^"]+)"/g)) anchors.add(m[1] as string);
  }
  return anchors;
}

/** Comments of a TypeScript or JavaScript file, found by the TypeScript parser so strings and regexes never count. */
function scriptComments(text: string, fileName: string): Comment[] {
  const source = ts.createSourceFile(fileName, text, ts.ScriptTarget.Latest, false);
  const starts = new Set<number>();
  const out: Comment[] = [];
  const take = (pos: number, end: number) => {
    if (starts.has(pos)) return;
    starts.add(pos);
    out.push({ text: text.slice(pos, end), line: source.getLineAndCharacterOfPosition(pos).line + 1 });
  };
  const visit = (node: ts.Node) => {
    ts.forEachLeadingCommentRange(text, node.pos, take);
    ts.forEachTrailingCommentRange(text, node.end, take);
    for (const child of node.getChildren(source)) visit(child);
  };
  visit(source);
  return out;
}

/** Comments introduced by `marker` outside quotes, one per line (Python, shell, proto). */
function lineComments(text: string, marker: "#" | "//"): Comment[] {
  const out: Comment[] = [];
  text.split("\n").forEach((line, i) => {
    if (i === 0 && line.startsWith("#!")) return;
    let quote: string | undefined;
    for (let at = 0; at < line.length; at++) {
      const c = line[at] as string;
      if (quote) {
        if (c === "\\") at++;
        else if (c === quote) quote = undefined;
      } else if (c === '"' || c === "'") quote = c;
      else if (line.startsWith(marker, at) && (at === 0 || /\s/.test(line[at - 1] as string))) {
        out.push({ text: line.slice(at), line: i + 1 });
        return;
      }
    }
  });
  return out;
}

function commentsOf(file: string, text: string): Comment[] {
  const ext = extname(file);
  if (ext === ".proto") return lineComments(text, "//");
  if (SCRIPT_EXTS.has(ext)) return scriptComments(text, file);
  if (HASH_COMMENT_EXTS.has(ext)) return lineComments(text, "#");
  return [];
}

function filesUnder(dir: string): string[] {
  if (!existsSync(dir)) return [];
  const out: string[] = [];
  for (const name of readdirSync(dir).sort()) {
    if (SKIP_DIRS.has(name) || name.startsWith(".")) continue;
    const path = join(dir, name);
    if (statSync(path).isDirectory()) out.push(...filesUnder(path));
    else out.push(path);
  }
  return out;
}

/** Reads markdown anchors once per file. */
function anchorCache(): (file: string) => Set<string> {
  const cache = new Map<string, Set<string>>();
  return (file) => {
    let anchors = cache.get(file);
    if (!anchors) {
      anchors = anchorsOf(readFileSync(file, "utf8"));
      cache.set(file, anchors);
    }
    return anchors;
  };
}

const inside = (root: string, path: string) => path === root || path.startsWith(root + sep);

/** The file a citation names: beside the citing file, then from the root, `docs/`, `docs/protocol/`. */
function resolveCitation(root: string, citingDir: string, path: string): string | undefined {
  for (const base of [citingDir, ...SEARCH_BASES.map((b) => join(root, b))]) {
    const candidate = resolve(base, path);
    if (inside(root, candidate) && existsSync(candidate) && statSync(candidate).isFile()) return candidate;
  }
  return undefined;
}

function checkTarget(
  root: string,
  target: string | undefined,
  anchor: string | undefined,
  anchors: (f: string) => Set<string>,
): string | undefined {
  if (!target) return "no such file in the repository";
  if (anchor !== undefined && !anchors(target).has(anchor))
    return `no heading "#${anchor}" in ${relative(root, target).split(sep).join("/")}`;
  return undefined;
}

/** Problems with the citations in the code under `root`, and with the links of the protocol notes. */
export function checkDocCitations(root: string, opts: { dirs?: readonly string[] } = {}): CitationProblem[] {
  const top = resolve(root);
  const anchors = anchorCache();
  const problems: CitationProblem[] = [];
  const show = (file: string) => relative(top, file).split(sep).join("/");

  for (const dir of opts.dirs ?? CODE_DIRS) {
    for (const file of filesUnder(join(top, dir))) {
      const text = readFileSync(file, "utf8");
      for (const comment of commentsOf(file, text)) {
        for (const m of comment.text.matchAll(CITATION)) {
          const [citation, path, hash, section] = m as unknown as [
            string,
            string,
            string | undefined,
            string | undefined,
          ];
          const reason = checkTarget(top, resolveCitation(top, dirname(file), path), hash ?? section, anchors);
          if (!reason) continue;
          const line = comment.line + (comment.text.slice(0, m.index).match(/\n/g)?.length ?? 0);
          problems.push({ file: show(file), line, citation, reason });
        }
      }
    }
  }

  for (const file of filesUnder(join(top, DOCS_DIR)).filter((f) => f.endsWith(".md"))) {
    readFileSync(file, "utf8")
      .split("\n")
      .forEach((line, i) => {
        for (const m of line.matchAll(/\]\(([^)\s]+)\)/g)) {
          const link = m[1] as string;
          if (/^[a-z]+:/i.test(link)) continue;
          const [path, anchor] = link.split("#") as [string, string | undefined];
          const target = path === "" ? file : resolve(dirname(file), path);
          const found = inside(top, target) && existsSync(target) ? target : undefined;
          const reason = checkTarget(top, found, target.endsWith(".md") ? anchor : undefined, anchors);
          if (reason) problems.push({ file: show(file), line: i + 1, citation: link, reason });
        }
      });
  }
  return problems;
}

if (import.meta.main) {
  const at = process.argv.indexOf("--root");
  const root = at > 0 ? (process.argv[at + 1] ?? ".") : join(dirname(new URL(import.meta.url).pathname), "..");
  const problems = checkDocCitations(root);
  for (const p of problems) console.log(`${p.file}:${p.line}: cites "${p.citation}": ${p.reason}`);
  if (problems.length > 0) {
    console.log(
      `${problems.length} citation(s) point at nothing; the forms and anchors are in docs/protocol/README.md`,
    );
    process.exit(1);
  }
  console.log("every cited markdown file and anchor exists");
}
