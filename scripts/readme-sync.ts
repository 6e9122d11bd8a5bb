/** Rewrites the generated parts of README.md (the configuration reference) from the schema. */
import { readFileSync, writeFileSync } from "node:fs";
import { renderReference } from "../src/config/render.ts";

export const START = "<!-- config-reference:start -->";
export const END = "<!-- config-reference:end -->";

export function withReference(readme: string): string {
  const a = readme.indexOf(START);
  const b = readme.indexOf(END);
  if (a < 0 || b < a) throw new Error(`README.md lacks the ${START} … ${END} markers`);
  return `${readme.slice(0, a + START.length)}\n${renderReference().trim()}\n${readme.slice(b)}`;
}

if (import.meta.main) {
  const path = new URL("../README.md", import.meta.url);
  writeFileSync(path, withReference(readFileSync(path, "utf8")));
  console.log("README.md configuration reference updated");
}
