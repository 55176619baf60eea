// A small Chromium driver for the bench: the DevTools protocol over
// --remote-debugging-pipe, with the few calls run.mjs and throttle.mjs make
// (in the shape of playwright-core's, which drove the bench before).
//
// playwright-core enables the Network domain on every page (DevTools then
// keeps a copy of each response body and sends an event per chunk) and runs
// a script of its own in each page. With the Network domain on, reading a
// 16 MB response at 4x CPU slowdown took 308-452 ms instead of 138-187 ms,
// with long tasks of 98-218 ms, and the injected script was a task of about
// 100 ms of each page load at 4x (ARCHITECTURE, "Staying responsive"). A
// phone viewing a record runs neither, so this driver enables only Page and
// Runtime (navigation, page errors) and what a phase asks for (throttling,
// tracing, the profiler).
import { spawn } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";

class Connection {
  #next = 0;
  #pending = new Map();
  #listeners = new Set();
  #write;
  closed = false;

  constructor(input, output) {
    this.#write = (text) => input.write(`${text}\0`);
    let chunks = [];
    output.on("data", (chunk) => {
      let from = 0;
      for (let at = chunk.indexOf(0); at >= 0; at = chunk.indexOf(0, from)) {
        chunks.push(chunk.subarray(from, at));
        this.#dispatch(JSON.parse(Buffer.concat(chunks).toString("utf8")));
        chunks = [];
        from = at + 1;
      }
      if (from < chunk.length) chunks.push(chunk.subarray(from));
    });
    output.on("close", () => {
      this.closed = true;
      for (const { reject } of this.#pending.values()) reject(new Error("the browser closed"));
      this.#pending.clear();
    });
  }

  #dispatch(message) {
    if (message.id !== undefined) {
      const pending = this.#pending.get(message.id);
      this.#pending.delete(message.id);
      if (!pending) return;
      if (message.error) pending.reject(new Error(`${pending.method}: ${message.error.message}`));
      else pending.resolve(message.result);
      return;
    }
    for (const listener of this.#listeners) listener(message);
  }

  send(method, params = {}, sessionId = undefined) {
    if (this.closed) return Promise.reject(new Error("the browser closed"));
    const id = ++this.#next;
    return new Promise((resolve, reject) => {
      this.#pending.set(id, { resolve, reject, method });
      this.#write(JSON.stringify(sessionId ? { id, method, params, sessionId } : { id, method, params }));
    });
  }

  /** Calls `listener(message)` for every event; returns a function that stops it. */
  listen(listener) {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** The next event named `method` (of `sessionId`, if given). */
  once(method, sessionId, timeout = 300_000) {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        stop();
        reject(new Error(`no ${method} within ${timeout} ms`));
      }, timeout);
      const stop = this.listen((m) => {
        if (m.method === method && (sessionId === undefined || m.sessionId === sessionId)) {
          clearTimeout(timer);
          stop();
          resolve(m.params);
        }
      });
    });
  }
}

const withTimeout = (promise, ms, what) =>
  Promise.race([promise, new Promise((_, reject) => setTimeout(() => reject(new Error(`${what}: timed out after ${ms} ms`)), ms).unref())]);

class Page {
  constructor(connection, targetId, sessionId) {
    this.connection = connection;
    this.targetId = targetId;
    this.sessionId = sessionId;
  }

  send(method, params) {
    return this.connection.send(method, params, this.sessionId);
  }

  /** Only "pageerror": an exception the page did not catch. */
  on(event, handler) {
    if (event !== "pageerror") throw new Error(`unsupported page event ${event}`);
    this.connection.listen((m) => {
      if (m.sessionId === this.sessionId && m.method === "Runtime.exceptionThrown") {
        const details = m.params.exceptionDetails;
        handler(new Error(details.exception?.description ?? details.text));
      }
    });
  }

  async goto(url, { timeout = 30_000 } = {}) {
    const loaded = this.connection.once("Page.loadEventFired", this.sessionId, timeout);
    const { errorText } = await this.send("Page.navigate", { url });
    if (errorText) throw new Error(`${url}: ${errorText}`);
    await loaded;
  }

