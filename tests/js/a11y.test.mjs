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
// Also, at 320 px with every disclosure open and once more after using the
// results filter: every interactive target is at least 24 x 24 CSS px
// (WCAG 2.2 SC 2.5.8) and no text is rendered smaller than 12 CSS px,
// trend-chart labels included (their SVG is scaled to its width).
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

import { POLL_MS, ROOT, STEP_TIMEOUT, assertNoPageProblems, launchBrowser, loadSamples, layOutInFull, newHostPage, nextFrames, openAllDetails, openRecord, seal, startServer } from "./harness.mjs";

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

/** Smallest interactive target, both ways (WCAG 2.2 SC 2.5.8, Target Size (Minimum)). */
const MIN_TARGET = 24;
/** Smallest rendered text. */
const MIN_TEXT = 12;

/**
 * Runs in the page: every interactive target and every piece of text of the
 * chart in #chart's shadow root, as laid out now, with the ones under
 * MIN_TARGET or MIN_TEXT described (tag, class, text, size).
 *
 * Targets: links, buttons, form fields, <summary> and anything in the Tab
 * order (tabIndex >= 0, e.g. the scrolling table regions). Headings with
 * tabindex="-1" are only focus destinations of the contents, not targets.
 * The one exemption is WCAG 2.5.8's "inline" exception, applied narrowly: a
 * link of the record's own narrative (inside `.narrative`, the sanitised
 * FHIR text.div) that is laid out inline in a line of prose, i.e. its
 * nearest block has text of its own besides the link; its height is the
 * line's, set by the record's text.
 *
 * Text: each rendered element with a text node of its own, and generated
 * ::before/::after content. HTML text at its computed font size (the chart
 * has no transforms); SVG text at its font size times the SVG's scale (the
 * trend charts are drawn in a 320-unit viewBox stretched to their width).
 */
function measureTouchAndText({ minTarget, minText }) {
  const root = document.getElementById("chart").shadowRoot;
  const about = (el) => ({
    tag: el.tagName.toLowerCase(),
    class: typeof el.className === "string" ? el.className : (el.getAttribute("class") ?? ""),
    text: (el.textContent ?? "").replace(/\s+/g, " ").trim().slice(0, 50),
  });
  const round = (n) => Math.round(n * 10) / 10;
  const blockOf = (el) => {
    let b = el.parentElement;
    while (b && getComputedStyle(b).display.startsWith("inline")) b = b.parentElement;
    return b;
  };
  const inProse = (a) => {
    if (a.tagName !== "A" || !a.closest(".narrative") || getComputedStyle(a).display !== "inline") return false;
    const block = blockOf(a);
    if (!block) return false;
    const linkText = [...block.querySelectorAll("a")].reduce((n, l) => n + (l.textContent ?? "").replace(/\s+/g, "").length, 0);
    return (block.textContent ?? "").replace(/\s+/g, "").length > linkText;
  };

  const targets = [];
  const exempt = [];
  let hiddenTargets = 0;
  for (const el of root.querySelectorAll("*")) {
    const interactive = el.matches("a[href], button, input, select, textarea, summary") || el.tabIndex >= 0;
    if (!interactive || el.matches(":disabled")) continue;
    if (!el.checkVisibility()) {
      hiddenTargets++;
      continue;
    }
    const box = el.getBoundingClientRect();
    const t = { ...about(el), width: round(box.width), height: round(box.height) };
    (inProse(el) ? exempt : targets).push(t);
  }

  const texts = [];
  for (const el of root.querySelectorAll("*")) {
    if (el.matches("style, title") || !el.checkVisibility()) continue;
    const style = getComputedStyle(el);
    let scale = 1;
    if (el instanceof SVGElement) {
      const m = el.getScreenCTM();
      scale = m ? Math.hypot(m.a, m.b) : 1;
    }
    const own = [...el.childNodes].filter((n) => n.nodeType === Node.TEXT_NODE).map((n) => n.textContent).join("").trim();
    if (own) texts.push({ ...about(el), text: own.slice(0, 50), size: round(parseFloat(style.fontSize) * scale) });
    for (const pseudo of ["::before", "::after"]) {
      const p = getComputedStyle(el, pseudo);
      if (p.content === "none" || p.content === "normal" || p.display === "none") continue;
      texts.push({ ...about(el), tag: `${about(el).tag}${pseudo}`, text: p.content.slice(0, 50), size: round(parseFloat(p.fontSize) * scale) });
    }
  }
  const smallest = (list, key) => list.reduce((min, x) => (min === null || x[key] < min[key] ? x : min), null);
  return {
    targets: targets.length,
    exempt,
    hiddenTargets,
    texts: texts.length,
    svgTexts: texts.filter((t) => t.tag === "text").length,
    smallTargets: targets.filter((t) => t.width < minTarget || t.height < minTarget),
    smallTexts: texts.filter((t) => t.size < minText),
    narrowest: smallest(targets, "width"),
    lowest: smallest(targets, "height"),
    smallestText: smallest(texts, "size"),
    smallestSvgText: smallest(texts.filter((t) => t.tag === "text"), "size"),
  };
}

