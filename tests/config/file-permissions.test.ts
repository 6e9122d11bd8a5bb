// A config file holding secrets that other users can read is warned about, once, naming the file, the
// secret keys it holds and the `chmod 600` that fixes it (issue 16); private files and files without
// secrets load silently.
import { describe, expect, test } from "bun:test";
import { chmodSync } from "node:fs";
import { join } from "node:path";
import { load, tempDir, write } from "./kit.ts";

const dir = tempDir();
const KEY = "0x4f3edf983ac636a65a842ce7c78d9aa706d3b113bce9c46f30d7d21715b23b1d";

const permissionWarnings = (name: string) => load({ file: name, cwd: dir }).warnings.filter((w) => w.includes("chmod"));

describe("config files holding secrets", () => {
  test("group- or world-readable: one warning naming the file, the keys and chmod 600", () => {
    for (const mode of [0o644, 0o640, 0o604]) {
      const name = write(
        dir,
        `loose-${mode.toString(8)}.json`,
        JSON.stringify({ private_key: KEY, token_secret_key: "s".repeat(40), log: { level: "info" } }),
      );
      chmodSync(join(dir, name), mode);
      const path = join(dir, name);
      expect(permissionWarnings(name)).toEqual([
        `config file "${path}" holds "private_key", "token_secret_key" but other users can read it (mode 0${mode.toString(8)}); run: chmod 600 "${path}"`,
      ]);
    }
  });

  test("the warning never shows a secret's value", () => {
    const name = write(
      dir,
      "shown.yaml",
      `private_key_for_free_calls: "${KEY}"\nalerts_smtp:\n  password: hunter2-hunter2\n`,
    );
    chmodSync(join(dir, name), 0o644);
    const [line] = permissionWarnings(name);
    expect(line).toContain('"private_key_for_free_calls", "alerts_smtp.password"');
    expect(line).not.toContain(KEY.slice(2));
    expect(line).not.toContain("hunter2");
  });

  test("no warning for a 0600 file, nor for a readable file without secrets", () => {
    const secret = write(dir, "private.json", JSON.stringify({ private_key: KEY }));
    chmodSync(join(dir, secret), 0o600);
    expect(permissionWarnings(secret)).toEqual([]);
    const plain = write(dir, "plain.json", JSON.stringify({ log: { level: "debug" }, token_secret_key: "" }));
    chmodSync(join(dir, plain), 0o644);
    expect(permissionWarnings(plain)).toEqual([]);
  });
});
