// Legacy keys map forward with a warning naming the new key; removed and ignored keys say why; typos get a hint.
import { describe, expect, test } from "bun:test";
import { LEGACY_KEYS } from "../../src/config/aliases.ts";
import { KEYS_BY_PATH } from "../../src/config/schema.ts";
import { editDistance, suggest } from "../../src/config/suggest.ts";
import { load, problemsOf, tempDir, write } from "./kit.ts";

const dir = tempDir();
const KEY: `0x${string}` = `0x${"1".repeat(63)}2`;
const ADDR = `0x${"c".repeat(40)}`;

/** A valid value for each alias target, as a user would write it. */
const SAMPLE: Record<string, { given: unknown; parsed: unknown; partner?: Record<string, unknown> }> = {
  daemon_endpoint: { given: "http://0.0.0.0:7000", parsed: "0.0.0.0:7000" },
  ipfs_endpoint: { given: "http://localhost:5002", parsed: "http://localhost:5002" },
  service_endpoint: { given: "localhost:7003", parsed: "http://localhost:7003" },
  metering_endpoint: { given: "https://metering.example", parsed: "https://metering.example" },
  heartbeat_endpoint: { given: "http://localhost:7003/health", parsed: "http://localhost:7003/health" },
  notification_endpoint: { given: "https://notify.example", parsed: "https://notify.example" },
  private_key_for_metering: { given: KEY.slice(2), parsed: KEY },
  private_key_for_free_calls: { given: KEY.slice(2), parsed: KEY },
  ethereum_json_rpc_http_endpoint: { given: "http://localhost:8545", parsed: "http://localhost:8545" },
  alerts_email: {
    given: "ops@example.org",
    parsed: "ops@example.org",
    partner: { alerts_smtp: { host: "smtp.example.org" } },
  },
  metrics_enabled: { given: false, parsed: false },
};

const get = (config: object, path: string): unknown =>
  path.split(".").reduce<unknown>((node, k) => (node as Record<string, unknown>)[k], config);

describe("aliases", () => {
  const aliases = [...LEGACY_KEYS].filter(([, l]) => l.kind === "alias") as [string, { kind: "alias"; to: string }][];

  test("every alias points at a real key and has a sample", () => {
    expect(aliases.length).toBe(11);
    for (const [, { to }] of aliases) {
      expect(KEYS_BY_PATH.has(to)).toBe(true);
      expect(SAMPLE[to]).toBeDefined();
    }
  });

  for (const [old, { to }] of aliases) {
    test(`${old} → ${to}, in any case, from a file and from env`, () => {
      const sample = SAMPLE[to];
      if (!sample) throw new Error(`no sample for ${to}`);
      const upper = old.toUpperCase();
      const partner = sample.partner ?? {}; // keys that must be set together (alerts)
      const file = write(dir, `${old}.json`, JSON.stringify({ [upper]: sample.given, ...partner }));
      const fromFile = load({ cwd: dir, file });
      expect(get(fromFile.config, to)).toEqual(sample.parsed);
      expect(fromFile.warnings).toContain(`config key "${upper}" in ${file} is deprecated, use "${to}" instead`);

      const partnerEnv = Object.fromEntries(
        Object.entries(partner).map(([k, v]) => [
          `SNET_${k.toUpperCase()}`,
          typeof v === "string" ? v : JSON.stringify(v),
        ]),
      );
      const fromEnv = load({ cwd: dir, env: { [`SNET_${upper}`]: String(sample.given), ...partnerEnv } });
      expect(get(fromEnv.config, to)).toEqual(sample.parsed);
      expect(fromEnv.warnings[0]).toStartWith(
        `config key "${old}" (environment variable SNET_${upper}) is deprecated, use "${to}"`,
      );
    });
  }

  test("the new key wins over its alias in the same file", () => {
    const file = write(dir, "both.yaml", "passthrough_endpoint: http://old:1\nservice_endpoint: http://new:2\n");
    const { config, warnings } = load({ cwd: dir, file });
    expect(config.service_endpoint).toBe("http://new:2");
    expect(warnings).toEqual([
      `config key "passthrough_endpoint" in ${file} is deprecated and ignored because "service_endpoint" is also set`,
    ]);
  });

  test("an alias in env overrides the new key in the file (precedence is per source)", () => {
    const file = write(dir, "alias-prec.yaml", "service_endpoint: http://file:2\n");
    const { config } = load({ cwd: dir, file, env: { SNET_PASSTHROUGH_ENDPOINT: "http://env:3" } });
    expect(config.service_endpoint).toBe("http://env:3");
  });
});

