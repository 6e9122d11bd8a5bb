/** Config test kit: a temp dir per test file, config files written into it, loadConfig run against it. */
import { afterAll, expect } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ConfigError, type LoadConfigOptions, type LoadedConfig, loadConfig } from "../../src/config/load.ts";

export function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), "snetd-config-"));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

export function write(dir: string, name: string, text: string): string {
  // 0600 as an operator keeps a file with keys in it; tests of the permission warning chmod on their own.
  writeFileSync(join(dir, name), text, { mode: 0o600 });
  return name;
}

type Opts = Partial<LoadConfigOptions> & { cwd: string };

export function load(opts: Opts): LoadedConfig {
  return loadConfig({ env: {}, ...opts });
}

/** Loads, expects a ConfigError, and returns it. */
export function problemsOf(opts: Opts): ConfigError {
  let caught: unknown;
  try {
    load(opts);
  } catch (err) {
    caught = err;
  }
  expect(caught).toBeInstanceOf(ConfigError);
  return caught as ConfigError;
}
