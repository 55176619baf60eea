// Shared by the browser tests (e2e, chart, a11y and xss): the development
// backend, headless Chromium, sealing a FHIR bundle as a compact JWE, and
// opening it with the SDK in a page of the server's origin.
//
// The page is a small host page (a <main>, an <h1> and empty containers),
// answered by the test itself at HOST_PATH on the server's origin, so the SDK
// at /pkg/ loads from the real server while no demo code (www/app.js) runs and
// no Content-Security-Policy blocks what the tests inject (axe-core) or must
// detect (a payload that would run if the SDK let it through).
//
// Needs `cargo build --example dev_server` and a built pkg/ (`make pkg`).

import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync } from "node:fs";
import { mkdtemp, readFile, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";

import { CompactEncrypt, base64url } from "jose";
import { chromium } from "playwright-core";

export const ROOT = fileURLToPath(new URL("../../", import.meta.url));
export const SERVER_BIN = join(ROOT, "target/debug/examples/dev_server");
export const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
export const CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--no-first-run"];
export const STEP_TIMEOUT = 30_000;
/**
 * How often `page.waitForFunction` checks its condition. Every wait polls on
 * this interval, never on animation frames: headless Chromium sometimes stops
 * producing frames (after a screenshot or a viewport change), and a wait
 * polled on frames then never ends although the page is done.
 */
export const POLL_MS = 50;
/** The longest wait for two animation frames in {@link nextFrames}. */
const FRAME_WAIT_MS = 500;

/**
 * Two animation frames, so that a new viewport or colour scheme is laid out
 * and painted; at most {@link FRAME_WAIT_MS} when the browser produces no
 * frames (the reads that follow force the layout in any case).
 */
export const nextFrames = (page) =>
  page.evaluate(
    (ms) =>
      new Promise((resolve) => {
        const timer = setTimeout(resolve, ms);
        requestAnimationFrame(() =>
          requestAnimationFrame(() => {
            clearTimeout(timer);
            resolve();
          }),
        );
      }),
    FRAME_WAIT_MS,
  );
/** The host page, answered by the test (see `newHostPage`). */
export const HOST_PATH = "/__tests__/host.html";

export const slug = (name) => name.toLowerCase().replace(/\.json$/, "").replace(/[^a-z0-9]+/g, "-").replace(/^-|-$/g, "");

// ---------------------------------------------------------------------------
// Sample records.

/** Extra sample bundles outside examples/data, relative to the repository root. */
export const SHARED_SAMPLES = [
  "../shared/data/shl/hl7-ig/IPS_IG-bundle-01.json",
  "../shared/data/fhir/synthea/Vito_Feeney_63dd4423-56ec-4f40-9dd6-82bc133aaddc.json",
  "../shared/data/fhir/us-core/patient-example.collection.json",
];

/**
 * Every `examples/data/*.json` bundle (`example: true`), then, with
 * `shared`, the bundles of SHARED_SAMPLES (which must exist: a missing one
 * fails rather than silently shrinking the test).
 */
export async function loadSamples({ shared = false } = {}) {
  const dir = join(ROOT, "examples/data");
  const files = (await readdir(dir)).filter((f) => f.endsWith(".json")).sort().map((f) => ({ path: join(dir, f), example: true }));
  assert.ok(files.length > 0, `no sample bundles in ${dir}`);
  if (shared) {
    for (const rel of SHARED_SAMPLES) {
      const path = join(ROOT, rel);
      assert.ok(existsSync(path), `sample bundle ${rel} (relative to the repository root) is missing`);
      files.push({ path, example: false });
    }
  }
  const samples = [];
  for (const { path, example } of files) {
    const text = await readFile(path, "utf8");
    const bundle = JSON.parse(text);
    assert.equal(bundle.resourceType, "Bundle", `${path} is a FHIR Bundle`);
    samples.push({ name: basename(path, ".json"), slug: slug(basename(path)), path, example, text, bundle });
  }
  return samples;
}

// ---------------------------------------------------------------------------
// Sealing.

/** A fresh 256-bit content key, as base64url text (what a link carries). */
export const newKey = () => base64url.encode(randomBytes(32));

/** `bundle` (an object or JSON text) as a compact JWE, dir/A256GCM, with a fresh key. */
export async function seal(bundle, key = newKey()) {
  const text = typeof bundle === "string" ? bundle : JSON.stringify(bundle);
  const jwe = await new CompactEncrypt(new TextEncoder().encode(text))
    .setProtectedHeader({ alg: "dir", enc: "A256GCM", cty: "application/fhir+json" })
    .encrypt(base64url.decode(key));
  return { jwe, key };
}

// ---------------------------------------------------------------------------
// The development backend.

/**
 * Starts `dev_server --port 0 --json` on a database of its own; resolves when
 * it has printed its DEMO_LINKS line. `server.base` is its origin with a
 * trailing slash, `server.db` the path of its SQLite database (in
 * `server.dbDir`); `server.stop()` ends it and removes the database.
 */
export async function startServer() {
  if (!existsSync(SERVER_BIN)) {
    throw new Error(`the development backend is not built: ${SERVER_BIN} is missing. Run \`cargo build --example dev_server\` first.`);
  }
  if (!existsSync(join(ROOT, "pkg/patient_portal_sdk.js"))) {
    throw new Error("pkg/ is not built: run `make pkg` (scripts/build-pkg.sh) first.");
  }
  const dbDir = await mkdtemp(join(tmpdir(), "ppsdk-harness-"));
  const db = join(dbDir, "links.sqlite3");
  const child = spawn(SERVER_BIN, ["--port", "0", "--json", "--root", ROOT, "--db", db], { stdio: ["ignore", "pipe", "pipe"] });
  let log = "";
  child.stderr.on("data", (chunk) => {
    log = (log + chunk).slice(-20_000);
  });
  const killOnExit = () => {
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
  };
  // If the runner dies mid-test, do not leave the server behind.
  process.once("exit", killOnExit);

  const stop = async () => {
    process.off("exit", killOnExit);
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((resolve) => child.once("exit", resolve));
      child.kill("SIGTERM");
      const timer = setTimeout(() => child.kill("SIGKILL"), 5_000);
      await exited;
      clearTimeout(timer);
    }
    await rm(dbDir, { recursive: true, force: true });
  };

  try {
    const links = await new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`dev_server printed no DEMO_LINKS line within ${STEP_TIMEOUT} ms\n${log}`)), STEP_TIMEOUT);
      const onExit = (code, signal) => {
        clearTimeout(timer);
        reject(new Error(`dev_server exited early (code ${code}, signal ${signal})\n${log}`));
      };
      child.once("exit", onExit);
      child.once("error", (err) => {
        clearTimeout(timer);
        reject(new Error(`could not start ${SERVER_BIN}: ${err.message}`));
      });
      createInterface({ input: child.stdout }).on("line", (line) => {
        if (!line.startsWith("DEMO_LINKS ")) return;
        clearTimeout(timer);
        child.off("exit", onExit);
        resolve(JSON.parse(line.slice("DEMO_LINKS ".length)));
      });
    });
    const base = links.base.endsWith("/") ? links.base : `${links.base}/`;
    return { base, links, db, dbDir, stop, log: () => log };
  } catch (err) {
    await stop();
    throw err;
  }
}

