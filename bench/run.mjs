// make bench: the SDK against a JavaScript peer in headless Chromium.
//
// Seals the four Synthea bundles of ../shared/data/fhir/synthea (0.4, 1, 3.5
// and 9.1 MB) as JWE (dir/A256GCM, no zip: jose no longer inflates), serves
// them, the built SDK (pkg/) and the benchmark page over loopback, and opens
// each record several times with:
//   sdk       the SDK, WebCrypto AES-GCM (the default where crypto.subtle exists)
//   sdk-wasm  the SDK with crypto: "wasm" (the portable AES-GCM)
//   peer      npm jose compactDecrypt + JSON.parse + one table committed to the DOM
// Per stage (fetch, decrypt, parse, consent, render including layout) it
// reports the median, the ratio SDK / peer, decrypt throughput, the time from
// plaintext to chart on screen, long main-thread tasks, memory, the cost per
// MB (least-squares slope), and the download size of each side. Writes
// bench/results.json and bench/results.md and prints the markdown.
//
// BENCH_RUNS (default 7) sets the measured runs per record and side.
// BENCH_PKG (default pkg/) serves another build of the package as /pkg/, to
// compare two builds (e.g. one without the zeroing allocator).

import { createServer } from "node:http";
import { readFile, readdir, writeFile } from "node:fs/promises";
import { existsSync } from "node:fs";
import { randomBytes } from "node:crypto";
import { gzipSync } from "node:zlib";
import { extname, join, normalize, resolve } from "node:path";
import { fileURLToPath } from "node:url";

import { CompactEncrypt } from "jose";
import { chromium } from "playwright-core";
import { buildSync } from "esbuild";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const DATA = fileURLToPath(new URL("../../shared/data/fhir/synthea/", import.meta.url));
const RUNS = Number(process.env.BENCH_RUNS ?? 7);
const PKG = process.env.BENCH_PKG ? resolve(process.env.BENCH_PKG) : join(ROOT, "pkg");
const SIDES = ["sdk", "sdk-wasm", "peer"];
const STAGES = ["fetch", "decrypt", "parse", "consent", "render"];

if (!existsSync(join(PKG, "patient_portal_sdk_bg.wasm"))) throw new Error(`${PKG} is not built: run \`make pkg\``);

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const round = (x, d = 1) => Math.round(x * 10 ** d) / 10 ** d;
const gz = (buf) => gzipSync(buf, { level: 9 }).length;

// ---------------------------------------------------------------------------
// Records.
const records = [];
for (const name of (await readdir(DATA)).filter((n) => n.endsWith(".json"))) {
  const plain = await readFile(join(DATA, name));
  const key = randomBytes(32);
  const jwe = await new CompactEncrypt(plain).setProtectedHeader({ alg: "dir", enc: "A256GCM", cty: "application/fhir+json" }).encrypt(key);
  const entries = JSON.parse(plain.toString("utf8")).entry.length;
  records.push({ name: name.split("_").slice(0, 2).join(" "), path: `/data/${records.length}.jwe`, bytes: plain.length, jweBytes: jwe.length, entries, jwe, key: key.toString("base64url") });
}
records.sort((a, b) => a.bytes - b.bytes);

// ---------------------------------------------------------------------------
// Loopback server.
const TYPES = { ".html": "text/html; charset=utf-8", ".mjs": "text/javascript", ".js": "text/javascript", ".wasm": "application/wasm", ".json": "application/json" };
const server = createServer(async (req, res) => {
  const path = decodeURIComponent(new URL(req.url, "http://x").pathname);
  const record = records.find((r) => r.path === path);
  if (record) {
    res.writeHead(200, { "content-type": "application/jose", "cache-control": "no-store" });
    return res.end(record.jwe);
  }
  const allowed = path.startsWith("/pkg/") || path.startsWith("/bench/");
  const [dir, rel] = path.startsWith("/pkg/") ? [PKG, path.slice("/pkg/".length)] : [ROOT, path];
  const file = normalize(join(dir, rel));
  if (!allowed || !file.startsWith(dir) || file.includes("..")) {
    res.writeHead(404).end();
    return;
  }
  try {
    const body = await readFile(file);
    res.writeHead(200, { "content-type": TYPES[extname(file)] ?? "application/octet-stream", "cache-control": "no-cache" });
    res.end(body);
  } catch {
    res.writeHead(404).end();
  }
});
await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
const base = `http://127.0.0.1:${server.address().port}`;

