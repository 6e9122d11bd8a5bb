// The config keys of non-gRPC services (protocol/upstreams.md#adapter-selection, #service-credentials): service_credentials checked entry by
// entry with every problem reported at once and no value ever shown, and the opt-in header that carries
// the payer's address.
import { expect, test } from "bun:test";
import { load, problemsOf, tempDir, write } from "./kit.ts";

const dir = tempDir();

test("service_credentials: every bad entry is one problem, values are never shown", () => {
  const file = write(
    dir,
    "creds.json",
    JSON.stringify({
      service_credentials: [
        { key: "X-Api-Key", value: "secret-1", location: "header" },
        { key: "", value: "secret-2", location: "query" },
        { key: "token", value: "secret-3", location: "cookie" },
        { key: "nested", value: { deep: "secret-4" }, location: "header" },
        { key: "missing", location: "body" },
      ],
      daemon_endpoint: "nowhere",
    }),
  );
  const err = problemsOf({ cwd: dir, file });
  const lines = err.format().split("\n");
  // In key order: daemon_endpoint's problem comes first.
  expect(lines[0]).toStartWith('daemon_endpoint: "nowhere"');
  expect(lines.slice(1)).toEqual([
    'service_credentials[1].key: "" is empty (key can\'t be empty), expected a non-empty value',
    'service_credentials[2].location: "cookie" is not a known value, expected body, header or query',
    "service_credentials[3].value: the value (hidden) is an object, expected a string, number or boolean: a header value is text",
    "service_credentials[4].value: is missing, expected a value: any JSON for body, a string, number or boolean for header and query",
  ]);
  expect(err.format()).not.toContain("secret-");
});

test("service_credentials: any JSON value in the body, text, numbers and booleans elsewhere", () => {
  const file = write(
    dir,
    "good.yaml",
    [
      "service_credentials:",
      "  - {key: X-Api-Key, value: abc, location: header}",
      "  - {key: limit, value: 5, location: query}",
      "  - {key: options, value: {model: large, n: 2}, location: body}",
    ].join("\n"),
  );
  const { config } = load({ cwd: dir, file });
  expect(config.service_credentials).toEqual([
    { key: "X-Api-Key", value: "abc", location: "header" },
    { key: "limit", value: 5, location: "query" },
    { key: "options", value: { model: "large", n: 2 }, location: "body" },
  ]);
});

test("service_user_address_header: empty by default (not sent), else a header name", () => {
  expect(load({ cwd: dir }).config.service_user_address_header).toBe("");
  expect(
    load({ cwd: dir, env: { SNET_SERVICE_USER_ADDRESS_HEADER: "X-Snet-User-Address" } }).config
      .service_user_address_header,
  ).toBe("X-Snet-User-Address");
  expect(problemsOf({ cwd: dir, env: { SNET_SERVICE_USER_ADDRESS_HEADER: "X Payer" } }).format()).toBe(
    'service_user_address_header: "X Payer" is not an HTTP header name, expected a header name such as X-Snet-User-Address, or empty',
  );
});
