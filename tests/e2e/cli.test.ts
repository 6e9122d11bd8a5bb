/**
 * The single binary's command line (issue "The single binary"), always through dist/snetd: version and
 * help, init-config then serve from an empty directory with an empty environment, and every way a bad
 * configuration or an unusable environment ends — one message per problem, a semantic exit code, never
 * a stack trace.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { spawnSync } from "node:child_process";
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import net from "node:net";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import * as grpc from "@grpc/grpc-js";
import { parse as parseYaml } from "yaml";
import { ensureBinary, runCli, SNETD_BINARY } from "../kit/daemon.ts";
import {
  bidi,
  call,
  type EchoService,
  echoClient,
  FAIL_TRAILERS,
  patternBytes,
  serverStream,
  startEchoService,
} from "../kit/echo-service.ts";
import { freePort } from "../kit/ports.ts";

const repoRoot = resolve(import.meta.dir, "../..");
const pkg = JSON.parse(readFileSync(join(repoRoot, "package.json"), "utf8")) as { version: string };
const scratch = mkdtempSync(join(tmpdir(), "snetd-cli-test-"));
const snetd = (args: string[], opts: { cwd?: string; env?: Record<string, string>; timeoutMs?: number } = {}) =>
  runCli(args, { binary: true, ...opts });

/** A stack frame line as Bun and V8 print them. */
const STACK_FRAME = /^\s+at\s/m;

function writeConfig(name: string, text: string): string {
  const file = join(scratch, name);
  writeFileSync(file, text);
  return file;
}

/** stderr lines that start with one of `keys` followed by a colon: the per-problem lines. */
function problemLines(stderr: string, keys: string[]): string[] {
  return stderr.split("\n").filter((line) => keys.some((k) => line.startsWith(`${k}:`)));
}

beforeAll(() => ensureBinary(), 120_000);
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

