// snet-sdk-web 4.2.2 calls from a page in headless Chromium against an interop world, run by Node:
//
//   node web-calls.mjs <bundle.js> <world.json> <mode: escrow|prepaid|free> <calls> <client index> [<free-call.json>]
//
// Serves a page and the bundle (tests/interop/web-bundle.ts) from its own loopback port, so the page's
// origin differs from the daemon's, anvil's and IPFS's: every call is a cross-origin request (CORS,
// gRPC-Web). Drives Debian's chromium through playwright-core. Prints `RESULT <json>` as node-calls.mjs
// does, plus `CONSOLE` lines with the page's errors.
import { readFileSync } from "node:fs";
import { createServer } from "node:http";
import { chromium } from "playwright-core";

const [bundleFile, worldFile, mode, callsText, clientText, freeCallFile] = process.argv.slice(2);
const info = JSON.parse(readFileSync(worldFile, "utf8"));
const freeCall = freeCallFile ? JSON.parse(readFileSync(freeCallFile, "utf8")) : undefined;
const bundle = readFileSync(bundleFile);
// The `process` stub a dApp's bundler config provides (webpack's ProvidePlugin): the SDK's logger and
// web3's dependencies read process.env and process.nextTick.
const PROCESS_SHIM =
  "globalThis.process={env:{},browser:true,version:'',versions:{},nextTick:(f,...a)=>queueMicrotask(()=>f(...a))};";
const PAGE = `<!doctype html><meta charset="utf-8"><title>snetd interop</title><script>${PROCESS_SHIM}</script><script src="/app.js"></script>`;

const server = createServer((req, res) => {
  if (req.url === "/app.js") res.writeHead(200, { "content-type": "text/javascript" }).end(bundle);
  else res.writeHead(200, { "content-type": "text/html" }).end(PAGE);
});
await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
const origin = `http://127.0.0.1:${server.address().port}`;

const browser = await chromium.launch({
  executablePath: process.env.SNETD_CHROMIUM ?? "/usr/bin/chromium",
  headless: true,
  args: [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
  ],
});
let results;
try {
  const page = await browser.newPage();
  page.on("console", (m) => m.type() === "error" && console.log(`CONSOLE ${m.text().slice(0, 500)}`));
  page.on("pageerror", (e) => console.log(`CONSOLE pageerror ${e.message}`));
  // SNETD_INTEROP_TRACE=1: print each gRPC-Web request the page sends (headers, body as hex), to see the wire.
  if (process.env.SNETD_INTEROP_TRACE === "1") {
    page.on("console", (m) => m.type() !== "error" && console.log(`CONSOLE ${m.type()} ${m.text().slice(0, 500)}`));
    page.on("request", (r) => {
      if (r.method() === "POST" && r.headers()["content-type"]?.startsWith("application/grpc-web")) {
        console.log(`TRACE ${r.url()} ${JSON.stringify(r.headers())} ${r.postDataBuffer()?.toString("hex") ?? ""}`);
      }
    });
  }
  await page.goto(origin);
  results = await page.evaluate((args) => window.snetInterop.run(args), {
    info,
    clientIndex: Number(clientText),
    mode,
    calls: Number(callsText),
    freeCall,
  });
} finally {
  await browser.close();
  server.close();
}
console.log(`ORIGIN ${origin}`);
console.log(`RESULT ${JSON.stringify(results)}`);
process.exit(0);
