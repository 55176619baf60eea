// Worker mode (`patient-portal-sdk/worker-portal`) in headless Chromium,
// against the main-thread path as the reference: the same records (the
// examples, an IPS, a 3.5 MB Synthea record, US Core) give the same chart,
// counts, decisions, resources, audit event and static HTML; lazy
// disclosures, the results filter and printing work; errors arrive as
// `PatientPortalError`s with their codes and fields; abort reaches the
// worker; `free()` closes the chart and frees the record in the worker; a
// strict Content-Security-Policy page runs it in a worker with zero
// violations, and a page whose policy forbids workers falls back to the main
// thread behind the same API.

import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";

import { POLL_MS, STEP_TIMEOUT, assertNoPageProblems, launchBrowser, loadSamples, newHostPage, seal, startServer } from "./harness.mjs";

const TEST_TIMEOUT = 180_000;

/** The host page's two containers, the main-thread chart in #chart and the worker's in #copy, compared. */
async function bothCharts(page, { jwe, key }) {
  return page.evaluate(
    async ({ jwe, key }) => {
      const { PatientPortal } = window.__ppsdk;
      const { WorkerPortal } = await import("/pkg/worker-portal.js");
      const options = { locale: "en-US", timeZone: "UTC", theme: "light" };
      const portal = new PatientPortal(options);
      const workerPortal = (window.__workerPortal ??= new WorkerPortal(options));
      const mode = await workerPortal.ready;
      const main = portal.openJwe(jwe, key);
      const worker = await workerPortal.openJwe(jwe, key);
      window.__main?.free();
      window.__worker?.free();
      window.__main = main;
      window.__worker = worker;
      const mainRendered = main.render(document.querySelector("#chart"));
      const rendered = worker.render(document.querySelector("#copy"));
      const synchronous = document.querySelector("#copy").shadowRoot?.querySelector("article.chart") !== null;
      await Promise.all([mainRendered, rendered]);
      const plain = (s) => s.replace(/data-ppsdk-render="[^"]*"/g, "");
      const audit = (a) => ({ ...a, recorded: undefined });
      return {
        mode,
        synchronous,
        renderIsPromise: rendered instanceof Promise,
        chart: [plain(document.querySelector("#chart").shadowRoot.innerHTML), plain(document.querySelector("#copy").shadowRoot.innerHTML)],
        getters: ["resourceCount", "bundleType", "patientName", "withheldCount", "source"].map((g) => [JSON.stringify(main[g]), JSON.stringify(worker[g])]),
        counts: [main.resourceCounts(), worker.resourceCounts()],
        decisions: [main.decisions(), worker.decisions()],
        resources: [JSON.stringify(main.resources()), JSON.stringify(await worker.resources())],
        observations: [main.resources("Observation").length, (await worker.resources("Observation")).length],
        html: [main.toHtml({ styles: "none" }), await worker.toHtml({ styles: "none" })],
        audit: [audit(main.auditEvent()), audit(await worker.auditEvent())],
        transfer: worker.transfer,
      };
    },
    { jwe, key },
  );
}