// ---------------------------------------------------------------------------
// Browser.
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM_PATH ?? "/usr/bin/chromium",
  args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--no-first-run", "--enable-precise-memory-info"],
});
const results = { date: new Date().toISOString(), runs: RUNS, pkg: PKG, chromium: browser.version(), node: process.version, records: [] };
try {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const page = await context.newPage();
  const errors = [];
  page.on("pageerror", (e) => errors.push(String(e)));
  const cdp = await context.newCDPSession(page);
  await cdp.send("Performance.enable");
  await page.goto(`${base}/bench/page.html`);
  await page.waitForFunction(() => window.benchReady === true, null, { timeout: 30_000 });

  for (const record of records) {
    const samples = Object.fromEntries(SIDES.map((s) => [s, []]));
    const heap = Object.fromEntries(SIDES.map((s) => [s, 0]));
    for (let run = -1; run < RUNS; run++) {
      for (const side of SIDES) {
        const out = await page.evaluate(([url, key, which]) => window.benchRun(url, key, which), [`${base}${record.path}`, record.key, side]);
        if (out.resources !== record.entries) throw new Error(`${side} opened ${out.resources} of ${record.entries} resources of ${record.name}`);
        const { metrics } = await cdp.send("Performance.getMetrics");
        const used = metrics.find((m) => m.name === "JSHeapUsedSize")?.value ?? 0;
        if (run >= 0) {
          samples[side].push(out);
          heap[side] = Math.max(heap[side], used);
        }
      }
    }
    if (errors.length) throw new Error(`page errors: ${errors.join("; ")}`);
    const summary = { name: record.name, mb: round(record.bytes / 1e6, 2), entries: record.entries, sides: {} };
    for (const side of SIDES) {
      const s = samples[side];
      const stages = Object.fromEntries(STAGES.map((k) => [k, round(median(s.map((x) => x.stages[k])))]));
      summary.sides[side] = {
        stages,
        total: round(median(s.map((x) => x.total))),
        open: round(median(s.map((x) => x.stages.decrypt + x.stages.parse + x.stages.consent))),
        afterPlaintext: round(median(s.map((x) => x.afterPlaintext))),
        decryptMBps: round(record.jweBytes / 1e6 / (median(s.map((x) => x.stages.decrypt)) / 1000)),
        longestTask: round(Math.max(...s.map((x) => x.longestTask))),
        longTasks: Math.max(...s.map((x) => x.longTasks)),
        longTaskStages: s.find((x) => x.longestTask === Math.max(...s.map((y) => y.longestTask)))?.longTaskStages ?? [],
        jsHeapMB: round(heap[side] / 1e6),
        wasmMemoryMB: side === "peer" ? 0 : round(Math.max(...s.map((x) => x.wasmMemory)) / 1e6),
      };
    }
    results.records.push(summary);
    process.stderr.write(`  ${record.name} (${summary.mb} MB): sdk ${summary.sides.sdk.total} ms, peer ${summary.sides.peer.total} ms\n`);
  }
} finally {
  await browser.close();
  server.close();
}

// ---------------------------------------------------------------------------
// Sizes.
const wasm = await readFile(join(PKG, "patient_portal_sdk_bg.wasm"));
const glue = await readFile(join(PKG, "patient_portal_sdk.js"));
const peerBundle = Buffer.from(
  buildSync({ stdin: { contents: 'export { compactDecrypt } from "jose";', resolveDir: fileURLToPath(new URL(".", import.meta.url)) }, bundle: true, minify: true, format: "esm", platform: "browser", write: false }).outputFiles[0].contents,
);
results.sizes = {
  sdk: { wasm: wasm.length, wasmGzip: gz(wasm), glue: glue.length, glueGzip: gz(glue), totalGzip: gz(wasm) + gz(glue) },
  peer: { jose: peerBundle.length, joseGzip: gz(peerBundle), note: "jose compactDecrypt bundled and minified by esbuild; JSON.parse and the table are built into the browser" },
};

// Cost per MB: least squares of total time over size.
function fit(side) {
  const xs = results.records.map((r) => r.mb);
  const ys = results.records.map((r) => r.sides[side].total);
  const n = xs.length;
  const mx = xs.reduce((a, b) => a + b) / n;
  const my = ys.reduce((a, b) => a + b) / n;
  const sxy = xs.reduce((a, x, i) => a + (x - mx) * (ys[i] - my), 0);
  const sxx = xs.reduce((a, x) => a + (x - mx) ** 2, 0);
  const syy = ys.reduce((a, y) => a + (y - my) ** 2, 0);
  const slope = sxy / sxx;
  return { msPerMB: round(slope), interceptMs: round(my - slope * mx), r2: round((sxy * sxy) / (sxx * syy), 3) };
}
results.slope = Object.fromEntries(SIDES.map((s) => [s, fit(s)]));

