// End to end, FHIR server mode: the development backend serves its sample
// patients as a read-only FHIR API under /fhir/ (bearer token) and the demo
// page (www/) in FHIR mode (`?fhir=<base>&patient=<id>`); headless Chromium
// types the token into the page's form as a person would. Checked: each
// patient opens into its whole chart (every entry of its examples/data
// bundle), under the page's Content-Security-Policy without a violation, and
// the token ends up nowhere but in the Authorization header of requests to
// the FHIR base URL (not the address, not the browser's storage, not the
// server's log); a wrong token brings the form back with the page's message;
// changing the viewer reopens the record without asking for the token again.
//
// Needs `cargo build --example dev_server` and a built pkg/ (`make pkg`).

import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { join } from "node:path";

import { POLL_MS, ROOT, STEP_TIMEOUT, launchBrowser, slug, startServer } from "./harness.mjs";

const TEST_TIMEOUT = 60_000;

// ---------------------------------------------------------------------------
// What each chart must show, from the sample bundles the server indexes.

const isEnteredInError = (r) =>
  r.status === "entered-in-error" || (r.verificationStatus?.coding ?? []).some((c) => c.code === "entered-in-error");

async function expectations(name) {
  const bundle = JSON.parse(await readFile(join(ROOT, "examples/data", `${slug(name)}.json`), "utf8"));
  const resources = bundle.entry.map((e) => e.resource);
  const patients = bundle.entry.filter((e) => e.resource.resourceType === "Patient");
  assert.equal(patients.length, 1, `${name}: one Patient in the bundle`);
  const patient = patients[0].resource;
  const official = patient.name.find((n) => n.use === "official") ?? patient.name[0];
  return {
    id: patient.id ?? patients[0].fullUrl.replace(/^urn:uuid:/, ""),
    given: official.given[0],
    family: official.family,
    entries: bundle.entry.length,
    // The chart shows every entry once (banner, a section row, "Other records") but these.
    shown: resources.filter((r) => !isEnteredInError(r)).length,
  };
}

// ---------------------------------------------------------------------------
// The page.

/**
 * Runs in the page before its scripts: records Content-Security-Policy
 * violations, every text of the progress line and every state of the page
 * (`body[data-state]`), as they happen.
 */
function recorder() {
  window.__csp = [];
  window.__progress = [];
  window.__states = [];
  document.addEventListener("securitypolicyviolation", (e) => window.__csp.push(`${e.effectiveDirective || e.violatedDirective} ${e.blockedURI}`));
  const note = () => {
    const text = document.getElementById("progress-text")?.textContent;
    if (text && window.__progress.at(-1) !== text) window.__progress.push(text);
    const state = document.body?.dataset.state;
    if (state && window.__states.at(-1) !== state) window.__states.push(state);
  };
  new MutationObserver(note).observe(document, { subtree: true, childList: true, characterData: true, attributes: true, attributeFilter: ["data-state"] });
}

let server;
let links;
let browser;
const samples = new Map(); // sample name → expectations

/** A fresh context and page: page and console errors, requests with their Authorization header. */
async function newPage() {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 }, colorScheme: "light" });
  context.setDefaultTimeout(STEP_TIMEOUT);
  await context.addInitScript(recorder);
  const page = await context.newPage();
  const problems = { pageErrors: [], consoleErrors: [] };
  page.on("pageerror", (err) => problems.pageErrors.push(String(err?.stack ?? err)));
  page.on("console", (msg) => {
    if (msg.type() === "error") problems.consoleErrors.push(msg.text());
  });
  const sent = [];
  page.on("request", (request) => sent.push(request.allHeaders().then((headers) => ({ url: request.url(), authorization: headers.authorization ?? null }))));
  const requests = () => Promise.all(sent);
  return { page, context, problems, requests };
}

/**
 * Opens the FHIR-mode address `url` and waits for the token form; resolves to
 * the document's response (its headers carry the CSP). Then wraps the SDK's
 * `openFhir` (the module the page imports, by the same URL) so that the test
 * can read what each open resolved to or rejected with: `window.__opens`.
 */
