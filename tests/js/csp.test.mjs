// The chart under the Content-Security-Policy health portals run:
//
//   default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; style-src 'self';
//   require-trusted-types-for 'script'; trusted-types patient-portal-sdk
//
// in headless Chromium, the policy sent as a response header of the host page
// (whose only script is an external module of its own origin). The chart,
// its lazy fill, the results filter and the <patient-chart> element must run
// with zero violations, and look exactly as on the same page without a
// policy: computed styles of every element of the chart compared one by one.
// Controls: a page whose trusted-types directive leaves the SDK's policy out
// gets a `trustedTypes` PatientPortalError, not a bare TypeError; a freed
// record's chart closes.

import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";

import { POLL_MS, SKIPPED_REGIONS, launchBrowser, loadSamples, seal, startServer, STEP_TIMEOUT } from "./harness.mjs";

const STRICT =
  "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; style-src 'self'; require-trusted-types-for 'script'; trusted-types patient-portal-sdk";
/** Trusted Types enforced, but the SDK's policy name not allowed. */
const OTHER_POLICY = "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; style-src 'self'; require-trusted-types-for 'script'; trusted-types host-policy";

const PAGE_PATH = "/__csp__/host.html";
const SCRIPT_PATH = "/__csp__/host.js";

const HTML = `<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>Portal (strict CSP)</title>
<script type="module" src="${SCRIPT_PATH}"></script></head>
<body><main><h1>Health record</h1><div id="chart"></div><patient-chart id="element" locale="en-US"></patient-chart></main></body>
</html>`;

// The host page's own script: loads the package's entry and its element, and
// records every policy violation.
const SCRIPT = `
window.__violations = [];
document.addEventListener("securitypolicyviolation", (e) => {
  window.__violations.push({ directive: e.violatedDirective, blocked: e.blockedURI, sample: e.sample });
});
const sdk = await import("/pkg/index.js");
await import("/pkg/element.js");
await sdk.default();
window.__sdk = sdk;
window.__loaded = true;
`;

/** Computed styles of every element of the chart in #chart's shadow root, in document order. */
function styleSnapshot(page) {
  return page.evaluate((skipped) => {
    const PROPS = ["display", "position", "color", "background-color", "font-size", "font-weight", "padding-top", "padding-left", "margin-top", "margin-bottom", "border-top-width", "width", "height", "clip", "overflow", "visibility", "box-sizing"];
    const root = document.querySelector("#chart").shadowRoot;
    // Regions under `content-visibility: auto` keep the size they last had on
    // screen (`contain-intrinsic-block-size: auto`), which depends on when
    // frames came while the chart was committed and scrolled: laid out in
    // full here, as printing does, so that sizes compare.
    const regions = [...root.querySelectorAll(skipped)];
    for (const el of regions) el.style.contentVisibility = "visible";
    const snapshot = [...root.querySelectorAll("*")].map((el) => {
      const style = getComputedStyle(el);
      return `${el.tagName.toLowerCase()}.${el.getAttribute("class") ?? ""}: ${PROPS.map((p) => `${p}=${style.getPropertyValue(p)}`).join(" ")}`;
    });
    for (const el of regions) el.style.removeProperty("content-visibility");
    return snapshot;
  }, SKIPPED_REGIONS);
}

