// <patient-chart> (`patient-portal-sdk/element`) in headless Chromium against
// the development backend's real links: events, attributes, the passcode
// flow, fast unmounts and disconnects (nothing left open, nothing thrown),
// calls before init(), and toHtml() markup placed in a page's light DOM
// without restyling the page.

import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";

import { HOST_PATH, HOST_HTML, assertNoPageProblems, launchBrowser, newHostPage, startServer } from "./harness.mjs";

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

describe("<patient-chart>", () => {
  const link = (kind) => {
    const found = server.links.links.find((l) => l.kind === kind);
    assert.ok(found, `the backend has a ${kind} demo link`);
    return found;
  };

  async function elementPage() {
    const host = await newHostPage(browser, server);
    await host.page.evaluate(async () => {
      await import("/pkg/element.js");
      window.__events = [];
      window.__watch = (el) => {
        for (const type of ["progress", "ready", "error", "passcoderequired"]) {
          el.addEventListener(type, (e) => {
            window.__events.push({ type, stage: e.detail?.stage, code: e.detail?.code, remaining: e.detail?.remainingAttempts });
            if (type === "passcoderequired") window.__retry = e.detail.retry;
          });
        }
      };
    });
    return host;
  }

  test("opens a link: progress, then ready; attributes choose language and theme; re-rendered on change", async () => {
    const { page, context, problems } = await elementPage();
    try {
      const shlink = link("plain").link;
      const result = await page.evaluate(async (shlink) => {
        const el = document.createElement("patient-chart");
        el.setAttribute("locale", "de-DE");
        el.setAttribute("theme", "dark");
        document.querySelector("main").append(el);
        window.__watch(el);
        const record = await el.openLink(shlink, { recipient: "Element test" });
        const root = el.shadowRoot;
        const first = { sameRecord: record === el.record, lang: root.querySelector("article").lang, theme: root.querySelector("article").dataset.theme, busy: el.hasAttribute("aria-busy") };
        el.setAttribute("locale", "fr-FR");
        return { ...first, langAfter: el.shadowRoot.querySelector("article").lang, name: root.querySelector(".patient-name")?.textContent };
      }, shlink);
      assert.deepEqual(
        { sameRecord: result.sameRecord, lang: result.lang, theme: result.theme, busy: result.busy, langAfter: result.langAfter },
        { sameRecord: true, lang: "de-DE", theme: "dark", busy: false, langAfter: "fr-FR" },
      );
      assert.ok(result.name.length > 0);
      const events = await page.evaluate(() => window.__events);
      const stages = events.filter((e) => e.type === "progress").map((e) => e.stage);
      assert.deepEqual(stages.slice(-2), ["chart", "ready"], `progress stages: ${stages}`);
      assert.ok(stages.includes("fetch") && stages.includes("decrypt"));
      assert.equal(events.at(-1).type, "ready");
      assert.ok(!events.some((e) => e.type === "error"));
      assertNoPageProblems(problems, "element");
    } finally {
      await context.close();
    }
  });

  test("a passcode link: passcoderequired (not error), a wrong passcode counted, retry with the right one opens it", async () => {
    const { page, context, problems } = await elementPage();
    try {
      const { link: shlink, passcode } = link("passcode");
      const result = await page.evaluate(
        async ({ shlink, passcode }) => {
          const el = document.createElement("patient-chart");
          document.querySelector("main").append(el);
          window.__watch(el);
          const codes = [];
          await el.openLink(shlink, { recipient: "Element test" }).catch((e) => codes.push(e.code));
          await window.__retry("0000").catch((e) => codes.push(e.code));
          const record = await window.__retry(passcode);
          return { codes, opened: record === el.record && record !== null, name: el.shadowRoot.querySelector(".patient-name")?.textContent ?? null };
        },
        { shlink, passcode },
      );
      assert.deepEqual(result.codes, ["passcodeRequired", "passcodeWrong"]);
      assert.ok(result.opened && result.name);
      const events = (await page.evaluate(() => window.__events)).filter((e) => e.type !== "progress");
      assert.deepEqual(
        events.map((e) => [e.type, e.code ?? null]),
        [
          ["passcoderequired", "passcodeRequired"],
          ["passcoderequired", "passcodeWrong"],
          ["ready", null],
        ],
      );
      assert.equal(events[1].remaining, 2, "attempts left after one wrong passcode");
      // The browser itself logs the host's 401 answers to the passcode requests.
      problems.consoleErrors = problems.consoleErrors.filter((e) => !/status of 401/.test(e));
      assertNoPageProblems(problems, "passcode");
    } finally {
      await context.close();
    }
  });

  test("fast unmount, a second open, a disconnect: earlier opens resolve to null, records are freed, nothing throws", async () => {
    const { page, context, problems } = await elementPage();
    try {
      const shlink = link("plain").link;
      const result = await page.evaluate(async (shlink) => {
        const main = document.querySelector("main");
        // Removed before the open resolves.
        const a = document.createElement("patient-chart");
        main.append(a);
        const pendingA = a.openLink(shlink, { recipient: "Element test" });
        a.remove();
        const fromA = await pendingA;
        // Two opens in a row: the first is superseded.
        const b = document.createElement("patient-chart");
        main.append(b);
        window.__watch(b);
        const first = b.openLink(shlink, { recipient: "Element test" });
        const second = b.openLink(shlink, { recipient: "Element test" });
        const [r1, r2] = await Promise.all([first, second]);
        // Moved within the page: kept.
        main.prepend(b);
        await Promise.resolve();
        const keptAfterMove = b.record === r2;
        // Removed: freed, its chart closed.
        b.remove();
        await new Promise((resolve) => setTimeout(resolve, 0));
        let usedAfter = null;
        try {
          void r2.resourceCount;
        } catch (e) {
          usedAfter = e.code;
        }
        return {
          fromA,
          aRecord: a.record,
          r1,
          r2Opened: r2 !== null,
          keptAfterMove,
          bRecord: b.record,
          usedAfter,
          closedNote: b.shadowRoot.querySelector("[role=status]")?.textContent ?? null,
          readies: window.__events.filter((e) => e.type === "ready").length,
          errors: window.__events.filter((e) => e.type === "error").length,
        };
      }, shlink);
      assert.deepEqual(result, {
        fromA: null,
        aRecord: null,
        r1: null,
        r2Opened: true,
        keptAfterMove: true,
        bRecord: null,
        usedAfter: "freed",
        closedNote: "This record is closed.",
        readies: 1,
        errors: 0,
      });
      await page.waitForTimeout(300);
      assertNoPageProblems(problems, "unmount");
    } finally {
      await context.close();
    }
  });

  test("a bad link: an error event with its code, and the open rejects with a PatientPortalError", async () => {
    const { page, context, problems } = await elementPage();
    try {
      const result = await page.evaluate(async () => {
        const { PatientPortalError } = await import("/pkg/index.js");
        const el = document.createElement("patient-chart");
        document.querySelector("main").append(el);
        window.__watch(el);
        try {
          await el.openLink("shlink:/not-a-link", { recipient: "Element test" });
          return { rejected: false };
        } catch (e) {
          return { rejected: true, isClass: e instanceof PatientPortalError, code: e.code, events: window.__events.map((e) => [e.type, e.code]) };
        }
      });
      assert.deepEqual(result, { rejected: true, isClass: true, code: "badLink", events: [["error", "badLink"]] });
      assertNoPageProblems(problems, "bad link");
    } finally {
      await context.close();
    }
  });
});

