// Accessibility of the rendered chart, checked with axe-core in headless
// Chromium: every sample record (examples/data/*.json plus two larger shared
// bundles) is sealed as a JWE, opened with the SDK in a page of the
// development backend's origin and rendered into a host element (the chart
// lives in its open shadow root, which axe-core descends into). With every
// disclosure opened and filled, axe runs the WCAG 2.0/2.1/2.2 A and AA rules
// in light and dark colour schemes at 1280 px and 320 px; any violation
// fails. Also: keyboard access to the first disclosure (Tab from the start
// of the document, Enter opens it, the focus is visible) and no sideways
// page scroll at 320 px.
//
// Writes target/a11y/axe-results.json (per sample, scheme and width: rules
// passed, violations, rules needing review) and, for the examples/data
// samples, screenshots tests/js/screenshots/a11y-<sample>-<scheme>-<width>.png.
//
// Needs `cargo build --example dev_server` and a built pkg/ (`make pkg`).

import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { mkdir, readFile, stat, writeFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

import { ROOT, STEP_TIMEOUT, assertNoPageProblems, launchBrowser, loadSamples, newHostPage, openAllDetails, openRecord, seal, startServer } from "./harness.mjs";

const require = createRequire(import.meta.url);
const AXE_PATH = (() => {
  try {
    return require.resolve("axe-core/axe.min.js");
  } catch (err) {
    throw new Error("axe-core is not installed in tests/js: run `npm ci` (or `npm install`) in tests/js", { cause: err });
  }
})();
const AXE_VERSION = require("axe-core/package.json").version;
const RESULTS = join(ROOT, "target/a11y/axe-results.json");
const SCREENSHOTS = fileURLToPath(new URL("./screenshots/", import.meta.url));
const TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"];
const SCHEMES = ["light", "dark"];
const WIDTHS = [1280, 320];
const SAMPLE_TIMEOUT = 180_000;
const MAX_TABS = 400;

const samples = await loadSamples({ shared: true });

let server;
let browser;
let axeSource;
const results = [];

/** One line per violation: rule, impact, how many nodes, the first targets and what to fix. */
function describeViolations(violations) {
  return violations
    .map((v) => {
      const nodes = v.nodes
        .slice(0, 4)
        .map((n) => `      ${JSON.stringify(n.target)}\n        ${(n.failureSummary ?? "").replaceAll("\n", "\n        ")}`)
        .join("\n");
      const more = v.nodes.length > 4 ? `\n      … and ${v.nodes.length - 4} more` : "";
      return `  - ${v.id} (${v.impact}): ${v.help} [${v.nodes.length} node(s)] ${v.helpUrl}\n${nodes}${more}`;
    })
    .join("\n");
}

/** axe-core's result, reduced to what a release note or a bug report needs. */
function summarise(sample, scheme, width, axeResult) {
  return {
    sample: sample.name,
    source: sample.example ? "examples/data" : "shared",
    scheme,
    width,
    rulesPassed: axeResult.passes.length,
    violations: axeResult.violations.map((v) => ({
      id: v.id,
      impact: v.impact,
      help: v.help,
      nodes: v.nodes.length,
      targets: v.nodes.slice(0, 5).map((n) => n.target),
      failureSummary: v.nodes[0]?.failureSummary ?? "",
    })),
    // Not violations: what axe-core could not decide (e.g. text over an image or a gradient).
    needsReview: axeResult.incomplete.map((v) => ({
      id: v.id,
      impact: v.impact,
      nodes: v.nodes.length,
      targets: v.nodes.slice(0, 3).map((n) => n.target),
      reason: [...new Set(v.nodes.flatMap((n) => [...n.any, ...n.all, ...n.none].map((c) => c.message)))].slice(0, 3),
    })),
  };
}

/** Waits for two animation frames, so a new viewport or colour scheme is laid out and painted. */
const settle = (page) => page.evaluate(() => new Promise((resolve) => requestAnimationFrame(() => requestAnimationFrame(resolve))));

async function setView(page, scheme, width) {
  await page.emulateMedia({ colorScheme: scheme });
  await page.setViewportSize({ width, height: 900 });
  await settle(page);
}

const sidewaysOverflow = (page) => page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);

