// Every place a portal runs the SDK (examples/): Vite (dev server and
// production build), webpack, esbuild, a plain module page with an import
// map, React with the <patient-chart> element (its production build, and its
// dev server for StrictMode's double effect), Vue with the element in a
// single-file component's template, a file:// page and Node pre-rendering.
// Each example, built from the packed package as a portal installs it, opens
// a SMART Health Link of the development backend in headless Chromium; the
// test checks that the chart is shown (the patient's
// name in the banner of a non-empty chart), that the wasm came the way the
// example says, and that the page logged no error.
//
// Needs `cargo build --example dev_server`, a built pkg/ and the examples
// built by scripts/build-examples.sh (which `make test-js` runs).

import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { spawn, execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, readFile, rm, stat, writeFile } from "node:fs/promises";
import { createServer } from "node:http";
import { tmpdir } from "node:os";
import { extname, join, normalize, sep } from "node:path";
import { createInterface } from "node:readline";
import { pathToFileURL } from "node:url";
import { promisify } from "node:util";

import { POLL_MS, ROOT, STEP_TIMEOUT, launchBrowser, startServer } from "./harness.mjs";

const EXAMPLES = join(ROOT, "examples");
const TEST_TIMEOUT = 90_000;

// ---------------------------------------------------------------------------
// Serving.

const TYPES = { ".html": "text/html; charset=utf-8", ".js": "text/javascript", ".mjs": "text/javascript", ".wasm": "application/wasm", ".css": "text/css", ".json": "application/json", ".map": "application/json" };


/**
 * Stops `server` and ends its connections: a connection the browser keeps
 * alive (or one with a request still open) would otherwise hold `close()`
 * until it times out, which is never for Chromium's pooled sockets.
 */
function closeServer(server) {
  return new Promise((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });
}
/** A static file server for `dir` on 127.0.0.1 (a free port); `served` lists the paths it answered. */
async function serveStatic(dir) {
  const served = [];
  const server = createServer(async (req, res) => {
    const path = decodeURIComponent(new URL(req.url, "http://x").pathname);
    let file = normalize(join(dir, path));
    if (!file.startsWith(dir + sep) && file !== dir) return res.writeHead(403).end();
    try {
      if ((await stat(file)).isDirectory()) file = join(file, "index.html");
      const body = await readFile(file);
      served.push(path);
      res.writeHead(200, { "Content-Type": TYPES[extname(file)] ?? "application/octet-stream", "Cache-Control": "no-store" }).end(body);
    } catch {
      res.writeHead(404).end();
    }
  });
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  return { base: `http://127.0.0.1:${server.address().port}/`, served, close: () => closeServer(server) };
}

/** A free loopback port (for servers that take no port 0, such as Vite's). */
async function freePort() {
  const probe = createServer();
  await new Promise((resolve) => probe.listen(0, "127.0.0.1", resolve));
  const { port } = probe.address();
  await new Promise((resolve) => probe.close(resolve));
  return port;
}

/** `env` without the variables that force coloured output. */
function withoutColor(env) {
  const { FORCE_COLOR: _force, CLICOLOR_FORCE: _clicolor, ...rest } = env;
  return rest;
}

