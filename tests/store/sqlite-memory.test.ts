import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { memoryStore } from "../../src/store/memory.ts";
import { sqliteStore } from "../../src/store/sqlite.ts";
import { storeContractSuite } from "./contract-suite.ts";

storeContractSuite("memory", async () => {
  const store = memoryStore();
  return { store, cleanup: () => store.close() };
});

for (const writes of ["worker", "inline"] as const)
  storeContractSuite(`sqlite (${writes} writes)`, async () => {
    const dir = mkdtempSync(join(tmpdir(), "snetd-store-"));
    const path = join(dir, "state.sqlite");
    const fixture = {
      store: sqliteStore({ path, writes }),
      reopen: async () => sqliteStore({ path, writes }),
      cleanup: async () => {
        await fixture.store.close();
        rmSync(dir, { recursive: true, force: true });
      },
    };
    return fixture;
  });
