// End to end: the development backend (examples/dev_server/) serves the
// demo page (www/) and the built SDK (pkg/); headless Chromium opens each demo
// link and the test checks what a person would see: the chart for a good
// link, the passcode form for a protected SMART Health Link, the error screen
// (and no health data anywhere in the page) for a tampered file, a wrong key,
// an expired or a revoked link.
//
// Needs `cargo build --example dev_server` and a built pkg/ (`make pkg`).

import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { mkdir, readFile, readdir } from "node:fs/promises";
import { fileURLToPath } from "node:url";

import { POLL_MS, STEP_TIMEOUT, launchBrowser, startServer } from "./harness.mjs";

const SAMPLES = new URL("../../examples/data/", import.meta.url);
const SCREENSHOTS = fileURLToPath(new URL("./screenshots/", import.meta.url));
const TEST_TIMEOUT = 90_000; // one test

// ---------------------------------------------------------------------------
// Expectations, computed from the sample bundles the server seals.

const isEnteredInError = (r) =>
  r.status === "entered-in-error" || (r.verificationStatus?.coding ?? []).some((c) => c.code === "entered-in-error");
const hasCategory = (r, code) => (r.category ?? []).some((c) => (c.coding ?? []).some((k) => k.code === code));

/** What the chart of `bundle` must show. */
function expectations(bundle) {
  const resources = bundle.entry.map((e) => e.resource);
  const shown = resources.filter((r) => !isEnteredInError(r));
  const ofType = (...types) => shown.filter((r) => types.includes(r.resourceType));
  const patient = resources.find((r) => r.resourceType === "Patient");
  const name = patient.name.find((n) => n.use === "official") ?? patient.name[0];
  const observations = ofType("Observation");
  const sections = {
    allergies: ofType("AllergyIntolerance").length,
    problems: ofType("Condition").length,
    medications: ofType("MedicationRequest", "MedicationStatement").length,
    immunizations: ofType("Immunization").length,
    procedures: ofType("Procedure").length,
    encounters: ofType("Encounter").length,
    documents: ofType("DocumentReference").length,
    "care-plans": ofType("CarePlan").length,
    vitals: observations.filter((o) => hasCategory(o, "vital-signs")).length,
  };
  // Results are listed under their DiagnosticReport (a heading row) or alone.
  const reports = ofType("DiagnosticReport").length;
  const inSections = Object.values(sections).reduce((a, b) => a + b, 0) + observations.length - sections.vitals + reports;
  // Three specific Observation names (the longest distinct code texts).
  const codeTexts = [...new Set(observations.map((o) => o.code?.text).filter(Boolean))].sort((a, b) => b.length - a.length).slice(0, 3);
  assert.equal(codeTexts.length, 3, "the sample has three distinct Observation code texts");
  return {
    given: name.given[0],
    family: name.family,
    observations: observations.length,
    sections,
    // Every entry is shown once: the banner, a section row, or "Other records".
    other: resources.length - ofType("Patient").length - inSections,
    codeTexts,
  };
}

/** How text appears in serialized HTML (as `innerHTML` escapes text nodes). */
const htmlText = (s) => s.replaceAll("&", "&amp;").replaceAll("<", "&lt;").replaceAll(">", "&gt;").replaceAll("\u00a0", "&nbsp;");

/** The page's whole HTML, including every (nested) open shadow root. */
function wholePage(page) {
  return page.evaluate(() => {
    const parts = [document.documentElement.outerHTML];
    const visit = (root) => {
      for (const el of root.querySelectorAll("*")) {
        if (el.shadowRoot) {
          parts.push(el.shadowRoot.innerHTML);
          visit(el.shadowRoot);
        }
      }
    };
    visit(document);
    return parts.join("\n");
  });
}

function assertNoRecordContent(html, expected, what) {
  for (const text of [expected.given, expected.family, ...expected.codeTexts]) {
    assert.ok(!html.includes(text) && !html.includes(htmlText(text)), `${what}: the page shows ${JSON.stringify(text)} from the record`);
  }
}

// ---------------------------------------------------------------------------
// The server and the browser (started as in harness.mjs).

let server;
let links;
let browser;
const samples = new Map(); // "Given Family" → expectations