describe("snetd version and help", () => {
  test("version prints the package version, git sha, build date and runtime", async () => {
    const r = await snetd(["version"]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`snetd ${pkg.version}\n`);
    expect(r.stdout).toMatch(/git sha: +\S+/);
    expect(r.stdout).toMatch(/runtime: +bun \d/);
    expect((await snetd(["--version"])).stdout).toBe(r.stdout);
  });

  test("version --json is one JSON object for scripts", async () => {
    const r = await snetd(["version", "--json"]);
    expect(r.code).toBe(0);
    const info = JSON.parse(r.stdout) as Record<string, string>;
    expect(info.version).toBe(pkg.version);
    expect(info.git_sha).toBeTypeOf("string");
    expect(Number.isNaN(Date.parse(info.build_date ?? ""))).toBe(false);
    expect(info.runtime).toMatch(/^bun /);
    expect(info.platform).toBe(`${process.platform}-${process.arch}`);
  });

  test("the binary checks signatures with the embedded libsecp256k1 (10x faster than the pure-JS fallback)", async () => {
    if (process.platform !== "linux" || process.arch !== "x64") {
      console.log(
        `skipped: the native addon is embedded for linux-x64 only, this is ${process.platform}-${process.arch}`,
      );
      return;
    }
    const info = JSON.parse((await snetd(["version", "--json"])).stdout) as Record<string, string>;
    expect(info.signer_recovery).toBe("libsecp256k1");
  });

  test("help lists the commands; every command answers --help and -h with its usage", async () => {
    const help = await snetd(["help"]);
    expect(help.code).toBe(0);
    expect((await snetd(["--help"])).stdout).toBe(help.stdout);
    const listed = [...help.stdout.matchAll(/^ {2}([a-z][a-z-]*) {2,}\S/gm)].map((m) => m[1]!);
    for (const name of ["serve", "init-config", "version", "help"]) expect(listed).toContain(name);
    for (const name of listed) {
      const usage = await snetd([name, "--help"]);
      expect(usage.code).toBe(0);
      expect(usage.stdout).toStartWith(`Usage: snetd ${name}`);
      expect(usage.stderr).toBe("");
      for (const args of [
        [name, "-h"],
        ["help", name],
      ]) {
        const r = await snetd(args);
        expect(r.code).toBe(0);
        expect(r.stdout).toBe(usage.stdout);
      }
    }
  }, 60_000);

  test("an unknown command or option exits 2 with a pointer to help", async () => {
    const r = await snetd(["frobnicate"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('"frobnicate"');
    expect(r.stderr).toContain("snetd help");
    const option = await snetd(["serve", "--frobnicate"]);
    expect(option.code).toBe(2);
    expect(option.stderr).toContain("--frobnicate");
    expect(option.stderr).toContain("snetd serve --help");
    for (const out of [r, option]) expect(out.stderr).not.toMatch(STACK_FRAME);
  });
});

describe("snetd init-config", () => {
  test("writes YAML with every key, refuses to overwrite without --force, and writes JSON", async () => {
    const dir = join(scratch, "init");
    mkdirSync(dir);
    const r = await snetd(["init-config", "-o", "x.yaml"], { cwd: dir });
    expect(r.code).toBe(0);
    const config = parseYaml(readFileSync(join(dir, "x.yaml"), "utf8")) as Record<string, unknown>;
    for (const key of [
      "blockchain_enabled",
      "daemon_endpoint",
      "service_endpoint",
      "max_message_size_in_mb",
      "ssl_cert",
      "drain_timeout",
    ]) {
      expect(config).toHaveProperty(key);
    }

    const again = await snetd(["init-config", "-o", "x.yaml"], { cwd: dir });
    expect(again.code).toBe(2);
    expect(again.stderr).toContain("--force");
    expect((await snetd(["init-config", "-o", "x.yaml", "--force"], { cwd: dir })).code).toBe(0);

    const json = await snetd(["init-config", "--format", "json"]);
    expect(json.code).toBe(0);
    expect(JSON.parse(json.stdout)).toHaveProperty("daemon_endpoint");
  });
});

describe("snetd serve from an empty directory with an empty environment", () => {
  let service: EchoService;
  beforeAll(async () => {
    service = await startEchoService();
  });
  afterAll(async () => {
    await service?.stop();
  });

  test("init-config, then serve -c x.yaml with SNET_* overrides, proxies every call kind", async () => {
    // The binary alone, away from the repository: no node_modules, no .proto files anywhere above it.
    const binDir = join(scratch, "bin");
    const workDir = join(scratch, "work");
    mkdirSync(binDir);
    mkdirSync(workDir);
    const binary = join(binDir, "snetd");
    copyFileSync(SNETD_BINARY, binary);
    spawnSync("chmod", ["+x", binary]);

    const init = spawnSync(binary, ["init-config", "-o", "x.yaml"], { cwd: workDir, env: {}, encoding: "utf8" });
    expect(init.status).toBe(0);
    expect(existsSync(join(workDir, "x.yaml"))).toBe(true);

    const port = await freePort();
    const env = {
      SNET_BLOCKCHAIN_ENABLED: "false",
      SNET_SERVICE_ENDPOINT: `http://${service.address}`,
      SNET_DAEMON_ENDPOINT: `127.0.0.1:${port}`,
    };
    const proc = Bun.spawn({
      cmd: [binary, "serve", "-c", "x.yaml"],
      cwd: workDir,
      env,
      stdin: "ignore",
      stdout: "pipe",
      stderr: "pipe",
    });
    const output = Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text()]);
    let client: grpc.Client | undefined;
    try {
      const deadline = Date.now() + 20_000;
      for (;;) {
        const ok = await fetch(`http://127.0.0.1:${port}/heartbeat`).then(
          (res) => res.ok,
          () => false,
        );
        if (ok) break;
        if (proc.exitCode !== null || Date.now() > deadline) {
          proc.kill("SIGKILL");
          const [stdout, stderr] = await output;
          throw new Error(`snetd did not come up (exit ${proc.exitCode}):\n${stdout}\n${stderr}`);
        }
        await Bun.sleep(100);
      }

      client = echoClient(`127.0.0.1:${port}`);
      const payload = patternBytes(1024 * 1024 + 3);
      const unary = await call(
        client,
        "Echo",
        { text: "bin", payload },
        { "x-from": "cli", "x-bytes-bin": Uint8Array.of(1, 0, 255) },
      );
      expect(unary.status.code).toBe(grpc.status.OK);
      expect(unary.response?.payload.equals(payload)).toBe(true);
      expect(unary.response?.metadata["x-from"]).toBe("cli");
      expect(unary.response?.metadata["x-bytes-bin"]).toBe(Buffer.of(1, 0, 255).toString("base64"));
      expect(unary.headers["x-service-header"]).toBe("yes");
      expect(unary.trailers["x-service-trailer"]).toBe("done");

      const stream = await serverStream(client, { count: 3, payload: patternBytes(5) });
      expect(stream.responses.map((m) => m.count)).toEqual([0, 1, 2]);
      expect(stream.trailers["x-service-trailer"]).toBe("done");
      const both = await bidi(client, [{ text: "p" }, { text: "q" }]);
      expect(both.responses.map((m) => m.text)).toEqual(["p", "q"]);

      const failed = await call(client, "Fail", {
        code: grpc.status.UNAUTHENTICATED,
        message: "who are you",
        send_headers: true,
      });
      expect(failed.status).toEqual({ code: grpc.status.UNAUTHENTICATED, details: "who are you" });
      expect((failed.trailers["x-error-detail-bin"] as Buffer).equals(FAIL_TRAILERS["x-error-detail-bin"])).toBe(true);

      proc.kill("SIGTERM");
      expect(await proc.exited).toBe(0);
      const [stdout, stderr] = await output;
      expect(`${stdout}${stderr}`).not.toMatch(STACK_FRAME);
    } finally {
      client?.close();
      if (proc.exitCode === null) proc.kill("SIGKILL");
    }
  }, 60_000);
});

