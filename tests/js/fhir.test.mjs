// `portal.openFhir(...)` in headless Chromium against a real FHIR R4 engine
// on loopback (Medplum's, see fhir-server.mjs) holding the Synthea, US Core
// and IPS bundles of ../shared/data/fhir/: the chart equals the chart of the
// same bundle opened as a sealed file; every fault a server can answer gives
// its typed error; the token reaches nothing outside baseUrl.

import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { readdir } from "node:fs/promises";

import { ROOT, assertNoPageProblems, launchBrowser, newHostPage, seal, startServer } from "./harness.mjs";
import { bundleKeys, loadBundleFile, startCatcher, startFhirServer } from "./fhir-server.mjs";

const SYNTHEA = `${ROOT}../shared/data/fhir/synthea/`;
const US_CORE = `${ROOT}../shared/data/fhir/us-core/patient-example.collection.json`;
const IPS = `${ROOT}../shared/data/fhir/ips/bundle-minimal.json`;
const TOKEN = "test-token";

let server;
let fhir;
let catcher;
let browser;
const files = {};

const patientId = (bundle) => bundle.entry.find((e) => e.resource.resourceType === "Patient").resource.id ?? bundle.entry.find((e) => e.resource.resourceType === "Patient").fullUrl.split(":").pop();

before(async () => {
  const synthea = (await readdir(SYNTHEA)).filter((f) => f.endsWith(".json"));
  files.christian = `${SYNTHEA}${synthea.find((f) => f.startsWith("Christian"))}`;
  files.zackary = `${SYNTHEA}${synthea.find((f) => f.startsWith("Zackary"))}`;
  files.usCore = US_CORE;
  files.ips = IPS;
  server = await startServer();
  fhir = await startFhirServer({ bundles: Object.values(files), token: TOKEN });
  catcher = await startCatcher();
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await fhir?.close();
  await catcher?.close();
  await server?.stop();
});

/**
 * A host page on the development backend's origin. The test's host page is
 * answered by the test itself (no server address), which Chromium's Local
 * Network Access counts as public: reaching the FHIR engine on loopback then
 * needs the permission a user would grant, granted here.
 */
const hostPage = () => newHostPage(browser, server, { setup: (context) => context.grantPermissions(["local-network-access"]) });

/** The chart's rows and list items without their entry numbers, sorted: the same chart whatever order resources arrive in. */
function rows(html) {
  return html
    .split(/<tr|<li/)
    .map((part) => part.replace(/ data-entry="\d+"/g, ""))
    .sort();
}

/**
 * Runs `openFhir` in the page with `options` (getAccessToken answers `tokens`:
 * the first for ordinary calls, the second for forced refreshes). Resolves to
 * the outcome: the record's facts and chart, or the error's fields.
 */
async function openFhir(page, options, { tokens = [TOKEN, TOKEN], abortAfterMs } = {}) {
  return page.evaluate(
    async ({ options, tokens, abortAfterMs }) => {
      const { PatientPortal } = window.__ppsdk;
      const calls = [];
      const progress = [];
      const controller = new AbortController();
      if (abortAfterMs !== undefined) setTimeout(() => controller.abort(), abortAfterMs);
      const started = performance.now();
      try {
        const record = await new PatientPortal({ locale: "en-US", timeZone: "UTC" }).openFhir({
          ...options,
          signal: controller.signal,
          getAccessToken: async ({ forceRefresh }) => {
            calls.push(forceRefresh);
            if (tokens === "throw") throw new Error("refresh token revoked: rt-SECRET");
            return forceRefresh ? tokens[1] : tokens[0];
          },
          onProgress: (p) => progress.push({ ...p }),
        });
        const ms = performance.now() - started;
        const out = { ok: true, ms, calls, progress, count: record.resourceCount, source: record.source, html: record.toHtml(), name: record.patientName };
        record.free();
        return out;
      } catch (e) {
        return { ok: false, ms: performance.now() - started, calls, progress, name: e.name, code: e.code, status: e.status, retryAfter: e.retryAfter, issues: e.issues, message: e.message, all: JSON.stringify(e) + String(e.stack) };
      }
    },
    { options, tokens, abortAfterMs },
  );
}

