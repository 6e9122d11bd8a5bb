// Every way a configuration can be wrong: one problem per mistake, all reported together, no stack traces.
import { describe, expect, test } from "bun:test";
import type { ConfigError } from "../../src/config/load.ts";
import { load, problemsOf, tempDir, write } from "./kit.ts";

const dir = tempDir();
const yaml = (name: string, text: string) => write(dir, name, text);
const lines = (err: ConfigError) => err.format().split("\n");

describe("config files", () => {
  test("an explicitly given file that does not exist is one problem naming the path", () => {
    const err = problemsOf({ cwd: dir, file: "missing.yaml" });
    expect(err.problems).toHaveLength(1);
    expect(err.problems[0]?.given).toBe("missing.yaml");
    expect(err.format()).toBe(
      `config file: "missing.yaml" does not exist, expected an existing file (looked for ${dir}/missing.yaml)`,
    );
  });

  test("an unsupported extension is refused", () => {
    const err = problemsOf({ cwd: dir, file: yaml("snetd.toml", 'daemon_endpoint = "127.0.0.1:8080"') });
    expect(err.format()).toBe(
      'config file: "snetd.toml" has the extension ".toml", expected a .json, .yaml or .yml file',
    );
  });

  test("bad YAML is one problem with line and column", () => {
    const file = yaml("bad.yaml", "daemon_endpoint: 127.0.0.1:8080\nlog:\n  level: info\n level: debug\n");
    const err = problemsOf({ cwd: dir, file });
    expect(err.problems).toHaveLength(1);
    expect(err.format()).toMatch(
      /^bad\.yaml: bad YAML at line 4, column 1: .+, expected a YAML mapping of config keys$/,
    );
  });

  test("duplicate YAML keys are bad YAML", () => {
    const err = problemsOf({ cwd: dir, file: yaml("dup.yml", "service_id: a\nservice_id: b\n") });
    expect(err.format()).toContain("dup.yml: bad YAML at line 2, column 1");
  });

  test("bad JSON is one problem with line and column", () => {
    const file = write(dir, "bad.json", '{\n  "daemon_endpoint": "127.0.0.1:8080",\n  "log": {"level": "info",}\n}\n');
    const err = problemsOf({ cwd: dir, file });
    expect(err.problems).toHaveLength(1);
    expect(err.format()).toBe(
      "bad.json: bad JSON at line 3, column 27: expected a quoted property name, expected a JSON object of config keys",
    );
  });

  test("truncated JSON reports the end of the file", () => {
    const err = problemsOf({ cwd: dir, file: write(dir, "cut.json", '{"service_id": "a"') });
    expect(err.format()).toContain("cut.json: bad JSON at line 1, column 19: unexpected end of file");
  });

  test("a file that is not a mapping is refused", () => {
    const err = problemsOf({ cwd: dir, file: yaml("list.yaml", "- a\n- b\n") });
    expect(err.format()).toBe("list.yaml: holds a list, expected a mapping of config keys");
  });

  test("a section given as a scalar is refused", () => {
    const err = problemsOf({ cwd: dir, file: yaml("section.yaml", "log: debug\n") });
    expect(err.problems[0]).toMatchObject({ path: "log", given: "debug" });
    expect(err.format()).toStartWith('log: "debug" is text, expected a section with the keys level, timezone');
  });
});

