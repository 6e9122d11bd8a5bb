// The secret scanner of tests/e2e/secrets.test.ts finds a secret in every spelling it may leak in.
import { describe, expect, test } from "bun:test";
import { secretScanner } from "../kit/secret-scan.ts";

const KEY = "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d";
const SIG = Uint8Array.from({ length: 65 }, (_, i) => (i * 37 + 11) % 256);

describe("secretScanner", () => {
  test("finds keys, texts, PEM lines and signatures in their leaked spellings, and nothing in clean text", () => {
    const leaks = [
      `key=${KEY}`,
      `key=${KEY.slice(2).toUpperCase()}`,
      `b64=${Buffer.from(KEY.slice(2), "hex").toString("base64")}`,
      `token ${Buffer.from("a-long-token-secret-value").toString("hex")}`,
      "pem MHcCAQEEIIrYSSNQFaA2Hwf1duRSxKtLYX5CB04fSeQ6tF1aY/PuoAoGCCqGSM49",
      `sig ${Buffer.from(SIG).toString("hex")}`,
      `sig ${Buffer.from(SIG).toString("base64url")}`,
    ];
    for (const leak of leaks) {
      const scan = secretScanner();
      scan.secret("key", KEY);
      scan.secret("token", "a-long-token-secret-value");
      scan.pem(
        "pem",
        "-----BEGIN EC PRIVATE KEY-----\nMHcCAQEEIIrYSSNQFaA2Hwf1duRSxKtLYX5CB04fSeQ6tF1aY/PuoAoGCCqGSM49\n-----END EC PRIVATE KEY-----\n",
      );
      scan.signature(SIG);
      scan.text("where", "a clean line: signature verified, key (set)");
      expect(scan.hits()).toEqual([]);
      scan.text("where", leak);
      expect({ leak, found: scan.hits().length > 0 }).toEqual({ leak, found: true });
    }
  });
});