/** `text` without ANSI escape sequences. */
function stripAnsi(text) {
  // eslint-disable-next-line no-control-regex
  return text.replace(/\u001b\[[0-9;]*[A-Za-z]/g, "");
}

/** `vite` (dev server) in `dir`; resolves when it listens. */
async function startVite(dir) {
  const port = await freePort();
  const bin = join(EXAMPLES, "node_modules/vite/bin/vite.js");
  // --force: optimise the dependencies again, so a rebuilt SDK is never served from Vite's cache.
  const child = spawn(process.execPath, [bin, "--host", "127.0.0.1", "--port", String(port), "--strictPort", "--force", "--clearScreen", "false"], {
    cwd: dir,
    stdio: ["ignore", "pipe", "pipe"],
    // Plain output whatever the caller's terminal settings (FORCE_COLOR in CI puts escape codes inside the URL).
    env: { ...withoutColor(process.env), NO_COLOR: "1" },
  });
  let log = "";
  child.stderr.on("data", (chunk) => (log += chunk));
  const killOnExit = () => child.kill("SIGKILL");
  process.once("exit", killOnExit);
  const stop = async () => {
    process.off("exit", killOnExit);
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((resolve) => child.once("exit", resolve));
    child.kill("SIGTERM");
    await exited;
  };
  try {
    await new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`vite did not start within ${STEP_TIMEOUT} ms\n${log}`)), STEP_TIMEOUT);
      child.once("exit", (code) => reject(new Error(`vite exited (code ${code})\n${log}`)));
      createInterface({ input: child.stdout }).on("line", (line) => {
        log += `${line}\n`;
        if (stripAnsi(line).includes(`http://127.0.0.1:${port}/`)) {
          clearTimeout(timer);
          resolve();
        }
      });
    });
  } catch (err) {
    await stop();
    throw err;
  }
  return { base: `http://127.0.0.1:${port}/`, stop, log: () => log };
}

// ---------------------------------------------------------------------------
// The page.

/**
 * Opens `url` in a fresh context; collects page errors, console errors and
 * warnings, and every response (url, status, content type). `initScript`
 * runs before the page's scripts; `setup(context)` and `setupPage(page)`
 * before it loads.
 */
async function openPage(url, { initScript, setup, setupPage } = {}) {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  context.setDefaultTimeout(STEP_TIMEOUT);
  if (initScript) await context.addInitScript(initScript);
  if (setup) await setup(context);
  const page = await context.newPage();
  setupPage?.(page);
  const problems = { pageErrors: [], console: [] };
  const responses = [];
  page.on("pageerror", (err) => problems.pageErrors.push(String(err?.stack ?? err)));
  page.on("console", (msg) => {
    if (msg.type() === "error" || msg.type() === "warning") problems.console.push(`${msg.type()}: ${msg.text()}`);
  });
  page.on("response", (r) => responses.push({ url: r.url(), status: r.status(), type: r.headers()["content-type"] ?? "" }));
  await page.goto(url);
  return { context, page, problems, responses };
}

/** Waits for the chart in the shadow root of `host` and checks what a person would see. */
async function assertChart(page, host = "#chart") {
  await page.waitForFunction((host) => document.querySelector(host)?.shadowRoot?.querySelector("article.chart .banner .patient-name"), host, { timeout: STEP_TIMEOUT, polling: POLL_MS });
  const chart = await page.evaluate((host) => {
    const article = document.querySelector(host).shadowRoot.querySelector("article.chart");
    const banner = article.querySelector(".banner");
    const box = (el) => {
      const r = el.getBoundingClientRect();
      return { width: r.width, height: r.height };
    };
    return { name: banner.querySelector(".patient-name").textContent, article: box(article), banner: box(banner), bannerBackground: getComputedStyle(banner).backgroundColor };
  }, host);
  assert.match(chart.name, new RegExp(linkRecord.name.split(" ").join(".*")), "the banner has the patient's name");
  assert.ok(chart.article.width > 0 && chart.article.height > 0, `the chart has a size: ${JSON.stringify(chart.article)}`);
  assert.ok(chart.banner.width > 0 && chart.banner.height > 0, `the banner has a size: ${JSON.stringify(chart.banner)}`);
  assert.notEqual(chart.bannerBackground, "rgba(0, 0, 0, 0)", "the chart is styled (the banner has its background)");
  return chart;
}

function assertNoProblems({ problems }, what) {
  assert.deepEqual(problems.pageErrors, [], `${what}: page errors`);
  assert.deepEqual(problems.console, [], `${what}: console errors and warnings`);
}

