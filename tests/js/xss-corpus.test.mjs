// The independent XSS corpus (../shared/data/xss/corpus.json: 3,077 payloads
// from DOMPurify, H5SC, PortSwigger, PayloadsAllTheThings, OWASP and
// sanitize-html, each calling alert/confirm/prompt/print in its own way) in
// a real record, in headless Chromium: every payload as a resource's name
// and as its FHIR narrative, rendered live (every disclosure opened and
// filled) and through `toHtml()` into innerHTML. None may run. The control
// inserts the same payloads raw and counts the ones that do, so the
// detection is shown to work.

import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";

import { ROOT, launchBrowser, newHostPage, openAllDetails, openRecord, seal, startServer } from "./harness.mjs";

const CORPUS = `${ROOT}../shared/data/xss/corpus.json`;
const XHTML_DIV = '<div xmlns="http://www.w3.org/1999/xhtml">';
const SETTLE_MS = 1000;
// Every way the corpus's payloads show that they ran.
const HOOKS = `
  window.__fired = [];
  for (const name of ["alert", "confirm", "prompt", "print"]) {
    Object.defineProperty(window, name, { value: (...args) => { const call = name + "(" + String(args[0]).slice(0, 40) + ")"; window.__fired.push(call); window.__xssSeen?.(call); }, writable: false });
  }
`;

let server;
let browser;
let payloads;

before(async () => {
  server = await startServer();
  browser = await launchBrowser();
  payloads = JSON.parse(await readFile(CORPUS, "utf8")).payloads.map((p) => p.payload);
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

/** A patient and one `Basic` resource per payload: its name (code.text) and its narrative are the payload. */
function hostileRecord() {
  const entry = [{ resource: { resourceType: "Patient", id: "p", name: [{ family: "Corpus", given: ["Test"] }] } }];
  payloads.forEach((payload, i) => {
    entry.push({
      resource: {
        resourceType: "Basic",
        id: `b${i}`,
        code: { text: payload },
        text: { status: "additional", div: `${XHTML_DIV}${payload}</div>` },
      },
    });
  });
  return { resourceType: "Bundle", type: "collection", entry };
}

async function fired(page) {
  await page.waitForTimeout(SETTLE_MS);
  return page.evaluate(() => window.__fired);
}

/**
 * Waits until more than `least` calls are `seen` (reported to the test as
 * they happen, so a payload that navigates a frame loses none), at most
 * 30 s. Inserting thousands of payloads raw keeps the page busy for
 * seconds, and their events fire over several more as it gets to them.
 */
async function seenMoreThan(seen, least) {
  const until = Date.now() + 30_000;
  while (seen.length <= least && Date.now() < until) await new Promise((resolve) => setTimeout(resolve, 100));
  return seen;
}

describe("the independent XSS corpus in Chromium", { timeout: 5 * 60_000 }, () => {
  test("control: inserted raw, payloads run and are seen", async (t) => {
    const { page, context } = await newHostPage(browser, server, { initScript: HOOKS });
    try {
      const dialogs = [];
      page.on("dialog", (d) => dialogs.push(d.type()) && d.dismiss().catch(() => {}));
      const calls = [];
      await page.exposeFunction("__xssSeen", (call) => calls.push(call));
      await page.evaluate((payloads) => {
        // Payloads clobber document properties (`<img name=createElement>`): use the prototypes.
        const make = () => Document.prototype.createElement.call(document, "div");
        const append = (parent, child) => Element.prototype.append.call(parent, child);
        const setHtml = Object.getOwnPropertyDescriptor(Element.prototype, "innerHTML").set;
        const box = make();
        append(document.body, box);
        for (const p of payloads) {
          const one = make();
          append(box, one);
          try {
            setHtml.call(one, p);
          } catch {
            // A payload that breaks insertion does not stop the others.
          }
        }
      }, payloads);
      const seen = await seenMoreThan(calls, 50);
      t.diagnostic(`inserted raw: ${seen.length} calls seen, ${dialogs.length} dialogs`);
      assert.ok(seen.length > 50, `only ${seen.length} payloads were seen running when inserted raw`);
    } finally {
      await context.close();
    }
  });

  test(`${3077} payloads as names and narratives, live and through toHtml(): none runs`, async (t) => {
    assert.ok(payloads.length >= 3000, `${payloads.length} payloads`);
    const { jwe, key } = await seal(hostileRecord());
    const { page, context } = await newHostPage(browser, server, { initScript: HOOKS });
    try {
      const dialogs = [];
      page.on("dialog", (d) => {
        dialogs.push(d.type());
        d.dismiss().catch(() => {});
      });
      const opened = await openRecord(page, { jwe, key });
      assert.equal(opened.resourceCount, payloads.length + 1);
      const disclosures = await openAllDetails(page);
      await page.evaluate(() => {
        const copy = document.createElement("div");
        document.body.append(copy);
        copy.innerHTML = window.__record.toHtml();
        for (const d of copy.querySelectorAll("details")) d.open = true;
      });
      const seen = await fired(page);
      assert.deepEqual(seen, [], "payloads ran");
      assert.deepEqual(dialogs, [], "dialogs opened");
      // The payloads are there, as text: every resource is listed.
      const items = await page.evaluate(() => document.querySelector("#chart").shadowRoot.querySelectorAll("#ppsdk-other li[data-entry]").length);
      assert.equal(items, payloads.length);
      t.diagnostic(`${payloads.length} payloads × (name, narrative) × (live, toHtml), ${disclosures} disclosures opened: 0 ran`);
    } finally {
      await context.close();
    }
  });
});