  /** The value of `expression` in the page, its promise awaited. */
  async #run(expression, timeout, what) {
    const answer = await withTimeout(this.send("Runtime.evaluate", { expression, awaitPromise: true, returnByValue: true }), timeout, what);
    if (answer.exceptionDetails) throw new Error(answer.exceptionDetails.exception?.description ?? answer.exceptionDetails.text);
    return answer.result.value;
  }

  evaluate(fn, arg = undefined, { timeout = 30_000 } = {}) {
    return this.#run(`(${fn})(${arg === undefined ? "" : JSON.stringify(arg)})`, timeout, "evaluate");
  }

  /** Resolves once `fn()` is truthy in the page (checked every 100 ms by a timer of the page's). */
  waitForFunction(fn, _arg = null, { timeout = 30_000 } = {}) {
    const poll = `new Promise((resolve) => { const check = ${fn}; const poll = () => (check() ? resolve(true) : setTimeout(poll, 100)); poll(); })`;
    return this.#run(poll, timeout, "waitForFunction");
  }

  async screenshot({ path }) {
    const { data } = await this.send("Page.captureScreenshot", { format: "png" });
    await writeFile(path, Buffer.from(data, "base64"));
  }

  async close() {
    await this.connection.send("Target.closeTarget", { targetId: this.targetId }).catch(() => {});
  }
}

class Context {
  constructor(browser, id, viewport) {
    this.browser = browser;
    this.id = id;
    this.viewport = viewport;
  }

  async newPage() {
    const connection = this.browser.connection;
    const { targetId } = await connection.send("Target.createTarget", { url: "about:blank", browserContextId: this.id });
    const { sessionId } = await connection.send("Target.attachToTarget", { targetId, flatten: true });
    const page = new Page(connection, targetId, sessionId);
    await page.send("Page.enable");
    await page.send("Runtime.enable");
    if (this.viewport) await page.send("Emulation.setDeviceMetricsOverride", { ...this.viewport, deviceScaleFactor: 1, mobile: false });
    return page;
  }

  /** The page's own session (commands go to the page's target). */
  async newCDPSession(page) {
    return { send: (method, params) => page.send(method, params), detach: async () => {} };
  }

  async close() {
    await this.browser.connection.send("Target.disposeBrowserContext", { browserContextId: this.id }).catch(() => {});
  }
}

class Browser {
  #version;
  #tracing = null;

  constructor(process, connection, profile, version) {
    this.process = process;
    this.connection = connection;
    this.profile = profile;
    this.#version = version;
  }

  version() {
    return this.#version;
  }

  async newContext({ viewport } = {}) {
    const { browserContextId } = await this.connection.send("Target.createBrowserContext", {});
    return new Context(this, browserContextId, viewport);
  }

  async newBrowserCDPSession() {
    return { send: (method, params) => this.connection.send(method, params), detach: async () => {} };
  }

  /** Records a trace of the whole browser (the page included) until stopTracing, into `path`. */
  async startTracing(_page, { path, categories }) {
    await this.connection.send("Tracing.start", { transferMode: "ReturnAsStream", traceConfig: { includedCategories: categories } });
    this.#tracing = path;
  }

  async stopTracing() {
    const complete = this.connection.once("Tracing.tracingComplete", undefined);
    await this.connection.send("Tracing.end");
    const { stream } = await complete;
    const parts = [];
    for (;;) {
      const { data, eof, base64Encoded } = await this.connection.send("IO.read", { handle: stream, size: 1 << 20 });
      parts.push(base64Encoded ? Buffer.from(data, "base64") : Buffer.from(data, "utf8"));
      if (eof) break;
    }
    await this.connection.send("IO.close", { handle: stream });
    await writeFile(this.#tracing, Buffer.concat(parts));
    this.#tracing = null;
  }

  async close() {
    await this.connection.send("Browser.close").catch(() => {});
    await new Promise((resolve) => (this.process.exitCode !== null ? resolve() : this.process.once("exit", resolve)));
    await rm(this.profile, { recursive: true, force: true });
  }
}

export const chromium = {
  /** Starts Chromium at `executablePath` with `args` (and a throwaway profile). */
  async launch({ executablePath, args = [] }) {
    const profile = await mkdtemp(join(tmpdir(), "bench-chromium-"));
    const child = spawn(
      executablePath,
      [
        ...args,
        // As playwright-core launched it: no timer throttling or backgrounding of the bench's tabs, no scrollbars.
        "--disable-background-timer-throttling",
        "--disable-backgrounding-occluded-windows",
        "--disable-renderer-backgrounding",
        "--hide-scrollbars",
        "--remote-debugging-pipe",
        `--user-data-dir=${profile}`,
        "about:blank",
      ],
      { stdio: ["ignore", "ignore", "ignore", "pipe", "pipe"] },
    );
    const connection = new Connection(child.stdio[3], child.stdio[4]);
    const { product } = await withTimeout(connection.send("Browser.getVersion"), 30_000, "Chromium did not start");
    return new Browser(child, connection, profile, product.slice(product.indexOf("/") + 1));
  },
};
