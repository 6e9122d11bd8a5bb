/**
 * Bundles tests/interop/js/web-entry.mjs (snet-sdk-web 4.2.2 and the page's dApp code) for the browser
 * with Bun's bundler, as a dApp's build would (webpack, vite); about 2.6 MB, under a second.
 *
 * @example
 * const file = await bundleWebEntry(outDir);
 */
import { join } from "node:path";
import { JS_DIR } from "./clients.ts";

/** Writes the bundle into `outDir` and returns its path; throws the bundler's messages on failure. */
export async function bundleWebEntry(outDir: string): Promise<string> {
  const result = await Bun.build({
    entrypoints: [join(JS_DIR, "web-entry.mjs")],
    target: "browser",
    outdir: outDir,
    // The SDK's logger reads process.env.DEBUG; browsers have no process.
    define: { "process.env.DEBUG": "undefined", "process.env.NODE_ENV": '"production"', global: "globalThis" },
  });
  const output = result.outputs[0];
  if (!result.success || !output)
    throw new Error(`Bundling ${join(JS_DIR, "web-entry.mjs")} failed:\n${result.logs.map(String).join("\n")}`);
  return output.path;
}