/** The one wasm response of the page: fetched once, 200, served as application/wasm (so it compiles while streaming). */
function assertWasmFetched({ responses }, pattern) {
  const wasm = responses.filter((r) => /\.wasm(\?|$)/.test(r.url));
  assert.equal(wasm.length, 1, `one wasm request: ${JSON.stringify(wasm)}`);
  assert.match(new URL(wasm[0].url).pathname, pattern);
  assert.equal(wasm[0].status, 200);
  assert.equal(wasm[0].type, "application/wasm");
}

function assertBuilt(...paths) {
  for (const path of paths) {
    assert.ok(existsSync(join(EXAMPLES, path)), `examples/${path} is missing: run scripts/build-examples.sh (make test-js runs it)`);
  }
}

// ---------------------------------------------------------------------------

let server;
let browser;
/** A plain SMART Health Link of the development backend, and the patient it shares. */
let linkRecord;

before(async () => {
  assertBuilt("node_modules/patient-portal-sdk/package.json");
  server = await startServer();
  browser = await launchBrowser();
  linkRecord = server.links.links.find((l) => l.kind === "plain");
  assert.ok(linkRecord, "the development backend prints a plain link");
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

/** Serves `dir` (relative to examples/), opens `page` there with the link, checks the chart. */
async function checkStatic(t, { dir, page: pagePath, wasm }) {
  const site = await serveStatic(join(EXAMPLES, dir));
  t.after(() => site.close());
  const opened = await openPage(`${new URL(pagePath, site.base)}#${linkRecord.link}`);
  t.after(() => opened.context.close());
  await assertChart(opened.page);
  assertWasmFetched(opened, wasm);
  assertNoProblems(opened, dir);
}

describe("examples: the SDK in each place a portal runs it", { timeout: TEST_TIMEOUT * 8 }, () => {
  test("Vite dev server: the wasm served from node_modules (no 403)", { timeout: TEST_TIMEOUT }, async (t) => {
    const vite = await startVite(join(EXAMPLES, "vite"));
    t.after(() => vite.stop());
    const opened = await openPage(`${vite.base}#${linkRecord.link}`);
    t.after(() => opened.context.close());
    await assertChart(opened.page);
    assertWasmFetched(opened, /\/patient-portal-sdk\/patient_portal_sdk_bg\.wasm$/);
    assertNoProblems(opened, "vite dev");
    assert.doesNotMatch(vite.log(), /outside of Vite serving allow list|error/i, "the Vite dev server logged no refusal or error");
  });

  test("Vite production build: the wasm emitted as a hashed asset", { timeout: TEST_TIMEOUT }, async (t) => {
    assertBuilt("vite/dist/index.html");
    await checkStatic(t, { dir: "vite/dist", page: "/", wasm: /^\/assets\/patient_portal_sdk_bg-[\w-]+\.wasm$/ });
  });

  test("Vite production build, worker mode: the package's worker bundled with ?worker opens the record off the main thread", { timeout: TEST_TIMEOUT }, async (t) => {
    assertBuilt("vite/dist/worker.html");
    const site = await serveStatic(join(EXAMPLES, "vite/dist"));
    t.after(() => site.close());
    const opened = await openPage(`${new URL("/worker.html", site.base)}#${linkRecord.link}`);
    t.after(() => opened.context.close());
    await assertChart(opened.page);
    await opened.page.waitForFunction(() => document.body.dataset.mode, null, { timeout: STEP_TIMEOUT, polling: POLL_MS });
    assert.equal(await opened.page.evaluate(() => document.body.dataset.mode), "worker", "the record was opened in the worker");
    const wasm = opened.responses.filter((r) => /\.wasm(\?|$)/.test(r.url));
    assert.ok(wasm.every((r) => r.status === 200 && r.type === "application/wasm"), `the worker's wasm: ${JSON.stringify(wasm)}`);
    assertNoProblems(opened, "vite worker mode");
  });

  test("webpack 5: the wasm emitted as asset/resource from new URL(…, import.meta.url)", { timeout: TEST_TIMEOUT }, async (t) => {
    assertBuilt("webpack/dist/main.js");
    await checkStatic(t, { dir: "webpack", page: "/", wasm: /^\/dist\/[0-9a-f]+\.wasm$/ });
  });

  test("esbuild: the wasm emitted by --loader:.wasm=file and passed to init", { timeout: TEST_TIMEOUT }, async (t) => {
    assertBuilt("esbuild/dist/main.js");
    await checkStatic(t, { dir: "esbuild", page: "/", wasm: /^\/dist\/patient_portal_sdk_bg-\w+\.wasm$/ });
  });

  test("plain module script with an import map: the wasm next to the SDK's JavaScript", { timeout: TEST_TIMEOUT }, async (t) => {
    // The page is served with the node_modules that npm workspaces put in examples/.
    await checkStatic(t, { dir: ".", page: "/plain/", wasm: /^\/node_modules\/patient-portal-sdk\/patient_portal_sdk_bg\.wasm$/ });
  });

  test("file:// page: a classic script with the wasm bytes inlined (initSync)", { timeout: TEST_TIMEOUT }, async (t) => {
    assertBuilt("file/dist/app.js");
    const url = `${pathToFileURL(join(EXAMPLES, "file/index.html"))}#${linkRecord.link}`;
    const opened = await openPage(url);
    t.after(() => opened.context.close());
    await assertChart(opened.page);
    assert.equal(await opened.page.evaluate(() => location.protocol), "file:");
    assert.deepEqual(opened.responses.filter((r) => /\.wasm(\?|$)/.test(r.url)), [], "no wasm request: the bytes are in the script");
    assertNoProblems(opened, "file://");
  });

  describe("React 19 with <patient-chart>: opened in an effect, closed in its cleanup", () => {
    let site;
    let dev;
    before(async () => {
      assertBuilt("react/dist/index.html");
      site = await serveStatic(join(EXAMPLES, "react/dist"));
      dev = await startVite(join(EXAMPLES, "react")); // React's development build: StrictMode runs each effect twice
    });
    after(async () => {
      await site?.close();
      await dev?.stop();
    });

    // Counts the element's openLink() calls (window.__calls).
    const countCalls = () => {
      window.__calls = { openLink: 0 };
      const define = customElements.define.bind(customElements);
      customElements.define = (name, constructor, options) => {
        if (name === "patient-chart") {
          for (const method of ["openLink"]) {
            const original = constructor.prototype[method];
            constructor.prototype[method] = function (...args) {
              window.__calls[method]++;
              return original.apply(this, args);
            };
          }
        }
        return define(name, constructor, options);
      };
    };
    const calls = (page) => page.evaluate(() => window.__calls);
    const unmount = async (page) => {
      await page.evaluate(() => (window.__chart = document.querySelector("patient-chart")));
      await page.getByRole("button", { name: "Close the record" }).click();
      await page.waitForFunction(() => !document.querySelector("patient-chart"), null, { polling: POLL_MS });
    };

    test("production build: the chart opens, and unmounting closes the record", { timeout: TEST_TIMEOUT }, async (t) => {
      const opened = await openPage(`${site.base}#${linkRecord.link}`, { initScript: countCalls });
      t.after(() => opened.context.close());
      await assertChart(opened.page, "patient-chart");
      assertWasmFetched(opened, /^\/assets\/patient_portal_sdk_bg-[\w-]+\.wasm$/);
      assert.ok(await opened.page.evaluate(() => document.querySelector("patient-chart").record?.resourceCount > 0), "the element holds the open record");
      assert.deepEqual(await calls(opened.page), { openLink: 1 });
      await unmount(opened.page);
      assert.equal(await opened.page.evaluate(() => window.__chart.record), null, "the unmounted element's record is closed");
      assertNoProblems(opened, "react (build)");
    });

    test("StrictMode (dev server): the second effect's open wins over the first, aborted one", { timeout: TEST_TIMEOUT }, async (t) => {
      const opened = await openPage(`${dev.base}#${linkRecord.link}`, { initScript: countCalls });
      t.after(() => opened.context.close());
      await assertChart(opened.page, "patient-chart");
      assertWasmFetched(opened, /\/patient-portal-sdk\/patient_portal_sdk_bg\.wasm$/);
      assert.deepEqual(await calls(opened.page), { openLink: 2 }, "effect, cleanup, effect");
      assert.equal(await opened.page.locator("[role=alert]").count(), 0, "no error shown for the aborted open");
      await unmount(opened.page);
      assert.equal(await opened.page.evaluate(() => window.__chart.record), null, "the unmounted element's record is closed");
      assertNoProblems(opened, "react (dev)");
    });

    test("StrictMode (dev server), unmounted before the open resolves: no record stays open, nothing is logged", { timeout: TEST_TIMEOUT }, async (t) => {
      // Hold the link's manifest until the component is gone.
      let release;
      const held = new Promise((resolve) => (release = resolve));
      let asked = 0;
      const hold = (context) =>
        context.route(new URL("shl/**", server.base).href, async (route) => {
          asked++;
          await held;
          await route.continue().catch(() => {}); // the request may have been aborted meanwhile
        });
      const opened = await openPage(`${dev.base}#${linkRecord.link}`, { initScript: countCalls, setup: hold });
      t.after(() => opened.context.close());
      await opened.page.waitForFunction(() => window.__calls.openLink === 2, null, { polling: POLL_MS });
      await unmount(opened.page);
      release();
      // Time for a late answer to arrive and (wrongly) become a record.
      await opened.page.waitForTimeout(1_000);
      const state = await opened.page.evaluate(() => ({ calls: window.__calls, record: window.__chart.record, chart: Boolean(window.__chart.shadowRoot?.querySelector("article.chart")), alert: document.querySelector("[role=alert]")?.textContent ?? null }));
      assert.deepEqual(state, { calls: { openLink: 2 }, record: null, chart: false, alert: null }, "no record, no chart, no error shown after the unmount");
      assertNoProblems(opened, "react (fast unmount)");
      assert.ok(asked <= 2, `manifest requests: ${asked} (at most one per open)`);
    });

    test("a passcode link: passcoderequired asks for it, again after a wrong one; retry(passcode) opens the chart", { timeout: TEST_TIMEOUT }, async (t) => {
      const protectedLink = server.links.links.find((l) => l.kind === "passcode");
      assert.notEqual(protectedLink.passcode, "0000");
      const prompts = [];
      const answer = (page) =>
        page.on("dialog", (dialog) => {
          prompts.push(dialog.message());
          dialog.accept(prompts.length === 1 ? "0000" : protectedLink.passcode);
        });
      const opened = await openPage(`${site.base}#${protectedLink.link}`, { setupPage: answer });
      t.after(() => opened.context.close());
      await assertChart(opened.page, "patient-chart");
      assert.deepEqual(prompts, ["Passcode", "Passcode"], "asked, and asked again after the wrong passcode");
      // Chromium logs the host's 401 for the wrong passcode itself; nothing else may be logged.
      const refused = opened.problems.console.filter((m) => /Failed to load resource: .* 401 /.test(m));
      assert.equal(refused.length, 1, `the one refusal: ${JSON.stringify(opened.problems.console)}`);
      opened.problems.console = opened.problems.console.filter((m) => !refused.includes(m));
      assertNoProblems(opened, "react (passcode)");
    });
  });

  test("Vue 3 single-file component: <patient-chart> in a template, its events bound with @, removed and re-mounted by v-if", { timeout: TEST_TIMEOUT }, async (t) => {
    assertBuilt("vue/dist/index.html");
    const site = await serveStatic(join(EXAMPLES, "vue/dist"));
    t.after(() => site.close());
    const opened = await openPage(`${site.base}#${linkRecord.link}`);
    t.after(() => opened.context.close());
    const { page } = opened;
    await assertChart(page, "patient-chart");
    assertWasmFetched(opened, /^\/assets\/patient_portal_sdk_bg-[\w-]+\.wasm$/);
    // @ready, bound in the template, received the record.
    const count = await page.evaluate(() => document.querySelector("patient-chart").record.resourceCount);
    await page.waitForFunction((n) => document.querySelector(".count")?.textContent === `${n} resources`, count, { polling: POLL_MS });
    // v-if removes the element: its record is freed.
    await page.evaluate(() => (window.__chart = document.querySelector("patient-chart")));
    await page.getByRole("button", { name: "Close the record" }).click();
    await page.waitForFunction(() => !document.querySelector("patient-chart"), null, { polling: POLL_MS });
    await page.waitForFunction(() => window.__chart.record === null, null, { polling: POLL_MS });
    // ...and mounted again: opened again.
    await page.getByRole("button", { name: "Open the record" }).click();
    await assertChart(page, "patient-chart");
    assert.equal(await page.locator("[role=alert]").count(), 0, "no error shown");
    assertNoProblems(opened, "vue");
  });

  test("Node pre-rendering with toHtml(): the chart shown and styled without script, the page's own styles unchanged", { timeout: TEST_TIMEOUT }, async (t) => {
    const dir = await mkdtemp(join(tmpdir(), "ppsdk-node-example-"));
    t.after(() => rm(dir, { recursive: true, force: true }));
    const out = join(dir, "chart.html");
    await promisify(execFile)(process.execPath, [join(EXAMPLES, "node/render.mjs"), linkRecord.link, out], { cwd: join(EXAMPLES, "node"), timeout: STEP_TIMEOUT });
    const html = await readFile(out, "utf8");
    assert.doesNotMatch(html, /<script/i, "the pre-rendered page has no script");
    const shell = await readFile(join(EXAMPLES, "node/page.html"), "utf8");

    const site = await serveStatic(dir);
    t.after(() => site.close());
    // The same page without the chart: the portal's styles as they are alone.
    await writeFile(join(dir, "shell.html"), shell.replace("<!--chart-->", ""));

    const hostStyles = (page) =>
      page.evaluate(() => {
        const props = ["color", "font-family", "font-size", "margin-top", "padding-top", "border-top-width", "border-top-color", "box-sizing", "outline-style", "background-color"];
        const pick = (el) => Object.fromEntries(props.map((p) => [p, getComputedStyle(el).getPropertyValue(p)]));
        const host = [document.body, ...document.querySelectorAll("body > header, body > header *, #portal-footer, #portal-footer *")];
        return host.map((el) => ({ el: el.tagName + (el.className ? `.${el.className}` : ""), ...pick(el) }));
      });
    const alone = await openPage(new URL("shell.html", site.base).href);
    t.after(() => alone.context.close());
    const expected = await hostStyles(alone.page);

    const opened = await openPage(new URL("chart.html", site.base).href);
    t.after(() => opened.context.close());
    const chart = await opened.page.evaluate(() => {
      const article = document.querySelector("main article.chart");
      const banner = article?.querySelector(".banner");
      const r = article?.getBoundingClientRect();
      return article && { name: banner.querySelector(".patient-name").textContent, width: r.width, height: r.height, bannerBackground: getComputedStyle(banner).backgroundColor, bannerPadding: getComputedStyle(banner).paddingTop };
    });
    assert.ok(chart, "the page has the chart (article.chart)");
    assert.match(chart.name, new RegExp(linkRecord.name.split(" ").join(".*")), "the banner has the patient's name");
    assert.ok(chart.width > 0 && chart.height > 0, "the chart has a size");
    assert.notEqual(chart.bannerBackground, "rgba(0, 0, 0, 0)", "the chart is styled (the banner has its background)");
    assert.notEqual(chart.bannerPadding, "0px", "the chart is styled (the banner has its padding)");
    assert.deepEqual(opened.responses.filter((r) => /\.(wasm|js)(\?|$)/.test(r.url)), [], "the page loads no script and no wasm");
    assertNoProblems(opened, "pre-rendered page");
    assert.deepEqual(await hostStyles(opened.page), expected, "the chart's styles leave the portal's own elements as they are");
  });
});
