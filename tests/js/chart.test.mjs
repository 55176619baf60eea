// The chart as a viewer uses it, in headless Chromium: the viewer's time
// zone and language, right-to-left pages, the results filter, collapsing
// sections by keyboard, the table of contents, themes, printing, document
// downloads and trends. Records are sealed here and opened with the SDK
// served by the development backend (see harness.mjs).

import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";

import { POLL_MS, assertNoPageProblems, launchBrowser, newHostPage, nextFrames, openAllDetails, seal, startServer } from "./harness.mjs";

const SCREENSHOTS = fileURLToPath(new URL("./screenshots/", import.meta.url));
const readJson = async (path) => JSON.parse(await readFile(new URL(path, import.meta.url), "utf8"));

const bundle = (...resources) => ({ resourceType: "Bundle", type: "collection", entry: resources.map((resource) => ({ resource })) });
const patient = { resourceType: "Patient", id: "p", name: [{ given: ["Ana"], family: "Ruiz" }], birthDate: "2001-01-06" };
const lateResult = {
  resourceType: "Observation",
  status: "final",
  category: [{ coding: [{ code: "laboratory" }] }],
  code: { text: "Glucose" },
  effectiveDateTime: "2019-07-04T23:30:00-05:00",
  valueQuantity: { value: 95.5, unit: "mg/dL" },
};

let server;
let browser;

