/**
 * Reads Bun's JUnit report and prints the failed tests, then as the very last line
 * `N passed, N failed` (`, N skipped` when any). Exits non-zero when anything failed, when nothing ran,
 * or when `bun test` itself exited non-zero.
 *
 * Bun 1.4.5's report leaves out what happens outside a test: a file that throws while loading and an
 * "Unhandled error between tests" appear only on the console. So the console log is read too, and a
 * non-zero `bun test` exit with no failure found anywhere still counts as one failure.
 *
 * @example
 * bun tests/junit-summary.ts .test-output/junit.xml --console .test-output/console.log --exit-code 1
 */
import { existsSync, readFileSync } from "node:fs";

interface Summary {
  passed: number;
  failed: string[];
  skipped: number;
}

const usage = "Usage: bun tests/junit-summary.ts <junit.xml> [--console <log>] [--exit-code <n>]";

function main(argv: string[]): number {
  const [xmlPath, ...rest] = argv;
  if (xmlPath === undefined || xmlPath.startsWith("--")) {
    console.error(usage);
    return 2;
  }
  const consolePath = option(rest, "--console");
  const bunExit = Number(option(rest, "--exit-code") ?? "0");

  const summary: Summary = { passed: 0, failed: [], skipped: 0 };
  if (existsSync(xmlPath)) readJunit(readFileSync(xmlPath, "utf8"), summary);
  else summary.failed.push(`(no report) '${xmlPath}' was not written; see the output above`);
  if (consolePath !== undefined && existsSync(consolePath)) {
    summary.failed.push(...errorsOutsideTests(readFileSync(consolePath, "utf8")));
  }
  if (bunExit !== 0 && summary.failed.length === 0) {
    summary.failed.push(`(bun test) exited with code ${bunExit} though no test failed; see the output above`);
  }

  const ran = summary.passed + summary.failed.length;
  if (summary.failed.length > 0) {
    console.log(`\nFailed (${summary.failed.length}):`);
    for (const name of summary.failed) console.log(`  ✗ ${name}`);
  }
  if (ran === 0) console.log("\nNo tests ran");
  const skipped = summary.skipped > 0 ? `, ${summary.skipped} skipped` : "";
  console.log(`${summary.passed} passed, ${summary.failed.length} failed${skipped}`);
  return summary.failed.length > 0 || ran === 0 ? 1 : 0;
}

function option(args: string[], name: string): string | undefined {
  const index = args.indexOf(name);
  return index === -1 ? undefined : args[index + 1];
}

/**
 * Bun writes nested `<testsuite>` (file, then one per describe) around `<testcase>`; a case with a
 * `<failure>` or `<error>` child failed, one with `<skipped>` (also used for todo) was skipped.
 * The report is machine-written and flat enough that a tag scanner is exact here.
 */
export function readJunit(xml: string, summary: Summary): void {
  const suites: string[] = [];
  let current: { name: string; outcome: "passed" | "failed" | "skipped"; message: string } | undefined;
  const finish = () => {
    if (!current) return;
    if (current.outcome === "passed") summary.passed++;
    else if (current.outcome === "skipped") summary.skipped++;
    else summary.failed.push(current.message ? `${current.name}: ${current.message}` : current.name);
    current = undefined;
  };
  for (const match of xml.matchAll(/<(\/?)(testsuite|testcase|failure|error|skipped)\b([^>]*?)(\/?)>/g)) {
    const [, closing, tag, rawAttrs = "", selfClosing] = match;
    const attrs = attributes(rawAttrs);
    if (tag === "testsuite") {
      if (closing) suites.pop();
      else if (!selfClosing) suites.push(attrs.name ?? "");
    } else if (tag === "testcase") {
      if (closing) {
        finish();
        continue;
      }
      // Bun names a failing hook (beforeAll/afterAll) "(unnamed)", and drops the tests it prevented.
      const name = attrs.name === "(unnamed)" ? "(a hook)" : (attrs.name ?? "");
      current = { name: [...suites, name].join(" > "), outcome: "passed", message: "" };
      if (selfClosing) finish();
    } else if (current && !closing) {
      if (tag === "skipped") {
        if (current.outcome !== "failed") current.outcome = "skipped";
      } else {
        current.outcome = "failed";
        current.message ||= firstLine(attrs.message ?? attrs.type ?? "");
      }
    }
  }
  finish();
}

/** Failures Bun reports only on the console: `# Unhandled error between tests`, per file. */
export function errorsOutsideTests(log: string): string[] {
  const errors: string[] = [];
  let file = "(unknown file)";
  const lines = log.split("\n");
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i] ?? "";
    const header = /^(\S.*\.(?:test|spec)\.[cm]?[jt]sx?|\S.*_(?:test|spec)\.[cm]?[jt]sx?):$/.exec(line);
    if (header?.[1]) file = header[1];
    if (line.trim() !== "# Unhandled error between tests") continue;
    const message = lines.slice(i + 1, i + 40).find((l) => /^\s*(error|\w*Error)\b.*:/.test(l));
    errors.push(`${file} > (outside any test): ${firstLine(message?.trim() ?? "unhandled error")}`);
  }
  return errors;
}

function attributes(raw: string): Record<string, string> {
  const attrs: Record<string, string> = {};
  for (const [, key, value] of raw.matchAll(/([\w:-]+)="([^"]*)"/g)) if (key) attrs[key] = unescapeXml(value ?? "");
  return attrs;
}

function unescapeXml(text: string): string {
  return text.replace(/&(#x[0-9a-f]+|#\d+|lt|gt|amp|quot|apos);/gi, (_, entity: string) => {
    const named: Record<string, string> = { lt: "<", gt: ">", amp: "&", quot: '"', apos: "'" };
    if (entity[0] !== "#") return named[entity.toLowerCase()] ?? "";
    return String.fromCodePoint(
      entity[1] === "x" || entity[1] === "X" ? parseInt(entity.slice(2), 16) : Number(entity.slice(1)),
    );
  });
}

function firstLine(text: string): string {
  const line = text.split("\n").find((l) => l.trim() !== "") ?? "";
  return line.length > 200 ? `${line.slice(0, 197)}...` : line.trim();
}

if (import.meta.main) process.exit(main(process.argv.slice(2)));