/** The focused element, looking inside shadow roots; described for messages. */
function focused(page) {
  return page.evaluate(() => {
    let el = document.activeElement;
    while (el?.shadowRoot?.activeElement) el = el.shadowRoot.activeElement;
    if (!el || el === document.body) return { tag: "body", text: "", inChart: false };
    const style = getComputedStyle(el);
    const details = el.tagName === "SUMMARY" ? el.parentElement : null;
    return {
      tag: el.tagName.toLowerCase(),
      text: (el.textContent ?? "").trim().slice(0, 40),
      inChart: el.getRootNode() === document.getElementById("chart").shadowRoot,
      outlineStyle: style.outlineStyle,
      outlineWidth: parseFloat(style.outlineWidth) || 0,
      boxShadow: style.boxShadow,
      focusVisible: el.matches(":focus-visible"),
      open: details?.tagName === "DETAILS" ? details.open : null,
      fill: details?.dataset.fill ?? null,
    };
  });
}

describe("accessibility of the rendered chart (axe-core in headless Chromium)", { timeout: samples.length * SAMPLE_TIMEOUT }, () => {
  before(
    async () => {
      axeSource = await readFile(AXE_PATH, "utf8");
      await mkdir(SCREENSHOTS, { recursive: true });
      server = await startServer();
      browser = await launchBrowser();
    },
    { timeout: 2 * STEP_TIMEOUT },
  );

  after(
    async () => {
      try {
        await mkdir(join(ROOT, "target/a11y"), { recursive: true });
        // pkg/ is rebuilt as the SDK changes: say which build was checked.
        const wasm = await stat(join(ROOT, "pkg/patient_portal_sdk_bg.wasm")).catch(() => null);
        const report = { generatedAt: new Date().toISOString(), axeCore: AXE_VERSION, sdkBuiltAt: wasm?.mtime.toISOString() ?? null, tags: TAGS, results };
        await writeFile(RESULTS, `${JSON.stringify(report, null, 2)}\n`);
        const failing = results.filter((r) => r.violations.length);
        console.log(
          `axe-core ${AXE_VERSION}: ${results.length} runs, ${failing.length} with violations` +
            (failing.length ? ` (${[...new Set(failing.flatMap((r) => r.violations.map((v) => v.id)))].join(", ")})` : "") +
            `; summary in ${RESULTS}`,
        );
        await browser?.close();
      } finally {
        await server?.stop();
      }
    },
    { timeout: STEP_TIMEOUT },
  );

  for (const sample of samples) {
    test(`${sample.name}: no axe violations (WCAG 2.2 A/AA), keyboard, 320px`, { timeout: SAMPLE_TIMEOUT }, async (t) => {
      const { jwe, key } = await seal(sample.text);
      const { page, context, problems } = await newHostPage(browser, server, { width: 1280 });
      try {
        const opened = await openRecord(page, { jwe, key });
        assert.ok(opened.hasShadowRoot, `${sample.name}: the chart renders into a shadow root`);
        assert.ok(opened.resourceCount > 0, `${sample.name}: the record has resources`);

        // The chart as first shown (disclosures closed): screenshots, no sideways scroll.
        for (const scheme of SCHEMES) {
          for (const width of WIDTHS) {
            await setView(page, scheme, width);
            if (sample.example) await page.screenshot({ path: `${SCREENSHOTS}a11y-${sample.slug}-${scheme}-${width}.png`, fullPage: true });
            if (width === 320) {
              const overflow = await sidewaysOverflow(page);
              assert.ok(overflow <= 0, `${sample.name} (${scheme}, 320px, disclosures closed): the page scrolls sideways by ${overflow}px`);
            }
          }
        }

        await t.test("keyboard: Tab reaches the first disclosure, its focus is visible, Enter opens it", async () => {
          await setView(page, "light", 1280);
          const hasDisclosure = await page.evaluate(() => document.getElementById("chart").shadowRoot.querySelector("details > summary") !== null);
          if (!hasDisclosure) {
            t.diagnostic(`${sample.name}: the chart has no disclosure; nothing to open by keyboard`);
            return;
          }
          // From the start of the document, as a keyboard user arrives.
          await page.evaluate(() => {
            document.activeElement?.blur();
            window.scrollTo(0, 0);
          });
          await page.locator("h1").first().click(); // focus the document itself (no focusable element before the chart)
          await page.evaluate(() => document.activeElement?.blur());
          const path = [];
          let now;
          for (let i = 0; i < MAX_TABS; i++) {
            await page.keyboard.press("Tab");
            now = await focused(page);
            path.push(`${now.tag}${now.text ? ` "${now.text}"` : ""}`);
            if (now.tag === "summary" && now.inChart) break;
          }
          assert.equal(now.tag, "summary", `${sample.name}: ${MAX_TABS} Tab presses did not reach a summary in the chart; focus went: ${path.slice(0, 40).join(" → ")}`);
          assert.ok(now.focusVisible, `${sample.name}: the summary reached by Tab does not match :focus-visible`);
          const visible = (now.outlineStyle !== "none" && now.outlineWidth > 0) || (now.boxShadow && now.boxShadow !== "none");
          assert.ok(visible, `${sample.name}: the keyboard-focused summary "${now.text}" has no visible focus indicator (outline-style ${now.outlineStyle}, outline-width ${now.outlineWidth}px, box-shadow ${now.boxShadow})`);
          assert.equal(now.open, false, `${sample.name}: the first disclosure starts closed`);
          await page.keyboard.press("Enter");
          const after = await focused(page);
          assert.equal(after.open, true, `${sample.name}: Enter on the focused summary "${now.text}" did not open its disclosure`);
          if (after.fill !== null) {
            await page.waitForFunction(
              (fill) => document.getElementById("chart").shadowRoot.querySelector(`details[data-fill="${fill}"]`)?.hasAttribute("data-filled"),
              after.fill,
            );
          }
        });

        await openAllDetails(page);
        const disclosures = await page.evaluate(() => {
          const all = [...document.getElementById("chart").shadowRoot.querySelectorAll("details")];
          return { all: all.length, open: all.filter((d) => d.open).length };
        });
        assert.equal(disclosures.open, disclosures.all, `${sample.name}: every disclosure is open before axe runs`);
        t.diagnostic(`${sample.name}: ${opened.resourceCount} resources, ${disclosures.all} disclosures, all open and filled`);
        await page.evaluate(axeSource);
        assert.equal(await page.evaluate(() => typeof window.axe?.run), "function", "axe-core is loaded in the page");

        for (const scheme of SCHEMES) {
          for (const width of WIDTHS) {
            await t.test(`${scheme}, ${width}px`, async () => {
              await setView(page, scheme, width);
              if (width === 320) {
                const overflow = await sidewaysOverflow(page);
                assert.ok(overflow <= 0, `${sample.name} (${scheme}, 320px, all disclosures open): the page scrolls sideways by ${overflow}px`);
              }
              const axeResult = await page.evaluate(
                (tags) => window.axe.run({ include: [["#chart"]] }, { runOnly: { type: "tag", values: tags }, resultTypes: ["violations", "incomplete"] }),
                TAGS,
              );
              const summary = summarise(sample, scheme, width, axeResult);
              results.push(summary);
              t.diagnostic(`${sample.name} ${scheme} ${width}px: ${summary.rulesPassed} rules passed, ${summary.violations.length} violated, ${summary.needsReview.length} need review`);
              assert.ok(summary.rulesPassed > 0, `${sample.name} (${scheme}, ${width}px): axe-core checked nothing — is the chart in #chart's shadow root?`);
              assert.equal(
                axeResult.violations.length,
                0,
                `${sample.name} (${scheme}, ${width}px): ${axeResult.violations.length} axe-core violation(s):\n${describeViolations(axeResult.violations)}`,
              );
            });
          }
        }
        assertNoPageProblems(problems, sample.name);
      } finally {
        await context.close();
      }
    });
  }

  // The other languages, in the theme the host chose (dark in a light browser).
  const dusty = samples.find((s) => s.slug === "dusty-stracke");
  for (const locale of ["es-ES", "fr-FR", "de-DE"]) {
    test(`${dusty.name} in ${locale}, dark theme chosen by the host: no axe violations`, { timeout: SAMPLE_TIMEOUT }, async () => {
      const { jwe, key } = await seal(dusty.text);
      const { page, context, problems } = await newHostPage(browser, server, { width: 1280 });
      try {
        await openRecord(page, { jwe, key });
        await page.evaluate((locale) => window.__record.render(document.getElementById("chart"), { locale, theme: "dark" }), locale);
        assert.equal(await page.evaluate(() => document.getElementById("chart").shadowRoot.querySelector("article").lang), locale);
        await openAllDetails(page);
        await page.evaluate(axeSource);
        const axeResult = await page.evaluate(
          (tags) => window.axe.run({ include: [["#chart"]] }, { runOnly: { type: "tag", values: tags }, resultTypes: ["violations", "incomplete"] }),
          TAGS,
        );
        const summary = summarise({ ...dusty, name: `${dusty.name} (${locale}, theme dark)` }, "light browser, dark theme", 1280, axeResult);
        results.push(summary);
        assert.equal(axeResult.violations.length, 0, `${locale}: ${axeResult.violations.length} axe-core violation(s):\n${describeViolations(axeResult.violations)}`);
        assertNoPageProblems(problems, locale);
      } finally {
        await context.close();
      }
    });
  }
});
