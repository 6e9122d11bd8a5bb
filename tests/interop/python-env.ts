/**
 * The Python clients' preflight and process runner (snet-cli, snet-sdk-python; gates in clients.ts).
 *
 * @example
 * const gate = clientGate("snet-cli 3.1.1", "fast");
 * beforeAll(() => preflight(gate));
 * const r = await runPython(gate, "snet", ["version"], home);
 */
import { join } from "node:path";
import { runCli } from "../kit/daemon.ts";
import { type ClientGate, requireInstalled } from "./clients.ts";

// Checks the venv holds the version the suite names. The 3.0.0/5.0.0 venvs also need two fixes
// (README.md): pymultihash's `multihash` module overwritten by py-multihash 3 (multiaddr pin), and
// snet-cli 3.0.0's check_training_in_proto calling str.joinpath. The newest clients need neither.
const PREFLIGHT = `
import importlib.metadata as m, inspect, sys
distribution, version = sys.argv[1], sys.argv[2]
problems = []
found = m.version(distribution)
if found != version:
    problems.append(f"{distribution} {found} is installed, expected {version}")
if (distribution, version) in (("snet-cli", "3.0.0"), ("snet-sdk", "5.0.0")):
    import multihash
    try:
        multihash.decode(b"QmT78zSuBmuS4z925WZfrqQ1qHaJ56DQaTfyMUF7F8ff5o", "base58")
    except TypeError:
        problems.append("module 'multihash' comes from py-multihash, not pymultihash 0.8.2: install 'multiaddr==0.0.9' in the same pip command")
if (distribution, version) == ("snet-cli", "3.0.0"):
    from snet.cli.utils import utils
    if "protodir.joinpath(file)" in inspect.getsource(utils.check_training_in_proto):
        problems.append("snet-cli 3.0.0 check_training_in_proto calls str.joinpath: apply the one-line patch from tests/interop/setup.sh")
print("\\n".join(problems))
`;

/** Throws listing what is wrong with the client's venv (tests/interop/setup.sh builds it). */
export async function preflight(gate: ClientGate): Promise<void> {
  requireInstalled(gate);
  const [name, version] = gate.client.split(" ") as [string, string];
  const distribution = name === "snet-sdk-python" ? "snet-sdk" : name;
  const r = await runCli(["-c", PREFLIGHT, distribution, version], {
    command: [join(gate.home, "bin/python")],
    timeoutMs: 60_000,
  });
  const problems = r.stdout.trim();
  if (r.code !== 0 || problems !== "") {
    throw new Error(
      `The venv '${gate.home}' is not usable for ${gate.client}:\n${problems}${r.stderr}\nSee tests/interop/README.md`,
    );
  }
}

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs a venv program with HOME set to the suite's throwaway home (clients keep state in ~/.snet). */
export async function runPython(
  gate: ClientGate,
  program: string,
  args: string[],
  home: string,
  timeoutMs = 180_000,
): Promise<RunResult> {
  return runCli(args, {
    command: [join(gate.home, "bin", program)],
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