describe("strict Content-Security-Policy and Trusted Types", () => {
  let server;
  let browser;
  let record;
  before(async () => {
    server = await startServer();
    browser = await launchBrowser();
    const samples = await loadSamples({ shared: true });
    // Synthea: long sections (lazy fill), results with trends (the filter).
    const sample = samples.find((s) => s.name.startsWith("Vito_Feeney"));
    assert.ok(sample, "the Synthea sample is loaded");
    record = await seal(sample.text);
  });
  after(async () => {
    await browser?.close();
    await server?.stop();
  });

  async function hostPage(csp) {
    const context = await browser.newContext({ viewport: { width: 1024, height: 900 }, colorScheme: "light", reducedMotion: "reduce" });
    context.setDefaultTimeout(STEP_TIMEOUT);
    const headers = { "content-type": "text/html; charset=utf-8", ...(csp ? { "content-security-policy": csp } : {}) };
    await context.route(new URL(PAGE_PATH, server.base).href, (route) => route.fulfill({ status: 200, headers, body: HTML }));
    await context.route(new URL(SCRIPT_PATH, server.base).href, (route) =>
      route.fulfill({ status: 200, headers: { "content-type": "text/javascript" }, body: SCRIPT }),
    );
    const page = await context.newPage();
    const problems = { pageErrors: [], consoleErrors: [] };
    page.on("pageerror", (err) => problems.pageErrors.push(String(err)));
    page.on("console", (msg) => msg.type() === "error" && problems.consoleErrors.push(msg.text()));
    const response = await page.goto(new URL(PAGE_PATH, server.base).href);
    assert.equal(response.headers()["content-security-policy"], csp ?? undefined, "the policy is sent as a header");
    await page.waitForFunction(() => window.__loaded === true, null, { polling: POLL_MS });
    return { context, page, problems };
  }

  /** Renders, fills a lazy disclosure, filters results and opens the element. */
  async function exercise(page) {
    const facts = await page.evaluate(async ({ jwe, key }) => {
      const { PatientPortal } = window.__sdk;
      const portal = new PatientPortal({ locale: "en-US", timeZone: "UTC", theme: "light" });
      const record = portal.openJwe(jwe, key);
      window.__record = record;
      await record.render(document.querySelector("#chart"));
      const root = document.querySelector("#chart").shadowRoot;
      const lazy = root.querySelector("details[data-fill]");
      lazy.open = true;
      await new Promise((resolve) => setTimeout(resolve, 50));
      const element = document.querySelector("#element");
      const ready = new Promise((resolve) => element.addEventListener("ready", () => resolve(true), { once: true }));
      await element.openJwe(jwe, key);
      return {
        styleElements: root.querySelectorAll("style").length,
        adopted: root.adoptedStyleSheets.length,
        filled: lazy.hasAttribute("data-filled") && lazy.querySelector("[data-fill-here]").children.length > 0,
        elementReady: await ready,
        elementName: element.shadowRoot.querySelector(".patient-name")?.textContent ?? null,
      };
    }, record);
    await page.fill("#chart >> input#ppsdk-results-filter", "glucose");
    await page.waitForFunction(() => document.querySelector("#chart").shadowRoot.querySelector(".filter-status").textContent.length > 0, null, { polling: POLL_MS });
    facts.filterStatus = await page.evaluate(() => document.querySelector("#chart").shadowRoot.querySelector(".filter-status").textContent);
    facts.filteredRows = await page.evaluate(() => document.querySelector("#chart").shadowRoot.querySelectorAll(".results-list tbody tr:not(.group)").length);
    await page.fill("#chart >> input#ppsdk-results-filter", "");
    return facts;
  }

  test("the chart, its lazy fill, the filter and <patient-chart> run with zero violations and the unrestricted page's styles", async () => {
    const strict = await hostPage(STRICT);
    const open = await hostPage(null);
    try {
      const strictFacts = await exercise(strict.page);
      const openFacts = await exercise(open.page);
      assert.equal(strictFacts.styleElements, 0, "no <style> element in the shadow root");
      assert.equal(strictFacts.adopted, 1, "one adopted stylesheet");
      assert.ok(strictFacts.filled, "the lazy disclosure was filled through the Trusted Types policy");
      assert.ok(strictFacts.elementReady, "<patient-chart> fired ready");
      assert.ok(strictFacts.elementName && strictFacts.elementName.length > 0, "<patient-chart> shows the patient's name");
      assert.match(strictFacts.filterStatus, /result/, "the filter reported its matches");
      assert.ok(strictFacts.filteredRows > 0, "the filter found glucose results");
      assert.deepEqual(strictFacts, openFacts, "the same behaviour with and without the policy");

      assert.deepEqual(await strict.page.evaluate(() => window.__violations), [], "Content-Security-Policy violations");
      assert.deepEqual(strict.problems, { pageErrors: [], consoleErrors: [] }, "page and console errors under the policy");
      assert.deepEqual(open.problems, { pageErrors: [], consoleErrors: [] }, "page and console errors without a policy");

      // Styled, not merely equal: the banner has its background and the
      // screen-reader-only text is clipped off screen.
      const probe = (page) =>
        page.evaluate(() => {
          const root = document.querySelector("#chart").shadowRoot;
          const banner = getComputedStyle(root.querySelector(".banner"));
          const sr = getComputedStyle(root.querySelector(".sr"));
          return { banner: banner.backgroundColor, srPosition: sr.position, srWidth: sr.width };
        });
      const styled = await probe(strict.page);
      assert.notEqual(styled.banner, "rgba(0, 0, 0, 0)", "the banner has its background");
      assert.equal(styled.srPosition, "absolute");
      assert.equal(styled.srWidth, "1px");

      const strictStyles = await styleSnapshot(strict.page);
      const openStyles = await styleSnapshot(open.page);
      assert.ok(strictStyles.length > 200, `the chart has many elements (${strictStyles.length})`);
      assert.equal(strictStyles.length, openStyles.length);
      const differing = strictStyles.map((s, i) => [s, openStyles[i]]).filter(([a, b]) => a !== b);
      assert.deepEqual(differing.slice(0, 5), [], `computed styles differ on ${differing.length} elements`);
    } finally {
      await strict.context.close();
      await open.context.close();
    }
  });

  test("a policy that does not allow the SDK's Trusted Types policy: a trustedTypes PatientPortalError, nothing rendered", async () => {
    const { context, page } = await hostPage(OTHER_POLICY);
    try {
      const result = await page.evaluate(({ jwe, key }) => {
        const { PatientPortal, PatientPortalError } = window.__sdk;
        const record = new PatientPortal().openJwe(jwe, key);
        const host = document.querySelector("#chart");
        try {
          record.render(host);
          return { rendered: true };
        } catch (err) {
          return { isClass: err instanceof PatientPortalError, name: err.name, code: err.code, message: err.message, children: host.shadowRoot?.childNodes.length ?? 0 };
        } finally {
          record.free();
        }
      }, record);
      assert.equal(result.rendered, undefined, "render must refuse");
      assert.equal(result.isClass, true);
      assert.equal(result.code, "trustedTypes");
      assert.match(result.message, /trusted-types/);
      assert.equal(result.children, 0, "nothing half-rendered");
      // The violation listener works: the refused policy was reported.
      const violations = await page.evaluate(() => window.__violations);
      assert.ok(violations.some((v) => v.directive === "trusted-types"), `the refusal is reported as a violation: ${JSON.stringify(violations)}`);
    } finally {
      await context.close();
    }
  });

  test("free() closes the chart on screen (and rendering elsewhere closes the first): no record content left, a 'closed' note in its place", async () => {
    const { context, page, problems } = await hostPage(STRICT);
    try {
      const result = await page.evaluate(({ jwe, key }) => {
        const { PatientPortal } = window.__sdk;
        const record = new PatientPortal({ locale: "es-ES" }).openJwe(jwe, key);
        // Rendered into one element, then another: the first chart closes.
        const first = document.createElement("div");
        document.querySelector("main").append(first);
        record.render(first);
        const host = document.querySelector("#chart");
        record.render(host);
        const firstAfter = { text: first.shadowRoot.textContent, note: first.shadowRoot.querySelector("[role=status]")?.textContent };
        const name = host.shadowRoot.querySelector(".patient-name").textContent;
        record.free();
        const errors = [];
        for (const call of [() => record.free(), () => record.toHtml(), () => record.resourceCount, () => record.render(host)]) {
          try {
            call();
            errors.push(null);
          } catch (err) {
            errors.push(err.code);
          }
        }
        return { firstAfter, name, after: host.shadowRoot.textContent, role: host.shadowRoot.querySelector("[role=status]")?.textContent, errors };
      }, record);
      assert.ok(result.name.length > 0);
      assert.deepEqual(result.firstAfter, { text: "Esta historia está cerrada.", note: "Esta historia está cerrada." }, "the first element's chart closed");
      assert.ok(!result.after.includes(result.name), "the patient's name is gone from the page");
      assert.equal(result.role, "Esta historia está cerrada.");
      assert.deepEqual(result.errors, ["freed", "freed", "freed", "freed"]);
      assert.deepEqual(await page.evaluate(() => window.__violations), []);
      assert.deepEqual(problems, { pageErrors: [], consoleErrors: [] });
    } finally {
      await context.close();
    }
  });
});
