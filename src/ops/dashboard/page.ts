/**
 * The dashboard page: one HTML document with its style and script inline, kept here as strings so
 * `bun build --compile` embeds it and no front-end build exists. The script reads the admin token from the
 * URL fragment (`#token=…`, never sent to the server or logged) or a form, keeps it in sessionStorage,
 * and reads the live stream (`api/events`) with fetch, because EventSource cannot send an Authorization
 * header. Every value is set with textContent: nothing from the daemon is parsed as HTML.
 */
import { createHash } from "node:crypto";

const STYLE = `
:root { color-scheme: light dark; --ok: #1a7f37; --bad: #cf222e; --warn: #9a6700; --off: #6e7781; --line: #d0d7de80; }
* { box-sizing: border-box; }
body { font: 14px/1.45 system-ui, sans-serif; margin: 0; padding: 16px 24px; }
header { display: flex; flex-wrap: wrap; gap: 8px 24px; align-items: baseline; border-bottom: 1px solid var(--line); padding-bottom: 8px; }
h1 { font-size: 18px; margin: 0; }
h2 { font-size: 14px; text-transform: uppercase; letter-spacing: .04em; color: var(--off); margin: 20px 0 8px; }
.muted { color: var(--off); }
#status.ok { color: var(--ok); } #status.warn { color: var(--warn); } #status.bad { color: var(--bad); }
.tiles { display: flex; flex-wrap: wrap; gap: 8px; }
.tile { border: 1px solid var(--line); border-left: 6px solid var(--off); border-radius: 6px; padding: 8px 12px; min-width: 170px; }
.tile.up { border-left-color: var(--ok); } .tile.down { border-left-color: var(--bad); } .tile.warning { border-left-color: var(--warn); }
.tile b { display: block; } .tile .state { font-weight: 600; }
.numbers { display: flex; flex-wrap: wrap; gap: 24px; }
.number span { display: block; font-size: 22px; font-variant-numeric: tabular-nums; }
table { border-collapse: collapse; width: 100%; font-variant-numeric: tabular-nums; }
th, td { text-align: left; padding: 4px 8px; border-bottom: 1px solid var(--line); }
td.num, th.num { text-align: right; }
tr.soon td { color: var(--bad); }
svg { width: 100%; max-width: 640px; height: 60px; border: 1px solid var(--line); border-radius: 4px; }
form { display: flex; gap: 8px; margin: 24px 0; } input { flex: 1; max-width: 420px; padding: 6px; }
[hidden] { display: none !important; }
`;

const SCRIPT = `
(function () {
  "use strict";
  var KEY = "snetd-dashboard-token";
  var base = location.pathname.replace(/\\/?$/, "/");
  var m = /(?:^#|&)token=([^&]+)/.exec(location.hash);
  if (m) {
    sessionStorage.setItem(KEY, decodeURIComponent(m[1]));
    history.replaceState(null, "", location.pathname + location.search);
  }
  var $ = function (id) { return document.getElementById(id); };
  var sleep = function (ms) { return new Promise(function (r) { setTimeout(r, ms); }); };
  function auth() { var t = sessionStorage.getItem(KEY); return t ? { Authorization: "Bearer " + t } : {}; }
  function grouped(s) { return String(s).replace(/\\B(?=(\\d{3})+(?!\\d))/g, ","); }
  function ago(iso) { if (!iso) return ""; var s = Math.max(0, Math.round((Date.now() - Date.parse(iso)) / 1000)); return s < 90 ? s + " s ago" : Math.round(s / 60) + " min ago"; }
  function short(a) { return a && a.length > 14 ? a.slice(0, 8) + "…" + a.slice(-4) : a; }
  function status(text, cls) { $("status").textContent = text; $("status").className = cls; }
  function cell(tr, text, cls) { var td = document.createElement("td"); td.textContent = text; if (cls) td.className = cls; tr.appendChild(td); }
  function rows(id, items, fill, empty) {
    var body = $(id); body.replaceChildren();
    if (!items.length) { var tr = document.createElement("tr"); cell(tr, empty, "muted"); tr.firstChild.colSpan = 9; body.appendChild(tr); return; }
    items.forEach(function (it) { var tr = document.createElement("tr"); fill(tr, it); body.appendChild(tr); });
  }
  function render(s) {
    $("who").textContent = s.daemon.organization_id + " / " + s.daemon.service_id + " / " + s.daemon.group;
    $("version").textContent = "snetd " + s.daemon.version + ", up since " + new Date(s.daemon.started_at).toLocaleString();
    $("updated").textContent = "updated " + new Date(s.at).toLocaleTimeString();
    var tiles = $("health"); tiles.replaceChildren();
    s.health.forEach(function (h) {
      var d = document.createElement("div"); d.className = "tile " + h.state; d.dataset.name = h.name;
      var b = document.createElement("b"); b.textContent = h.name; d.appendChild(b);
      var st = document.createElement("span"); st.className = "state"; st.textContent = h.state; d.appendChild(st);
      var dt = document.createElement("div"); dt.className = "muted"; dt.textContent = h.detail + (h.since ? " (" + ago(h.since) + ")" : ""); d.appendChild(dt);
      tiles.appendChild(d);
    });
    var pm = s.calls.perMinute;
    $("calls-minute").textContent = grouped(pm.length ? pm[pm.length - 1] : 0);
    $("calls-total").textContent = grouped(s.calls.total);
    $("calls-inflight").textContent = grouped(s.calls.inFlight);
    var max = Math.max.apply(null, pm.concat([1]));
    $("spark").setAttribute("points", pm.map(function (v, i) { return (i * 600 / Math.max(1, pm.length - 1)).toFixed(1) + "," + (58 - v * 54 / max).toFixed(1); }).join(" "));
    $("earned").textContent = grouped(s.earnings.earnedCogs);
    $("unclaimed").textContent = grouped(s.earnings.unclaimedCogs);
    $("claimed").textContent = grouped(s.earnings.claimedCogs);
    var head = s.currentBlock ? BigInt(s.currentBlock) : null;
    rows("channels", s.channels, function (tr, c) {
      var left = head === null ? null : BigInt(c.expiration) - head;
      if (left !== null && left < 5760n) tr.className = "soon";
      cell(tr, c.id); cell(tr, short(c.sender)); cell(tr, grouped(c.unclaimedCogs), "num"); cell(tr, grouped(c.expiration), "num");
      cell(tr, left === null ? "" : grouped(left), "num");
    }, "no channels with unclaimed payments");
    rows("claims", s.claims, function (tr, c) {
      cell(tr, new Date(c.at).toLocaleString()); cell(tr, c.channelIds.join(", ")); cell(tr, grouped(c.amountCogs), "num");
      cell(tr, c.status + (c.detail ? ": " + c.detail : "")); cell(tr, c.tx ? short(c.tx) : "");
    }, "no claims yet");
    rows("refusals", s.refusals, function (tr, r) { cell(tr, r.reason); cell(tr, grouped(r.count), "num"); cell(tr, ago(r.last)); }, "no refusals");
    $("tls").textContent = s.tls ? s.tls.source + " certificate for " + s.tls.names.join(", ") + ", valid until " + new Date(s.tls.notAfter).toLocaleString() : "no TLS on the daemon port";
  }
  function handle(block) {
    var data = [];
    block.split("\\n").forEach(function (l) { if (l.indexOf("data:") === 0) data.push(l.slice(5).replace(/^ /, "")); });
    if (data.length) render(JSON.parse(data.join("\\n")));
  }
  function login(message) {
    $("main").hidden = true; $("login").hidden = false; $("login-msg").textContent = message; status("signed out", "bad");
  }
  async function live() {
    for (;;) {
      try {
        var res = await fetch(base + "api/events", { headers: auth(), cache: "no-store" });
        if (res.status === 401) return login(sessionStorage.getItem(KEY) ? "The token was refused." : "Enter the admin token.");
        if (!res.ok || !res.body) throw new Error("HTTP " + res.status);
        $("login").hidden = true; $("main").hidden = false; status("live", "ok");
        var reader = res.body.getReader(), dec = new TextDecoder(), buf = "";
        for (;;) {
          var r = await reader.read();
          if (r.done) break;
          buf += dec.decode(r.value, { stream: true }).replace(/\\r\\n/g, "\\n");
          for (var i = buf.indexOf("\\n\\n"); i >= 0; i = buf.indexOf("\\n\\n")) { handle(buf.slice(0, i)); buf = buf.slice(i + 2); }
        }
      } catch (e) { /* fall through to reconnect */ }
      status("reconnecting…", "warn");
      await sleep(2000);
    }
  }
  $("login").addEventListener("submit", function (ev) {
    ev.preventDefault(); sessionStorage.setItem(KEY, $("token").value.trim()); $("token").value = ""; live();
  });
  live();
})();
`;