describe("before init() and toHtml() in the light DOM", () => {

  test("calls before init(): PatientPortalError notInitialized, then the same calls work after init()", async () => {
    const context = await browser.newContext();
    try {
      const url = new URL(HOST_PATH, server.base).href;
      await context.route(url, (route) => route.fulfill({ status: 200, contentType: "text/html", body: HOST_HTML }));
      const page = await context.newPage();
      await page.goto(url);
      const result = await page.evaluate(async () => {
        const sdk = await import("/pkg/index.js");
        const codes = [];
        for (const call of [() => new sdk.PatientPortal(), () => sdk.parseLink("shlink:/x")]) {
          try {
            call();
            codes.push(null);
          } catch (e) {
            codes.push(e instanceof sdk.PatientPortalError ? e.code : `not a PatientPortalError: ${e}`);
          }
        }
        await sdk.default();
        const portal = new sdk.PatientPortal();
        return { codes, backend: portal.cryptoBackend };
      });
      assert.deepEqual(result, { codes: ["notInitialized", "notInitialized"], backend: "webcrypto" });
    } finally {
      await context.close();
    }
  });

  test("toHtml() placed in the page itself: the chart styled, the page's own elements untouched", async () => {
    const html = HOST_HTML.replace(
      "<div id=\"copy\"></div>",
      '<header class="banner" id="site-banner">Portal banner</header><section id="site"><h2>Portal section</h2><table><caption class="sr">x</caption></table></section><div id="copy"></div>',
    );
    const { page, context, problems } = await newHostPage(browser, server, { html });
    try {
      const measure = () =>
        page.evaluate(() => {
          const pick = (el) => {
            const s = getComputedStyle(el);
            return { bg: s.backgroundColor, boxSizing: s.boxSizing, padding: s.padding, margin: s.margin, font: s.fontSize, position: s.position, width: s.width, display: s.display };
          };
          return { banner: pick(document.getElementById("site-banner")), h2: pick(document.querySelector("#site h2")), caption: pick(document.querySelector("#site caption")), body: pick(document.body) };
        });
      const before = await measure();
      const sample = server.links.links.find((l) => l.kind === "plain").link;
      const inside = await page.evaluate(async (sample) => {
        const { PatientPortal } = window.__ppsdk;
        const record = await new PatientPortal({ theme: "light" }).openLink(sample, { recipient: "toHtml test" });
        document.getElementById("copy").innerHTML = record.toHtml();
        record.free();
        // Every rule of the inserted stylesheet is inside the one @scope rule
        // (an unbalanced brace would end the scope early and style the page).
        const sheet = [...document.styleSheets].find((s) => s.ownerNode?.parentElement?.classList.contains("ppsdk-root"));
        const topLevel = [...sheet.cssRules].map((r) => r.constructor.name);
        const shipped = await (await fetch("/pkg/chart.css")).text();
        const root = document.querySelector("#copy > .ppsdk-root");
        const banner = getComputedStyle(root.querySelector(".banner"));
        const sr = getComputedStyle(root.querySelector(".sr"));
        return { topLevel, sameAsShipped: sheet.ownerNode.textContent === shipped, wrapped: root !== null, bannerBg: banner.backgroundColor, srPosition: sr.position, name: root.querySelector(".patient-name")?.textContent };
      }, sample);
      const afterInsert = await measure();
      assert.deepEqual(afterInsert, before, "the page's own elements keep their styles");
      assert.deepEqual(inside.topLevel, ["CSSScopeRule"], "one @scope rule holds the whole stylesheet");
      assert.equal(inside.sameAsShipped, true, "the inline stylesheet is the package's chart.css");
      assert.equal(inside.wrapped, true);
      assert.equal(inside.bannerBg, "rgb(238, 244, 251)", "the chart's banner has the SDK's background");
      assert.equal(inside.srPosition, "absolute", "the chart's screen-reader text is hidden");
      assert.ok(inside.name);
      assertNoPageProblems(problems, "toHtml");
    } finally {
      await context.close();
    }
  });
});

