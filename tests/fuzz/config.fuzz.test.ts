// Property tests of configuration loading (config/load.ts, file.ts): whatever a config file holds — random
// YAML or JSON, alias bombs, deep nesting, huge numbers, bytes that are not UTF-8 — loading returns a
// config or a ConfigError listing problems (the CLI's exit 2), never another exception; and dist/snetd
// itself exits 2 with one clear message on the hostile files.
import { describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import fc from "fast-check";
import { stringify } from "yaml";
import { ConfigError, loadConfig } from "../../src/config/load.ts";
import { KEY_SPECS } from "../../src/config/schema.ts";
import { ensureBinary, runCli } from "../kit/daemon.ts";
import { check, nastyString } from "./fuzz-kit.ts";

/** Loads `content` as a file named `name`; returns the ConfigError, or undefined when it loaded. */
function load(name: string, content: string | Uint8Array): ConfigError | undefined {
  try {
    loadConfig({ file: name, env: {}, cwd: "/nonexistent", readFile: () => content });
    return undefined;
  } catch (err) {
    if (!(err instanceof ConfigError))
      throw new Error(`loading ${name} threw ${String(err)}, expected a ConfigError`, { cause: err });
    expect(err.problems.length).toBeGreaterThan(0);
    for (const line of err.format().split("\n")) expect(line).toMatch(/^\S.*, expected .+/);
    return err;
  }
}

/** JSON with bigints as exact integer literals (JSON.rawJSON is in Bun, not yet in TypeScript's lib). */
const rawJson = (JSON as unknown as { rawJSON(text: string): unknown }).rawJSON;
const KEYS = KEY_SPECS.map((k) => k.path);
const value = fc.oneof(
  nastyString(),
  fc.jsonValue({ maxDepth: 2 }),
  fc.bigInt({ min: -(2n ** 200n), max: 2n ** 200n }),
  fc.constantFrom(1e308, -0, 2 ** 53 + 1, Number.MAX_SAFE_INTEGER, null, true),
);
/** A config document: known keys (dotted paths nested as sections) and unknown ones, with odd values. */
const document = fc
  .dictionary(fc.oneof(fc.constantFrom(...KEYS), fc.string({ maxLength: 20 })), value, { maxKeys: 8 })
  .map((flat) => {
    const doc: Record<string, unknown> = {};
    for (const [path, v] of Object.entries(flat)) {
      const parts = path.split(".");
      let node = doc;
      for (const p of parts.slice(0, -1)) {
        const section = (typeof node[p] === "object" && node[p] !== null ? node[p] : {}) as Record<string, unknown>;
        node[p] = section;
        node = section;
      }
      node[parts[parts.length - 1] as string] = v;
    }
    return doc;
  });
const json = (v: unknown) => JSON.stringify(v, (_k, x) => (typeof x === "bigint" ? rawJson(x.toString()) : x));

/** `levels` levels of aliases, each expanding the one below `fanout` times: fanout^levels nodes. */
const aliasBomb = (levels: number, fanout: number) => {
  const lines = ['a0: &a0 ["lol"]'];
  for (let i = 1; i <= levels; i++)
    lines.push(
      `a${i}: &a${i} [${Array(fanout)
        .fill(`*a${i - 1}`)
        .join(", ")}]`,
    );
  return `${lines.join("\n")}\n`;
};

describe("configuration files", () => {
  test("generated documents, as JSON and as YAML, load or give a ConfigError", async () => {
    await check(
      fc.property(document, fc.boolean(), (doc, asYaml) => {
        if (asYaml) load("c.yaml", stringify(doc, { version: "1.2" }));
        else load("c.json", json(doc));
      }),
      1000,
    );
  });

  test("arbitrary text and bytes in a config file give a ConfigError", async () => {
    await check(
      fc.property(
        fc.oneof(fc.string({ unit: "binary", maxLength: 300 }), fc.uint8Array({ maxLength: 300 })),
        fc.constantFrom("c.json", "c.yaml", "c.yml"),
        (content, name) => {
          load(name, content);
        },
      ),
      1500,
    );
  });

  test("alias bombs, deep nesting and non-UTF-8 bytes load or give a ConfigError (deep log hook sections are allowed)", async () => {
    const hostile = fc.oneof(
      fc
        .tuple(fc.integer({ min: 3, max: 12 }), fc.integer({ min: 3, max: 12 }))
        .map(([l, f]) => ({ name: "c.yaml", content: aliasBomb(l, f) as string | Uint8Array })),
      fc
        .integer({ min: 100, max: 100_000 })
        .map((n) => ({ name: "c.json", content: `{"log":${"[".repeat(n)}${"]".repeat(n)}}` })),
      fc
        .integer({ min: 100, max: 100_000 })
        .map((n) => ({ name: "c.json", content: `{"log":{"level":[1,${"[".repeat(n)}${"]".repeat(n)}]}}` })),
      fc
        .integer({ min: 100, max: 100_000 })
        .map((n) => ({ name: "c.json", content: `{"log":{"level":${"[".repeat(n)}` })),
      fc
        .integer({ min: 100, max: 20_000 })
        .map((n) => ({ name: "c.yaml", content: `log: ${"[".repeat(n)}${"]".repeat(n)}` })),
      fc.integer({ min: 100, max: 5_000 }).map((n) => ({
        name: "c.yaml",
        content: `log:\n${Array.from({ length: n }, (_, i) => `${" ".repeat(i + 1)}k${i}:`).join("\n")} 1\n`,
      })),
      fc.uint8Array({ minLength: 1, maxLength: 20 }).map((junk) => ({
        name: "c.yaml",
        content: Buffer.concat([
          Buffer.from("log:\n  level: "),
          Buffer.from([0xff, ...junk]),
          Buffer.from("\n"),
        ]) as Uint8Array,
      })),
    );
    await check(
      fc.property(hostile, ({ name, content }) => {
        load(name, content);
      }),
      30,
    );
  });

  test("regressions: an alias bomb, a document nested past the stack and a non-UTF-8 file are config problems", () => {
    expect(load("c.yaml", aliasBomb(9, 9))?.format()).toContain("resource exhaustion");
    expect(load("c.json", `{"log":${"[".repeat(200_000)}${"]".repeat(200_000)}}`)?.format()).toContain("deeply nested");
    expect(load("c.json", "[".repeat(200_000))?.format()).toContain("nests too deeply");
    expect(load("c.json", `{"log":{"level":[1,${"[".repeat(200_000)}${"]".repeat(200_000)}]}}`)?.format()).toContain(
      "deeply nested list",
    );
    // The parsers quote an offending character raw; the problem line shows it escaped.
    expect(load("c.yml", Uint8Array.of(62, 13))?.format()).toBe(
      "c.yml: bad YAML at line 1, column 2: Not a YAML token: \\r, expected a YAML mapping of config keys",
    );
    expect(load("c.json", Buffer.from('{"log":{"level":"\xff"}}', "latin1"))?.format()).toBe(
      'config file: "c.json" is not UTF-8 text, expected a UTF-8 text file',
    );
    expect(load("c.json", '{"blockchain_enabled":"\u2028"}')?.format()).toBe(
      'blockchain_enabled: "\\u2028" is not a boolean, expected true or false',
    );
    // Huge numbers are named as given, not as null or "not an integer".
    expect(load("c.json", '{"daemon_endpoint": 1e999}')?.format()).toStartWith(
      "daemon_endpoint: Infinity is not host:port",
    );
    expect(load("c.yaml", "block_cache_ms: 123456789012345678901234567890123\n")?.format()).toContain(
      "123456789012345678901234567890123 is out of range",
    );
  });
});

describe("dist/snetd on a hostile config file", () => {
  test("exits 2 with one clear message for an alias bomb, deep nesting and non-UTF-8 bytes", async () => {
    await ensureBinary();
    const dir = mkdtempSync(join(tmpdir(), "snetd-fuzz-config-"));
    try {
      const files: Record<string, string | Buffer> = {
        "bomb.yaml": aliasBomb(9, 9),
        "deep.json": "[".repeat(200_000),
        "latin1.json": Buffer.from('{"log":{"level":"\xe9"}}', "latin1"),
      };
      for (const [name, content] of Object.entries(files)) {
        writeFileSync(join(dir, name), content);
        const r = await runCli(["serve", "-c", join(dir, name)], { binary: true, cwd: dir });
        expect({ name, code: r.code }).toEqual({ name, code: 2 });
        expect(r.stderr).toStartWith("invalid configuration:");
        expect(r.stderr).not.toContain("    at ");
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);
});