async function sealedChart(page, bundleText) {
  const { jwe, key } = await seal(bundleText);
  return page.evaluate(
    ({ jwe, key }) => {
      const record = new window.__ppsdk.PatientPortal({ locale: "en-US", timeZone: "UTC" }).openJwe(jwe, key);
      const html = record.toHtml();
      const count = record.resourceCount;
      record.free();
      return { html, count };
    },
    { jwe, key },
  );
}

function clearFaults() {
  for (const k of Object.keys(fhir.faults)) delete fhir.faults[k];
  fhir.setToken(TOKEN);
}

describe("openFhir against a FHIR engine on loopback", () => {
  test("the 9.1 MB Synthea patient by $everything: the sealed file's chart, with the request log", async (t) => {
    clearFaults();
    const bundle = await loadBundleFile(files.zackary);
    const patient = patientId(bundle);
    const { page, context, problems } = await hostPage();
    try {
      const logStart = fhir.log.length;
      const got = await openFhir(page, { baseUrl: fhir.baseUrl, patient });
      assert.ok(got.ok, `${got.code}: ${got.message}`);
      const requests = fhir.log.slice(logStart);
      assert.equal(got.count, bundle.entry.length);
      assert.equal(got.source.kind, "fhirServer");
      assert.equal(got.source.everything, true);
      assert.equal(got.source.resources, bundle.entry.length);
      assert.equal(got.source.requests, requests.length);
      const sealed = await sealedChart(page, JSON.stringify(bundle));
      assert.equal(sealed.count, got.count);
      assert.deepEqual(rows(got.html), rows(sealed.html), "the chart from the server equals the sealed file's");
      // Progress: fetch counts rising to the total, then the other stages.
      const fetches = got.progress.filter((p) => p.stage === "fetch" && p.pages !== undefined);
      assert.ok(fetches.length >= 2);
      assert.deepEqual(fetches.at(-1), { stage: "fetch", pages: got.source.pages, resources: bundle.entry.length, total: bundle.entry.length });
      assert.deepEqual(got.progress.filter((p) => p.pages === undefined).map((p) => p.stage), ["fetch", "parse", "consent", "chart", "ready"]);
      // Every request under baseUrl, with the token; nothing else.
      assert.ok(requests.every((r) => r.auth && r.path.startsWith("/fhir/R4/")), JSON.stringify(requests));
      t.diagnostic(`openFhir Zackary (${bundle.entry.length} resources): ${requests.length} requests, ${got.source.pages} pages, ${(got.source.bytes / 1e6).toFixed(2)} MB, ${got.ms.toFixed(0)} ms`);
      for (const r of requests) t.diagnostic(`  ${r.method} ${r.path.replace(patient, "{id}")} -> ${r.status}`);
      assertNoPageProblems(problems, "openFhir");
    } finally {
      await context.close();
    }
  });

  test("US Core and IPS records come whole; without $everything the US Core searches run per type", async () => {
    clearFaults();
    const { page, context } = await hostPage();
    try {
      for (const file of [files.usCore, files.ips]) {
        const bundle = await loadBundleFile(file);
        const patient = patientId(bundle);
        const got = await openFhir(page, { baseUrl: fhir.baseUrl, patient });
        assert.ok(got.ok, `${file}: ${got.code} ${got.message}`);
        assert.equal(got.count, bundleKeys(bundle).size, file);
        const sealed = await sealedChart(page, JSON.stringify(bundle));
        assert.deepEqual(rows(got.html), rows(sealed.html), `${file}: the same chart`);
      }
      fhir.faults.noEverything = true;
      const bundle = await loadBundleFile(files.christian);
      const start = fhir.log.length;
      const got = await openFhir(page, { baseUrl: fhir.baseUrl, patient: patientId(bundle), pageSize: 10 });
      assert.ok(got.ok, `${got.code} ${got.message}`);
      assert.equal(got.source.everything, false);
      const paths = fhir.log.slice(start).map((r) => r.path);
      assert.ok(paths.some((p) => p.startsWith("/fhir/R4/Observation?") && p.includes("category=laboratory")));
      assert.ok(paths.some((p) => p.includes("_include=MedicationRequest%3Amedication") || p.includes("_include=MedicationRequest:medication")));
      assert.ok(paths.some((p) => /_offset=\d+/.test(p)), "next links were followed");
      const searched = new Set(["Patient", "AllergyIntolerance", "Condition", "MedicationRequest", "Medication", "Observation", "Immunization", "Procedure", "Encounter", "DiagnosticReport", "DocumentReference", "CarePlan", "Goal", "CareTeam", "Device"]);
      const expected = bundle.entry.filter((e) => searched.has(e.resource.resourceType)).length;
      assert.equal(got.count, expected);
    } finally {
      clearFaults();
      await context.close();
    }
  });

  test("faults: each gives its typed error, or is waited out", async (t) => {
    const bundle = await loadBundleFile(files.christian);
    const patient = patientId(bundle);
    const { page, context } = await hostPage();
    const cases = [
      ["token expired mid-session: refreshed once", () => (fhir.faults.unauthorizedOnce = true), {}, "ok", (got) => assert.deepEqual(got.calls.filter((c) => c).length, 1)],
      ["token refused after the refresh", () => fhir.setToken("rotated"), {}, "unauthorized", (got) => assert.equal(got.calls.filter((c) => c).length, 1)],
      ["getAccessToken throws", () => {}, { tokens: "throw" }, "unauthorized", (got) => assert.ok(!got.all.includes("rt-SECRET"))],
      ["429 with Retry-After: 1", () => (fhir.faults.rateLimit = { count: 1, retryAfter: "1" }), {}, "ok", (got) => assert.ok(got.ms >= 1000, `${got.ms}`)],
      ["429 for longer than allowed", () => (fhir.faults.rateLimit = { count: 1, retryAfter: "3600" }), {}, "httpStatus", (got) => assert.deepEqual([got.status, got.retryAfter], [429, 3600])],
      ["500 then 200", () => (fhir.faults.serverErrorOnce = 500), {}, "ok"],
      ["503 then 200", () => (fhir.faults.serverErrorOnce = 503), {}, "ok"],
      [
        "OperationOutcome 400",
        () => (fhir.faults.operationOutcome = { status: 400, severity: "error", code: "not-supported", details: "Unknown search parameter" }),
        {},
        "fhirError",
        (got) => {
          assert.equal(got.status, 400);
          assert.deepEqual(got.issues, [{ severity: "error", code: "not-supported", details: "Unknown search parameter" }]);
          assert.ok(!got.all.includes("SECRET-DIAGNOSTICS"));
        },
      ],
      ["an oversized page", () => (fhir.faults.oversizedPage = 3_000_000), { maxRecordBytes: 2_000_000 }, "tooLarge"],
      ["a page that is not a Bundle", () => (fhir.faults.notBundle = true), {}, "format"],
      ["another patient's records", () => (fhir.faults.wrongPatient = patientId(bundle) === "example" ? "x" : "example"), {}, "format"],
      ["a next link to another origin", () => (fhir.faults.foreignNext = catcher.origin), { pageSize: 20 }, "format", (got) => assert.ok(got.message.includes(catcher.origin))],
      ["aborted by the host", () => (fhir.faults.delayMs = 500), { abortAfterMs: 100 }, "aborted"],
      ["too many resources", () => {}, { maxResources: 10 }, "tooLarge"],
    ];
    try {
      for (const [what, arrange, extra, expected, check] of cases) {
        clearFaults();
        arrange();
        const { tokens, abortAfterMs, ...options } = extra;
        const got = await openFhir(page, { baseUrl: fhir.baseUrl, patient, ...options }, { tokens, abortAfterMs });
        assert.equal(got.ok ? "ok" : got.code, expected, `${what}: ${got.message ?? ""}`);
        if (!got.ok) assert.equal(got.name, "PatientPortalError", what);
        if (!got.ok) assert.ok(!got.all.includes(TOKEN) && !got.all.includes("rotated"), `${what}: no token in the error`);
        check?.(got);
        t.diagnostic(`${what}: ${got.ok ? `opened (${got.count} resources)` : `${got.code}${got.status ? ` ${got.status}` : ""}`} in ${got.ms.toFixed(0)} ms`);
      }
      // The second origin was never contacted, so no token reached it.
      assert.equal(catcher.requests.length, 0, JSON.stringify(catcher.requests));
      assert.ok(!catcher.requests.some((r) => r.authorization));
      // Nothing of the token in the page's storage or its URL.
      const stored = await page.evaluate(() => JSON.stringify({ ...localStorage }) + JSON.stringify({ ...sessionStorage }) + location.href + document.cookie);
      assert.ok(!stored.includes(TOKEN));
    } finally {
      clearFaults();
      await context.close();
    }
  });
});
