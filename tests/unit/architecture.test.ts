// The architecture gate (scripts/check-architecture.ts) on planted trees: each rule must catch its
// violation, and the real src/ must have none. `npm test` also runs the script itself.
import { afterAll, describe, expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { checkArchitecture, mayImport } from "../../scripts/check-architecture.ts";

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

/** A throwaway src/ tree holding `files` (path → text). */
function tree(files: Record<string, string>): string {
  const root = mkdtempSync(join(tmpdir(), "snetd-arch-"));
  dirs.push(root);
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(dirname(join(root, path)), { recursive: true });
    writeFileSync(join(root, path), text);
  }
  return root;
}

const clean = {
  "core/errors.ts":
    "export class SnetError extends Error { constructor(readonly code: number, m: string) { super(m); } }\n",
  "core/messages/payments.ts":
    // biome-ignore lint/suspicious/noTemplateCurlyInString: a source file under test, whose template literal the checker must read
    'import { SnetError } from "../errors.ts";\n/** Busy. */\nexport const busy = (id: bigint) => new SnetError(9, `busy ${id}`);\n',
  "payments/gate.ts":
    'import { busy } from "../core/messages/payments.ts";\nimport type { Config } from "../config/schema.ts";\nexport const x = busy;\n',
  "config/schema.ts": 'import { SnetError } from "../core/errors.ts";\nexport type Config = { a: SnetError };\n',
  "transport/services/state.ts": 'import { x } from "../../payments/gate.ts";\nexport const y = x;\n',
  "main.ts": 'import "./cli/serve.ts";\n',
  "cli/serve.ts": 'import { y } from "../transport/services/state.ts";\nexport const z = y;\n',
};

describe("scripts/check-architecture.ts", () => {
  test("the real src/ keeps every rule", () => {
    expect(checkArchitecture("src")).toEqual([]);
  });

  test("a tree whose imports only point down passes", () => {
    expect(checkArchitecture(tree(clean))).toEqual([]);
  });

  test("an upward import is refused, naming the file, line and both folders", () => {
    const v = checkArchitecture(
      tree({ ...clean, "payments/gate.ts": 'import { z } from "../cli/serve.ts";\nexport const x = z;\n' }),
    );
    expect(v).toEqual([
      {
        file: "payments/gate.ts",
        line: 1,
        rule: "layer",
        detail: 'payments must not import cli ("../cli/serve.ts"): imports only point down',
      },
    ]);
  });

  test("peers cannot import each other, so two folders cannot form a cycle", () => {
    const v = checkArchitecture(
      tree({ ...clean, "store/a.ts": 'import "../chain/b.ts";\n', "chain/b.ts": 'import "../store/a.ts";\n' }),
    );
    expect(v.map((x) => `${x.file}:${x.rule}`).sort()).toEqual(["chain/b.ts:layer", "store/a.ts:layer"]);
  });

  test("a leaf importing anything but core is refused, and core may not import a leaf", () => {
    const v = checkArchitecture(
      tree({
        ...clean,
        "ops/log.ts": 'import "../payments/gate.ts";\n',
        "core/x.ts": 'import "../config/schema.ts";\n',
      }),
    );
    expect(v.map((x) => `${x.file}:${x.rule}`).sort()).toEqual(["core/x.ts:layer", "ops/log.ts:layer"]);
  });

  test("core importing a runtime module is refused", () => {
    const v = checkArchitecture(
      tree({ ...clean, "core/fs.ts": 'import { readFileSync } from "node:fs";\nexport const r = readFileSync;\n' }),
    );
    expect(v).toEqual([
      { file: "core/fs.ts", line: 1, rule: "runtime", detail: 'core/ is runtime-free but imports "node:fs"' },
    ]);
  });

  test("a file over 300 lines is refused, generated code is not", () => {
    const long = "export const a = 1;\n".repeat(301);
    const v = checkArchitecture(tree({ ...clean, "payments/long.ts": long, "gen/long_pb.ts": long }));
    expect(v).toEqual([{ file: "payments/long.ts", line: 301, rule: "size", detail: "301 lines, at most 300" }]);
  });

  test("a SnetError with a literal message outside the catalogue is refused", () => {
    const v = checkArchitecture(
      tree({
        ...clean,
        // biome-ignore lint/suspicious/noTemplateCurlyInString: a source file under test, whose template literal the checker must read
        "payments/gate.ts": 'import { SnetError } from "../core/errors.ts";\nthrow new SnetError(13, `no ${1}`);\n',
      }),
    );
    expect(v).toEqual([
      {
        file: "payments/gate.ts",
        line: 2,
        rule: "message",
        detail: "a SnetError with a literal message belongs in the catalogue (core/messages/)",
      },
    ]);
  });

  test("an exported function of core, payments or store without a doc comment is refused", () => {
    const v = checkArchitecture(
      tree({
        ...clean,
        "store/codec.ts": "/** Documented. */\nexport function a() {}\nexport const b = () => 1;\n",
        "transport/x.ts": "export function c() {}\n",
      }),
    );
    expect(v).toEqual([
      {
        file: "store/codec.ts",
        line: 3,
        rule: "doc",
        detail: 'exported "b" needs a one-line doc comment: what it does and why',
      },
    ]);
  });

  test("a folder in no layer is named", () => {
    const v = checkArchitecture(tree({ ...clean, "misc/helpers.ts": "export const h = 1;\n" }));
    expect(v.map((x) => x.rule)).toContain("unknown-folder");
  });

  test("the layer table: down and into leaves yes, up and sideways no", () => {
    expect(mayImport("transport", "payments")).toBe(true);
    expect(mayImport("payments", "transport")).toBe(false);
    expect(mayImport("app", "config")).toBe(true);
    expect(mayImport("config", "core")).toBe(true);
    expect(mayImport("config", "ops")).toBe(false);
    expect(mayImport("store", "chain")).toBe(false);
  });
});