// ---------------------------------------------------------------------------
// The browser and the host page.

export function launchBrowser() {
  return chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS, timeout: STEP_TIMEOUT });
}

/** The host page: landmarks and a heading, so that page-level rules hold, and two empty containers. */
export const HOST_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="color-scheme" content="light dark">
<title>Health record (test host)</title>
<style>body { margin: 0; padding: 0 1rem; font-family: system-ui, sans-serif; }</style>
</head>
<body>
<main>
<h1>Health record</h1>
<div id="chart"></div>
<div id="copy"></div>
</main>
</body>
</html>
`;

/**
 * A fresh context and page on the host page at the server's origin, with the
 * SDK loaded (`window.__ppsdk`). `problems` collects page errors and console
 * errors. `contextOptions` go to `browser.newContext` (`timezoneId`, …).
 * `initScript` runs in every frame before any of its scripts;
 * `setup(context)` runs before the page is created (bindings, listeners).
 */
export async function newHostPage(browser, server, { width = 1280, height = 900, colorScheme = "light", initScript, setup, html = HOST_HTML, contextOptions = {} } = {}) {
  const context = await browser.newContext({ viewport: { width, height }, colorScheme, reducedMotion: "reduce", ...contextOptions });
  context.setDefaultTimeout(STEP_TIMEOUT);
  if (setup) await setup(context);
  if (initScript) await context.addInitScript(initScript);
  const hostUrl = new URL(HOST_PATH, server.base).href;
  await context.route(hostUrl, (route) => route.fulfill({ status: 200, contentType: "text/html; charset=utf-8", body: html }));
  const page = await context.newPage();
  const problems = { pageErrors: [], consoleErrors: [] };
  page.on("pageerror", (err) => problems.pageErrors.push(String(err?.stack ?? err)));
  page.on("console", (msg) => {
    if (msg.type() === "error") problems.consoleErrors.push(msg.text());
  });
  await page.goto(hostUrl);
  await loadSdk(page);
  return { page, context, problems, hostUrl };
}

/** Imports /pkg/index.js (the package entry) from the server and initialises it (once per document). */
export async function loadSdk(page) {
  await page.evaluate(async () => {
    if (window.__ppsdk) return;
    const sdk = await import("/pkg/index.js");
    await sdk.default();
    window.__ppsdk = sdk;
  });
}

/**
 * Opens `jwe` with `key` (`new PatientPortal().openJwe`) and renders it into
 * the element `host` (a CSS selector); the record stays in `window.__record`
 * (the previous one is freed). Resolves to a few facts about it.
 */
export async function openRecord(page, { jwe, key, host = "#chart" }) {
  return page.evaluate(
    async ({ jwe, key, host }) => {
      const { PatientPortal } = window.__ppsdk;
      window.__record?.free();
      window.__record = undefined;
      const element = document.querySelector(host);
      if (!element) throw new Error(`no element ${host} to render into`);
      const record = new PatientPortal().openJwe(jwe, key);
      window.__record = record;
      await record.render(element);
      return { resourceCount: record.resourceCount, patientName: record.patientName ?? null, hasShadowRoot: element.shadowRoot !== null };
    },
    { jwe, key, host },
  );
}

/** What the chart's stylesheet lays out only near the viewport (`content-visibility: auto`). */
export const SKIPPED_REGIONS = ".chart > section + section, .scroll[tabindex], .trend-body";

/**
 * Lays out the whole chart in `host`, as printing does: sections after the
 * first are otherwise laid out only near the viewport (`content-visibility:
 * auto`), and a tool that reads layout (axe-core's contrast check finds an
 * element's background from the boxes at its place) sees nothing of the
 * others. Colours and the DOM are unchanged.
 */
export async function layOutInFull(page, host = "#chart") {
  await page.evaluate(
    ({ host, regions }) => {
      for (const el of document.querySelector(host).shadowRoot.querySelectorAll(regions)) el.style.contentVisibility = "visible";
    },
    { host, regions: SKIPPED_REGIONS },
  );
}

/** The text of `locator` as a viewer reads it once scrolled there (later sections are laid out near the viewport only). */
export async function seenText(locator) {
  await locator.scrollIntoViewIfNeeded();
  await locator.page().waitForFunction((el) => el.innerText.trim() !== "", await locator.elementHandle(), { timeout: STEP_TIMEOUT, polling: POLL_MS });
  return locator.innerText();
}

/**
 * Opens every <details> in the shadow root of `host` (the chart fills its
 * lazy ones on their `toggle` event) and waits until each one that the SDK
 * fills (`data-fill`) is filled (`data-filled`), including disclosures that
 * appear inside filled content. Resolves to the number opened.
 */
export async function openAllDetails(page, host = "#chart") {
  let total = 0;
  for (let round = 0; round < 5; round++) {
    const opened = await page.evaluate((host) => {
      const root = document.querySelector(host).shadowRoot;
      let n = 0;
      for (const d of root.querySelectorAll("details:not([open])")) {
        d.open = true;
        n++;
      }
      return n;
    }, host);
    if (opened === 0) break;
    total += opened;
    try {
      await page.waitForFunction(
        (host) => [...document.querySelector(host).shadowRoot.querySelectorAll("details[data-fill]")].every((d) => d.hasAttribute("data-filled")),
        host,
        { timeout: STEP_TIMEOUT, polling: POLL_MS },
      );
    } catch (err) {
      const unfilled = await page.evaluate(
        (host) => [...document.querySelector(host).shadowRoot.querySelectorAll("details[data-fill]:not([data-filled])")].map((d) => `data-fill=${d.dataset.fill}`),
        host,
      );
      throw new Error(`opened disclosures were not filled by the SDK within ${STEP_TIMEOUT} ms: ${unfilled.join(", ")}`, { cause: err });
    }
  }
  return total;
}

export function assertNoPageProblems(problems, what) {
  assert.deepEqual(problems.pageErrors, [], `${what}: uncaught page errors`);
  assert.deepEqual(problems.consoleErrors, [], `${what}: console errors`);
}
