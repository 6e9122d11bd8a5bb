import { BUILD_DATE, GIT_SHA, runtimeName, VERSION } from "../core/version.ts";
import { defaultRecovery } from "../crypto/native-recovery.ts";
import type { Command } from "./command.ts";

/** How `snetd version` and the release manifest (scripts/release.ts) name a signer recovery. */
export function recoveryLabel(name: string): string {
  return name === "libsecp256k1" ? "native libsecp256k1" : "pure-JS (@noble)";
}

export const versionCommand: Command = {
  name: "version",
  summary: "print version, git sha, build date and runtime",
  help: "Usage: snetd version [--json]\n\n  --json   machine-readable output",
  options: { json: { type: "boolean" } },
  async run(values) {
    const info = {
      version: VERSION,
      git_sha: GIT_SHA,
      build_date: BUILD_DATE,
      runtime: runtimeName(),
      platform: `${process.platform}-${process.arch}`,
      signer_recovery: defaultRecovery().name,
    };
    if (values.json) console.log(JSON.stringify(info));
    else
      console.log(
        `snetd ${info.version}\ngit sha:    ${info.git_sha}\nbuild date: ${info.build_date}\nruntime:    ${info.runtime} (${info.platform})\nsignatures: ${recoveryLabel(info.signer_recovery)}`,
      );
    return 0;
  },
};
