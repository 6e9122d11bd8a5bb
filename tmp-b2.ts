import { readFileSync } from "node:fs";
import { create, toBinary, type DescMessage } from "@bufbuild/protobuf";
import { compileProtos } from "./src/metadata/protos/compile.ts";
import { httpUpstream } from "./src/transport/upstreams/http-upstream.ts";
const src = { "kitchen.proto": readFileSync("tests/upstreams/fixtures/kitchen.proto", "utf8"), "kitchen/parts.proto": readFileSync("tests/upstreams/fixtures/kitchen/parts.proto", "utf8") };
const protos = compileProtos(src);
const reply = JSON.stringify({ user_name: "bob", big: "9007199254740993", tags: ["a", "b"] });
const s = Bun.serve({ port: 0, hostname: "127.0.0.1", fetch: async (r) => { await r.text(); return new Response(reply); } });
const desc = protos.registry.getMessage("kitchen.Everything") as DescMessage;
const msg = toBinary(desc, create(desc, { userName: "bob", big: 5n, tags: ["x", "y"], html: "<b>", small: 3 } as never));
const up = httpUpstream({ endpoint: `http://127.0.0.1:${s.port}/`, protos, maxResponseBytes: 1 << 20 });
const sig = new AbortController().signal;
for (let round = 0; round < 4; round++) {
  const N = 3000;
  let t = performance.now();
  for (let i = 0; i < N; i++) { const c = new AbortController(); const r = await fetch(new URL(`http://127.0.0.1:${s.port}/do_it`), { method: "POST", body: reply, signal: c.signal, headers: new Headers({ "content-type": "application/json" }) }); const rd = r.body!.getReader(); while (!(await rd.read()).done); }
  const direct = (performance.now() - t) / N;
  t = performance.now();
  for (let i = 0; i < N; i++) await up.call({ path: "/kitchen.Kitchen/do_it", message: msg, timeoutMs: 5000, signal: sig });
  const via = (performance.now() - t) / N;
  console.log(`direct ${(direct * 1000).toFixed(0)} µs, adapter ${(via * 1000).toFixed(0)} µs`);
}
s.stop(true);
