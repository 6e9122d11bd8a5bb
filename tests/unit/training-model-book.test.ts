// The training model book (training/model-book.ts) on the store contract: every change of a model moves
// its index entries (user, public, pending) in the same transaction, concurrent updates lose nothing, and
// the record encoding is versioned. Runs on the embedded SQLite store, as the daemon does by default.
import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Status } from "../../src/gen/training_pb.ts";
import type { Store } from "../../src/store/contract.ts";
import { sqliteStore } from "../../src/store/sqlite.ts";
import { decodeModel, encodeModel, type ModelRecord, trainingKeys } from "../../src/store/training-records.ts";
import { type ModelBook, modelBook } from "../../src/training/model-book.ts";

const A = "0x90F79bf6EB2c4f870365E785982E1f101E93b906";
const B = "0x15d34AAf54267DB7D7c367839AAf71A00a2C6A65";
const keys = trainingKeys("/snetd/v1/31337/0xmpe/org/0xgroup", "svc/with slash");

const model = (id: string, over: Partial<ModelRecord> = {}): ModelRecord => ({
  modelId: id,
  status: Status.CREATED,
  name: "n",
  description: "",
  grpcMethodName: "draw",
  grpcServiceName: "Painter",
  addressList: [B, A.toLowerCase()],
  isPublic: false,
  trainingDataLink: "",
  createdBy: A.toLowerCase(),
  updatedBy: A.toLowerCase(),
  createdAt: "2026-01-02T03:04:05.000Z",
  updatedAt: "2026-01-02T03:04:05.000Z",
  organizationId: "org",
  serviceId: "svc",
  groupId: "Z3JvdXA=",
  ...over,
});

let dir: string;
let store: Store;
let book: ModelBook;

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), "snetd-training-"));
  store = sqliteStore({ path: join(dir, "state.db") });
  book = modelBook(store, keys);
});

afterEach(async () => {
  await store?.close();
  rmSync(dir, { recursive: true, force: true });
});

const indexKeys = async () =>
  (await store.list(keys.userPrefix.replace(/user\/$/, "")))
    .map((e) => e.key.slice(keys.userPrefix.length - "user/".length))
    .filter((k) => !k.startsWith("model/"));

describe("model book", () => {
  test("indexes follow the record: users on its list, public, pending while the provider works, none once deleted", async () => {
    expect(await book.create(model("m/1"))).toBe(true);
    expect(await book.create(model("m/1"))).toBe(false);
    expect(await indexKeys()).toEqual([`user/${B.toLowerCase()}/m%2F1`, `user/${A.toLowerCase()}/m%2F1`]);
    expect((await book.ofUser(B)).map((m) => m.modelId)).toEqual(["m/1"]);

    await book.update("m/1", (m) => ({ ...m, isPublic: true, status: Status.TRAINING, addressList: [A] }));
    expect(await indexKeys()).toEqual(["pending/m%2F1", "public/m%2F1", `user/${A.toLowerCase()}/m%2F1`]);
    expect(await book.ofUser(B)).toEqual([]);
    expect(await book.pendingIds()).toEqual(["m/1"]);
    expect((await book.publicModels()).map((m) => m.modelId)).toEqual(["m/1"]);

    await book.update("m/1", (m) => ({ ...m, status: Status.READY_TO_USE }));
    expect(await book.pendingIds()).toEqual([]);
    await book.update("m/1", (m) => ({ ...m, status: Status.DELETED }));
    expect(await indexKeys()).toEqual([]);
    expect((await book.get("m/1"))?.status).toBe(Status.DELETED);
    expect(await book.update("nope", (m) => m)).toBeUndefined();
  });

  test("concurrent updates of one model are all applied (compare-and-swap, retried)", async () => {
    await book.create(model("m"));
    await Promise.all(
      Array.from({ length: 20 }, (_, i) => book.update("m", (m) => ({ ...m, description: `${m.description}${i},` }))),
    );
    const parts = (await book.get("m"))!.description.split(",").filter(Boolean);
    expect(parts.sort((x, y) => Number(x) - Number(y))).toEqual(Array.from({ length: 20 }, (_, i) => String(i)));
  });

  test("records are versioned JSON: prices as decimal strings, the status by name; another version is refused", () => {
    const m = model("m", { validatePrice: 12345678901234567890n, status: Status.VALIDATED });
    const text = encodeModel(m);
    expect(JSON.parse(text)).toMatchObject({ v: 1, status: "VALIDATED", validate_price: "12345678901234567890" });
    expect(decodeModel(text)).toEqual(m);
    expect(decodeModel(encodeModel({ ...m, status: 42 as Status })).status).toBe(42 as Status);
    expect(() => decodeModel(text.replace('"v":1', '"v":2'))).toThrow(
      "model record has encoding version 2, this snetd reads version 1",
    );
  });
});
