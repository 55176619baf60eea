import { readFile } from "node:fs/promises";
import { launchBrowser, newHostPage, seal, startServer } from "./harness.mjs";
const server = await startServer();
const browser = await launchBrowser();
const file = process.argv[2] ?? "Christian_Balistreri_59339691-0270-4c4a-a34d-338e3008b9c3.json";
const { jwe, key } = await seal(await readFile(new URL("../../../shared/data/fhir/synthea/" + file, import.meta.url), "utf8"));
const { page, context } = await newHostPage(browser, server, { width: 1280 });
await page.evaluate(({ jwe, key }) => { window.__r = new window.__ppsdk.PatientPortal({ locale: "en-US", timeZone: "UTC" }).openJwe(jwe, key); window.__r.toHtml(); }, { jwe, key });
const cdp = await context.newCDPSession(page);
await cdp.send("Emulation.setCPUThrottlingRate", { rate: Number(process.env.RATE ?? 1) });
for (let run = 0; run < 3; run++) {
const out = await page.evaluate(async () => {
  const ev = [];
  const host = document.createElement("div"); document.querySelector("#chart").replaceChildren(host);
  host.attachShadow({ mode: "open" });
  new MutationObserver((list) => { for (const m of list) for (const n of m.addedNodes) ev.push([performance.now(), "mut " + (n.id || n.className || n.nodeName)]); }).observe(host.shadowRoot, { childList: true, subtree: true });
  let frames = true; const raf = (t) => { ev.push([performance.now(), "frame"]); if (frames) requestAnimationFrame(raf); }; requestAnimationFrame(raf);
  const t0 = performance.now();
  const p = window.__r.render(host);
  ev.push([performance.now(), "returned"]);
  await p;
  ev.push([performance.now(), "resolved"]);
  frames = false;
  return ev.map(([t, w]) => `${(t - t0).toFixed(1)} ${w}`);
});
console.log(out.join("\n")); console.log("---");
}
await context.close(); await browser.close(); await server.stop();
