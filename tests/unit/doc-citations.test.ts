// The citation checker (scripts/check-doc-citations.ts) on throw-away trees: a tree of good citations
// passes, and each kind of bad citation planted in it is reported with its file and line, by the function
// and by the script's exit code.
import { afterEach, describe, expect, test } from "bun:test";
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { anchorsOf, checkDocCitations, slug } from "../../scripts/check-doc-citations.ts";

const REPO = join(import.meta.dir, "../..");
const SCRIPT = join(REPO, "scripts/check-doc-citations.ts");
/** While it exists, the comments still carry the old citations it replaces (tests/unit/citation-map.test.ts checks them). */

const PAYMENTS = [
  "# Payments",
  "",
  "## Escrow order",
  "",
  "### Expiry threshold",
  "",
  "```",
  "## Not a heading",
  "```",
  "",
].join("\n");
const DIFFERENCES = ["# Differences", "", "### D13", "", "**Per address.**", ""].join("\n");
const INDEX = [
  "# Notes",
  "",
  "See [payments](payments.md#escrow-order) and [D13](reference-differences.md#d13).",
  "",
].join("\n");

/** Every comment form the checker reads, citing things that exist; plus strings and regexes that must not count. */
const GOOD_TS = [
  "/**",
  " * Escrow admission (docs/protocol/payments.md#escrow-order; protocol/payments.md §expiry-threshold).",
  " */",
  'const text = "wire.md §9.2 in a string is not a comment";',
  "const pattern = /\"|'|`/; // usage is per address (protocol/reference-differences.md#d13)",
  // biome-ignore lint/suspicious/noTemplateCurlyInString: a source line under test: a template literal that must not count as a citation
  "const template = `pitfalls.md #13 ${pattern.source}`;",
  "// The notes folder: README.md beside this file, and docs/protocol/README.md.",
  "export { text, template };",
  "",
].join("\n");

let root = "";
const trees: string[] = [];
afterEach(() => {
  for (const t of trees.splice(0)) rmSync(t, { recursive: true, force: true });
});

function write(relative: string, content: string) {
  const path = join(root, relative);
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, content);
}

/** A repository-shaped tree (inside a parent folder, so "outside the root" can exist) with only good citations. */
function goodTree(): string {
  const parent = mkdtempSync(join(tmpdir(), "doc-citations-"));
  trees.push(parent);
  root = join(parent, "repo");
  write("docs/protocol/payments.md", PAYMENTS);
  write("docs/protocol/reference-differences.md", DIFFERENCES);
  write("docs/protocol/README.md", INDEX);
  write("src/payments/README.md", "# Here\n");
  write("src/payments/gate.ts", GOOD_TS);
  write("tests/kit/tool.py", 'print("wire.md §3 in a string")  # see protocol/payments.md#escrow-order\n');
  write("scripts/setup.sh", "#!/bin/sh\n# see docs/protocol/payments.md §escrow-order\necho '#not.md'\n");
  write("proto/state.proto", '// GetChannelState (protocol/payments.md#escrow-order).\nsyntax = "proto3";\n');
  write("../outside.md", "# Outside\n");
  return root;
}

function runScript(at: string) {
  const r = spawnSync(process.execPath, [SCRIPT, "--root", at], { encoding: "utf8" });
  return { status: r.status, out: r.stdout };
}

describe("citation checker", () => {
  test("a tree whose comments cite existing files and headings passes, and the script exits 0", () => {
    const at = goodTree();
    expect(checkDocCitations(at)).toEqual([]);
    const r = runScript(at);
    expect(r.status).toBe(0);
    expect(r.out).toContain("every cited markdown file and anchor exists");
  });

  test("each planted bad citation is reported at its file and line, and the script exits 1 listing them", () => {
    const at = goodTree();
    write(
      "src/payments/bad.ts",
      [
        "// Refusals follow wire.md §9.2.",
        "/** Strict, as the reference (pitfalls.md #25). */",
        "export const a = 1; // protocol/payments.md#escrow-orders",
        "// payments.md §3 steps 4–8",
        "// ../outside.md exists, but not in the repository",
        "// ../../shared/spec/wire.md",
        "",
      ].join("\n"),
    );
    write("tests/kit/bad.py", "x = 1  # protocol/reference-differences.md#d99\n");
    write("proto/bad.proto", "// Treasurer API (wire.md §3.3).\n");

    const problems = checkDocCitations(at).map((p) => `${p.file}:${p.line} ${p.citation}`);
    expect(problems).toEqual([
      "src/payments/bad.ts:1 wire.md §9.2",
      "src/payments/bad.ts:2 pitfalls.md",
      "src/payments/bad.ts:3 protocol/payments.md#escrow-orders",
      "src/payments/bad.ts:4 payments.md §3",
      "src/payments/bad.ts:5 ../outside.md",
      "src/payments/bad.ts:6 ../../shared/spec/wire.md",
      "tests/kit/bad.py:1 protocol/reference-differences.md#d99",
      "proto/bad.proto:1 wire.md §3.3",
    ]);

    const r = runScript(at);
    expect(r.status).toBe(1);
    expect(r.out).toContain(
      'src/payments/bad.ts:3: cites "protocol/payments.md#escrow-orders": no heading "#escrow-orders" in docs/protocol/payments.md',
    );
    expect(r.out).toContain('proto/bad.proto:1: cites "wire.md §3.3": no such file in the repository');
  });

  test("a broken link between the notes is reported too", () => {
    const at = goodTree();
    write("docs/protocol/state.md", "# State\n\nSlots: [payments](payments.md#slots), [gone](gone.md).\n");
    expect(checkDocCitations(at).map((p) => `${p.file}:${p.line} ${p.citation}`)).toEqual([
      "docs/protocol/state.md:3 payments.md#slots",
      "docs/protocol/state.md:3 gone.md",
    ]);
  });
});

describe("anchors", () => {
  test("are GitHub heading slugs, numbered when repeated, fenced code ignored, explicit ids kept", () => {
    expect(slug("Escrow order")).toBe("escrow-order");
    expect(slug("D13")).toBe("d13");
    expect(slug("`snet-user-address` and [CORS](headers.md)")).toBe("snet-user-address-and-cors");
    const anchors = anchorsOf(["## Keys", "## Keys", "```", "## Hidden", "```", '<a id="custom"></a>'].join("\n"));
    expect([...anchors].sort()).toEqual(["custom", "keys", "keys-1"]);
  });
});

describe("this repository", () => {
  test("every comment cites an existing file and heading", () => {
    expect(checkDocCitations(REPO).map((p) => `${p.file}:${p.line} ${p.citation}: ${p.reason}`)).toEqual([]);
  });
});