/** A fresh page that records page errors and console errors. */
async function newPage(width = 1280) {
  const context = await browser.newContext({ viewport: { width, height: 900 }, colorScheme: "light" });
  context.setDefaultTimeout(STEP_TIMEOUT);
  const page = await context.newPage();
  const problems = { pageErrors: [], consoleErrors: [], warnings: [] };
  page.on("pageerror", (err) => problems.pageErrors.push(String(err?.stack ?? err)));
  page.on("console", (msg) => {
    if (msg.type() === "error") problems.consoleErrors.push(msg.text());
    if (msg.type() === "warning") problems.warnings.push(msg.text());
  });
  return { page, context, problems };
}

/** Waits until the demo has finished opening the link; returns the final state. */
async function settled(page) {
  await page.waitForFunction(() => ["ready", "error", "passcode"].includes(document.body.dataset.state), null, { timeout: STEP_TIMEOUT, polling: POLL_MS });
  return page.evaluate(() => document.body.dataset.state);
}

/**
 * Opens every disclosure the chart fills on first opening (older rows of long
 * sections, "Other records" lists) and waits until each is filled.
 */
async function openAllDisclosures(page) {
  const count = await page.evaluate(() => {
    const lazy = [...document.getElementById("chart").shadowRoot.querySelectorAll("details[data-fill]")];
    for (const d of lazy) d.open = true;
    return lazy.length;
  });
  await page.waitForFunction(() => [...document.getElementById("chart").shadowRoot.querySelectorAll("details[data-fill]")].every((d) => d.hasAttribute("data-filled")), null, { polling: POLL_MS });
  return count;
}

async function errorText(page) {
  return page.evaluate(() => `${document.getElementById("error-title")?.textContent}: ${document.getElementById("error-message")?.textContent}`);
}

function assertClean(problems, what) {
  assert.deepEqual(problems.pageErrors, [], `${what}: uncaught page errors`);
  assert.deepEqual(problems.consoleErrors, [], `${what}: console errors`);
}

/** The error screen after a link that must fail with a decrypt error. */
async function assertDecryptErrorScreen(page, problems, expected, what) {
  assert.equal(await settled(page), "error", `${what}: the page should show its error screen`);
  await assert.doesNotReject(page.locator("#error").waitFor({ state: "visible" }), `${what}: #error is visible`);
  assert.equal(await page.locator("#error").getAttribute("role"), "alert");
  // The demo picks its wording by error code: this is the `decrypt` text.
  assert.equal(await page.locator("#error-title").textContent(), "Could not open the record", await errorText(page));
  assert.equal(await page.locator("#chart").isVisible(), false, `${what}: no chart`);
  assert.equal(await page.evaluate(() => document.getElementById("chart").shadowRoot), null, `${what}: the chart host is empty`);
  assertNoRecordContent(await wholePage(page), expected, what);
  assert.ok(problems.warnings.some((w) => w.includes("decrypt")), `${what}: the page logged the decrypt code (${problems.warnings})`);
  assertClean(problems, what);
}

const slug = (name) => name.toLowerCase().replace(/[^a-z0-9]+/g, "-");

