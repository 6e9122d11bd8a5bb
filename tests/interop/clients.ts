/**
 * Which real client runs where, and whether a suite runs at all. Every client the interop suites drive is
 * named here with its version (the suites put it in their test names), the folder tests/interop/setup.sh
 * installs it into, and its tier: "fast" suites run in `npm test`, "full" ones only in
 * `npm run test:interop` (SNETD_INTEROP=all), "legacy" ones there too once `setup.sh --legacy` built them.
 *
 * @example
 * const gate = clientGate("snet-cli 3.1.1");
 * describe.skipIf(!gate.run)(`${gate.client} against snetd`, () => { … });
 */
import { existsSync } from "node:fs";
import { join, resolve } from "node:path";

export type ClientName =
  | "snet-cli 3.1.1"
  | "snet-sdk-python 6.0.0"
  | "snet-cli 3.0.0"
  | "snet-sdk-python 5.0.0"
  | "snet-sdk 2.0.0"
  | "snet-sdk-web 4.2.2";

export type Tier = "fast" | "full" | "legacy";

interface ClientSpec {
  /** The venv (Python) or package folder (npm) under the cache or tests/interop/js. */
  home: () => string;
  /** A file that exists once the client is installed, relative to `home`. */
  marker: string;
  /** An environment variable that points at another installation. */
  variable: string;
  setup: string;
}

const repoRoot = resolve(import.meta.dir, "../..");
/** Where tests/interop/setup.sh puts the venvs (same default as the script). */
export const INTEROP_CACHE = process.env.SNETD_INTEROP_CACHE ?? join(repoRoot, ".cache/interop");
/** The npm package with the JavaScript clients (own package.json and lock). */
export const JS_DIR = join(repoRoot, "tests/interop/js");
/** Debian's chromium; snet-sdk-web runs in it through playwright-core. */
export const CHROMIUM = process.env.SNETD_CHROMIUM ?? "/usr/bin/chromium";

const NEWEST_VENV = "snet-cli-3.1.1-sdk-6.0.0";
const SETUP = "bash tests/interop/setup.sh";
const venv = (name: string) => () => join(INTEROP_CACHE, name);

const CLIENTS: Record<ClientName, ClientSpec> = {
  "snet-cli 3.1.1": { home: venv(NEWEST_VENV), marker: "bin/snet", variable: "SNETD_SNET_VENV", setup: SETUP },
  "snet-sdk-python 6.0.0": {
    home: venv(NEWEST_VENV),
    marker: "bin/python",
    variable: "SNETD_SNET_SDK_VENV",
    setup: SETUP,
  },
  "snet-cli 3.0.0": {
    home: venv("snet-cli-3.0.0"),
    marker: "bin/snet",
    variable: "SNETD_SNET_LEGACY_VENV",
    setup: `${SETUP} --legacy`,
  },
  "snet-sdk-python 5.0.0": {
    home: venv("snet-sdk-5.0.0"),
    marker: "bin/python",
    variable: "SNETD_SNET_SDK_LEGACY_VENV",
    setup: `${SETUP} --legacy`,
  },
  "snet-sdk 2.0.0": {
    home: () => JS_DIR,
    marker: "node_modules/snet-sdk/package.json",
    variable: "SNETD_INTEROP_JS",
    setup: SETUP,
  },
  "snet-sdk-web 4.2.2": {
    home: () => JS_DIR,
    marker: "node_modules/snet-sdk-web/package.json",
    variable: "SNETD_INTEROP_JS",
    setup: SETUP,
  },
};

export interface ClientGate {
  client: ClientName;
  run: boolean;
  /** Why it is skipped; empty when it runs. */
  reason: string;
  /** The venv root (Python) or the npm package folder (JavaScript). */
  home: string;
}

/** SNETD_INTEROP: unset = the fast subset (npm test), "all" = every tier (npm run test:interop), "0" = none. */
export function interopLevel(): "fast" | "all" | "off" {
  const value = process.env.SNETD_INTEROP ?? "";
  if (value === "0") return "off";
  return value === "all" ? "all" : "fast";
}

/** True when a tier's tests run in this invocation. */
export function tierRuns(tier: Tier): boolean {
  const level = interopLevel();
  return level === "all" || (level === "fast" && tier === "fast");
}

/** Decides whether a suite of `tier` for `client` runs, and prints why when it does not. */
export function clientGate(client: ClientName, tier: Tier): ClientGate {
  const gate = decide(client, tier);
  if (!gate.run) console.log(`tests/interop: skipping the ${client} suite: ${gate.reason}`);
  return gate;
}

function decide(client: ClientName, tier: Tier): ClientGate {
  const spec = CLIENTS[client];
  const home = process.env[spec.variable] ?? spec.home();
  const skip = (reason: string): ClientGate => ({ client, run: false, reason, home });
  const level = interopLevel();
  if (level === "off") return skip("SNETD_INTEROP=0");
  if (!tierRuns(tier)) return skip(`it runs in 'npm run test:interop' (SNETD_INTEROP=all), not in 'npm test'`);
  const installed = existsSync(join(home, spec.marker));
  // CI ran the setup: a missing client there is a broken install, which the suite's preflight reports.
  if (!installed && tier === "legacy")
    return skip(`'${join(home, spec.marker)}' not found; run '${spec.setup}' to install it`);
  if (!installed && process.env.CI !== "true")
    return skip(`'${join(home, spec.marker)}' not found; run '${spec.setup}' first`);
  return { client, run: true, reason: "", home };
}

/** Throws a pointer to the setup script when the client the gate found is not installed. */
export function requireInstalled(gate: ClientGate): void {
  const spec = CLIENTS[gate.client];
  if (!existsSync(join(gate.home, spec.marker))) {
    throw new Error(
      `${gate.client} is not installed: '${join(gate.home, spec.marker)}' not found; run '${spec.setup}' (or set ${spec.variable}; see tests/interop/README.md)`,
    );
  }
}