describe("values", () => {
  const one = (text: string) => {
    const err = problemsOf({ cwd: dir, file: yaml("one.yaml", text) });
    expect(err.problems).toHaveLength(1);
    return err.format();
  };

  test("daemon_endpoint must be host:port", () => {
    expect(one("daemon_endpoint: abc\n")).toBe('daemon_endpoint: "abc" is not host:port, expected e.g. 127.0.0.1:8080');
    expect(one("daemon_endpoint: 127.0.0.1:99999\n")).toStartWith(
      'daemon_endpoint: "127.0.0.1:99999" is not host:port',
    );
  });

  test("wrong types name the key, the value and the expectation", () => {
    expect(one("blockchain_enabled: yes\n")).toBe('blockchain_enabled: "yes" is not a boolean, expected true or false');
    expect(one("ipfs_timeout: soon\n")).toBe(
      'ipfs_timeout: "soon" is not an integer, expected an integer from 1 to 3600',
    );
    expect(one("organization_id: [a]\n")).toBe('organization_id: ["a"] is a list, expected text');
    expect(one("daemon_type: rest\n")).toBe('daemon_type: "rest" is not a known value, expected one of "grpc", "http"');
    expect(one("payment_channel_storage_type: redis\n")).toBe(
      'payment_channel_storage_type: "redis" is not a known value, expected one of "sqlite", "etcd", "memory"',
    );
  });

  test("bad URLs", () => {
    expect(one("ipfs_endpoint: ftp://ipfs.example\n")).toBe(
      'ipfs_endpoint: "ftp://ipfs.example" has scheme "ftp", expected http or https URL with a host, e.g. https://ipfs.example:443',
    );
    expect(one('ethereum_json_rpc_http_endpoint: "http://"\n')).toStartWith(
      'ethereum_json_rpc_http_endpoint: "http://" is not a URL',
    );
    expect(one("ethereum_json_rpc_ws_endpoint: https://node.example\n")).toStartWith(
      'ethereum_json_rpc_ws_endpoint: "https://node.example" has scheme "https", expected ws or wss URL',
    );
    expect(one("payment_channel_storage_client:\n  endpoints: [http://a:2379, 'not a url']\n")).toStartWith(
      'payment_channel_storage_client.endpoints[1]: "not a url" is not a URL',
    );
  });

  test("service and daemon on the same host:port, local host names being the same host", () => {
    const clash = (daemon: string, service: string) =>
      one(`daemon_endpoint: "${daemon}"\nservice_endpoint: "${service}"\n`);
    expect(clash("0.0.0.0:8080", "http://127.0.0.1:8080")).toBe(
      'service_endpoint: "http://127.0.0.1:8080" is the daemon\'s own listen address (daemon_endpoint "0.0.0.0:8080"), expected the address of the AI service, on another port than daemon_endpoint',
    );
    expect(clash("127.0.0.1:7000", "localhost:7000")).toStartWith(
      'service_endpoint: "http://localhost:7000" is the daemon',
    );
    expect(clash("localhost:443", "https://127.0.0.1")).toStartWith("service_endpoint:");
    expect(clash("myhost:9000", "http://MYHOST:9000")).toStartWith("service_endpoint:");
  });

  test("different ports or different hosts do not clash", () => {
    const ok = (daemon: string, service: string) => () =>
      problemsOf({
        cwd: dir,
        file: yaml("ok.yaml", `daemon_endpoint: "${daemon}"\nservice_endpoint: "${service}"\nservice_id: ""\n`),
      });
    // service_id "" keeps a problem in the file so problemsOf has something to catch; only that one is expected
    expect(ok("0.0.0.0:8080", "http://127.0.0.1:8081")().problems.map((p) => p.path)).toEqual(["service_id"]);
    expect(ok("0.0.0.0:8080", "http://upstream:8080")().problems.map((p) => p.path)).toEqual(["service_id"]);
  });

  test("ssl_cert and ssl_key: both or neither", () => {
    expect(one("ssl_cert: /tls/cert.pem\n")).toBe(
      'ssl_key: "" is empty while ssl_cert is set, expected both ssl_cert and ssl_key, or neither',
    );
    expect(one("ssl_key: /tls/key.pem\n")).toBe(
      'ssl_cert: "" is empty while ssl_key is set, expected both ssl_cert and ssl_key, or neither',
    );
  });

  test("the public default token secret is refused, naming the key and the fix", () => {
    expect(one("token_secret_key: test-secret-key-at-least-32-bytes-long\n")).toBe(
      'token_secret_key: "test-secret-key-at-least-32-bytes-long" is the public example secret of the reference daemon, so anyone could forge prepaid tokens, expected a random value of at least 32 bytes (e.g. `openssl rand -hex 32`), or leave it empty and snetd generates one',
    );
  });

  test("a short token secret is refused without printing it", () => {
    const text = one("token_secret_key: hunter2\n");
    expect(text).toBe(
      "token_secret_key: the value (hidden) is 7 bytes long, expected at least 32 bytes of random text",
    );
    expect(text).not.toContain("hunter2");
  });

  test("private keys are checked and never printed", () => {
    const secret = "zz".repeat(32);
    const text = one(`private_key_for_free_calls: "${secret}"\n`);
    expect(text).toStartWith("private_key_for_free_calls: the value (hidden) is not a private key");
    expect(text).not.toContain(secret);
    expect(one(`private_key: "${"0".repeat(64)}"\n`)).toStartWith(
      "private_key: the value (hidden) is outside the secp256k1 key range",
    );
  });

  test("max_message_size_in_mb is 1 to 2048", () => {
    expect(one("max_message_size_in_mb: 0\n")).toBe(
      "max_message_size_in_mb: 0 is out of range, expected an integer from 1 to 2048",
    );
    expect(one("max_message_size_in_mb: 4096\n")).toBe(
      "max_message_size_in_mb: 4096 is out of range, expected an integer from 1 to 2048",
    );
  });

  test("durations must be Go duration text", () => {
    expect(one("service_timeout: 10 seconds\n")).toBe(
      'service_timeout: "10 seconds" is not a duration, expected Go duration text such as "100s", "5m" or "1m30s"',
    );
    expect(one("drain_timeout: 30\n")).toStartWith("drain_timeout: 30 is not a duration");
    expect(one("auto_claim:\n  interval: -5m\n")).toStartWith('auto_claim.interval: "-5m" is not a duration');
  });

  test("addresses, amounts and free-call quotas", () => {
    expect(one("registry_address_key: 0x1234\n")).toBe(
      'registry_address_key: "0x1234" is not an address, expected 0x followed by 40 hex digits',
    );
    expect(one("allowed_user_addresses: ['0x1234']\n")).toStartWith(
      'allowed_user_addresses[0]: "0x1234" is not an address',
    );
    expect(one("auto_claim:\n  unclaimed_threshold_cogs: 1.5\n")).toStartWith(
      "auto_claim.unclaimed_threshold_cogs: 1.5 is not a safe whole number",
    );
    expect(one("free_calls_per_address:\n  '0xAB': 3\n")).toStartWith(
      'free_calls_per_address.0xAB: "0xAB" is not an address',
    );
    expect(one(`free_calls_per_address:\n  '0x${"a".repeat(40)}': lots\n`)).toStartWith(
      `free_calls_per_address.0x${"a".repeat(40)}: "lots" is not a number of free calls`,
    );
  });

  test("keys that need a partner", () => {
    expect(one("allowed_user_flag: true\nallowed_user_addresses: []\n")).toStartWith(
      "allowed_user_addresses: [] is empty while allowed_user_flag is true",
    );
    expect(
      one(
        `allowed_user_flag: true\nallowed_user_addresses: ['0x${"1".repeat(40)}']\nblockchain_network_selected: main\n`,
      ),
    ).toStartWith('allowed_user_flag: true is true on network "main"');
    expect(one("service_heartbeat_type: http\n")).toStartWith(
      'heartbeat_endpoint: "" is empty while service_heartbeat_type is "http"',
    );
    expect(one("alerts_email: ops@example.org\n")).toStartWith(
      'alerts_smtp.host: "" is empty while alerts_email "ops@example.org" is set',
    );
    expect(one("metering_enabled: true\n")).toStartWith(
      'metering_endpoint: "" is empty while metering_enabled is true',
    );
    expect(one("service_credentials: [{key: k, value: v, location: cookie}]\n")).toStartWith(
      'service_credentials[0].location: "cookie" is not a known value',
    );
  });
});

