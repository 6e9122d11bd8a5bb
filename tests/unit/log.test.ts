// The daemon's log (reference `log.*` keys): levels, text or JSON lines, file output with size rotation.
import { describe, expect, test } from "bun:test";
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createLogger } from "../../src/ops/log.ts";

describe("daemon log", () => {
  test("json lines carry time, level, message and fields (bigints as text); levels below the threshold are dropped", async () => {
    const dir = mkdtempSync(join(tmpdir(), "snetd-log-"));
    try {
      const log = createLogger({ level: "info", format: "json", outputs: ["file"], filePattern: join(dir, "d.log") });
      log.debug("hidden");
      log.info("paid", { channel: 5n, amount: 100n });
      log.warn("careful", { nested: { a: 1 } });
      await log.close();
      const lines = readFileSync(join(dir, "d.log"), "utf8")
        .trim()
        .split("\n")
        .map((l) => JSON.parse(l) as Record<string, unknown>);
      expect(lines.map((l) => l.msg)).toEqual(["paid", "careful"]);
      expect(lines[0]).toMatchObject({ level: "info", channel: "5", amount: "100" });
      expect(lines[1]).toMatchObject({ level: "warn", nested: { a: 1 } });
      expect(Number.isNaN(Date.parse(lines[0]!.time as string))).toBe(false);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test("text lines are one per message with key=value fields", async () => {
    const dir = mkdtempSync(join(tmpdir(), "snetd-log-"));
    try {
      const log = createLogger({ level: "debug", format: "text", outputs: ["file"], filePattern: join(dir, "t.log") });
      log.debug("starting", { endpoint: "127.0.0.1:8080", payments: true });
      await log.close();
      expect(readFileSync(join(dir, "t.log"), "utf8")).toMatch(
        /^\S+ DEBUG starting endpoint="127\.0\.0\.1:8080" payments=true\n$/,
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test("the file rotates by size (max_size_in_mb) and keeps at most rotation_count files", async () => {
    const dir = mkdtempSync(join(tmpdir(), "snetd-log-"));
    try {
      const log = createLogger({
        level: "info",
        format: "text",
        outputs: ["file"],
        filePattern: join(dir, "r.log"),
        maxSizeMb: 1,
        rotationCount: 2,
      });
      const filler = "x".repeat(1000);
      for (let i = 0; i < 3500; i++) log.info(filler, { i });
      await log.close();
      await Bun.sleep(500);
      const files = readdirSync(dir);
      expect(files).toContain("r.log");
      // Rotated files are gzipped; rotating-file-stream also keeps its history in r.log.txt.
      const rotated = files.filter((f) => f.endsWith(".gz"));
      expect(rotated.length).toBeGreaterThanOrEqual(1);
      expect(rotated.length).toBeLessThanOrEqual(2);
      expect(statSync(join(dir, "r.log")).size).toBeLessThanOrEqual(1024 * 1024 + 2048);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