describe("worker mode", () => {
  let server;
  let browser;
  let samples;
  before(async () => {
    server = await startServer();
    browser = await launchBrowser();
    samples = await loadSamples({ shared: true });
  });
  after(async () => {
    await browser?.close();
    await server?.stop();
  });

  test("every sample gives the main thread's chart, answers and HTML; disclosures fill the same", { timeout: TEST_TIMEOUT }, async () => {
    const { page, context, problems } = await newHostPage(browser, server);
    try {
      for (const sample of samples) {
        const sealed = await seal(sample.text);
        const facts = await bothCharts(page, sealed);
        const what = sample.name;
        assert.equal(facts.mode, "worker", `${what}: opened in a worker`);
        assert.ok(facts.renderIsPromise && facts.synchronous, `${what}: render committed the portal's chart before returning`);
        assert.ok(facts.chart[0].length > 1000, `${what}: a chart was rendered`);
        assert.equal(facts.chart[1], facts.chart[0], `${what}: the same chart`);
        for (const [a, b] of facts.getters) assert.equal(b, a, `${what}: the same getters`);
        assert.deepEqual(facts.counts[1], facts.counts[0], `${what}: resourceCounts`);
        assert.deepEqual(facts.decisions[1], facts.decisions[0], `${what}: decisions`);
        assert.equal(facts.resources[1], facts.resources[0], `${what}: resources`);
        assert.equal(facts.observations[1], facts.observations[0], `${what}: resources("Observation")`);
        assert.equal(facts.html[1], facts.html[0], `${what}: toHtml`);
        assert.deepEqual(facts.audit[1], facts.audit[0], `${what}: auditEvent`);
        assert.ok(facts.transfer.characters > facts.chart[0].length / 2 && facts.transfer.ms >= 0, `${what}: the transfer is measured`);
        // Every disclosure opened in both: the worker fills them as the main thread does.
        const filled = await page.evaluate(async () => {
          const open = async (root) => {
            for (let round = 0; round < 5; round++) {
              const closed = [...root.querySelectorAll("details:not([open])")];
              if (!closed.length) break;
              for (const d of closed) d.open = true;
              for (let i = 0; i < 200 && [...root.querySelectorAll("details[data-fill]")].some((d) => !d.hasAttribute("data-filled")); i++) {
                await new Promise((r) => setTimeout(r, 25));
              }
            }
          };
          const a = document.querySelector("#chart").shadowRoot;
          const b = document.querySelector("#copy").shadowRoot;
          await open(a);
          await open(b);
          const plain = (s) => s.replace(/data-ppsdk-render="[^"]*"/g, "");
          return { main: plain(a.innerHTML), worker: plain(b.innerHTML), lazy: a.querySelectorAll("details[data-filled]").length };
        });
        assert.equal(filled.worker, filled.main, `${what}: the same chart with every disclosure filled (${filled.lazy} filled)`);
      }
      assertNoPageProblems(problems, "worker mode");
    } finally {
      await context.close();
    }
  });

  test("the results filter, printing, the table of contents and free() work on a worker's chart", { timeout: TEST_TIMEOUT }, async () => {
    const { page, context, problems } = await newHostPage(browser, server);
    try {
      const sample = samples.find((s) => s.name.startsWith("Vito_Feeney"));
      const sealed = await seal(sample.text);
      await page.evaluate(async ({ jwe, key }) => {
        const { WorkerPortal } = await import("/pkg/worker-portal.js");
        const portal = new WorkerPortal({ locale: "en-US", timeZone: "UTC" });
        window.__worker = await portal.openJwe(jwe, key);
        await window.__worker.render(document.querySelector("#copy"));
      }, sealed);
      const root = "#copy >> ";
      const first = await page.evaluate(() => document.querySelector("#copy").shadowRoot.querySelector(".results-list").innerHTML);
      await page.fill(`${root}input#ppsdk-results-filter`, "glucose");
      await page.waitForFunction(() => document.querySelector("#copy").shadowRoot.querySelector(".filter-status").textContent.length > 0, null, { polling: POLL_MS });
      const filtered = await page.evaluate(() => {
        const r = document.querySelector("#copy").shadowRoot;
        return { status: r.querySelector(".filter-status").textContent, rows: [...r.querySelectorAll(".results-list tbody tr:not(.group)")].map((tr) => tr.textContent) };
      });
      assert.match(filtered.status, /result/);
      assert.ok(filtered.rows.length > 0 && filtered.rows.every((t) => /glucose/i.test(t)), "only glucose results");
      await page.fill(`${root}input#ppsdk-results-filter`, "");
      const restored = await page.evaluate(() => document.querySelector("#copy").shadowRoot.querySelector(".results-list").innerHTML);
      assert.equal(restored, first, "emptying the filter shows the first results again");

      // Printing: every disclosure filled and open, synchronously in beforeprint.
      const printed = await page.evaluate(async () => {
        const r = document.querySelector("#copy").shadowRoot;
        // The deferred disclosures arrive from the worker while the page is idle.
        await new Promise((res) => setTimeout(res, 2000));
        window.dispatchEvent(new Event("beforeprint"));
        const all = [...r.querySelectorAll("details")];
        const lazy = [...r.querySelectorAll("details[data-fill]")];
        const size = [...r.querySelectorAll("[data-fill-here]")].reduce((n, e) => n + e.innerHTML.length, 0);
        return { all: all.length, open: all.filter((d) => d.open).length, lazy: lazy.length, filled: lazy.filter((d) => d.hasAttribute("data-filled")).length, size };
      });
      assert.ok(printed.lazy > 0, "the record has deferred disclosures");
      // More than one answer's worth (128 Ki characters each): the prefetch came in several answers.
      assert.ok(printed.size > 3 * 128 * 1024, `the disclosures' markup spans several answers (${printed.size} characters)`);
      assert.equal(printed.open, printed.all, "every disclosure open for printing");
      assert.equal(printed.filled, printed.lazy, "every deferred disclosure filled for printing");

      // The table of contents expands a collapsed section and moves focus to it.
      const toc = await page.evaluate(() => {
        const r = document.querySelector("#copy").shadowRoot;
        const toggle = r.querySelector("section button.toggle");
        toggle.click();
        const collapsed = toggle.getAttribute("aria-expanded");
        const section = toggle.closest("[id]")?.id ?? toggle.getAttribute("aria-controls");
        const link = [...r.querySelectorAll('a[href^="#ppsdk-"]')].find((a) => r.getElementById(`${a.getAttribute("href").slice(1)}-h`)?.contains(toggle));
        link?.click();
        return { collapsed, expanded: toggle.getAttribute("aria-expanded"), linked: Boolean(link), section };
      });
      assert.equal(toc.collapsed, "false", "the section toggle collapses");
      assert.ok(toc.linked, "the table of contents links the section");
      assert.equal(toc.expanded, "true", "the table of contents link expands it again");

      // free(): the chart closes, the record answers `freed`, the worker's copy is gone.
      const freed = await page.evaluate(async () => {
        const record = window.__worker;
        record.free();
        const r = document.querySelector("#copy").shadowRoot;
        const errors = [];
        for (const call of [() => record.resourceCount, () => record.decisions(), () => record.render(document.querySelector("#copy"))]) {
          try {
            call();
            errors.push(null);
          } catch (e) {
            errors.push(e.code);
          }
        }
        const rejected = await record.resources().then(
          () => null,
          (e) => e.code,
        );
        return { text: r.textContent, closed: r.querySelector("p.closed[role=status]") !== null, errors, rejected };
      });
      assert.ok(freed.closed, "the chart closed");
      assert.ok(!/glucose/i.test(freed.text), "no record content left in the chart");
      assert.deepEqual(freed.errors, ["freed", "freed", "freed"]);
      assert.equal(freed.rejected, "freed");
      assertNoPageProblems(problems, "worker chart");
    } finally {
      await context.close();
    }
  });

  test("errors arrive as PatientPortalErrors with their codes; abort reaches the worker; opens over loopback report progress", { timeout: TEST_TIMEOUT }, async () => {
    const { page, context, problems } = await newHostPage(browser, server);
    try {
      const sample = samples.find((s) => s.name.startsWith("Vito_Feeney"));
      const sealed = await seal(sample.text);
      const other = await seal(sample.text);
      // The sealed file served by the page's origin, under a relative URL.
      await context.route(new URL("/__worker__/record.jwe", server.base).href, (route) => route.fulfill({ status: 200, contentType: "application/jose", body: sealed.jwe }));
      await context.route(new URL("/__worker__/slow.jwe", server.base).href, async (route) => {
        await new Promise((r) => setTimeout(r, 1500));
        await route.fulfill({ status: 200, contentType: "application/jose", body: sealed.jwe }).catch(() => {});
      });
      await context.route(new URL("/__worker__/missing.jwe", server.base).href, (route) => route.fulfill({ status: 500, body: "no" }));
      const facts = await page.evaluate(
        async ({ key, wrongKey }) => {
          const { isPatientPortalError, PatientPortalError } = window.__ppsdk;
          const { WorkerPortal } = await import("/pkg/worker-portal.js");
          const portal = new WorkerPortal();
          const mode = await portal.ready;
          const stages = [];
          const record = await portal.openUrl("../__worker__/record.jwe", key, { onProgress: ({ stage }) => stages.push(stage) });
          const failure = async (promise) => {
            try {
              await promise;
              return null;
            } catch (e) {
              return { code: e.code, status: e.status, sdk: isPatientPortalError(e), instance: e instanceof PatientPortalError, message: e.message };
            }
          };
          const wrong = await failure(portal.openUrl("/__worker__/record.jwe", wrongKey));
          const status = await failure(portal.openUrl("/__worker__/missing.jwe", key));
          const controller = new AbortController();
          const slow = portal.openUrl("/__worker__/slow.jwe", key, { signal: controller.signal });
          setTimeout(() => controller.abort(), 200);
          const aborted = await failure(slow);
          const badOption = await failure(portal.openUrl("/__worker__/record.jwe", key, { nonsense: true }));
          const badPortal = await failure(new WorkerPortal({ retries: -1 }).ready);
          return { mode, stages, count: record.resourceCount, wrong, status, aborted, badOption, badPortal, backend: portal.cryptoBackend };
        },
        { key: sealed.key, wrongKey: other.key },
      );
      assert.equal(facts.mode, "worker");
      assert.equal(facts.backend, "webcrypto");
      assert.equal(facts.count, sample.bundle.entry.length, "the record opened from a relative URL resolved against the page");
      assert.ok(facts.stages.includes("decrypt") && facts.stages.includes("parse"), `progress from the worker: ${facts.stages}`);
      for (const [name, failure, code] of [
        ["wrong key", facts.wrong, "decrypt"],
        ["HTTP 500", facts.status, "httpStatus"],
        ["abort", facts.aborted, "aborted"],
        ["unknown option", facts.badOption, "badInput"],
        ["bad portal option", facts.badPortal, "badInput"],
      ]) {
        assert.ok(failure, `${name}: rejected`);
        assert.equal(failure.code, code, `${name}: ${failure.message}`);
        assert.ok(failure.sdk && failure.instance, `${name}: a PatientPortalError of the page's SDK`);
        assert.ok(!failure.message.includes(sealed.key), `${name}: no key in the message`);
      }
      assert.equal(facts.status.status, 500, "the HTTP status is carried");
      assertNoPageProblems(problems, "worker errors");
    } finally {
      await context.close();
    }
  });

  test("a SMART Health Link with a passcode: the wrong passcode carries remainingAttempts, the right one opens", { timeout: TEST_TIMEOUT }, async () => {
    const { page, context, problems } = await newHostPage(browser, server);
    try {
      const found = server.links.links.find((l) => l.kind === "passcode");
      assert.ok(found?.passcode, "the development backend offers a passcode link");
      const link = { url: found.viewerUrl, passcode: found.passcode };
      const facts = await page.evaluate(async ({ url, passcode }) => {
        const { WorkerPortal } = await import("/pkg/worker-portal.js");
        const portal = new WorkerPortal();
        const wrong = await portal.openLink(url, { recipient: "Test viewer", passcode: `${passcode}x` }).then(
          () => null,
          (e) => ({ code: e.code, remaining: e.remainingAttempts }),
        );
        const record = await portal.openLink(url, { recipient: "Test viewer", passcode });
        await record.render(document.querySelector("#copy"));
        return { mode: portal.mode, wrong, source: record.source?.kind, name: document.querySelector("#copy").shadowRoot.querySelector(".patient-name")?.textContent };
      }, link);
      assert.equal(facts.mode, "worker");
      assert.equal(facts.wrong?.code, "passcodeWrong");
      assert.equal(typeof facts.wrong.remaining, "number", "remainingAttempts crossed from the worker");
      assert.equal(facts.source, "link");
      assert.ok(facts.name, "the chart shows the patient");
      assertNoPageProblems(problems, "worker link");
    } finally {
      await context.close();
    }
  });

  test("openFhir takes its tokens from the page's getAccessToken; share goes through the page's link host", { timeout: TEST_TIMEOUT }, async () => {
    const { fhir, host: api } = server.links;
    assert.ok(fhir?.token && fhir.patients?.length && api?.api && api?.token, "the development backend offers its FHIR API and link API");
    const source = server.links.links.find((l) => l.kind === "plain");
    const { page, context, problems } = await newHostPage(browser, server, { setup: (context) => context.grantPermissions(["local-network-access"]) });
    try {
      const facts = await page.evaluate(
        async ({ fhir, api, link }) => {
          const { PatientPortal, HttpShlHost } = window.__ppsdk;
          const { WorkerPortal } = await import("/pkg/worker-portal.js");
          const portal = new WorkerPortal();
          const asked = [];
          const record = await portal.openFhir({
            baseUrl: fhir.base,
            patient: fhir.patients[0].id,
            getAccessToken: async (request) => {
              asked.push(request);
              return fhir.token;
            },
          });
          const refused = await portal
            .openFhir({ baseUrl: fhir.base, patient: fhir.patients[0].id, getAccessToken: () => "not-the-token" })
            .then(() => null, (e) => e.code);
          const failing = await portal
            .openFhir({ baseUrl: fhir.base, patient: fhir.patients[0].id, getAccessToken: () => Promise.reject(new Error("no session")) })
            .then(() => null, (e) => e.code);
          const fromFhir = { count: record.resourceCount, kind: record.source?.kind, asked: asked.length };
          record.free();

          const opened = await portal.openLink(link, { recipient: "the patient" });
          const httpHost = new HttpShlHost({ baseUrl: api.api, token: api.token });
          const preview = await opened.sharePreview({ audience: { role: "proxy", relationship: "caregiver" } });
          const previewFacts = { count: preview.record.resourceCount, worker: typeof preview.record.transfer === "object", kept: preview.resources?.length ?? null };
          preview.record.free();
          const shared = await opened.share({ audience: { role: "proxy", relationship: "caregiver" }, label: "From worker mode", expiresAt: Date.now() + 3_600_000, host: httpHost });
          const listed = (await httpHost.list()).find((l) => l.id === shared.id);
          const failingHost = { createLink: async () => { throw new Error("host down"); }, addFile: async () => {}, revoke: async () => {}, list: async () => [], accesses: async () => [] };
          const hostFailure = await opened.share({ audience: { role: "patient" }, host: failingHost }).then(() => null, (e) => ({ code: e.code, cause: e.cause?.message }));
          opened.free();
          const main = new PatientPortal();
          const received = await main.openLink(shared.link, { recipient: "Caregiver" });
          const receivedCount = received.resourceCount;
          received.free();
          main.free();
          return { fromFhir, refused, failing, previewFacts, shared: { qr: shared.qr?.startsWith?.("<svg"), expiresAt: Object.prototype.toString.call(shared.expiresAt) }, listed: listed?.label, receivedCount, hostFailure };
        },
        { fhir, api, link: source.viewerUrl },
      );
      assert.ok(facts.fromFhir.count > 0 && facts.fromFhir.kind === "fhirServer", "the FHIR record opened");
      assert.ok(facts.fromFhir.asked >= 1, "the worker asked the page for tokens");
      assert.equal(facts.refused, "unauthorized");
      assert.equal(facts.failing, "unauthorized", "a failing getAccessToken is unauthorized, as on the main thread");
      assert.ok(facts.previewFacts.worker && facts.previewFacts.count > 0, "sharePreview's record is a worker's record");
      assert.equal(facts.listed, "From worker mode", "the link was created through the page's HttpShlHost");
      assert.equal(facts.shared.expiresAt, "[object Date]", "a Date crossed as a Date");
      assert.equal(facts.receivedCount, facts.previewFacts.count, "the recipient sees what the preview showed");
      assert.equal(facts.hostFailure?.code, "hostError");
      assert.equal(facts.hostFailure?.cause, "host down", "the host's own error is the cause");
      assertNoPageProblems(problems, "worker callbacks");
    } finally {
      await context.close();
    }
  });

  test("<patient-chart worker> opens in worker mode, fires ready once the chart is on screen, and closes", { timeout: TEST_TIMEOUT }, async () => {
    const { page, context, problems } = await newHostPage(browser, server);
    try {
      const [sample] = await loadSamples();
      const sealed = await seal(sample.text);
      const facts = await page.evaluate(async ({ jwe, key }) => {
        await import("/pkg/element.js");
        const element = document.createElement("patient-chart");
        element.setAttribute("worker", "");
        element.setAttribute("locale", "en-US");
        document.querySelector("main").append(element);
        let sectionsAtReady = -1;
        element.addEventListener("ready", () => {
          sectionsAtReady = element.shadowRoot.querySelectorAll("article.chart > section").length;
        });
        const record = await element.openJwe(jwe, key);
        const mode = element.portal.mode;
        const sections = element.shadowRoot.querySelectorAll("article.chart > section").length;
        const name = element.shadowRoot.querySelector(".patient-name")?.textContent;
        element.close();
        return { mode, worker: typeof record.transfer === "object", sectionsAtReady, sections, name, closed: element.shadowRoot.querySelector("p.closed") !== null };
      }, sealed);
      assert.equal(facts.mode, "worker");
      assert.ok(facts.worker, "the record is a worker's");
      assert.ok(facts.sections > 1 && facts.sectionsAtReady === facts.sections, `ready fired with every section on screen (${facts.sectionsAtReady} of ${facts.sections})`);
      assert.ok(facts.name, "the patient's name is shown");
      assert.ok(facts.closed, "close() closed the chart");
      assertNoPageProblems(problems, "<patient-chart worker>");
    } finally {
      await context.close();
    }
  });
});

