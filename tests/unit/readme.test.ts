// The README is the user's manual: its generated parts and its commands must stay true.
import { describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { withReference } from "../../scripts/readme-sync.ts";

const root = new URL("../../", import.meta.url);
const readme = readFileSync(new URL("README.md", root), "utf8");

describe("README", () => {
  test("the configuration reference matches the schema (run: bun scripts/readme-sync.ts)", () => {
    expect(readme).toBe(withReference(readme));
  });
  test("the two quick-start commands exist, and CI runs exactly the test command", () => {
    const pkg = JSON.parse(readFileSync(new URL("package.json", root), "utf8")) as { scripts: Record<string, string> };
    expect(readme).toContain("npm ci && npm run demo");
    expect(readme).toContain("npm ci && npm test");
    expect(pkg.scripts.demo).toBeDefined();
    expect(pkg.scripts.test).toBeDefined();
    const ci = readFileSync(new URL(".ci/run", root), "utf8");
    expect(ci).toMatch(/^npm ci && npm test$/m);
  });
  test("every subcommand the README documents is one snetd knows", async () => {
    const { commands } = await import("../../src/cli/commands.ts");
    const known = new Set((await commands()).map((c) => c.name).concat(["version", "help"]));
    // Command lines only: inside fenced blocks.
    const blocks = [...readme.matchAll(/```[a-z]*\n([\s\S]*?)```/g)].map((m) => m[1] as string).join("\n");
    const documented = [...blocks.matchAll(/^snetd ([a-z-]+)/gm)].map((m) => m[1] as string);
    expect(documented.length).toBeGreaterThan(5);
    for (const name of documented) expect(known.has(name)).toBe(true);
  });
});
