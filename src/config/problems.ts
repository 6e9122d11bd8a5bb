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
  // JSON.stringify would print Infinity and NaN (a `1e999` in the file) as null.
  if (typeof value === "bigint" || (typeof value === "number" && !Number.isFinite(value))) return String(value);
  if (nestedDeeperThan(value, 32)) return Array.isArray(value) ? "a deeply nested list" : "a deeply nested section";
  try {
    const text = JSON.stringify(value, (_k, x: unknown) => (typeof x === "bigint" ? Number(x) : x)) ?? String(value);
    // JSON.stringify leaves DEL, C1 controls and the Unicode line separators raw: each problem is one line.
    const escaped = text.replace(
      /[\u007f-\u009f\u2028\u2029]/g,
      (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`,
    );
    return escaped.length > 120 ? `${escaped.slice(0, 117)}...` : escaped;
  } catch {
    // Deep nesting below a shallow first child, or a cycle: String() would recurse just as deep.
    return Array.isArray(value) ? "a deeply nested list" : "a deeply nested section";
  }
}

/**
 * Whether `value` nests lists or sections more than `limit` deep, looking at no more than 10 000 values:
 * JSON.stringify of a 200 000-deep list runs out of stack (and String() too), after seconds.
 */
function nestedDeeperThan(value: unknown, limit: number): boolean {
  const stack: [unknown, number][] = [[value, 0]];
  for (let budget = 10_000; budget > 0 && stack.length > 0; budget--) {
    const [node, depth] = stack.pop() as [unknown, number];
    if (typeof node !== "object" || node === null) continue;
    if (depth >= limit) return true;
    for (const child of Array.isArray(node) ? node : Object.values(node)) {
      if (stack.length >= 10_000) break;
      stack.push([child, depth + 1]);
    }
  }
  return false;
}
