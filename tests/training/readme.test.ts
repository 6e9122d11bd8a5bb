// The README's Training section shows a configuration and a provider's proto; both must be what snetd
// accepts (the Python example is run by sdk-python.test.ts).
import { describe, expect, test } from "bun:test";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { loadConfig } from "../../src/config/load.ts";
import { compileProtos } from "../../src/metadata/protos/compile.ts";
import { trainingCatalog } from "../../src/training/catalog.ts";
import { tempDir } from "../config/kit.ts";

const readme = readFileSync(new URL("../../README.md", import.meta.url), "utf8");
const section = readme.slice(readme.indexOf("## Training"), readme.indexOf("## Payment state"));
const FENCE = "```";
const block = (lang: string) => {
  const m = new RegExp(`${FENCE}${lang}\\n([\\s\\S]*?)${FENCE}`).exec(section);
  if (!m) throw new Error(`the README's Training section has no ${lang} block`);
  return m[1] as string;
};

describe("README: Training", () => {
  test("the example configuration loads, with training on and the provider's endpoint", () => {
    const dir = tempDir();
    writeFileSync(join(dir, "snetd.yaml"), block("yaml"));
    const { config } = loadConfig({ file: "snetd.yaml", env: {}, cwd: dir });
    expect(config.model_training_enabled).toBe(true);
    expect(config.model_maintenance_endpoint).toBe("http://127.0.0.1:5001");
  });

  test("the example proto compiles with the daemon's training.proto and has a trainable method with its options", () => {
    const catalog = trainingCatalog(compileProtos({ "painter.proto": block("proto") }));
    expect(Object.fromEntries(catalog.methods)).toEqual({ Painter: ["draw"] });
    expect(catalog.options("Painter", "draw")).toMatchObject({
      defaultModelId: "base",
      maxModelsPerUser: 3n,
      datasetType: "zip",
    });
  });
});
