/**
 * The config file source: a .json, .yaml or .yml file read and flattened into a layer. Syntax errors are
 * reported with their line and column.
 */
import { extname, resolve } from "node:path";
import { parseDocument } from "yaml";
import { isRecord, kindOf, type Layer, newLayer, visit } from "./flatten.ts";
import { locateJsonError } from "./json-position.ts";

export const DEFAULT_CONFIG_FILE = "snetd.config.json";

export function readConfigFile(
  given: string | undefined,
  cwd: string,
  read: (path: string) => string | Uint8Array,
): { layer: Layer; path?: string } {
  const layer = newLayer();
  const shown = given ?? DEFAULT_CONFIG_FILE;
  const path = resolve(cwd, shown);
  const fileProblem = (reason: string, expected: string) => {
    layer.problems.push({ path: "config file", given: shown, reason, expected });
    return { layer };
  };
  const format = extname(path).toLowerCase();
  if (![".json", ".yaml", ".yml"].includes(format)) {
    return fileProblem(`has the extension "${format}"`, "a .json, .yaml or .yml file");
  }
  let text: string;
  try {
    const content = read(path);
    text = (typeof content === "string" ? content : new TextDecoder("utf-8", { fatal: true }).decode(content)).replace(
      /^\uFEFF/,
      "",
    );
  } catch (err) {
    if (err instanceof TypeError) return fileProblem("is not UTF-8 text", "a UTF-8 text file");
    const code = (err as { code?: unknown }).code;
    if (code === "ENOENT" && given === undefined) return { layer }; // no default file: defaults + env only
    if (code === "ENOENT") return fileProblem("does not exist", `an existing file (looked for ${path})`);
    return fileProblem(`cannot be read (${typeof code === "string" ? code : String(err)})`, "a readable file");
  }
  const parsed = withinLimits(() => (format === ".json" ? parseJson(text) : parseYaml(text)));
  if (!parsed.ok) {
    const syntax = format === ".json" ? "JSON" : "YAML";
    layer.problems.push({
      path: shown,
      given: undefined,
      reason: `bad ${syntax} at line ${parsed.line}, column ${parsed.column}: ${printable(parsed.message)}`,
      expected: format === ".json" ? "a JSON object of config keys" : "a YAML mapping of config keys",
    });
    return { layer, path };
  }
  const doc = parsed.value ?? {}; // an empty YAML file sets nothing
  if (!isRecord(doc)) {
    layer.problems.push({
      path: shown,
      given: undefined,
      reason: `holds ${kindOf(doc)}`,
      expected: "a mapping of config keys",
    });
    return { layer, path };
  }
  const seen = visit(doc, "", { layer, where: ` in ${shown}`, typedPrefix: "" });
  // visit() only descends into known sections, a few levels deep, so the parser's limits are enough.
  // protocol/config.md#etcd-member: the embedded etcd member runs when its section is present in the file, unless disabled
  const server = "payment_channel_storage_server";
  if (seen.has(server) && !layer.values.has(`${server}.enabled`)) layer.values.set(`${server}.enabled`, true);
  return { layer, path };
}

/** The parser quotes the offending character raw; a carriage return or NUL would garble the one-line problem. */
const printable = (text: string) =>
  // biome-ignore lint/suspicious/noControlCharactersInRegex: it finds control characters in order to escape them
  text.replace(/[\u0000-\u001f\u007f\u2028\u2029]/g, (c) => JSON.stringify(c).slice(1, -1));

type Parsed = { ok: true; value: unknown } | { ok: false; line: number; column: number; message: string };

/**
 * A hostile or broken file must end in a config problem (exit 2), not a crash: the yaml library throws when
 * aliases expand past its budget (an "alias bomb"), and the parsers run out of stack on deep nesting.
 */
function withinLimits(parse: () => Parsed): Parsed {
  try {
    return parse();
  } catch (err) {
    const message =
      err instanceof RangeError ? "the document nests too deeply" : err instanceof Error ? err.message : String(err);
    return { ok: false, line: 1, column: 1, message };
  }
}

function parseYaml(text: string): Parsed {
  const doc = parseDocument(text, {
    // Integers stay exact (cog amounts above 2^53), and 0x… stays text: unquoted addresses are common
    intAsBigInt: true,
    customTags: (tags) =>
      tags.filter((t) => !(typeof t === "object" && "format" in t && (t.format === "HEX" || t.format === "OCT"))),
  });
  const err = doc.errors[0];
  if (!err) return { ok: true, value: smallIntsAsNumbers(doc.toJS()) };
  const pos = err.linePos?.[0];
  const message = (err.message.split("\n")[0] ?? err.message).replace(/ at line \d+, column \d+:?$/, "");
  return { ok: false, line: pos?.line ?? 1, column: pos?.col ?? 1, message };
}

/** Integers that fit a double become numbers again, so YAML and JSON give the same values. */
function smallIntsAsNumbers(value: unknown): unknown {
  if (typeof value === "bigint") {
    return value >= BigInt(Number.MIN_SAFE_INTEGER) && value <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(value) : value;
  }
  if (Array.isArray(value)) return value.map(smallIntsAsNumbers);
  if (isRecord(value)) return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, smallIntsAsNumbers(v)]));
  return value;
}

function parseJson(text: string): Parsed {
  try {
    return { ok: true, value: JSON.parse(text) };
  } catch (err) {
    // JSON.parse in Bun gives no position; find it ourselves
    const found = locateJsonError(text);
    const offset = found?.offset ?? 0;
    const before = text.slice(0, offset).split("\n");
    const message = found?.message ?? String((err as Error).message);
    return { ok: false, line: before.length, column: (before[before.length - 1] ?? "").length + 1, message };
  }
}
