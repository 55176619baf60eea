// Faithful to the source, in the browser: a "do not give" order, a pulse
// oximetry reading with its oxygen flow, and a report with its PDF, taken
// from the HL7 US Core examples (../shared/data/fhir/us-core/), rendered
// live at 1280 and 320 px. Screenshots go to tests/js/screenshots/.

import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";

import { ROOT, assertNoPageProblems, launchBrowser, layOutInFull, newHostPage, openAllDetails, seal, seenText, startServer } from "./harness.mjs";

const SCREENSHOTS = fileURLToPath(new URL("./screenshots/", import.meta.url));
const US_CORE = `${ROOT}../shared/data/fhir/us-core/patient-example.collection.json`;

let server;
let browser;
let usCore;
let axeSource;
const AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"];

before(async () => {
  server = await startServer();
  browser = await launchBrowser();
  usCore = JSON.parse(await readFile(US_CORE, "utf8"));
  axeSource = await readFile(createRequire(import.meta.url).resolve("axe-core/axe.min.js"), "utf8");
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

const byId = (type, id) => {
  const entry = usCore.entry.find((e) => e.resource.resourceType === type && e.resource.id === id);
  assert.ok(entry, `${type}/${id} in the US Core examples`);
  return structuredClone(entry);
};

/** The patient, the negated order (next to the same drug ordered), the pulse oximetry, the report and its results. */
function record() {
  const patient = usCore.entry.find((e) => e.resource.resourceType === "Patient");
  const ordered = byId("MedicationRequest", "medicationrequest-coded-oral-axid");
  const doNotGive = byId("MedicationRequest", "medicationrequest-coded-oral-axid");
  doNotGive.resource.id = "do-not-give";
  doNotGive.fullUrl = doNotGive.fullUrl?.replace(/[^/]+$/, "do-not-give");
  doNotGive.resource.doNotPerform = true;
  const report = byId("DiagnosticReport", "bone-density-report");
  const results = (report.resource.result ?? []).map((r) => usCore.entry.find((e) => r.reference.endsWith(`${e.resource.resourceType}/${e.resource.id}`))).filter(Boolean);
  return {
    resourceType: "Bundle",
    type: "collection",
    entry: [patient, ordered, doNotGive, byId("Observation", "satO2-fiO2"), report, ...results],
  };
}

async function chartAt(width) {
  const { jwe, key } = await seal(record());
  const { page, context, problems } = await newHostPage(browser, server, { width });
  await page.evaluate(
    ({ jwe, key }) => {
      window.__record = new window.__ppsdk.PatientPortal({ locale: "en-US", timeZone: "UTC" }).openJwe(jwe, key);
      return window.__record.render(document.querySelector("#chart"));
    },
    { jwe, key },
  );
  return { page, context, problems, root: (selector) => page.locator(`#chart ${selector}`) };
}

describe("the chart states what the record states", () => {
  for (const width of [1280, 320]) {
    test(`a negated order, pulse oximetry with oxygen flow, a report with its PDF at ${width} px`, async () => {
      const { page, context, problems, root } = await chartAt(width);
      try {
        // The "do not give" order: a visible marker read as part of the row's name, not "Active".
        const negated = root("#ppsdk-medications tbody tr").filter({ has: page.locator(".negation") });
        assert.equal(await negated.count(), 1);
        const header = negated.locator("th");
        assert.match(await seenText(header), /^⊘?\s*Do not give\s+Nizatidine 15 MG\/ML Oral Solution/);
        assert.ok(await negated.locator(".negation").isVisible());
        const name = await header.evaluate((th) => th.textContent.replace(/\s+/g, " ").trim());
        assert.match(name, /^Do not give Nizatidine/, "screen readers hear the marker first");
        assert.doesNotMatch(await seenText(negated), /\bActive\b/);
        const ordered = root("#ppsdk-medications tbody tr").filter({ hasNot: page.locator(".negation") }).filter({ hasText: "Nizatidine" });
        assert.match(await seenText(ordered), /Active/);
        await negated.screenshot({ path: `${SCREENSHOTS}faithful-negated-order-${width}.png` });

        // Pulse oximetry: value, flag, range and the oxygen flow component.
        const ox = root("#ppsdk-vitals tbody tr").filter({ hasText: "Inhaled oxygen flow rate" });
        assert.equal(await ox.count(), 1);
        const text = (await seenText(ox)).replace(/\s+/g, " ");
        for (const fact of ["95 %", "Inhaled oxygen flow rate: 6 liters/min", "90 % – 99 %", "Normal"]) assert.ok(text.includes(fact), `${fact} in ${text}`);
        await ox.screenshot({ path: `${SCREENSHOTS}faithful-pulse-oximetry-${width}.png` });

        // The report: its PDF offered as a download with a safe name.
        const heading = root("#ppsdk-results tr.group").filter({ hasText: /bone density/i });
        assert.equal(await heading.count(), 1);
        const pdf = heading.locator("a.file");
        assert.equal(await pdf.count(), 1);
        assert.match(await pdf.getAttribute("href"), /^data:application\/octet-stream;base64,JVBER/);
        assert.match(await pdf.getAttribute("download"), /\.pdf$/);
        assert.match(await seenText(pdf), /Download \(application\/pdf, \d+ KB\)/);
        assert.doesNotMatch(await seenText(heading), /no results/);
        await heading.locator("xpath=ancestor::tbody[1]").screenshot({ path: `${SCREENSHOTS}faithful-report-pdf-${width}.png` });

        // Nothing scrolls sideways on a phone.
        const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
        assert.ok(overflow <= 0, `page scrolls sideways by ${overflow} px`);
        // The markers, components and report links pass axe-core (WCAG 2.2 A/AA), every disclosure open.
        await openAllDetails(page);
        await layOutInFull(page);
        await page.evaluate(axeSource);
        const violations = await page.evaluate(
          (tags) => window.axe.run({ include: [["#chart"]] }, { runOnly: { type: "tag", values: tags }, resultTypes: ["violations"] }).then((r) => r.violations),
          AXE_TAGS,
        );
        assert.deepEqual(violations.map((v) => `${v.id}: ${v.nodes.map((n) => JSON.stringify(n.target)).join(", ")}`), []);
        assertNoPageProblems(problems, `faithful chart at ${width}`);
      } finally {
        await context.close();
      }
    });
  }
});
