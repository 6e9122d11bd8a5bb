/**
 * The GitHub Actions workflows (issue 14) cannot run here; this checks what would break them unseen:
 * valid YAML, the triggers, and steps that are the npm scripts used here (and that those scripts exist).
 */
import { describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { parse } from "yaml";

const repoRoot = resolve(import.meta.dir, "../..");
const scripts = (
  JSON.parse(readFileSync(join(repoRoot, "package.json"), "utf8")) as { scripts: Record<string, string> }
).scripts;

interface Step {
  name?: string;
  uses?: string;
  run?: string;
  with?: Record<string, unknown>;
}
interface Job {
  "runs-on"?: string;
  needs?: string | string[];
  uses?: string;
  permissions?: Record<string, string>;
  steps?: Step[];
}
interface Workflow {
  on: Record<string, unknown>;
  jobs: Record<string, Job>;
}

function workflow(name: string): Workflow {
  return parse(readFileSync(join(repoRoot, ".github/workflows", name), "utf8")) as Workflow;
}

const runs = (job: Job | undefined) => (job?.steps ?? []).flatMap((s) => (s.run ? [s.run] : []));

describe(".github/workflows", () => {
  test("ci.yml runs npm ci then npm test on Ubuntu with Node 20, on pushes, pull requests and when called", () => {
    const ci = workflow("ci.yml");
    expect(Object.keys(ci.on).sort()).toEqual(["pull_request", "push", "workflow_call"]);
    const job = ci.jobs.test;
    expect(job?.["runs-on"]).toBe("ubuntu-latest");
    expect(job?.steps?.find((s) => s.uses?.startsWith("actions/setup-node@"))?.with?.["node-version"]).toBe(20);
    const commands = runs(job);
    expect(commands.indexOf("npm ci")).toBeGreaterThanOrEqual(0);
    expect(commands.indexOf("npm test")).toBeGreaterThan(commands.indexOf("npm ci"));
    expect(commands).toContain("sudo bash tests/kit/setup.sh");
  });

  test("release.yml, on a v* tag, runs the tests, then npm run release, and uploads dist/release/*", () => {
    const release = workflow("release.yml");
    expect(release.on).toEqual({ push: { tags: ["v*"] } });
    expect(release.jobs.test?.uses).toBe("./.github/workflows/ci.yml");
    const job = release.jobs.release;
    expect(job?.needs).toBe("test");
    expect(job?.permissions).toEqual({ contents: "write" });
    const commands = runs(job);
    expect(commands.indexOf("npm run release")).toBeGreaterThan(commands.indexOf("npm ci"));
    expect(commands).toContain("sha256sum -c SHA256SUMS");
    const upload = job?.steps?.find((s) => s.uses?.startsWith("softprops/action-gh-release@"));
    expect(upload?.with?.files).toBe("dist/release/*");
  });

  test("every npm script a workflow step runs exists in package.json", () => {
    const named = ["ci.yml", "release.yml"].flatMap((file) =>
      Object.values(workflow(file).jobs).flatMap((job) => runs(job)),
    );
    const npmScripts = named.flatMap((run) =>
      [...run.matchAll(/\bnpm (?:run (\S+)|(test))\b/g)].map((m) => m[1] ?? m[2] ?? ""),
    );
    expect(npmScripts.sort()).toEqual(["release", "test"]);
    for (const script of npmScripts) expect(scripts[script]).toBeString();
  });
});
