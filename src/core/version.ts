/** Build identity; build.ts replaces these through `--define`, running from source shows "dev". */
declare const SNETD_VERSION: string | undefined;
declare const SNETD_GIT_SHA: string | undefined;
declare const SNETD_BUILD_DATE: string | undefined;

export const VERSION = typeof SNETD_VERSION === "string" ? SNETD_VERSION : "0.1.0-dev";
export const GIT_SHA = typeof SNETD_GIT_SHA === "string" ? SNETD_GIT_SHA : "unknown";
export const BUILD_DATE = typeof SNETD_BUILD_DATE === "string" ? SNETD_BUILD_DATE : "unbuilt";

/** The runtime the daemon runs on, for `snetd version` and the start-up log. */
export function runtimeName(): string {
  const v = process.versions as Record<string, string | undefined>;
  if (v.bun) return `bun ${v.bun}`;
  if (v.deno) return `deno ${v.deno}`;
  return `node ${process.versions.node}`;
}
