import { spawn } from "node:child_process";
import { createInterface } from "node:readline";
import { chromium } from "playwright-core";
const s = spawn("../../target/debug/examples/dev_server", ["--port","0","--json","--root","../.."], {stdio:["ignore","pipe","ignore"]});
const links = await new Promise(r => createInterface({input:s.stdout}).on("line", l => l.startsWith("DEMO_LINKS ") && r(JSON.parse(l.slice(11)))));
const b = await chromium.launch({ executablePath: "/usr/bin/chromium", args: ["--headless","--no-sandbox","--disable-gpu"] });
for (const w of [1280, 320]) for (const rec of links.records) {
const p = await b.newPage({ viewport: { width: w, height: 900 } });
await p.goto(rec.url);
await p.waitForFunction(() => document.body.dataset.state === "ready");
console.log(w, rec.name, await p.evaluate(() => {
  const root = document.getElementById("chart").shadowRoot;
  const st = document.createElement("style"); st.textContent = "th, td { overflow-wrap: break-word !important; }"; root.appendChild(st);
  const found = new Set();
  for (const cell of root.querySelectorAll("table th, table td")) {
    const walker = document.createTreeWalker(cell, NodeFilter.SHOW_TEXT);
    for (let node; (node = walker.nextNode()); ) for (const m of node.data.matchAll(/\S+/g)) {
      if (m[0].length > 20) continue;
      const range = document.createRange(); range.setStart(node, m.index); range.setEnd(node, m.index + m[0].length);
      if (new Set([...range.getClientRects()].map((r) => Math.round(r.top))).size > 1) found.add(m[0]);
    }
  }
  return [...found, document.documentElement.scrollWidth];
}));
await p.close();
}
await b.close(); s.kill();