test("a 2018 seed config loads, mapping every key forward and saying what replaced the rest", () => {
  const file = write(
    dir,
    "seed-2018.json",
    JSON.stringify({
      PRIVATE_KEY: KEY.slice(2),
      DAEMON_LISTENING_PORT: 8080,
      ETHEREUM_JSON_RPC_ENDPOINT: "http://localhost:8545",
      PASSTHROUGH_ENABLED: true,
      PASSTHROUGH_ENDPOINT: "http://localhost:7003",
      REGISTRY_ADDRESS_KEY: "0x4e74fefa82e83e0964f0d9f53c68e03f7298a8b2",
      DAEMON_END_POINT: "localhost:8080",
      IPFS_END_POINT: "http://localhost:5002",
      ORGANIZATION_NAME: "testo",
      SERVICE_NAME: "tests",
      HDWALLET_MNEMONIC: "word word word",
      HDWALLET_INDEX: 0,
      AGENT_CONTRACT_ADDRESS: ADDR,
      DB_PATH: "./db",
      POLL_SLEEP: "",
      SERVICE_TYPE: "jsonrpc",
      WIRE_ENCODING: "json",
      LOG_LEVEL: 5,
      log: { level: "debug", output: { type: "stdout", rotation_time_in_sec: 86400, max_age_in_sec: 604800 } },
    }),
  );
  const { config, warnings } = load({ cwd: dir, file });
  expect(config.private_key).toBe(KEY);
  expect(config.ethereum_json_rpc_http_endpoint).toBe("http://localhost:8545");
  expect(config.service_endpoint).toBe("http://localhost:7003");
  expect(config.registry_address_key).toBe("0x4e74fefa82e83e0964f0d9f53c68e03f7298a8b2");
  expect(config.daemon_endpoint).toBe("localhost:8080");
  expect(config.ipfs_endpoint).toBe("http://localhost:5002");
  expect(config.organization_id).toBe("YOUR_ORG_ID"); // a name is not an id: nothing is guessed
  expect(config.log.output.type).toEqual(["stdout"]);
  const at = ` in ${file}`;
  expect(warnings.sort()).toEqual(
    [
      `config key "PRIVATE_KEY"${at} is read as "private_key": the daemon sends no transactions; "snetd claim" and auto_claim sign with "private_key"`,
      `config key "DAEMON_LISTENING_PORT"${at} was removed and is ignored: set "daemon_endpoint" (host:port)`,
      `config key "ETHEREUM_JSON_RPC_ENDPOINT"${at} is deprecated, use "ethereum_json_rpc_http_endpoint" instead`,
      `config key "PASSTHROUGH_ENDPOINT"${at} is deprecated, use "service_endpoint" instead`,
      `config key "DAEMON_END_POINT"${at} is deprecated, use "daemon_endpoint" instead`,
      `config key "IPFS_END_POINT"${at} is deprecated, use "ipfs_endpoint" instead`,
      `config key "ORGANIZATION_NAME"${at} was removed and is ignored: the Registry identifies organizations by id now, set "organization_id"`,
      `config key "SERVICE_NAME"${at} was removed and is ignored: the Registry identifies services by id now, set "service_id"`,
      `config key "HDWALLET_MNEMONIC"${at} was removed and is ignored: the daemon sends no transactions; "snetd claim" and auto_claim sign with "private_key"`,
      `config key "HDWALLET_INDEX"${at} was removed and is ignored: the daemon sends no transactions; "snetd claim" and auto_claim sign with "private_key"`,
      `config key "AGENT_CONTRACT_ADDRESS"${at} was removed and is ignored: MultiPartyEscrow replaced Agent contracts, set "organization_id" and "service_id"`,
      `config key "DB_PATH"${at} was removed and is ignored: snetd keeps its state under "data_dir"`,
      `config key "POLL_SLEEP"${at} was removed and is ignored: nothing polls on a fixed sleep any more`,
      `config key "SERVICE_TYPE"${at} was removed and is ignored: the service type is read from the service metadata ("service_type")`,
      `config key "WIRE_ENCODING"${at} was removed and is ignored: the encoding is read from the service metadata ("encoding")`,
      `config key "LOG_LEVEL"${at} was removed and is ignored: set "log.level" (debug, info, warn, error)`,
      `config key "log.output.rotation_time_in_sec"${at} was removed and is ignored: files rotate by "log.output.file_pattern" and "log.output.max_size_in_mb"`,
      `config key "log.output.max_age_in_sec"${at} was removed and is ignored: set "log.output.max_age_in_days"`,
    ].sort(),
  );
});

