/**
 * What loading reports: one `ConfigProblem` per bad value, all of them together in one `ConfigError`, so the
 * operator sees every problem at once and never a stack trace (protocol/reference-differences.md#d32).
 */
import { Code, SnetError } from "../core/errors.ts";
import { HIDDEN } from "./values.ts";

export interface ConfigProblem {
  /** Key path (`log.level`, `allowed_user_addresses[1]`) or, for file problems, the file. */
  path: string;
  /** The value given; `undefined` when nothing was given. Secrets are replaced by a hidden marker. */
  given: unknown;
  /** What would be accepted. */
  expected: string;
  /** What is wrong with `given`; defaults to "is not valid". */
  reason?: string;
}

export class ConfigError extends SnetError {
  override readonly name = "ConfigError";
  /** `warnings`: what loading also noticed (unknown keys, aliases); often the cause of a problem. */
  constructor(
    readonly problems: ConfigProblem[],
    readonly warnings: string[] = [],
  ) {
    super(Code.INVALID_ARGUMENT, formatProblems(problems));
  }
  /** One line per problem: `daemon_endpoint: "abc" is not host:port, expected e.g. 127.0.0.1:8080`. */
  format(): string {
    return formatProblems(this.problems);
  }
}

function formatProblems(problems: readonly ConfigProblem[]): string {
  return problems
    .map((p) => {
      const what = p.given === undefined ? "" : `${show(p.given)} `;
      return `${p.path}: ${what}${p.reason ?? "is not valid"}, expected ${p.expected}`;
    })
    .join("\n");
}

export function show(value: unknown): string {
  if (value === HIDDEN) return "the value (hidden)";
  if (typeof value === "bigint") return value.toString();
  try {
    const text = JSON.stringify(value, (_k, x: unknown) => (typeof x === "bigint" ? Number(x) : x)) ?? String(value);
    return text.length > 120 ? `${text.slice(0, 117)}...` : text;
  } catch {
    return String(value);
  }
}
