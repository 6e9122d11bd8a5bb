// Where values come from: file (JSON or YAML), SNET_ environment variables, flags; flag > env > file > default.
import { describe, expect, test } from "bun:test";
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { defaultConfig } from "../../src/config/schema.ts";
import { load, problemsOf, tempDir, write } from "./kit.ts";

const dir = tempDir();

test("no file and no env: the defaults", () => {
  const empty = join(dir, "empty");
  mkdirSync(empty);
  const { config, warnings, source } = load({ cwd: empty });
  expect(config).toEqual(defaultConfig());
  expect(warnings).toEqual([]);
  expect(source).toEqual({});
  expect(config.payment_channel_storage_type).toBe("sqlite");
  expect(config.log.output.type).toEqual(["stdout"]);
  expect(config.service_timeout).toBe(100_000);
  expect(config.token_secret_key).toBeUndefined();
});

test("snetd.config.json in the working directory is read when no file is given", () => {
  const cwd = join(dir, "with-default");
  mkdirSync(cwd);
  write(cwd, "snetd.config.json", '{"service_id": "from-default-file"}');
  const { config, source } = load({ cwd });
  expect(config.service_id).toBe("from-default-file");
  expect(source.file).toBe(join(cwd, "snetd.config.json"));
});

test("YAML and JSON files give the same configuration", () => {
  const yaml = write(
    dir,
    "same.yaml",
    [
      "daemon_endpoint: 0.0.0.0:7000",
      "service_endpoint: http://localhost:7003",
      "registry_address_key: 0x4E74FEFA82E83E0964F0D9F53C68E03F7298A8B2",
      "payment_channel_storage_type: etcd",
      "payment_channel_storage_client:",
      "  endpoints: [http://127.0.0.1:2379]",
      "  connection_timeout: 5s",
      "log:",
      "  level: debug",
      "  output:",
      "    type: stderr",
      "",
    ].join("\n"),
  );
  const json = write(
    dir,
    "same.json",
    JSON.stringify({
      daemon_endpoint: "0.0.0.0:7000",
      service_endpoint: "http://localhost:7003",
      registry_address_key: "0x4E74FEFA82E83E0964F0D9F53C68E03F7298A8B2",
      payment_channel_storage_type: "etcd",
      payment_channel_storage_client: { endpoints: ["http://127.0.0.1:2379"], connection_timeout: "5s" },
      log: { level: "debug", output: { type: "stderr" } },
    }),
  );
  const a = load({ cwd: dir, file: yaml }).config;
  const b = load({ cwd: dir, file: json }).config;
  expect(a).toEqual(b);
  expect(a.registry_address_key).toBe("0x4e74fefa82e83e0964f0d9f53c68e03f7298a8b2"); // unquoted YAML hex stays text
  expect(a.payment_channel_storage_client.connection_timeout).toBe(5000);
  expect(a.log.output.type).toEqual(["stderr"]);
});

test("precedence: flag > env > file > default", () => {
  const file = write(dir, "prec.yaml", "service_id: file\norganization_id: file\ndaemon_group_name: file\n");
  const env = { SNET_SERVICE_ID: "env", SNET_ORGANIZATION_ID: "env" };
  const { config } = load({ cwd: dir, file, env, flags: { service_id: "flag", ipfs_timeout: undefined } });
  expect(config.service_id).toBe("flag");
  expect(config.organization_id).toBe("env");
  expect(config.daemon_group_name).toBe("file");
  expect(config.ipfs_timeout).toBe(30);
});

test("a file value wins over the default for nested keys, and env over the file, key by key", () => {
  const file = write(dir, "nested.yaml", "log:\n  level: warn\n  timezone: Europe/Paris\n");
  const { config } = load({ cwd: dir, file, env: { SNET_LOG__LEVEL: "error" } });
  expect(config.log.level).toBe("error");
  expect(config.log.timezone).toBe("Europe/Paris");
  expect(config.log.formatter.type).toBe("text");
});

describe("environment variables", () => {
  test("__ nests keys", () => {
    const { config, warnings } = load({
      cwd: dir,
      env: {
        SNET_LOG__OUTPUT__TYPE: "stdout,file",
        SNET_PAYMENT_CHANNEL_STORAGE_CLIENT__ENDPOINTS: '["http://a:2379","http://b:2379"]',
        SNET_PAYMENT_CHANNEL_STORAGE_SERVER__CLIENT_PORT: "12379",
        SNET_AUTO_CLAIM__ENABLED: "1",
      },
    });
    expect(warnings).toEqual([]);
    expect(config.log.output.type).toEqual(["stdout", "file"]);
    expect(config.payment_channel_storage_client.endpoints).toEqual(["http://a:2379", "http://b:2379"]);
    expect(config.payment_channel_storage_server.client_port).toBe(12379);
    expect(config.payment_channel_storage_server.enabled).toBe(false); // only a file section enables the member
    expect(config.auto_claim.enabled).toBe(true);
  });

  test("booleans, numbers, lists, maps and whole sections from text", () => {
    const addr = `0x${"Ab".repeat(20)}`;
    const { config } = load({
      cwd: dir,
      env: {
        SNET_BLOCKCHAIN_ENABLED: "false",
        SNET_PASSTHROUGH_ENABLED: "0",
        SNET_MAX_MESSAGE_SIZE_IN_MB: "64",
        SNET_RATE_LIMIT_PER_MINUTE: "0.5",
        SNET_ALLOWED_USER_ADDRESSES: ` ${addr} , `,
        SNET_FREE_CALLS_PER_ADDRESS: JSON.stringify({ [addr]: -1 }),
        SNET_LOG: '{"LEVEL": "debug", "formatter": {"type": "json"}}',
        SNET_MIN_BALANCE_FOR_FREE_CALL: "123456789012345678901234567890",
        SNET_UNRELATED: undefined,
        SNET_SSL_CERT: "", // empty = unset, as with viper
        PATH: "/usr/bin",
      },
    });
    expect(config.blockchain_enabled).toBe(false);
    expect(config.passthrough_enabled).toBe(false);
    expect(config.max_message_size_in_mb).toBe(64);
    expect(config.rate_limit_per_minute).toBe(0.5);
    expect(config.allowed_user_addresses).toEqual([addr.toLowerCase() as `0x${string}`]);
    expect(config.free_calls_per_address).toEqual({ [addr.toLowerCase()]: -1 });
    expect(config.log.level).toBe("debug");
    expect(config.log.formatter.type).toBe("json");
    expect(config.min_balance_for_free_call).toBe(123456789012345678901234567890n);
    expect(config.ssl_cert).toBe("");
  });

  test("bad text from env is a problem naming the key", () => {
    const err = problemsOf({ cwd: dir, env: { SNET_BURST_SIZE: "lots", SNET_METRICS_ENABLED: "yes" } });
    expect(err.format().split("\n").sort()).toEqual([
      'burst_size: "lots" is not an integer, expected an integer from 1 to 2147483647',
      'metrics_enabled: "yes" is not a boolean, expected true or false',
    ]);
  });
});

