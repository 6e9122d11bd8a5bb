/**
 * Looks for secrets where they must never appear (logs, error messages, /metrics, /heartbeat, CLI
 * output): every registered secret in the spellings it could leak in — a hex key with or without 0x, in
 * either case; text, its hex and base64; a PEM key's body lines; a full 65-byte signature as hex or base64
 * of any alphabet. Each hit is kept with where it was seen, so one failed assertion lists them all.
 *
 * @example
 * const scan = secretScanner();
 * scan.secret("private_key", PROVIDER.privateKey);
 * scan.signature(sig);
 * scan.text("daemon log", line);
 * expect(scan.hits()).toEqual([]);
 */

export interface SecretScanner {
  /** A secret given as text (a hex key, a token, a password); also looked for as hex and base64. */
  secret(label: string, value: string): void;
  /** A PEM private key: every line of its base64 body is a secret. */
  pem(label: string, pem: string): void;
  /** A full signature (or token bytes) that must never be written whole. */
  signature(bytes: Uint8Array, label?: string): void;
  /** Scans `text`, seen at `where`. */
  text(where: string, text: string): void;
  /** "<label> in <where>" for every secret found, once each. */
  hits(): string[];
  /** How many spellings are being looked for (the suite asserts it is looking at all). */
  readonly size: number;
}

const base64Forms = (bytes: Uint8Array): string[] => {
  const std = Buffer.from(bytes).toString("base64");
  const bare = std.replace(/=+$/, "");
  return [std, bare, bare.replace(/\+/g, "-").replace(/\//g, "_")];
};

export function secretScanner(): SecretScanner {
  const needles = new Map<string, string>();
  const found = new Set<string>();
  const add = (label: string, spelling: string) => {
    // Short spellings would match by chance; every real secret here is far longer.
    if (spelling.length >= 16) needles.set(spelling, label);
  };
  return {
    secret(label, value) {
      add(label, value);
      const hex = value.replace(/^0x/i, "");
      if (/^[0-9a-fA-F]+$/.test(hex)) {
        add(label, hex.toLowerCase());
        add(label, hex.toUpperCase());
        for (const f of base64Forms(Buffer.from(hex, "hex"))) add(`${label} (base64)`, f);
      } else {
        add(`${label} (hex)`, Buffer.from(value).toString("hex"));
        for (const f of base64Forms(Buffer.from(value))) add(`${label} (base64)`, f);
      }
    },
    pem(label, pem) {
      for (const line of pem.split("\n"))
        if (!line.startsWith("-----") && line.trim().length >= 16) add(`${label} (PEM body line)`, line.trim());
    },
    signature(bytes, label = "a full signature") {
      add(label, Buffer.from(bytes).toString("hex"));
      for (const f of base64Forms(bytes)) add(`${label} (base64)`, f);
    },
    text(where, text) {
      const lower = text.toLowerCase();
      for (const [spelling, label] of needles) {
        if (text.includes(spelling) || (/^[0-9a-f]+$/.test(spelling) && lower.includes(spelling)))
          found.add(`${label} in ${where}: ${excerpt(text, spelling)}`);
      }
    },
    hits: () => [...found],
    get size() {
      return needles.size;
    },
  };
}

function excerpt(text: string, spelling: string): string {
  const at = Math.max(0, text.toLowerCase().indexOf(spelling.toLowerCase()));
  return JSON.stringify(text.slice(Math.max(0, at - 60), at + 20));
}