const show = (list, what) =>
  list
    .slice(0, 25)
    .map((x) => `  <${x.tag}${x.class ? ` class="${x.class}"` : ""}> ${JSON.stringify(x.text)}: ${what(x)}`)
    .join("\n") + (list.length > 25 ? `\n  … and ${list.length - 25} more` : "");

async function setView(page, scheme, width) {
  await page.emulateMedia({ colorScheme: scheme });
  await page.setViewportSize({ width, height: 900 });
  await nextFrames(page);
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
              { polling: POLL_MS },
            );
          }
        });

        await openAllDetails(page);
        await layOutInFull(page);
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
        await layOutInFull(page);
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

  // Touch and small screens: each sample at 320 px, every disclosure open,
  // then once more with the results filter in use (its list is new markup).
  const coverage = [];
  for (const sample of samples) {
    test(`${sample.name}: at 320px every target is at least ${MIN_TARGET}x${MIN_TARGET}px and no text is under ${MIN_TEXT}px`, { timeout: SAMPLE_TIMEOUT }, async (t) => {
      const { jwe, key } = await seal(sample.text);
      const { page, context, problems } = await newHostPage(browser, server, { width: 320, height: 900 });
      try {
        await openRecord(page, { jwe, key });
        await openAllDetails(page);
        await layOutInFull(page);
        const facts = await page.evaluate(() => {
          const root = document.getElementById("chart").shadowRoot;
          return {
            width: root.querySelector("article.chart").getBoundingClientRect().width,
            trends: root.querySelectorAll("svg.trend").length,
            other: root.querySelectorAll("#ppsdk-other details").length,
            filter: root.querySelector("#ppsdk-results-filter") !== null,
            files: root.querySelectorAll("a.file").length,
          };
        });
        coverage.push({ sample: sample.name, path: sample.path, ...facts });
        assert.ok(facts.width <= 320, `${sample.name}: the chart is ${facts.width}px wide in a 320px viewport`);

        const check = async (state) => {
          const m = await page.evaluate(measureTouchAndText, { minTarget: MIN_TARGET, minText: MIN_TEXT });
          assert.ok(m.targets > 0 && m.texts > 0, `${sample.name} (${state}): nothing measured (${m.targets} targets, ${m.texts} texts)`);
          assert.equal(m.hiddenTargets, 0, `${sample.name} (${state}): ${m.hiddenTargets} interactive element(s) not rendered with every disclosure open`);
          const size = (x) => `${x.width}x${x.height}px`;
          t.diagnostic(
            `${sample.name} (${state}): ${m.targets} targets, narrowest ${size(m.narrowest)} <${m.narrowest.tag}> ${JSON.stringify(m.narrowest.text)}, ` +
              `lowest ${size(m.lowest)} <${m.lowest.tag}> ${JSON.stringify(m.lowest.text)}; ${m.exempt.length} inline narrative link(s) exempt; ` +
              `${m.texts} texts, smallest ${m.smallestText.size}px <${m.smallestText.tag}>` +
              (m.smallestSvgText ? `, trend labels ${m.smallestSvgText.size}px` : ""),
          );
          const faults = [];
          if (m.smallTargets.length) faults.push(`${m.smallTargets.length} target(s) smaller than ${MIN_TARGET}x${MIN_TARGET} CSS px:\n${show(m.smallTargets, size)}`);
          if (m.smallTexts.length) faults.push(`${m.smallTexts.length} text(s) rendered under ${MIN_TEXT} CSS px:\n${show(m.smallTexts, (x) => `${x.size}px`)}`);
          assert.ok(faults.length === 0, `${sample.name} (${state}): ${faults.join("\n")}`);
          return m;
        };

        await check("every disclosure open");

        if (facts.filter) {
          // A word of the first result's name, as a viewer would type it.
          const term = await page.evaluate(() => {
            const name = document.getElementById("chart").shadowRoot.querySelector(".results-list tbody tr:not(.group) th")?.textContent ?? "";
            return name.split(/[^\p{L}\p{N}]+/u).find((w) => w.length >= 3) ?? name.trim();
          });
          assert.ok(term, `${sample.name}: a result name to filter by`);
          await page.locator("#chart #ppsdk-results-filter").fill(term);
          await page.waitForFunction(() => document.getElementById("chart").shadowRoot.querySelector(".filter-status").textContent !== "", null, { polling: POLL_MS });
          const listed = await page.evaluate(() => document.getElementById("chart").shadowRoot.querySelectorAll(".results-list tbody tr:not(.group)").length);
          assert.ok(listed > 0, `${sample.name}: the filter ${JSON.stringify(term)} lists results`);
          await openAllDetails(page);
          await layOutInFull(page);
          await check(`results filtered by ${JSON.stringify(term)}`);
        } else {
          t.diagnostic(`${sample.name}: no grouped results, so no results filter`);
        }
        assertNoPageProblems(problems, sample.name);
      } finally {
        await context.close();
      }
    });
  }

  test("the 320px checks covered a record from the reference data with results, a filter, trends and other records", () => {
    const real = coverage.filter((c) => c.path.includes("/shared/data/fhir/") && c.filter && c.trends > 0 && c.other > 0);
    assert.ok(real.length > 0, `no record of ../shared/data/fhir had results, trends and other records: ${JSON.stringify(coverage)}`);
    assert.ok(coverage.some((c) => c.files > 0), "no record with document links (a.file) was checked");
  });
});
