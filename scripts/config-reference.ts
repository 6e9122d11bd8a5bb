/** Prints the markdown configuration reference generated from the schema: `bun scripts/config-reference.ts`. */
import { renderReference } from "../src/config/render.ts";

process.stdout.write(renderReference());