async function openForm(page, url) {
  const response = await page.goto(url);
  await page.waitForFunction(() => document.body.dataset.state === "fhir", null, { polling: POLL_MS });
  await page.evaluate(async () => {
    const { PatientPortal } = await import("/pkg/index.js");
    if (PatientPortal.prototype.openFhir.wrapped) return;
    const original = PatientPortal.prototype.openFhir;
    window.__opens = [];
    const wrapped = async function (options) {
      try {
        const record = await original.call(this, options);
        window.__opens.push({ resourceCount: record.resourceCount, patientName: record.patientName ?? null, source: record.source });
        return record;
      } catch (err) {
        window.__opens.push({ code: err?.code ?? null, status: err?.status ?? null });
        throw err;
      }
    };
    wrapped.wrapped = true;
    PatientPortal.prototype.openFhir = wrapped;
  });
  return response;
}

/** Types `token` into the form's password field and submits it, as a person would. */
async function submitToken(page, token) {
  const field = page.getByLabel("Access token");
  assert.equal(await field.getAttribute("type"), "password", "the token field hides what is typed");
  await field.fill(token);
  await page.locator("#fhir-form").getByRole("button", { name: "Open record" }).click();
}

/** Waits until the page shows the chart, its error screen, or the form with a message; resolves to which. */
async function settled(page) {
  await page.waitForFunction(
    () => ["ready", "error"].includes(document.body.dataset.state) || (document.body.dataset.state === "fhir" && !document.getElementById("fhir-message").hidden),
    null,
    { timeout: STEP_TIMEOUT, polling: POLL_MS },
  );
  return page.evaluate(() => document.body.dataset.state);
}

const errorText = (page) => page.evaluate(() => `${document.getElementById("error-title").textContent}: ${document.getElementById("error-message").textContent}`);

/** The page's whole HTML, with the chart's shadow root, and the token field's value. */
const wholePage = (page) =>
  page.evaluate(() => `${document.documentElement.outerHTML}\n${document.getElementById("chart").shadowRoot?.innerHTML ?? ""}\n${document.getElementById("fhir-token").value}`);

/** Opens every disclosure the chart fills on first opening and waits until each is filled. */
async function openAllDisclosures(page) {
  await page.evaluate(() => {
    for (const d of document.getElementById("chart").shadowRoot.querySelectorAll("details[data-fill]")) d.open = true;
  });
  await page.waitForFunction(() => [...document.getElementById("chart").shadowRoot.querySelectorAll("details[data-fill]")].every((d) => d.hasAttribute("data-filled")), null, { polling: POLL_MS });
}

/**
 * The entries the chart shows: the patient banner, the rows of every section
 * (a DiagnosticReport is the heading row of its results; the "trends" section
 * repeats the results as charts and is not counted) and the items under
 * "Other records".
 */
const shownEntries = (page) =>
  page.evaluate(() => {
    const root = document.getElementById("chart").shadowRoot;
    let n = root.querySelectorAll(".patient-name").length;
    for (const section of root.querySelectorAll("section[id^='ppsdk-']:not(#ppsdk-trends):not(#ppsdk-other)")) {
      n += section.querySelectorAll("tbody tr:not(.narrative-row)").length;
    }
    return n + root.querySelectorAll("section#ppsdk-other details > ul > li").length;
  });

/** `token` is nowhere the browser keeps or shows things: address, title, page, storage, cookies, databases. */
async function assertTokenNowhere(page, context, token, what) {
  const url = page.url();
  assert.ok(!url.includes(token) && !url.includes(encodeURIComponent(token)), `${what}: the token is in the address`);
  const kept = await page.evaluate(async () => {
    const storage = (s) => Object.keys(s).map((k) => `${k}=${s.getItem(k)}`);
    return {
      href: location.href,
      title: document.title,
      local: storage(localStorage),
      session: storage(sessionStorage),
      cookie: document.cookie,
      databases: (await indexedDB.databases()).map((d) => d.name),
      caches: await caches.keys(),
    };
  });
  assert.ok(!kept.href.includes(token) && !kept.title.includes(token), `${what}: the token is in location.href or the title`);
  assert.deepEqual(kept.local, [], `${what}: localStorage`);
  assert.deepEqual(kept.session, [], `${what}: sessionStorage`);
  assert.equal(kept.cookie, "", `${what}: document.cookie`);
  assert.deepEqual(kept.databases, [], `${what}: IndexedDB databases`);
  assert.deepEqual(kept.caches, [], `${what}: Cache Storage`);
  assert.deepEqual(await context.cookies(), [], `${what}: cookies`);
  assert.ok(!(await wholePage(page)).includes(token), `${what}: the token is in the page`);
  assert.ok(!server.log().includes(token), `${what}: the token is in the server's log`);
}