describe("snetd serve refuses bad configuration with exit 2, one line per problem, no stack trace", () => {
  /** Exit 2, no stack trace, and exactly `problems` lines under the "invalid configuration:" header. */
  const expectUsageError = (r: { code: number; stdout: string; stderr: string }, problems = 1) => {
    expect(r.code).toBe(2);
    expect(r.stderr).not.toMatch(STACK_FRAME);
    expect(r.stdout).not.toMatch(STACK_FRAME);
    expect(
      r.stderr
        .trim()
        .split("\n")
        .filter((line) => line !== "invalid configuration:"),
    ).toHaveLength(problems);
  };

  test("a config file that does not exist", async () => {
    const missing = join(scratch, "no-such-config.yaml");
    const r = await snetd(["serve", "-c", missing]);
    expectUsageError(r);
    expect(r.stderr).toContain("no-such-config.yaml");
    expect(r.stderr).toContain("does not exist");
  });

  test("a file that is not YAML", async () => {
    const file = writeConfig(
      "broken.yaml",
      "blockchain_enabled: false\nservice_endpoint: [unclosed\n  daemon_endpoint: }\n",
    );
    const r = await snetd(["serve", "-c", file]);
    expectUsageError(r);
    expect(r.stderr).toContain("broken.yaml");
    expect(r.stderr).toMatch(/line \d+/);
  });

  test("a file that is not JSON", async () => {
    const file = writeConfig("broken.json", '{"blockchain_enabled": false,');
    const r = await snetd(["serve", "-c", file]);
    expectUsageError(r);
    expect(r.stderr).toContain("broken.json");
  });

  test("values of the wrong type: every problem reported, each on its own line", async () => {
    const file = writeConfig(
      "types.yaml",
      [
        'blockchain_enabled: "maybe"',
        'max_message_size_in_mb: "lots"',
        "service_timeout: 7",
        "daemon_endpoint: 12",
        "",
      ].join("\n"),
    );
    const r = await snetd(["serve", "-c", file]);
    const keys = ["blockchain_enabled", "max_message_size_in_mb", "service_timeout", "daemon_endpoint"];
    expectUsageError(r, keys.length);
    const lines = problemLines(r.stderr, keys);
    expect(lines).toHaveLength(keys.length);
    for (const key of keys) expect(lines.filter((line) => line.startsWith(`${key}:`))).toHaveLength(1);
    expect(lines.find((l) => l.startsWith("blockchain_enabled:"))).toContain('"maybe"');
  });

  test("daemon_endpoint and service_endpoint on the same host:port", async () => {
    const port = await freePort();
    const file = writeConfig(
      "same.yaml",
      [
        "blockchain_enabled: false",
        `daemon_endpoint: 127.0.0.1:${port}`,
        `service_endpoint: http://127.0.0.1:${port}`,
        "",
      ].join("\n"),
    );
    const r = await snetd(["serve", "-c", file]);
    expectUsageError(r);
    const lines = problemLines(r.stderr, ["service_endpoint", "daemon_endpoint"]);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain(`127.0.0.1:${port}`);
    expect(lines[0]).toContain("daemon_endpoint");
  });

  test("a daemon_endpoint port already in use", async () => {
    const blocker = net.createServer();
    const port = await freePort();
    await new Promise<void>((ok) => blocker.listen(port, "127.0.0.1", ok));
    try {
      const file = writeConfig(
        "busy.yaml",
        [
          "blockchain_enabled: false",
          `daemon_endpoint: 127.0.0.1:${port}`,
          `service_endpoint: http://127.0.0.1:${await freePort()}`,
          "",
        ].join("\n"),
      );
      const r = await snetd(["serve", "-c", file]);
      expectUsageError(r);
      expect(r.stderr).toContain("daemon_endpoint");
      expect(r.stderr).toContain(`127.0.0.1:${port}`);
    } finally {
      await new Promise<void>((ok) => blocker.close(() => ok()));
    }
  });
});

describe("snetd serve with an unreachable dependency", () => {
  test("blockchain enabled with a JSON-RPC endpoint nobody answers: exit 3 naming the endpoint", async () => {
    const rpc = `http://127.0.0.1:${await freePort()}`;
    const file = writeConfig(
      "chain.yaml",
      [
        "blockchain_enabled: true",
        `ethereum_json_rpc_http_endpoint: ${rpc}`,
        `daemon_endpoint: 127.0.0.1:${await freePort()}`,
        `service_endpoint: http://127.0.0.1:${await freePort()}`,
        `data_dir: ${join(scratch, "chain-data")}`,
        "",
      ].join("\n"),
    );
    const r = await snetd(["serve", "-c", file], { timeoutMs: 60_000 });
    expect(r.code).toBe(3);
    expect(r.stderr).toContain(rpc);
    expect(r.stderr).not.toMatch(STACK_FRAME);
  }, 70_000);
});
