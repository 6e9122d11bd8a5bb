/**
 * The opt-in gate and the process runner for the real Python clients. The suites run only with
 * `SNETD_INTEROP=1` and a venv path (README.md in this folder); otherwise they print why and skip.
 *
 * @example
 * const gate = interopGate("snet-cli");
 * describe.skipIf(!gate.run)("snet-cli", () => { … });
 */
import { existsSync } from "node:fs";
import { join } from "node:path";
import { runCli } from "../kit/daemon.ts";

export type PythonClient = "snet-cli" | "snet-sdk-python";

export interface InteropGate {
  run: boolean;
  /** Why the suite is skipped; empty when it runs. */
  reason: string;
  /** The venv's root directory. */
  venv: string;
}

// snet-sdk 5.0.0 needs web3 7, snet-cli 3.0.0 web3 6: they cannot share a venv.
const VENV_VARIABLE: Record<PythonClient, string> = {
  "snet-cli": "SNETD_SNET_VENV",
  "snet-sdk-python": "SNETD_SNET_SDK_VENV",
};

/** Decides whether a suite runs, and prints the reason when it does not. */
export function interopGate(client: PythonClient): InteropGate {
  const gate = decide(client);
  if (!gate.run) console.log(`tests/interop: skipping ${client} suite: ${gate.reason}`);
  return gate;
}

function decide(client: PythonClient): InteropGate {
  const name = VENV_VARIABLE[client];
  if (process.env.SNETD_INTEROP !== "1") return { run: false, reason: `set SNETD_INTEROP=1 and ${name} to run it (see tests/interop/README.md)`, venv: "" };
  const venv = process.env[name] ?? "";
  if (venv === "") return { run: false, reason: `${name} is not set; expected the path of a venv with ${client}`, venv };
  // A set but wrong path is a broken setup, not an opt-out: preflight() fails on it.
  return { run: true, reason: "", venv };
}

// Both clients pin pymultihash 0.8.2, whose module name `multihash` a later multiaddr (via py-cid)
// overwrites with py-multihash 3, breaking every metadata fetch; snet-cli 3.0.0 also crashes in
// check_training_in_proto (fixed in 3.1.1). Catch both before the first client command.
const PREFLIGHT = `
import inspect, sys
problems = []
import multihash
try:
    multihash.decode(b"QmT78zSuBmuS4z925WZfrqQ1qHaJ56DQaTfyMUF7F8ff5o", "base58")
except TypeError:
    problems.append("module 'multihash' comes from py-multihash, not pymultihash 0.8.2: install 'multiaddr==0.0.9' in the same pip command")
if sys.argv[1] == "snet-cli":
    from snet.cli.utils import utils
    if "protodir.joinpath(file)" in inspect.getsource(utils.check_training_in_proto):
        problems.append("snet-cli 3.0.0 check_training_in_proto calls str.joinpath: apply the one-line patch from the README")
else:
    import snet.sdk
print("\\n".join(problems))
`;

/** Throws listing what is wrong with the venv (tests/interop/README.md says how to build it). */
export async function preflight(gate: InteropGate, client: PythonClient): Promise<void> {
  const needed = client === "snet-cli" ? "bin/snet" : "bin/python";
  if (!existsSync(join(gate.venv, needed))) {
    throw new Error(`${VENV_VARIABLE[client]}="${gate.venv}" has no '${needed}'; expected a venv with ${client} (see tests/interop/README.md)`);
  }
  const r = await runCli(["-c", PREFLIGHT, client], { command: [join(gate.venv, "bin/python")], timeoutMs: 60_000 });
  const problems = r.stdout.trim();
  if (r.code !== 0 || problems !== "") {
    throw new Error(`The venv '${gate.venv}' is not usable for ${client}:\n${problems}${r.stderr}\nSee tests/interop/README.md`);
  }
}

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs a venv program with HOME set to the suite's throwaway home (clients keep state in ~/.snet). */
export async function runPython(gate: InteropGate, program: string, args: string[], home: string, timeoutMs = 180_000): Promise<RunResult> {
  return runCli(args, {
    command: [join(gate.venv, "bin", program)],
    cwd: home,
    env: { HOME: home, PYTHONWARNINGS: "ignore", PYTHONUNBUFFERED: "1" },
    timeoutMs,
  });
}

/** Cogs as the decimal ASI(FET) text snet-cli takes and prints (18 decimals, whatever the token has). */
export function fet(cogs: bigint): string {
  const digits = cogs.toString().padStart(19, "0");
  const fraction = digits.slice(-18).replace(/0+$/, "");
  return fraction === "" ? digits.slice(0, -18) : `${digits.slice(0, -18)}.${fraction}`;
}