const BODY = `<header>
  <h1 id="who">snetd</h1><span id="version" class="muted"></span><span id="status" class="warn">connecting…</span><span id="updated" class="muted"></span>
</header>
<form id="login" hidden><label for="token">Admin token</label><input id="token" type="password" autocomplete="off"><button>Open</button><span id="login-msg" class="muted"></span></form>
<main id="main">
  <h2>Health</h2><div id="health" class="tiles"></div>
  <h2>Calls</h2>
  <div class="numbers">
    <div class="number">this minute<span id="calls-minute">–</span></div>
    <div class="number">since start<span id="calls-total">–</span></div>
    <div class="number">in flight<span id="calls-inflight">–</span></div>
  </div>
  <svg viewBox="0 0 600 60" preserveAspectRatio="none" aria-label="calls per minute, last hour"><polyline id="spark" fill="none" stroke="currentColor" stroke-width="1.5" points=""/></svg>
  <h2>Earnings (cogs)</h2>
  <div class="numbers">
    <div class="number">earned since start<span id="earned">–</span></div>
    <div class="number">unclaimed<span id="unclaimed">–</span></div>
    <div class="number">claimed<span id="claimed">–</span></div>
  </div>
  <h2>Channels with unclaimed payments</h2>
  <table><thead><tr><th>channel</th><th>sender</th><th class="num">unclaimed (cogs)</th><th class="num">expires at block</th><th class="num">blocks left</th></tr></thead><tbody id="channels"></tbody></table>
  <h2>Recent claims</h2>
  <table><thead><tr><th>when</th><th>channels</th><th class="num">amount (cogs)</th><th>status</th><th>transaction</th></tr></thead><tbody id="claims"></tbody></table>
  <h2>Refusals by reason</h2>
  <table><thead><tr><th>reason</th><th class="num">count</th><th>last</th></tr></thead><tbody id="refusals"></tbody></table>
  <h2>TLS</h2><div id="tls" class="muted"></div>
</main>`;

export const DASHBOARD_HTML = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer"><title>snetd dashboard</title>
<style>${STYLE}</style></head>
<body>${BODY}
<script>${SCRIPT}</script></body></html>
`;

const sha256 = (text: string) => `'sha256-${createHash("sha256").update(text).digest("base64")}'`;

/** Only the page's own inline script and style may run; data comes from the same origin. */
export const DASHBOARD_CSP = `default-src 'none'; script-src ${sha256(SCRIPT)}; style-src ${sha256(STYLE)}; connect-src 'self'; img-src 'self'; form-action 'none'; frame-ancestors 'none'; base-uri 'none'`;
