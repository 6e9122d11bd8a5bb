// init-config output, the README reference and the start-up log view, all derived from the key declarations.
import { expect, test } from "bun:test";
import { parse } from "yaml";
import { redactedConfig, renderConfig, renderReference } from "../../src/config/render.ts";
import { defaultConfig, KEY_SPECS } from "../../src/config/schema.ts";
import { load, tempDir, write } from "./kit.ts";

const dir = tempDir();

for (const format of ["yaml", "json"] as const) {
  test(`init-config ${format} loads back to exactly the defaults, without warnings`, () => {
    const file = write(dir, `snetd.${format}`, renderConfig(format));
    const { config, warnings } = load({ cwd: dir, file });
    expect(config).toEqual(defaultConfig());
    expect(warnings).toEqual([]);
  });

  test(`init-config ${format} writes every key`, () => {
    const tree = format === "json" ? JSON.parse(renderConfig(format)) : parse(renderConfig(format));
    for (const { segments, path } of KEY_SPECS) {
      let node: unknown = tree;
      for (const s of segments) {
        expect(node, path).toBeObject();
        expect(Object.keys(node as object), path).toContain(s);
        node = (node as Record<string, unknown>)[s];
      }
    }
  });
}

test("init-config YAML has a one-line comment above every key", () => {
  const lines = renderConfig("yaml").split("\n");
  for (const { segments } of KEY_SPECS) {
    const indent = "  ".repeat(segments.length - 1);
    const name = segments[segments.length - 1];
    const at = lines.findIndex((l, i) => l.startsWith(`${indent}${name}: `) && lines[i - 1]?.startsWith(`${indent}# `));
    expect(at, segments.join(".")).toBeGreaterThan(0);
  }
  expect(renderConfig("yaml")).toContain(
    '# ★ listen address for gRPC, gRPC-Web and HTTP\ndaemon_endpoint: "127.0.0.1:8080"',
  );
  expect(renderConfig("yaml")).toContain(
    "SingularityNET-hosted usage metering (accepted for compatibility; not used by snetd yet)\nmetering_enabled: false",
  );
});

test("an edited init-config file keeps its edits", () => {
  const text = renderConfig("yaml")
    .replace('daemon_endpoint: "127.0.0.1:8080"', 'daemon_endpoint: "0.0.0.0:7000"')
    .replace('  level: "info"', '  level: "debug"');
  const { config } = load({ cwd: dir, file: write(dir, "edited.yaml", text) });
  expect(config.daemon_endpoint).toBe("0.0.0.0:7000");
  expect(config.log.level).toBe("debug");
});

test("the reference table has one row per key with type, default and description", () => {
  const table = renderReference();
  const rows = table.split("\n").filter((l) => l.startsWith("| `"));
  expect(rows).toHaveLength(KEY_SPECS.length);
  expect(table).toContain("| Key | Type | Default | Description |");
  expect(table).toContain(
    '| `daemon_endpoint` | host:port | `"127.0.0.1:8080"` | ★ listen address for gRPC, gRPC-Web and HTTP |',
  );
  expect(table).toContain('| `daemon_type` | grpc \\| http | `"grpc"` |');
  expect(table).toContain("| `private_key` | hex key | unset |");
  for (const row of rows) expect(row.split(/(?<!\\)\|/).length, row).toBe(6); // 4 cells, no stray pipes
});

test("scripts/config-reference.ts prints the reference table", async () => {
  const proc = Bun.spawn([process.execPath, "scripts/config-reference.ts"], { stdout: "pipe", stderr: "pipe" });
  const [out, code] = await Promise.all([new Response(proc.stdout).text(), proc.exited]);
  expect(code).toBe(0);
  expect(out).toBe(renderReference());
});

test("redactedConfig hides every secret and keeps the rest", () => {
  const key = `0x${"1".repeat(63)}2`;
  const { config } = load({
    cwd: dir,
    env: {
      SNET_PRIVATE_KEY: key,
      SNET_PRIVATE_KEY_FOR_FREE_CALLS: key,
      SNET_TOKEN_SECRET_KEY: "s".repeat(40),
      SNET_BLOCKCHAIN_PROVIDER_API_KEY: "provider-secret",
      SNET_ETHEREUM_JSON_RPC_HTTP_ENDPOINT: "https://sepolia.infura.io/v3/infura-project-secret",
      SNET_ETHEREUM_JSON_RPC_WS_ENDPOINT: "wss://node.example",
      SNET_SERVICE_CREDENTIALS: '[{"key": "X-Api-Key", "value": "upstream-secret", "location": "header"}]',
    },
  });
  const view = redactedConfig(config);
  const text = JSON.stringify(view);
  for (const secret of [key.slice(2), "s".repeat(40), "provider-secret", "upstream-secret", "infura-project-secret"]) {
    expect(text).not.toContain(secret);
  }
  expect(view).toMatchObject({
    private_key: "(set)",
    private_key_for_free_calls: "(set)",
    private_key_for_metering: "(unset)",
    token_secret_key: "(set)",
    blockchain_provider_api_key: "(set)",
    service_credentials: "(set)",
    ethereum_json_rpc_http_endpoint: "https://sepolia.infura.io/…",
    ethereum_json_rpc_ws_endpoint: "wss://node.example",
    daemon_endpoint: "127.0.0.1:8080",
    min_balance_for_free_call: "10",
    log: { level: "info", output: { type: ["stdout"] } },
  });
  expect(redactedConfig(defaultConfig())).toMatchObject({
    private_key: "(unset)",
    token_secret_key: "(unset)",
    service_credentials: "(unset)",
  });
});
