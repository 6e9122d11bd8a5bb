// The citation map (docs/protocol/.citation-map.tsv) applied by scripts/apply-citation-map.ts to a copy of
// this tree: every row finds its text, and afterwards no comment cites a file or heading that does not
// exist. Delete this test together with the map and the script once the map is applied.
import { describe, expect, test } from "bun:test";
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { applyRows, readMap } from "../../scripts/apply-citation-map.ts";
import { checkDocCitations } from "../../scripts/check-doc-citations.ts";

const ROOT = join(import.meta.dir, "../..");
const MAP = join(ROOT, "docs/protocol/.citation-map.tsv");

describe("citation map", () => {
  test("a row spanning comment lines keeps each line's prefix; a row whose line moved is found by its text", () => {
    const source = ["// header", "/**", " * Checks (see wire.md §5 with", " * (§9.2)). Pure.", " */", ""].join("\n");
    const rows = [
      { file: "x.ts", line: 3, old: "wire.md §5 with\n(§9.2))", new: "protocol/headers.md#payment-metadata\nwith protocol/errors.md#payment-refusals)" },
      { file: "x.ts", line: 1, old: "Pure.", new: "Pure, no I/O." },
    ];
    const { text, missed } = applyRows(source, rows);
    expect(missed).toEqual([]);
    expect(text).toBe(
      ["// header", "/**", " * Checks (see protocol/headers.md#payment-metadata", " * with protocol/errors.md#payment-refusals). Pure, no I/O.", " */", ""].join("\n"),
    );
    expect(applyRows(source, [{ file: "x.ts", line: 2, old: "not there", new: "" }]).missed).toHaveLength(1);
  });

  if (!existsSync(MAP)) {
    test.skip("applied to this tree (skipped: docs/protocol/.citation-map.tsv is gone, so the map was applied)", () => {});
    return;
  }

  test("applied to a copy of this tree, every row is placed and every citation then resolves", () => {
    const copy = mkdtempSync(join(tmpdir(), "citation-map-"));
    try {
      for (const part of ["src", "tests", "bench", "demo", "scripts", "proto", "docs", "README.md"]) {
        if (existsSync(join(ROOT, part))) cpSync(join(ROOT, part), join(copy, part), { recursive: true });
      }
      const rows = readMap(readFileSync(MAP, "utf8"));
      expect(rows.length).toBeGreaterThan(150);
      const missed: string[] = [];
      for (const file of new Set(rows.map((r) => r.file))) {
        const path = join(copy, file);
        const { text, missed: m } = applyRows(readFileSync(path, "utf8"), rows.filter((r) => r.file === file));
        missed.push(...m.map((r) => `${r.file}:${r.line}`));
        writeFileSync(path, text);
      }
      expect(missed).toEqual([]);
      expect(checkDocCitations(copy).map((p) => `${p.file}:${p.line} ${p.citation}: ${p.reason}`)).toEqual([]);
    } finally {
      rmSync(copy, { recursive: true, force: true });
    }
  });
});