test("keys are case-insensitive at every level", () => {
  const file = write(
    dir,
    "upper.json",
    JSON.stringify({ SERVICE_ID: "s", Log: { LEVEL: "Warning", OUTPUT: { Type: ["STDERR"] } } }),
  );
  const { config, warnings } = load({
    cwd: dir,
    file,
    flags: { "LOG.TIMEZONE": "UTC", "Daemon-Endpoint": "127.0.0.1:9" },
  });
  expect(warnings).toEqual([]);
  expect(config.service_id).toBe("s");
  expect(config.log.level).toBe("warn"); // "warning" is an alias of the level
  expect(config.log.output.type).toEqual(["stderr"]);
  expect(config.daemon_endpoint).toBe("127.0.0.1:9");
});

test("normalisation: service_endpoint gains http://, daemon_endpoint loses its scheme, addresses are lower-cased", () => {
  const mixed = `0x${"AB".repeat(20)}`;
  const text = `service_endpoint: localhost:7003\ndaemon_endpoint: http://0.0.0.0:7000/\nfree_calls_per_address: {"${mixed}": 5}\n`;
  const file = write(dir, "norm.yaml", text);
  const { config } = load({ cwd: dir, file });
  expect(config.service_endpoint).toBe("http://localhost:7003");
  expect(config.daemon_endpoint).toBe("0.0.0.0:7000");
  expect(config.free_calls_per_address).toEqual({ [`0x${"ab".repeat(20)}`]: 5 });
  expect(config.trusted_free_call_signers).toEqual([
    "0x3bb9b2499c283cec176e7c707ecb495b7a961ebf",
    "0x7df35c98f41f3af0df1dc4c7f7d4c19a71dd059f",
  ]);
});

test("durations become milliseconds", () => {
  const file = write(
    dir,
    "dur.yaml",
    'service_timeout: 1m30s\ndrain_timeout: 250ms\nauto_claim: {interval: "1h"}\npayment_channel_storage_client: {request_timeout: "0"}\n',
  );
  const { config } = load({ cwd: dir, file });
  expect(config.service_timeout).toBe(90_000);
  expect(config.drain_timeout).toBe(250);
  expect(config.auto_claim.interval).toBe(3_600_000);
  expect(config.payment_channel_storage_client.request_timeout).toBe(0);
});

test("large cog amounts stay exact in YAML and as digit strings in JSON", () => {
  const yaml = write(dir, "cogs.yaml", "auto_claim:\n  unclaimed_threshold_cogs: 100000000000000000000001\n");
  expect(load({ cwd: dir, file: yaml }).config.auto_claim.unclaimed_threshold_cogs).toBe(100000000000000000000001n);
  const json = write(dir, "cogs.json", '{"auto_claim": {"unclaimed_threshold_cogs": "100000000000000000000001"}}');
  expect(load({ cwd: dir, file: json }).config.auto_claim.unclaimed_threshold_cogs).toBe(100000000000000000000001n);
});

test("a payment_channel_storage_server section in the file enables the member unless enabled is false", () => {
  const on = write(dir, "etcd-on.yaml", "payment_channel_storage_server:\n  client_port: 12379\n");
  expect(load({ cwd: dir, file: on }).config.payment_channel_storage_server.enabled).toBe(true);
  const off = write(dir, "etcd-off.yaml", "payment_channel_storage_server:\n  enabled: false\n");
  expect(load({ cwd: dir, file: off }).config.payment_channel_storage_server.enabled).toBe(false);
});

test("a valid private key is normalised to 0x + lower-case hex", () => {
  const key = `${"A".repeat(63)}1`;
  const { config } = load({ cwd: dir, env: { SNET_PRIVATE_KEY: key } });
  expect(config.private_key).toBe(`0x${key.toLowerCase()}`);
});

test("an accepted token secret is kept as given", () => {
  const secret = "0123456789abcdef0123456789abcdef";
  expect(load({ cwd: dir, env: { SNET_TOKEN_SECRET_KEY: secret } }).config.token_secret_key).toBe(secret);
});

test("setting a key snetd does not act on yet warns", () => {
  const { warnings } = load({ cwd: dir, env: { SNET_METERING_ENDPOINT: "https://metering.example" } });
  expect(warnings).toEqual([
    'config key "metering_endpoint" is accepted for compatibility, but snetd does not act on it yet',
  ]);
});