describe("demo page end to end (dev_server + headless Chromium)", { timeout: 5 * TEST_TIMEOUT }, () => {
  before(
    async () => {
      for (const file of (await readdir(SAMPLES)).filter((f) => f.endsWith(".json"))) {
        const expected = expectations(JSON.parse(await readFile(new URL(file, SAMPLES), "utf8")));
        samples.set(`${expected.given} ${expected.family}`, expected);
      }
      await mkdir(SCREENSHOTS, { recursive: true });
      server = await startServer();
      links = server.links;
      assert.ok(links.records.length >= 2, "the server offers the demo records");
      browser = await launchBrowser();
    },
    { timeout: 2 * STEP_TIMEOUT },
  );

  after(
    async () => {
      try {
        await browser?.close();
      } finally {
        await server?.stop();
      }
    },
    { timeout: STEP_TIMEOUT },
  );

  test("without a link the page shows its landing screen", { timeout: TEST_TIMEOUT }, async () => {
    const { page, context, problems } = await newPage();
    try {
      await page.goto(links.base);
      await page.waitForFunction(() => document.body.dataset.state === "idle", null, { polling: POLL_MS });
      assert.ok(await page.locator("#landing").isVisible());
      assert.equal(await page.locator("#error").isVisible(), false);
      assertClean(problems, "landing");
    } finally {
      await context.close();
    }
  });

  test("each demo record opens into a complete chart", { timeout: 2 * TEST_TIMEOUT }, async (t) => {
    for (const link of links.records) {
      await t.test(link.name, { timeout: TEST_TIMEOUT }, async () => {
        const expected = samples.get(link.name);
        assert.ok(expected, `examples/data has a bundle for ${link.name}`);
        const { page, context, problems } = await newPage(1280);
        try {
          await page.goto(link.url);
          const state = await settled(page);
          assert.equal(state, "ready", state === "error" ? `error screen: ${await errorText(page)}` : "");

          const chart = page.locator("#chart");
          const banner = await chart.locator(".patient-name").textContent();
          assert.ok(banner.includes(expected.given), `banner ${JSON.stringify(banner)} has the given name ${expected.given}`);
          assert.ok(banner.includes(expected.family), `banner ${JSON.stringify(banner)} has the family name ${expected.family}`);

          // Long sections show their newest rows; the rest arrive when their disclosure opens.
          // Rows of resources: not the report headings, not the narrative disclosures.
          const rows = async (id) => chart.locator(`section#ppsdk-${id} tbody tr:not(.group):not(.narrative-row)`).count();
          let firstRows = 0;
          for (const id of [...Object.keys(expected.sections), "results"]) firstRows += await rows(id);
          const lazy = await openAllDisclosures(page);
          const counts = {};
          for (const id of [...Object.keys(expected.sections), "results"]) counts[id] = await rows(id);
          for (const [id, n] of Object.entries(expected.sections)) assert.equal(counts[id], n, `rows in section#${id}`);
          const sectionRows = Object.values(counts).reduce((a, b) => a + b, 0);
          assert.ok(lazy > 0 || firstRows === sectionRows, "rows not shown at first are behind a disclosure");
          assert.ok(firstRows <= 10 * Object.keys(counts).length, `at most 10 rows per section at first (${firstRows})`);
          assert.equal(counts.results + counts.vitals, expected.observations, "results + vitals rows = Observations");
          assert.equal(await chart.locator("section#ppsdk-other details > ul > li").count(), expected.other, "items under Other records");

          const html = await wholePage(page);
          for (const text of expected.codeTexts) assert.ok(html.includes(htmlText(text)), `the chart shows ${JSON.stringify(text)}`);
          assert.equal(await page.title(), "Health record");

          await page.screenshot({ path: `${SCREENSHOTS}${slug(link.name)}-1280.png`, fullPage: true });
          await page.setViewportSize({ width: 320, height: 900 });
          await page.screenshot({ path: `${SCREENSHOTS}${slug(link.name)}-320.png`, fullPage: true });
          assertClean(problems, link.name);

          // A phone-width chart fits the screen: table rows become cards, and
          // neither the page nor any table scrolls sideways.
          const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
          assert.ok(overflow <= 0, `at 320px the page scrolls sideways by ${overflow}px`);
          const wide = await page.evaluate(() =>
            [...document.getElementById("chart").shadowRoot.querySelectorAll(".scroll")].filter((el) => el.offsetParent && el.scrollWidth > el.clientWidth + 1).length,
          );
          assert.equal(wide, 0, "tables that scroll sideways at 320px");
          const bannerHeight = await chart.locator(".banner").evaluate((el) => el.getBoundingClientRect().height);
          assert.ok(bannerHeight < 600, `at 320px the patient banner is ${bannerHeight}px tall`);
        } finally {
          await context.close();
        }
      });
    }
  });

  // Words and numbers are never broken inside a table cell: at 1280px the
  // columns are wide enough, at 320px each row is a card of label: value.
  test(
    "table words and numbers are never split across lines (1280px and 320px)",
    { timeout: TEST_TIMEOUT },
    async () => {
      const { page, context, problems } = await newPage(1280);
      try {
        for (const link of links.records) {
          for (const width of [1280, 320]) {
            await page.setViewportSize({ width, height: 900 });
            await page.goto(link.url);
            assert.equal(await settled(page), "ready");
            const split = await page.evaluate(() => {
              const found = new Set();
              for (const cell of document.getElementById("chart").shadowRoot.querySelectorAll("table th, table td")) {
                // Column headings of a narrow (stacked) table are for screen readers only.
                if (getComputedStyle(cell.closest("tr")).position === "absolute") continue;
                const walker = document.createTreeWalker(cell, NodeFilter.SHOW_TEXT);
                for (let node; (node = walker.nextNode()); ) {
                  // Words between spaces, hyphens, dashes and slashes (where a line may break).
                  for (const m of node.data.matchAll(/[^\s\-\u2010-\u2014/]+/g)) {
                    if (m[0].length > 20) continue; // long identifiers may wrap
                    const range = document.createRange();
                    range.setStart(node, m.index);
                    range.setEnd(node, m.index + m[0].length);
                    const lines = new Set([...range.getClientRects()].map((r) => Math.round(r.top)));
                    if (lines.size > 1) found.add(m[0]);
                  }
                }
              }
              return [...found];
            });
            assert.deepEqual(split.slice(0, 10), [], `${link.name} at ${width}px: words split across lines`);
          }
        }
        assertClean(problems, "word wrapping");
      } finally {
        await context.close();
      }
    },
  );

  test("a tampered record shows the error screen and nothing from the record", { timeout: TEST_TIMEOUT }, async () => {
    // The server tampers with a copy of its first record, under the same key.
    const expected = samples.get(links.records[0].name);
    assert.equal(links.tampered.key, links.records[0].key, "the tampered file is the first record's");
    const { page, context, problems } = await newPage();
    try {
      await page.goto(links.tampered.url);
      await assertDecryptErrorScreen(page, problems, expected, "tampered record");
    } finally {
      await context.close();
    }
  });

  test("a wrong key shows the error screen and nothing from the record", { timeout: TEST_TIMEOUT }, async () => {
    const link = links.records[1];
    const url = new URL(link.url);
    const params = new URLSearchParams(url.hash.slice(1));
    const wrong = randomBytes(32).toString("base64url");
    assert.equal(wrong.length, params.get("key").length, "a key of valid length");
    assert.notEqual(wrong, params.get("key"));
    params.set("key", wrong);
    url.hash = params.toString();
    const { page, context, problems } = await newPage();
    try {
      await page.goto(url.href);
      await assertDecryptErrorScreen(page, problems, samples.get(link.name), "wrong key");
    } finally {
      await context.close();
    }
  });

  test("switching from an open record to a broken link removes the chart", { timeout: TEST_TIMEOUT }, async () => {
    const link = links.records[0];
    const expected = samples.get(link.name);
    const { page, context, problems } = await newPage();
    try {
      await page.goto(link.url);
      assert.equal(await settled(page), "ready");
      const before = await wholePage(page);
      assert.ok(before.includes(expected.family) && before.includes(htmlText(expected.codeTexts[0])), "control: the chart was shown");
      await page.evaluate((hash) => {
        location.hash = hash;
      }, new URL(links.tampered.url).hash);
      await page.waitForFunction(() => document.body.dataset.state !== "ready", null, { polling: POLL_MS });
      await assertDecryptErrorScreen(page, problems, expected, "after switching to the tampered link");
    } finally {
      await context.close();
    }
  });
  // SMART Health Links: the demo page is a viewer for `<root>/#shlink:/…`.
  const shl = (kind, name) => {
    const found = links.links.find((l) => l.kind === kind && (name === undefined || l.name === name));
    assert.ok(found, `the server offers a ${kind} link`);
    return found;
  };

  test("each plain SMART Health Link opens into the chart, with its source shown", { timeout: 2 * TEST_TIMEOUT }, async () => {
    for (const name of samples.keys()) {
      const link = shl("plain", name);
      assert.ok(link.viewerUrl.startsWith(links.base) && link.viewerUrl.includes("#shlink:/"), link.viewerUrl);
      const { page, context, problems } = await newPage();
      try {
        await page.goto(link.viewerUrl);
        assert.equal(await settled(page), "ready", await errorText(page));
        const expected = samples.get(name);
        const banner = await page.locator("#chart .patient-name").textContent();
        assert.ok(banner.includes(expected.family), banner);
        const source = await page.locator("#chart .source").textContent();
        assert.match(source, /FHIR data \(1 file\): not signed by an issuer/);
        await page.screenshot({ path: `${SCREENSHOTS}shl-${slug(name)}-1280.png`, fullPage: true });
        assertClean(problems, `plain link for ${name}`);
      } finally {
        await context.close();
      }
    }
  });

  test("a passcode link asks for it, shows attempts left after a wrong one, and opens with the right one", { timeout: TEST_TIMEOUT }, async () => {
    const link = shl("passcode");
    const expected = samples.get(link.name);
    const { page, context, problems } = await newPage(320);
    try {
      await page.goto(link.viewerUrl);
      assert.equal(await settled(page), "passcode");
      const input = page.getByRole("textbox", { name: "Passcode" });
      assert.equal(await input.getAttribute("type"), "password");
      assert.equal(await page.locator("#passcode-message").isVisible(), false);
      await page.screenshot({ path: `${SCREENSHOTS}shl-passcode-320.png`, fullPage: true });
      await input.fill("0000");
      await input.press("Enter");
      await page.waitForFunction(() => !document.getElementById("passcode-message").hidden, null, { polling: POLL_MS });
      assert.equal(await page.locator("#passcode-message").textContent(), "That passcode is not right. 2 attempts left.");
      assert.equal(await input.inputValue(), "", "the field is cleared");
      // The link's own label (sharer-written, part of the link) is shown; nothing from the record is.
      const label = await page.locator("#link-label").textContent();
      assert.ok(label.length > 2, "the link's label is shown");
      assertNoRecordContent((await wholePage(page)).replaceAll(htmlText(label.slice(1, -1)), ""), expected, "after a wrong passcode");
      await input.fill(link.passcode);
      await page.getByRole("button", { name: "Open record" }).click();
      assert.equal(await settled(page), "ready", await errorText(page));
      assert.ok((await page.locator("#chart .patient-name").textContent()).includes(expected.family));
      // The browser itself logs the host's 401 for the wrong passcode.
      problems.consoleErrors = problems.consoleErrors.filter((e) => !e.includes("status of 401"));
      assertClean(problems, "passcode link");
    } finally {
      await context.close();
    }
  });

  test("a multi-file link merges its files and shows the verified issuer of its health card", { timeout: TEST_TIMEOUT }, async () => {
    const link = shl("multi");
    const expected = samples.get(link.name);
    const { page, context, problems } = await newPage();
    try {
      await page.goto(link.viewerUrl);
      assert.equal(await settled(page), "ready", await errorText(page));
      const verified = await page.locator("#chart .source .trust-verified").textContent();
      assert.equal(verified, `SMART Health Card: verified issuer: ${links.base.replace(/\/$/, "")}`);
      assert.equal(await page.locator("#chart section#ppsdk-immunizations tbody tr").count(), expected.sections.immunizations);
      assert.equal(await page.locator("#chart section#ppsdk-problems tbody tr").count(), expected.sections.problems);
      assert.equal(await page.locator("#chart .patient-name").count(), 1, "the patient in both files is shown once");
      await page.screenshot({ path: `${SCREENSHOTS}shl-multi-1280.png`, fullPage: true });
      assertClean(problems, "multi-file link");
    } finally {
      await context.close();
    }
  });

  test("a U-flag link opens its single file", { timeout: TEST_TIMEOUT }, async () => {
    const link = shl("direct");
    const { page, context, problems } = await newPage();
    try {
      await page.goto(link.viewerUrl);
      assert.equal(await settled(page), "ready", await errorText(page));
      assert.ok((await page.locator("#chart .patient-name").textContent()).includes(samples.get(link.name).family));
      assertClean(problems, "direct link");
    } finally {
      await context.close();
    }
  });

  test("expired, revoked and tampered links show the error screen and nothing from the record", { timeout: TEST_TIMEOUT }, async () => {
    const cases = [
      ["expired", "This link has expired"],
      ["revoked", "This link is no longer active"],
      ["tampered", "Could not open the record"],
    ];
    for (const [kind, title] of cases) {
      const link = shl(kind);
      const { page, context, problems } = await newPage();
      try {
        await page.goto(link.viewerUrl);
        assert.equal(await settled(page), "error", `${kind}: the error screen`);
        assert.equal(await page.locator("#error-title").textContent(), title, await errorText(page));
        assert.equal(await page.evaluate(() => document.getElementById("chart").shadowRoot), null, `${kind}: the chart host is empty`);
        assertNoRecordContent(await wholePage(page), samples.get(link.name), `${kind} link`);
        // The browser itself logs the host's 404 for a revoked link.
        problems.consoleErrors = problems.consoleErrors.filter((e) => !(kind === "revoked" && e.includes("status of 404")));
        assertClean(problems, `${kind} link`);
      } finally {
        await context.close();
      }
    }
  });
  // Consent: the viewer comes from the query string (or the selector).
  test("a parent opens a 14-year-old's record: labelled and adolescent-restricted resources are nowhere in the page", { timeout: TEST_TIMEOUT }, async () => {
    const link = links.records.find((r) => r.name === "Alex Rivera");
    assert.ok(link, "the server offers the adolescent sample");
    const bundle = JSON.parse(await readFile(new URL("alex-rivera.json", SAMPLES), "utf8"));
    const patient = bundle.entry.find((e) => e.resource.resourceType === "Patient").resource;
    const age = (Date.now() - Date.parse(patient.birthDate)) / (365.25 * 24 * 3600 * 1000);
    assert.ok(age >= 12 && age < 18, `the sample patient is an adolescent (${age.toFixed(1)} years)`);
    // What a parent may still see at that age, by the SDK's default policy; every text of the rest must be absent.
    const visibleTypes = ["Patient", "Immunization", "AllergyIntolerance"];
    const secrets = new Set();
    const collect = (value, key) => {
      if (typeof value === "string" && ["text", "display"].includes(key) && value.length > 3) secrets.add(value);
      else if (Array.isArray(value)) value.forEach((v) => collect(v, key));
      else if (value && typeof value === "object") for (const [k, v] of Object.entries(value)) if (k !== "meta") collect(v, k);
    };
    for (const { resource } of bundle.entry) if (!visibleTypes.includes(resource.resourceType)) collect(resource, "");
    assert.ok(secrets.size > 15, `texts to look for: ${[...secrets]}`);
    const labelled = bundle.entry.filter((e) => e.resource.meta?.security?.length).length;
    assert.ok(labelled >= 5, "the sample has labelled resources");

    const url = new URL(link.url);
    url.search = "?viewer=proxy&relationship=parent";
    const { page, context, problems } = await newPage(320);
    try {
      await page.goto(url.href);
      assert.equal(await settled(page), "ready", await errorText(page));
      assert.equal(await page.locator("#viewer-select").inputValue(), "proxy:parent");
      assert.ok((await page.locator("#chart .patient-name").textContent()).includes("Rivera"));
      assert.equal(await page.locator("#chart section#ppsdk-immunizations tbody tr").count(), 3);
      assert.equal(await page.locator("#chart section#ppsdk-allergies tbody tr").count(), 1);
      assert.equal(await page.locator("#chart .withheld").textContent(), "Some items in this record are not shown to you.");
      const html = await wholePage(page);
      for (const secret of secrets) assert.ok(!html.includes(htmlText(secret)) && !html.includes(secret), `the page shows ${JSON.stringify(secret)}`);
      await page.screenshot({ path: `${SCREENSHOTS}consent-parent-adolescent-320.png`, fullPage: true });
      const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
      assert.ok(overflow <= 0, `at 320px the page scrolls sideways by ${overflow}px`);

      // Control: the same record for the patient herself shows them.
      await page.selectOption("#viewer-select", "patient");
      await page.waitForFunction(() => document.body.dataset.state === "ready" && new URLSearchParams(location.search).get("viewer") === "patient", null, { polling: POLL_MS });
      await page.waitForFunction(() => document.getElementById("chart").shadowRoot?.querySelector("section#ppsdk-problems"), null, { polling: POLL_MS });
      const own = await wholePage(page);
      assert.ok(own.includes("Generalized anxiety disorder") && own.includes("Sertraline 50 mg tablet"), "the patient sees her whole record");
      assert.equal(await page.locator("#chart .withheld").count(), 0);
      assertClean(problems, "parent view");
    } finally {
      await context.close();
    }
  });
});