test("keys documented but never read are ignored with a warning", () => {
  const keys = [
    "is_curation_in_progress",
    "curation_address_for_validation",
    "monitoring_enabled",
    "monitoring_svc_end_point",
    "config_path",
    "network_id",
  ];
  const file = write(dir, "ignored.yaml", keys.map((k) => `${k.toUpperCase()}: x`).join("\n"));
  const { warnings } = load({ cwd: dir, file });
  expect(warnings).toEqual(
    keys.map(
      (k) =>
        `config key "${k.toUpperCase()}" in ${file} is ignored: the reference daemon documents it but never reads it`,
    ),
  );
});

describe("unknown keys", () => {
  test("warn with a suggestion for typos, at any depth", () => {
    const file = write(
      dir,
      "typos.yaml",
      "demon_endpoint: 127.0.0.1:1\nlog:\n  levle: debug\nlevel: info\nfrobnicate: 1\n",
    );
    const { warnings, config } = load({ cwd: dir, file });
    expect(config.daemon_endpoint).toBe("127.0.0.1:8080"); // unknown keys change nothing
    expect(warnings).toEqual([
      `unknown key "demon_endpoint" in ${file}, did you mean "daemon_endpoint"?`,
      `unknown key "log.levle" in ${file}, did you mean "log.level"?`,
      `unknown key "level" in ${file}, did you mean "log.level"?`,
      `unknown key "frobnicate" in ${file}`,
    ]);
  });

  test("warnings travel with a ConfigError, since a typo is often the cause of a problem", () => {
    const file = write(dir, "typo-and-problem.yaml", "ssl_cert: /tls/cert.pem\nssl_kye: /tls/key.pem\n");
    const err = problemsOf({ cwd: dir, file });
    expect(err.format()).toStartWith('ssl_key: "" is empty while ssl_cert is set');
    expect(err.warnings).toEqual([`unknown key "ssl_kye" in ${file}, did you mean "ssl_key"?`]);
  });

  test("unknown SNET_ variables warn with the variable to use", () => {
    const { warnings } = load({ cwd: dir, env: { SNET_DEMON_ENDPOINT: "x", SNET_LOG__LEVL: "debug" } });
    expect(warnings).toEqual([
      'unknown environment variable "SNET_DEMON_ENDPOINT", did you mean "SNET_DAEMON_ENDPOINT"?',
      'unknown environment variable "SNET_LOG__LEVL", did you mean "SNET_LOG__LEVEL"?',
    ]);
  });

  test("log hook sections named in log.hooks are accepted; other sections under log are unknown", () => {
    const file = write(
      dir,
      "hooks.yaml",
      "log:\n  hooks: [mail]\n  mail: {type: email, password: p}\n  other: {type: email}\n",
    );
    const { warnings } = load({ cwd: dir, file });
    expect(warnings).toEqual([
      `unknown key "log.other" in ${file}`,
      'config key "log.hooks" is accepted for compatibility, but snetd does not act on it yet',
    ]);
  });
});

test("suggest picks the closest candidate within typo distance", () => {
  expect(editDistance("demon", "daemon")).toBe(1);
  expect(editDistance("sevrice", "service")).toBe(1); // adjacent swap
  expect(suggest("servce_id", ["service_id", "organization_id"])).toBe("service_id");
  expect(suggest("zzz", ["service_id"])).toBeUndefined();
});