test("all problems of all sources are reported together, one line each", () => {
  const file = yaml(
    "many.yaml",
    [
      "daemon_endpoint: abc",
      "max_message_size_in_mb: 0",
      "service_timeout: soon",
      "ssl_cert: /tls/cert.pem",
      "token_secret_key: test-secret-key-at-least-32-bytes-long",
      "log:",
      "  level: loud",
      "",
    ].join("\n"),
  );
  const err = problemsOf({ cwd: dir, file, env: { SNET_BLOCKCHAIN_ENABLED: "maybe" } });
  expect(err.problems.map((p) => p.path).sort()).toEqual(
    [
      "blockchain_enabled",
      "daemon_endpoint",
      "log.level",
      "max_message_size_in_mb",
      "service_timeout",
      "ssl_key",
      "token_secret_key",
    ].sort(),
  );
  expect(lines(err)).toHaveLength(7);
  expect(err.message).toBe(err.format());
  expect(err.format()).not.toContain("    at "); // no stack frames in what the operator sees
});

describe("admin listener keys", () => {
  const one = (text: string) => {
    const err = problemsOf({ cwd: dir, file: yaml("admin.yaml", text) });
    expect(err.problems).toHaveLength(1);
    return err.format();
  };

  test("a non-loopback admin_endpoint needs admin_token; a loopback one does not", () => {
    expect(one("admin_endpoint: 0.0.0.0:9090\n")).toStartWith(
      'admin_token: "" is empty while admin_endpoint "0.0.0.0:9090" is reachable from other machines',
    );
    const { config } = load({ cwd: dir, file: yaml("admin-lo.yaml", "admin_endpoint: 127.0.0.1:9090\n") });
    expect(config.admin_endpoint).toBe("127.0.0.1:9090");
    expect(config.admin_token).toBeUndefined();
  });

  test("a short admin_token is refused without showing it", () => {
    const text = one("admin_endpoint: 127.0.0.1:9090\nadmin_token: short\n");
    expect(text).toBe(
      "admin_token: the value (hidden) is 5 bytes long, expected at least 16 bytes of random text (e.g. `openssl rand -hex 24`)",
    );
    expect(text).not.toContain("short");
  });
});