// Goals (#6), on the largest record.
const big = results.records.at(-1);
const sdk = big.sides.sdk;
const peer = big.sides.peer;
results.goals = [
  { goal: "decrypt ≥ 0.8× jose's throughput", measured: `${round(sdk.decryptMBps / peer.decryptMBps, 2)}× (${sdk.decryptMBps} vs ${peer.decryptMBps} MB/s)`, met: sdk.decryptMBps >= 0.8 * peer.decryptMBps },
  { goal: "open (decrypt + parse + consent) of the 9.1 MB record no slower than jose + JSON.parse", measured: `${sdk.open} ms vs ${peer.open} ms (${round(sdk.open / peer.open, 2)}×)`, met: sdk.open <= peer.open },
  { goal: "chart on screen within 100 ms of the plaintext (9.1 MB)", measured: `${sdk.afterPlaintext} ms`, met: sdk.afterPlaintext <= 100 },
  { goal: ".wasm + glue ≤ 150 KB gzip", measured: `${round(results.sizes.sdk.totalGzip / 1024)} KB`, met: results.sizes.sdk.totalGzip <= 150 * 1024 },
  { goal: "cost linear in record size", measured: `${results.slope.sdk.msPerMB} ms/MB, R² ${results.slope.sdk.r2}`, met: results.slope.sdk.r2 >= 0.98 },
  { goal: "no main-thread task over 50 ms (9.1 MB)", measured: `longest ${sdk.longestTask} ms (${sdk.longTasks} long tasks)`, met: sdk.longestTask <= 50 },
];

// ---------------------------------------------------------------------------
// Report.
const lines = [];
lines.push(`# Benchmark: Patient Portal SDK vs jose + JSON.parse + table`, "");
lines.push(`${results.date}, ${results.chromium}, median of ${RUNS} runs. Times in ms; ratio = SDK / peer (below 1 is faster).`, "");
if (process.env.BENCH_PKG) lines.push(`Package: ${PKG} (BENCH_PKG).`, "");
lines.push("| record | MB | side | fetch | decrypt | parse | consent | render | total | ratio | decrypt MB/s | plaintext → chart | longest task | JS heap MB | wasm memory MB |");
lines.push("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|");
for (const r of results.records) {
  for (const side of SIDES) {
    const s = r.sides[side];
    const ratio = side === "peer" ? "" : round(s.total / r.sides.peer.total, 2);
    lines.push(`| ${r.name} | ${r.mb} | ${side} | ${STAGES.map((k) => s.stages[k]).join(" | ")} | ${s.total} | ${ratio} | ${s.decryptMBps} | ${s.afterPlaintext} | ${s.longestTask} | ${s.jsHeapMB} | ${s.wasmMemoryMB} |`);
  }
}
lines.push("", "Per-stage ratio SDK / peer on the largest record:", "");
lines.push(`| stage | ${STAGES.join(" | ")} | total |`, `|---|${STAGES.map(() => "---").join("|")}|---|`);
for (const side of ["sdk", "sdk-wasm"]) {
  const s = big.sides[side];
  lines.push(`| ${side} | ${STAGES.map((k) => (peer.stages[k] ? round(s.stages[k] / peer.stages[k], 2) : "n/a")).join(" | ")} | ${round(s.total / peer.total, 2)} |`);
}
lines.push("", "Cost per MB (least squares over the four records):", "");
lines.push("| side | ms per MB | intercept ms | R² |", "|---|---|---|---|");
for (const side of SIDES) lines.push(`| ${side} | ${results.slope[side].msPerMB} | ${results.slope[side].interceptMs} | ${results.slope[side].r2} |`);
const z = results.sizes;
lines.push("", "Download size:", "", "| | raw | gzip |", "|---|---|---|");
lines.push(`| SDK .wasm | ${z.sdk.wasm} | ${z.sdk.wasmGzip} |`, `| SDK JS glue | ${z.sdk.glue} | ${z.sdk.glueGzip} |`, `| peer: jose compactDecrypt (esbuild, minified) | ${z.peer.jose} | ${z.peer.joseGzip} |`);
lines.push("", "Goals (#6):", "", "| goal | measured | met |", "|---|---|---|");
for (const g of results.goals) lines.push(`| ${g.goal} | ${g.measured} | ${g.met ? "yes" : "no"} |`);
const markdown = lines.join("\n") + "\n";
await writeFile(join(ROOT, "bench/results.json"), JSON.stringify(results, null, 2) + "\n");
await writeFile(join(ROOT, "bench/results.md"), markdown);
process.stdout.write(markdown);