before(async () => {
  server = await startServer();
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

/** A host page in the given browser time zone and scheme, with `record` opened; `render` options from `display`. */
async function chartPage(record, { timezoneId = "UTC", colorScheme = "light", width = 1280, display, hostDir, initScript } = {}) {
  const { jwe, key } = await seal(record);
  const { page, context, problems } = await newHostPage(browser, server, { width, colorScheme, initScript, contextOptions: { timezoneId } });
  await page.evaluate(
    ({ jwe, key, display, hostDir }) => {
      const host = document.querySelector("#chart");
      if (hostDir) host.dir = hostDir;
      window.__record = new window.__ppsdk.PatientPortal().openJwe(jwe, key);
      return window.__record.render(host, display);
    },
    { jwe, key, display, hostDir },
  );
  const root = (selector) => page.locator(`#chart ${selector}`);
  return { page, context, problems, root };
}

/** The box of `locator` once the page's layout has settled: the same after two frames. */
async function settledBox(page, locator) {
  let box = await locator.boundingBox();
  for (let i = 0; i < 50; i++) {
    await nextFrames(page);
    const next = await locator.boundingBox();
    if (JSON.stringify(next) === JSON.stringify(box)) return box;
    box = next;
  }
  throw new Error(`the layout did not settle: ${JSON.stringify(box)}`);
}

describe("the chart in the browser", () => {
  test("a result at 23:30-05:00 falls on the viewer's day, in the browser's zone or the host's choice", async () => {
    const record = bundle(patient, lateResult);
    const cases = [
      { timezoneId: "America/Chicago", day: "Jul 4, 2019", time: "11:30", zone: "America/Chicago" },
      { timezoneId: "Europe/Berlin", day: "Jul 5, 2019", time: "6:30", zone: "Europe/Berlin" },
      { timezoneId: "Europe/Berlin", display: { timeZone: "America/Chicago" }, day: "Jul 4, 2019", time: "11:30", zone: "America/Chicago" },
      // ICU names this zone by its older alias.
      { timezoneId: "Asia/Kolkata", day: "Jul 5, 2019", time: "10:00", zone: /Asia\/(Kolkata|Calcutta)/ },
      // Browsers without Temporal: the zone's name from Intl.
      { timezoneId: "America/Chicago", initScript: "delete globalThis.Temporal", day: "Jul 4, 2019", time: "11:30", zone: "America/Chicago" },
      { timezoneId: "Europe/Berlin", initScript: "delete globalThis.Temporal", day: "Jul 5, 2019", time: "6:30", zone: "Europe/Berlin" },
    ];
    for (const c of cases) {
      const { page, context, problems, root } = await chartPage(record, c);
      try {
        const when = await root("section#ppsdk-results tbody tr:not(.group) td:last-child").first().textContent();
        assert.ok(when.startsWith(c.day) && when.includes(c.time), `${c.timezoneId} ${JSON.stringify(c.display ?? {})}: ${when}`);
        const note = await root(".zone").textContent();
        assert.match(note, c.zone instanceof RegExp ? c.zone : new RegExp(c.zone), `${c.timezoneId}: ${note}`);
        assert.equal(await page.evaluate(() => typeof globalThis.Temporal), c.initScript ? "undefined" : "object");
        assertNoPageProblems(problems, c.timezoneId);
      } finally {
        await context.close();
      }
    }
  });

  test("the browser's own zone, read through Date, gives the times Intl gives for the same zone by another name", async () => {
    // Instants around changes of offset: local mean time, war time, DST
    // starts and ends (the repeated and the skipped hour), half-hour zones.
    const instants = [
      "1880-06-01T12:00:00Z", "1883-11-18T17:00:00Z", "1900-01-01T00:00:00Z", "1918-03-31T08:30:00Z", "1942-02-09T09:00:00Z", "1945-09-30T06:30:00Z",
      "1970-01-01T00:00:00Z", "1983-10-30T15:59:59Z", "1984-04-01T00:00:00Z", "1991-09-29T00:30:00Z", "2000-02-29T23:59:00Z", "2007-03-11T07:59:00Z",
      "2007-03-11T08:00:00Z", "2007-11-04T06:30:00Z", "2007-11-04T07:30:00Z", "2011-03-27T00:59:00Z", "2011-03-27T01:00:00Z", "2011-10-30T00:30:00Z",
      "2011-10-30T01:30:00Z", "2019-04-06T15:30:00Z", "2019-10-05T15:59:00Z", "2024-02-29T12:00:00Z", "2038-01-19T03:14:08Z", "2090-07-01T12:00:00Z",
    ];
    const results = instants.map((at, i) => ({ ...lateResult, code: { text: `Test ${String(i).padStart(2, "0")}` }, effectiveDateTime: at }));
    const record = bundle(patient, ...results);
    const cases = [
      ["America/Chicago", "US/Central"],
      ["Europe/Warsaw", "Poland"],
      ["Asia/Kolkata", "Asia/Calcutta"],
      ["Australia/Lord_Howe", "Australia/LHI"],
      ["America/St_Johns", "Canada/Newfoundland"],
    ];
    for (const [timezoneId, alias] of cases) {
      const { page, context, problems } = await chartPage(record, { timezoneId });
      try {
        const times = await page.evaluate((alias) => {
          const rows = (html) => {
            const doc = new DOMParser().parseFromString(html, "text/html");
            return Object.fromEntries([...doc.querySelectorAll("#ppsdk-results tbody tr:not(.group)")].map((tr) => [tr.querySelector("th").textContent, tr.lastElementChild.textContent]));
          };
          return { own: rows(window.__record.toHtml()), named: rows(window.__record.toHtml({ timeZone: alias })) };
        }, alias);
        assert.equal(Object.keys(times.own).length, instants.length, `${timezoneId}: every result shown`);
        assert.deepEqual(times.own, times.named, `${timezoneId} (Date) against ${alias} (Intl)`);
        assertNoPageProblems(problems, timezoneId);
      } finally {
        await context.close();
      }
    }
  });

  test("a change of the browser's zone shows in the next chart", async () => {
    const { jwe, key } = await seal(bundle(patient, lateResult));
    // A context without a zone of its own, so that this session's override can change.
    const { page, context, problems } = await newHostPage(browser, server, { width: 1280, colorScheme: "light", contextOptions: {} });
    const root = (selector) => page.locator(`#chart ${selector}`);
    try {
      const cdp = await context.newCDPSession(page);
      await cdp.send("Emulation.setTimezoneOverride", { timezoneId: "Europe/Berlin" });
      await page.evaluate(({ jwe, key }) => {
        window.__record = new window.__ppsdk.PatientPortal().openJwe(jwe, key);
        return window.__record.render(document.querySelector("#chart"));
      }, { jwe, key });
      assert.match(await root(".zone").textContent(), /Europe\/Berlin/);
      assert.ok((await root("section#ppsdk-results tbody tr:not(.group) td:last-child").first().textContent()).startsWith("Jul 5, 2019"));
      await cdp.send("Emulation.setTimezoneOverride", { timezoneId: "" });
      await cdp.send("Emulation.setTimezoneOverride", { timezoneId: "America/Chicago" });
      await page.evaluate(() => window.__record.render(document.querySelector("#chart")));
      assert.match(await root(".zone").textContent(), /America\/Chicago/);
      const when = await root("section#ppsdk-results tbody tr:not(.group) td:last-child").first().textContent();
      assert.ok(when.startsWith("Jul 4, 2019") && when.includes("11:30"), when);
      assertNoPageProblems(problems, "zone change");
    } finally {
      await context.close();
    }
  });

  test("labels, dates and numbers follow the chosen locale (dates as Intl writes them)", async () => {
    const record = bundle(patient, lateResult);
    const titles = { "en-US": "Results", "es-ES": "Resultados", "fr-FR": "Résultats", "de-DE": "Befunde" };
    for (const [locale, title] of Object.entries(titles)) {
      const { page, context, problems, root } = await chartPage(record, { display: { locale } });
      try {
        assert.equal(await root("article.chart").getAttribute("lang"), locale);
        assert.ok((await root("#ppsdk-results-h").textContent()).includes(title), `${locale} heading`);
        const born = await root(".banner dd").first().textContent();
        const intl = await page.evaluate(
          (locale) => new Intl.DateTimeFormat(locale, { day: "numeric", month: "short", year: "numeric", timeZone: "UTC" }).format(Date.UTC(2001, 0, 6)),
          locale,
        );
        assert.ok(born.startsWith(intl), `${locale}: born ${JSON.stringify(born)}, Intl says ${JSON.stringify(intl)}`);
        const value = await root("section#ppsdk-results tbody tr:not(.group) td").first().textContent();
        assert.equal(value, locale === "en-US" ? "95.5 mg/dL" : "95,5 mg/dL");
        assertNoPageProblems(problems, locale);
      } finally {
        await context.close();
      }
    }
    const { page, context } = await chartPage(record);
    try {
      const error = await page.evaluate(() => {
        try {
          window.__record.render(document.querySelector("#chart"), { locale: "ja-JP" });
        } catch (e) {
          return { name: e.name, code: e.code };
        }
      });
      assert.deepEqual(error, { name: "PatientPortalError", code: "badInput" });
      const zone = await page.evaluate(() => {
        try {
          window.__record.toHtml({ timeZone: "Mars/Olympus_Mons" });
        } catch (e) {
          return e.code;
        }
      });
      assert.equal(zone, "badInput");
    } finally {
      await context.close();
    }
  });

  test("a right-to-left page keeps the chart within 320 px", async () => {
    const dusty = await readJson("../../examples/data/dusty-stracke.json");
    const { page, context, problems, root } = await chartPage(dusty, { width: 320, hostDir: "rtl" });
    try {
      assert.equal(await root("article.chart").evaluate((el) => getComputedStyle(el).direction), "rtl");
      await openAllDetails(page);
      const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
      assert.ok(overflow <= 0, `the page scrolls sideways by ${overflow}px`);
      await page.screenshot({ path: `${SCREENSHOTS}rtl-dusty-stracke-320.png`, fullPage: false });
      assertNoPageProblems(problems, "rtl");
    } finally {
      await context.close();
    }
  });

  test("the 2,332-entry record: newest first, older rows behind a disclosure, and a filter that finds every result of a name", async () => {
    const big = await readJson("../../../shared/data/fhir/synthea/Zackary401_Nader710_ddd3b584-f0e6-4e6f-9700-0502ea9261c5.json");
    assert.equal(big.entry.length, 2332);
    const glucose = big.entry.filter((e) => e.resource.resourceType === "Observation" && /glucose/i.test(e.resource.code?.text ?? "")).length;
    assert.ok(glucose > 5);
    const { page, context, problems, root } = await chartPage(big);
    try {
      // Each section: its newest rows first, at most 10 before "Show N older".
      const sections = await page.evaluate(() =>
        [...document.querySelector("#chart").shadowRoot.querySelectorAll("section")].map((s) => ({
          id: s.id,
          first: s.querySelectorAll(":scope > .body > .scroll tbody tr:not(.group):not(.narrative-row), :scope > .body > .results-list > .scroll tbody tr:not(.group):not(.narrative-row)").length,
          older: s.querySelector(":scope details.older > summary")?.textContent ?? null,
        })),
      );
      const medications = sections.find((s) => s.id === "ppsdk-medications");
      assert.equal(medications.first, 10);
      assert.equal(medications.older, `Show ${72 - 10} older`);
      for (const s of sections.filter((s) => !["ppsdk-results", "ppsdk-trends", "ppsdk-other"].includes(s.id))) assert.ok(s.first <= 10, `${s.id}: ${s.first} rows at first`);
      const stamps = await root('#ppsdk-procedures-body > .scroll tbody tr td[data-label="Date"]').evaluateAll((tds) => tds.map((td) => Date.parse(td.textContent)));
      assert.ok(stamps.every((t, i) => i === 0 || t <= stamps[i - 1]), "procedures newest first");
      const rows = root(".results-list tbody tr:not(.group):not(.narrative-row)");
      const before = await rows.count();
      await root("#ppsdk-results-filter").fill("GLUCOSE");
      await page.waitForFunction(() => document.querySelector("#chart").shadowRoot.querySelector(".filter-status").textContent !== "", null, { polling: POLL_MS });
      const names = await rows.evaluateAll((trs) => trs.map((tr) => tr.querySelector("th").textContent));
      const groups = await root(".results-list tr.group").evaluateAll((trs) => trs.map((tr) => tr.textContent));
      assert.ok(names.length >= glucose, `${names.length} rows for ${glucose} glucose results`);
      assert.ok(names.length > 10, "the filter lists older results too");
      // A row is there because its name matches, or its report's name does.
      assert.ok(names.filter((n) => /glucose/i.test(n)).length === glucose, "every glucose result is listed");
      assert.ok(names.every((n) => /glucose/i.test(n)) || groups.some((g) => /glucose/i.test(g)));
      assert.equal(await root(".filter-status").textContent(), `${names.length} results match.`);
      await root("#ppsdk-results-filter").fill("no such test");
      assert.equal(await root(".filter-status").textContent(), "No results match.");
      await root("#ppsdk-results-filter").fill("");
      assert.equal(await rows.count(), before);
      assert.equal(await root(".filter-status").textContent(), "");
      assertNoPageProblems(problems, "filter");
    } finally {
      await context.close();
    }
  });

  test("sections collapse from the keyboard, and the table of contents moves focus to its section", async () => {
    const dusty = await readJson("../../examples/data/dusty-stracke.json");
    const { page, context, problems, root } = await chartPage(dusty);
    try {
      const toggle = root("#ppsdk-allergies-h button.toggle");
      await toggle.focus();
      await page.keyboard.press("Enter");
      assert.equal(await toggle.getAttribute("aria-expanded"), "false");
      assert.equal(await root("#ppsdk-allergies-body").isHidden(), true);
      const outline = await toggle.evaluate((el) => getComputedStyle(el).outlineStyle);
      assert.notEqual(outline, "none", "the focused button shows where focus is");
      await page.keyboard.press(" ");
      assert.equal(await toggle.getAttribute("aria-expanded"), "true");
      assert.equal(await root("#ppsdk-allergies-body").isVisible(), true);
      // The contents: a link into the shadow root moves focus to the heading.
      await root(".toc a[href='#ppsdk-immunizations']").click();
      const focused = await page.evaluate(() => document.querySelector("#chart").shadowRoot.activeElement?.id);
      assert.equal(focused, "ppsdk-immunizations-h");
      // A later section (laid out near the viewport only) is on screen once
      // its link is followed, and the focus ring of its toggle, at the
      // section's edge, is painted past the section's box.
      const viewport = page.viewportSize();
      const section = await root("#ppsdk-immunizations").boundingBox();
      assert.ok(section.y < viewport.height && section.y + section.height > 0 && section.height > 50, `the section is on screen: ${JSON.stringify(section)}`);
      const later = root("#ppsdk-immunizations-h button.toggle");
      await later.focus();
      await page.keyboard.press("Shift+Tab");
      await page.keyboard.press("Tab");
      // Focus moving back scrolls the page, and the sections that come near
      // the viewport are laid out then (content-visibility), which moves the
      // toggle again: its box is read once two frames agree.
      const button = await settledBox(page, later);
      assert.ok(button.x - section.x < 4, `the toggle is at the section's edge: ${button.x} / ${section.x}`);
      const strip = await page.screenshot({ clip: { x: Math.max(0, section.x - 4), y: button.y, width: 4, height: button.height } });
      const ring = await page.evaluate(async (b64) => {
        const img = new Image();
        img.src = `data:image/png;base64,${b64}`;
        await img.decode();
        const canvas = Object.assign(document.createElement("canvas"), { width: img.width, height: img.height });
        const g = canvas.getContext("2d");
        g.drawImage(img, 0, 0);
        const d = g.getImageData(0, 0, img.width, img.height).data;
        let n = 0;
        for (let i = 0; i < d.length; i += 4) if (d[i + 2] > 120 && d[i] < 80) n++;
        return n;
      }, strip.toString("base64"));
      assert.ok(ring > 0, "the focus ring shows outside the section's box");
      assertNoPageProblems(problems, "keyboard");
    } finally {
      await context.close();
    }
  });

  test("the host's theme overrides the system's, and printing opens every disclosure", async () => {
    const dusty = await readJson("../../examples/data/dusty-stracke.json");
    const luminance = (root) =>
      root("article.chart").evaluate((el) => {
        const [r, g, b] = getComputedStyle(el).backgroundColor.match(/\d+/g).map(Number);
        return (0.2126 * r + 0.7152 * g + 0.0722 * b) / 255;
      });
    for (const [colorScheme, theme, dark] of [["light", "dark", true], ["dark", "light", false], ["dark", "auto", true], ["light", "auto", false]]) {
      const { page, context, root } = await chartPage(dusty, { colorScheme, display: { theme } });
      try {
        const l = await luminance(root);
        assert.equal(l < 0.3, dark, `${theme} theme in a ${colorScheme} browser: background luminance ${l}`);
        if (theme !== "auto") await page.screenshot({ path: `${SCREENSHOTS}theme-${theme}-1280.png` });
      } finally {
        await context.close();
      }
    }
    const { page, context, problems, root } = await chartPage(dusty);
    try {
      assert.ok((await root("details:not([open])").count()) > 0);
      // Sections after the first are laid out near the viewport only on
      // screen, and in full when printed.
      const later = () => root("article.chart > section + section").evaluateAll((els) => els.map((el) => getComputedStyle(el).contentVisibility));
      const onScreen = await later();
      assert.ok(onScreen.length >= 3 && onScreen.every((v) => v === "auto"), `later sections on screen: ${onScreen}`);
      await page.emulateMedia({ media: "print" });
      assert.deepEqual(new Set(await later()), new Set(["visible"]), "later sections are printed in full");
      await page.evaluate(() => window.dispatchEvent(new Event("beforeprint")));
      assert.equal(await root("details:not([open])").count(), 0, "every disclosure is open for printing");
      assert.equal(await root("details[data-fill]:not([data-filled])").count(), 0, "and filled");
      assert.equal(await root(".toc").isHidden(), true, "the contents are not printed");
      assertNoPageProblems(problems, "print");
    } finally {
      await context.close();
    }
  });

  test("a document's inline data downloads as a file; a URL opens in a new tab", async () => {
    const record = bundle(patient, {
      resourceType: "DocumentReference",
      status: "current",
      type: { text: "Clinical note" },
      date: "2020-03-01",
      content: [
        { attachment: { contentType: "text/plain", data: Buffer.from("Hello from the clinic").toString("base64"), title: "Visit note" } },
        { attachment: { contentType: "application/pdf", url: "https://example.org/letter.pdf" } },
      ],
    });
    const { page, context, problems, root } = await chartPage(record);
    try {
      const [download] = await Promise.all([page.waitForEvent("download"), root("a.file[download]").click()]);
      assert.equal(download.suggestedFilename(), "Visit note.txt");
      const chunks = [];
      for await (const chunk of await download.createReadStream()) chunks.push(chunk);
      assert.equal(Buffer.concat(chunks).toString("utf8"), "Hello from the clinic");
      const link = root("a.file[target='_blank']");
      assert.equal(await link.getAttribute("href"), "https://example.org/letter.pdf");
      assert.equal(await link.getAttribute("rel"), "noopener noreferrer");
      assertNoPageProblems(problems, "documents");
    } finally {
      await context.close();
    }
  });

  test("trends draw each repeated test as an image with a data table of the same results", async () => {
    const vito = await readJson("../../../shared/data/fhir/synthea/Vito_Feeney_63dd4423-56ec-4f40-9dd6-82bc133aaddc.json");
    const { page, context, problems, root } = await chartPage(vito);
    try {
      await openAllDetails(page);
      const trends = await root("details.trend").evaluateAll((all) =>
        all.map((d) => ({
          label: d.querySelector("svg")?.getAttribute("aria-label"),
          role: d.querySelector("svg")?.getAttribute("role"),
          points: d.querySelector("svg polyline")?.getAttribute("points").trim().split(/\s+/).length,
          rows: d.querySelectorAll("table tbody tr").length,
          caption: d.querySelector("table caption")?.textContent,
        })),
      );
      assert.ok(trends.length >= 10, `${trends.length} trends`);
      for (const t of trends) {
        assert.equal(t.role, "img");
        assert.ok(t.label && t.caption, "named image and captioned table");
        assert.equal(t.points, t.rows, `${t.label}: one point per table row`);
      }
      assertNoPageProblems(problems, "trends");
    } finally {
      await context.close();
    }
  });
});

describe("a long chart is committed in steps", () => {
  // The 1 MB Synthea record: a dozen sections, one of them (its trends) past
  // the size committed in one step, so its body is moved in a few pieces.
  const DUSTY = new URL("../../../shared/data/fhir/synthea/Dusty_Stracke_9fe3de76-2cd4-4c02-936a-8de0b18497dd.json", import.meta.url);

  test("first section when render returns, then the same chart as one commit; printing, rendering again, no frames painted and free() part-way", async () => {
    const { jwe, key } = await seal(await readFile(DUSTY, "utf8"));
    const { page, context, problems } = await newHostPage(browser, server, { width: 1280 });
    try {
      const facts = await page.evaluate(
        async ({ jwe, key }) => {
          const record = new window.__ppsdk.PatientPortal({ locale: "en-US", timeZone: "UTC" }).openJwe(jwe, key);
          const host = document.querySelector("#chart");
          const sections = () => host.shadowRoot.querySelectorAll("article.chart > section").length;
          // Steps are counted as the sections and a long section's items arrive.
          let mutations = 0;
          const observer = new MutationObserver((list) => (mutations += list.length));
          // Frames painted, and how many before the first section's body was shown.
          let frames = 0;
          const tick = () => (frames++, requestAnimationFrame(tick));
          requestAnimationFrame(tick);
          const committed = record.render(host);
          const article = host.shadowRoot.querySelector("article.chart");
          const body = article.querySelector(":scope > section > .body");
          const region = body.querySelector(".scroll[tabindex]");
          const atReturn = {
            sections: sections(),
            busy: article.getAttribute("aria-busy"),
            banner: host.shadowRoot.querySelector(".patient-name")?.textContent ?? null,
            table: region.textContent.length > 0,
            shown: getComputedStyle(body).contentVisibility,
          };
          let framesBeforeShown = null;
          let busyWhenShown = null;
          const shownAt = new MutationObserver(() => {
            if (article.hasAttribute("data-ppsdk-first-frame") || framesBeforeShown !== null) return;
            framesBeforeShown = frames;
            busyWhenShown = article.hasAttribute("aria-busy");
          });
          shownAt.observe(article, { attributes: true, attributeFilter: ["data-ppsdk-first-frame"] });
          observer.observe(host.shadowRoot, { childList: true, subtree: true });
          await committed;
          observer.disconnect();
          shownAt.disconnect();
          await new Promise((resolve) => requestAnimationFrame(() => setTimeout(resolve, 0)));
          const firstBody = { framesBeforeShown, busyWhenShown, shown: getComputedStyle(body).contentVisibility, seen: region.innerText.includes(region.querySelector("tbody th").textContent) };
          // The same markup committed in one step, into another shadow root.
          const copy = document.querySelector("#copy");
          copy.attachShadow({ mode: "open" }).innerHTML = record.__chartMarkup();
          const plain = (root) => root.innerHTML.replace(/ data-ppsdk-render="[^"]*"/g, "");
          const whole = { sections: sections(), busy: host.shadowRoot.querySelector("article.chart").hasAttribute("aria-busy"), same: plain(host.shadowRoot) === plain(copy.shadowRoot), mutations };

          // Printing part-way: every section committed and every disclosure open at once.
          const printing = record.render(host);
          window.dispatchEvent(new Event("beforeprint"));
          const printed = {
            sections: sections(),
            busy: host.shadowRoot.querySelector("article.chart").hasAttribute("aria-busy"),
            closed: host.shadowRoot.querySelectorAll("details:not([open])").length,
            unfilled: host.shadowRoot.querySelectorAll("details[data-fill]:not([data-filled])").length,
            firstFrame: host.shadowRoot.querySelector("article.chart").hasAttribute("data-ppsdk-first-frame"),
          };
          await printing;

          // Rendering again part-way: one chart, its sections once each.
          const first = record.render(host);
          const second = record.render(host);
          await Promise.all([first, second]);
          const again = { sections: sections(), ids: new Set([...host.shadowRoot.querySelectorAll("article.chart > section")].map((s) => s.id)).size, articles: host.shadowRoot.querySelectorAll("article").length };

          // A page that paints no frame (hidden while rendering): the first section's body is shown with the last step.
          const painting = window.requestAnimationFrame;
          window.requestAnimationFrame = () => 0;
          const unpainted = record.render(host);
          const held = host.shadowRoot.querySelector("article.chart").hasAttribute("data-ppsdk-first-frame");
          await unpainted;
          window.requestAnimationFrame = painting;
          const unpaintedArticle = host.shadowRoot.querySelector("article.chart");
          const noFrames = { held, mark: unpaintedArticle.hasAttribute("data-ppsdk-first-frame"), shown: getComputedStyle(unpaintedArticle.querySelector(":scope > section > .body")).contentVisibility };

          // free() part-way: the closed note stays, nothing is appended after it.
          const last = record.render(host);
          record.free();
          await last;
          await new Promise((resolve) => setTimeout(resolve, 50));
          const freed = { text: host.shadowRoot.textContent, sections: sections() };
          return { atReturn, firstBody, whole, printed, again, noFrames, freed };
        },
        { jwe, key },
      );
      assert.deepEqual(
        facts.atReturn,
        { sections: 1, busy: "true", banner: "Mr. Dusty Stracke", table: true, shown: "hidden" },
        "the banner and first section are on the page when render returns, its body laid out a frame later",
      );
      // Shown after the next frame, or with the last step if that comes first.
      const { framesBeforeShown, busyWhenShown, ...shown } = facts.firstBody;
      assert.ok(framesBeforeShown >= 1 || busyWhenShown === false, `the first section's body shown after ${framesBeforeShown} frames, busy ${busyWhenShown}`);
      assert.deepEqual(shown, { shown: "visible", seen: true }, "then shown");
      assert.ok(facts.whole.sections >= 10, `${facts.whole.sections} sections`);
      assert.equal(facts.whole.busy, false, "aria-busy is gone once all is committed");
      assert.ok(facts.whole.same, "the chart committed in steps is the chart committed at once");
      // Short sections come a few at a time, a long one (the trends) in pieces: steps after render returned.
      assert.ok(facts.whole.mutations >= 5, `${facts.whole.mutations} steps after render returned`);
      assert.deepEqual(facts.printed, { sections: facts.whole.sections, busy: false, closed: 0, unfilled: 0, firstFrame: false });
      assert.deepEqual(facts.again, { sections: facts.whole.sections, ids: facts.whole.sections, articles: 1 });
      assert.deepEqual(facts.noFrames, { held: true, mark: false, shown: "visible" }, "with no frame painted, the body is shown with the last step");
      assert.equal(facts.freed.sections, 0);
      assert.ok(/closed/i.test(facts.freed.text) && !facts.freed.text.includes("Stracke"), facts.freed.text);
      assertNoPageProblems(problems, "stepped commit");
    } finally {
      await context.close();
    }
  });
});