describe("worker mode under a Content-Security-Policy", () => {
  const STRICT = "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; style-src 'self'; require-trusted-types-for 'script'; trusted-types patient-portal-sdk";
  const NO_WORKERS = `${STRICT}; worker-src 'none'`;
  const PAGE = "/__worker-csp__/host.html";
  const SCRIPT = "/__worker-csp__/host.js";
  let server;
  let browser;
  let sealed;
  before(async () => {
    server = await startServer();
    browser = await launchBrowser();
    const samples = await loadSamples();
    sealed = await seal(samples[0].text);
  });
  after(async () => {
    await browser?.close();
    await server?.stop();
  });

  async function run(csp) {
    const context = await browser.newContext();
    context.setDefaultTimeout(STEP_TIMEOUT);
    const html = `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Portal</title><script type="module" src="${SCRIPT}"></script></head><body><main><h1>Record</h1><div id="chart"></div></main></body></html>`;
    const script = `
      window.__violations = [];
      document.addEventListener("securitypolicyviolation", (e) => window.__violations.push(e.violatedDirective));
      const { WorkerPortal } = await import("/pkg/worker-portal.js");
      const hash = new URLSearchParams(location.hash.slice(1));
      const strict = await new WorkerPortal({ fallback: false }).ready.then((mode) => mode, (e) => e.code);
      const portal = new WorkerPortal();
      const record = await portal.openJwe(hash.get("jwe"), hash.get("key"));
      await record.render(document.querySelector("#chart"));
      window.__facts = { strict, mode: portal.mode, sections: document.querySelector("#chart").shadowRoot.querySelectorAll("article.chart section").length };
    `;
    await context.route(new URL(PAGE, server.base).href, (route) => route.fulfill({ status: 200, headers: { "content-type": "text/html", "content-security-policy": csp }, body: html }));
    await context.route(new URL(SCRIPT, server.base).href, (route) => route.fulfill({ status: 200, headers: { "content-type": "text/javascript" }, body: script }));
    const page = await context.newPage();
    const errors = [];
    page.on("pageerror", (e) => errors.push(String(e)));
    await page.goto(`${new URL(PAGE, server.base).href}#${new URLSearchParams({ jwe: sealed.jwe, key: sealed.key })}`);
    await page.waitForFunction(() => window.__facts, null, { timeout: STEP_TIMEOUT, polling: POLL_MS });
    const facts = await page.evaluate(() => ({ ...window.__facts, violations: window.__violations }));
    await context.close();
    return { ...facts, errors };
  }

  test("a strict policy runs the records in a worker with zero violations", { timeout: TEST_TIMEOUT }, async () => {
    const facts = await run(STRICT);
    assert.equal(facts.mode, "worker");
    assert.equal(facts.strict, "worker", "fallback: false starts the worker too");
    assert.ok(facts.sections > 0, "the chart is on screen");
    assert.deepEqual(facts.violations, []);
    assert.deepEqual(facts.errors, []);
  });

  test("a policy that forbids workers falls back to the main thread behind the same API", { timeout: TEST_TIMEOUT }, async () => {
    const facts = await run(NO_WORKERS);
    assert.equal(facts.mode, "main");
    assert.equal(facts.strict, "unsupported", "fallback: false rejects with unsupported");
    assert.ok(facts.sections > 0, "the chart is on screen");
    assert.deepEqual(facts.violations.filter((v) => v !== "worker-src"), [], "only the refused worker was reported");
    assert.deepEqual(facts.errors, []);
  });
});