/** The token went only to the FHIR base URL, as `Authorization: Bearer <token>`; resolves to those requests. */
async function assertTokenOnlyToFhir(requests, token, what) {
  const all = await requests();
  const base = `${links.fhir.base}/`;
  for (const r of all) {
    assert.ok(!r.url.includes(token), `${what}: the token is in the URL ${r.url}`);
    if (r.authorization !== null) assert.ok(r.url.startsWith(base), `${what}: an Authorization header went to ${r.url}`);
  }
  const authorized = all.filter((r) => r.authorization !== null);
  for (const r of authorized) assert.equal(r.authorization, `Bearer ${token}`, `${what}: the Authorization header of ${r.url}`);
  return authorized;
}

async function assertNoCspViolation(page, what) {
  assert.deepEqual(await page.evaluate(() => window.__csp), [], `${what}: Content-Security-Policy violations`);
}

function assertClean(problems, what) {
  assert.deepEqual(problems.pageErrors, [], `${what}: uncaught page errors`);
  assert.deepEqual(problems.consoleErrors, [], `${what}: console errors`);
}

describe("demo page, FHIR server mode (dev_server + headless Chromium)", { timeout: 4 * TEST_TIMEOUT }, () => {
  before(
    async () => {
      server = await startServer();
      links = server.links;
      assert.ok(links.fhir?.token && links.fhir.base && links.fhir.patients?.length === 3, "the server offers its three sample patients as FHIR");
      assert.equal(links.fhir.base, new URL("fhir", links.base).href, "the FHIR base URL is the server's /fhir");
      for (const patient of links.fhir.patients) samples.set(patient.name, await expectations(patient.name));
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

  test("each sample patient opens into its whole chart with the typed token, which is kept nowhere", { timeout: TEST_TIMEOUT }, async (t) => {
    const token = links.fhir.token;
    for (const patient of links.fhir.patients) {
      await t.test(patient.name, { timeout: TEST_TIMEOUT / 2 }, async () => {
        const expected = samples.get(patient.name);
        assert.equal(patient.id, expected.id, "the API's patient id is the bundle's");
        const { page, context, problems, requests } = await newPage();
        try {
          const response = await openForm(page, patient.url);
          assert.match(response.headers()["content-security-policy"] ?? "", /script-src 'self'/, "the page is served under its CSP");
          // The form is filled from the address but for the token, which has the focus.
          assert.equal(await page.locator("#fhir-base").inputValue(), links.fhir.base);
          assert.equal(await page.locator("#fhir-patient").inputValue(), patient.id);
          assert.equal(await page.locator("#fhir-token").inputValue(), "");
          assert.equal(await page.evaluate(() => document.activeElement?.id), "fhir-token");
          assert.equal(await page.locator("#fhir-message").isVisible(), false);

          await submitToken(page, token);
          const state = await settled(page);
          assert.equal(state, "ready", state === "error" ? `error screen: ${await errorText(page)}` : `state ${state}`);
          assert.equal(await page.title(), "Health record");
          assert.equal(await page.locator("#fhir").isVisible(), false, "the form is gone");

          const banner = await page.locator("#chart .patient-name").textContent();
          assert.ok(banner.includes(expected.given) && banner.includes(expected.family), `banner ${JSON.stringify(banner)} names ${expected.given} ${expected.family}`);
          const sections = await page.evaluate(() => [...document.getElementById("chart").shadowRoot.querySelectorAll("section[id^='ppsdk-']")].map((s) => s.id));
          for (const id of ["ppsdk-results", "ppsdk-vitals", "ppsdk-immunizations", "ppsdk-encounters"]) assert.ok(sections.includes(id), `section#${id} in ${sections}`);

          // What the SDK read: every entry of the sample bundle, from this server.
          const opens = await page.evaluate(() => window.__opens);
          assert.equal(opens.length, 1, "one openFhir call");
          assert.equal(opens[0].resourceCount, expected.entries, "resources in the record = entries of the sample bundle");
          assert.equal(opens[0].source?.kind, "fhirServer");
          assert.equal(opens[0].source.baseUrl, links.fhir.base);
          assert.equal(opens[0].source.resources, expected.entries, "resources received");
          assert.deepEqual(opens[0].source.skipped, [], "no search was skipped");
          // What the chart shows: every one of them.
          await openAllDisclosures(page);
          assert.equal(await shownEntries(page), expected.shown, "entries shown in the chart");

          // The page said what it was doing while it read the record.
          // (The line starts as "Downloading…" in the HTML; the other texts come from the SDK's reports.)
          const progress = await page.evaluate(() => window.__progress);
          assert.equal(progress[0], "Downloading…", `progress texts: ${progress}`);
          assert.ok(progress.includes("Checking what you may see…") && progress.includes("Preparing the chart…"), `progress texts: ${progress}`);
          const states = await page.evaluate(() => window.__states);
          assert.deepEqual(states.slice(-3), ["fhir", "loading", "ready"], `states: ${states}`);
          // Each page of a paged read after the first is announced with the server's total.
          const authorized = await assertTokenOnlyToFhir(requests, token, patient.name);
          const everything = authorized.filter((r) => new URL(r.url).pathname === `/fhir/Patient/${patient.id}/$everything`);
          assert.equal(everything.length, opens[0].source.pages, "one $everything request per page");
          if (everything.length > 1) {
            const pageTexts = progress.filter((p) => /^Downloading… page \d+, \d+ of \d+ resources$/.test(p));
            assert.ok(pageTexts.length >= 1, `a paged read shows its pages: ${progress}`);
            for (const text of pageTexts) assert.match(text, new RegExp(` of ${expected.entries} resources$`), "the total is the patient's");
          }

          await assertTokenNowhere(page, context, token, patient.name);
          assert.ok(new URL(page.url()).searchParams.get("patient") === patient.id, "the address keeps the patient");
          await assertNoCspViolation(page, patient.name);
          assertClean(problems, patient.name);
        } finally {
          await context.close();
        }
      });
    }

    // Control: the page's CSP is enforced and its violations are recorded.
    const { page, context } = await newPage();
    try {
      await openForm(page, links.fhir.patients[0].url);
      await page.evaluate(() => {
        const img = new Image();
        img.src = "https://example.invalid/blocked.png";
      });
      await page.waitForFunction(() => window.__csp.length > 0, null, { polling: POLL_MS });
      assert.match((await page.evaluate(() => window.__csp))[0], /^img-src https:\/\/example\.invalid/);
    } finally {
      await context.close();
    }
  });

  test("a wrong token brings the form back with the page's message, and no chart", { timeout: TEST_TIMEOUT }, async () => {
    const patient = links.fhir.patients[0];
    const expected = samples.get(patient.name);
    const wrong = `wrong-${links.fhir.token.slice(6)}`;
    assert.equal(wrong.length, links.fhir.token.length);
    const { page, context, problems, requests } = await newPage();
    try {
      await openForm(page, patient.url);
      await submitToken(page, wrong);
      assert.equal(await settled(page), "fhir", "the form is shown again");
      assert.equal(await page.locator("#fhir-message").textContent(), "The server did not accept this access token. Check it and try again.");
      assert.equal(await page.locator("#fhir-message").getAttribute("role"), "alert");
      assert.deepEqual(await page.evaluate(() => window.__opens), [{ code: "unauthorized", status: null }], "openFhir rejected with code unauthorized");
      // Everything but the token stays filled in; the token field is empty and has the focus.
      assert.equal(await page.locator("#fhir-base").inputValue(), links.fhir.base);
      assert.equal(await page.locator("#fhir-patient").inputValue(), patient.id);
      assert.equal(await page.locator("#fhir-token").inputValue(), "");
      assert.equal(await page.evaluate(() => document.activeElement?.id), "fhir-token");
      // No chart, nothing from the record.
      assert.equal(await page.locator("#chart").isVisible(), false);
      assert.equal(await page.evaluate(() => document.getElementById("chart").shadowRoot), null, "the chart host is empty");
      const html = await wholePage(page);
      assert.ok(!html.includes(expected.family), "nothing from the record is in the page");
      const authorized = await assertTokenOnlyToFhir(requests, wrong, "wrong token");
      assert.ok(authorized.length >= 1, "the wrong token was sent to the FHIR server");
      await assertTokenNowhere(page, context, wrong, "wrong token");

      // The right token then opens the record.
      await submitToken(page, links.fhir.token);
      await page.waitForFunction(() => ["ready", "error"].includes(document.body.dataset.state), null, { polling: POLL_MS });
      assert.equal(await settled(page), "ready", await errorText(page));
      assert.ok((await page.locator("#chart .patient-name").textContent()).includes(expected.family));
      assert.equal(await page.locator("#fhir-message").isVisible(), false);
      await assertTokenNowhere(page, context, links.fhir.token, "after the right token");
      await assertNoCspViolation(page, "wrong token");
      // The browser itself logs the server's 401 answers to the wrong token.
      const unauthorized = problems.consoleErrors.filter((e) => e.includes("status of 401"));
      assert.ok(unauthorized.length >= 1, "the server answered 401");
      problems.consoleErrors = problems.consoleErrors.filter((e) => !e.includes("status of 401"));
      assertClean(problems, "wrong token");
    } finally {
      await context.close();
    }
  });

  test("changing the viewer reopens the record without asking for the token; a reload asks again", { timeout: TEST_TIMEOUT }, async () => {
    const patient = links.fhir.patients.find((p) => p.name === "Alex Rivera");
    assert.ok(patient, "the adolescent sample is a FHIR patient");
    const token = links.fhir.token;
    const { page, context, problems, requests } = await newPage();
    const reads = async () => (await requests()).filter((r) => r.url.includes("/$everything")).length;
    const chartHtml = () => page.evaluate(() => document.getElementById("chart").shadowRoot?.innerHTML ?? "");
    try {
      await openForm(page, patient.url);
      await submitToken(page, token);
      assert.equal(await settled(page), "ready", await errorText(page));
      assert.ok((await chartHtml()).includes("Generalized anxiety disorder"), "control: the patient sees her whole record");
      assert.equal(await page.locator("#chart .withheld").count(), 0);
      const before = await reads();
      const statesBefore = (await page.evaluate(() => window.__states)).length;

      await page.selectOption("#viewer-select", "proxy:parent");
      await page.waitForFunction(() => document.body.dataset.state === "ready" && new URLSearchParams(location.search).get("relationship") === "parent", null, { polling: POLL_MS });
      await page.waitForFunction(() => document.getElementById("chart").shadowRoot?.querySelector(".withheld"), null, { polling: POLL_MS });
      assert.deepEqual((await page.evaluate(() => window.__states)).slice(statesBefore), ["loading", "ready"], "no token form in between");
      assert.equal(await reads(), before + 1, "the record was read again from the server");
      assert.equal(await page.locator("#chart .withheld").textContent(), "Some items in this record are not shown to you.");
      assert.ok(!(await chartHtml()).includes("Generalized anxiety disorder"), "a parent does not see the adolescent's restricted problems");
      assert.equal(new URL(page.url()).searchParams.get("viewer"), "proxy");
      assert.equal(new URL(page.url()).searchParams.get("patient"), patient.id);

      await page.selectOption("#viewer-select", "patient");
      await page.waitForFunction(() => document.body.dataset.state === "ready" && new URLSearchParams(location.search).get("viewer") === "patient", null, { polling: POLL_MS });
      await page.waitForFunction(() => document.getElementById("chart").shadowRoot?.querySelector("section#ppsdk-problems"), null, { polling: POLL_MS });
      assert.ok((await chartHtml()).includes("Generalized anxiety disorder"));
      assert.ok(!(await page.evaluate(() => window.__states)).slice(statesBefore).includes("fhir"), "the form was never shown");
      const opens = await page.evaluate(() => window.__opens);
      assert.equal(opens.length, 3);
      assert.ok(opens.every((o) => o.resourceCount > 0), "each open resolved");
      await assertTokenOnlyToFhir(requests, token, "viewer changes");
      await assertTokenNowhere(page, context, token, "after the viewer changes");

      // The token lived in the page only: a reload asks for it again.
      await page.reload();
      await page.waitForFunction(() => document.body.dataset.state === "fhir", null, { polling: POLL_MS });
      assert.equal(await page.locator("#fhir-token").inputValue(), "");
      assert.equal(await page.locator("#fhir-patient").inputValue(), patient.id);
      assert.equal(await page.locator("#viewer-select").inputValue(), "patient");
      await assertTokenNowhere(page, context, token, "after a reload");
      await assertNoCspViolation(page, "after a reload");
      assertClean(problems, "viewer changes");
    } finally {
      await context.close();
    }
  });
});
