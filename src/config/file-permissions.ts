/**
 * A config file that holds secrets (private keys, the prepaid token secret, tokens, passwords) should be
 * readable by the daemon's user only; one warning line at start names the file, the keys and the fix.
 */
import { statSync } from "node:fs";
import { KEYS_BY_PATH } from "./schema.ts";

/** Whether a value sets something: not absent, empty text, an empty list or an empty section (init-config writes those). */
const isSet = (v: unknown) =>
  v !== undefined && v !== null && v !== "" && !(typeof v === "object" && Object.keys(v).length === 0);

/** The secret keys among `values` (dotted paths) that are actually set. */
export function secretKeysSet(values: ReadonlyMap<string, unknown>): string[] {
  return [...values].filter(([path, v]) => KEYS_BY_PATH.get(path)?.meta.secret && isSet(v)).map(([path]) => path);
}

/**
 * The warning for `path` holding `secrets` while group or others may read it; undefined when it is private,
 * holds no secret, or cannot be stat'ed (reading it already succeeded, so that is a race not worth a line).
 */
export function looseSecretsWarning(
  path: string,
  secrets: readonly string[],
  stat: (p: string) => { mode: number } = statSync,
): string | undefined {
  if (secrets.length === 0) return undefined;
  let mode: number;
  try {
    mode = stat(path).mode & 0o777;
  } catch {
    return undefined;
  }
  if ((mode & 0o077) === 0) return undefined;
  const keys = secrets.map((k) => `"${k}"`).join(", ");
  return `config file "${path}" holds ${keys} but other users can read it (mode ${mode.toString(8).padStart(4, "0")}); run: chmod 600 "${path}"`;
}
