/** The logger the configuration asks for (`log.*`). */
import type { Config } from "../config/schema.ts";
import { createLogger, type Logger } from "../ops/log.ts";

export function loggerFor(config: Config): Logger {
  return createLogger({
    level: config.log.level,
    format: config.log.formatter.type,
    outputs: config.log.output.type,
    filePattern: config.log.output.file_pattern,
    maxSizeMb: config.log.output.max_size_in_mb,
    rotationCount: config.log.output.rotation_count,
  });
}
