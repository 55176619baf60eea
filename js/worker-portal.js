// Worker mode: `WorkerPortal` opens records in a module Worker (worker.js),
// so that decrypting, reading, consent and the chart's view model run off
// the page's main thread; the page only commits the chart's markup and
// answers the chart's events. Where no worker can be started (a
// Content-Security-Policy without `worker-src` for the package, no module
// workers), it falls back to the paced main-thread path behind the same API.

import init from "./index.js";
import * as bindings from "./patient_portal_sdk.js";
import { PatientPortalError, adoptStyles, appendHtml, commitChart, finishChart, setHtml, stopChart, workerUrl } from "./runtime.js";
import { createHost, errorIn, errorOut, marshal } from "./worker-host.js";

const now = () => performance.timeOrigin + performance.now();
const badInput = (message) => new PatientPortalError(message, "badInput");
const freed = (what, name) => new PatientPortalError(name === "free" ? `this ${what} was already freed` : `${what}.${name} was used after free()`, "freed");

/** The worker: its messages, the page's references it may call back, and the requests waiting for it. */
class RemoteChannel {
  mode = "worker";

  constructor(worker, module) {
    this.worker = worker;
    this.pending = new Map();
    this.refs = new Map();
    this.next = 1;
    this.ready = new Promise((resolve, reject) => {
      this.started = { resolve, reject };
    });
    worker.addEventListener("message", (event) => this.#receive(event.data));
    worker.addEventListener("error", (event) => {
      event.preventDefault?.();
      this.#fail("the SDK's worker could not run");
    });
    worker.addEventListener("messageerror", () => this.#fail("a message from the SDK's worker could not be read"));
    worker.postMessage({ init: module ?? null });
  }

  #fail(message) {
    const error = new PatientPortalError(message, "internal");
    this.started.reject(error);
    this.dead = error;
    for (const { reject } of this.pending.values()) reject(error);
    this.pending.clear();
  }

  #receive(data) {
    if ("ready" in data) {
      if (data.ready) this.started.resolve();
      else this.started.reject(errorIn(data.error, true));
      return;
    }
    if ("call" in data) {
      this.#answer(data);
      return;
    }
    const pending = this.pending.get(data.id);
    if (!pending) return;
    this.pending.delete(data.id);
    pending.done();
    if ("error" in data) pending.reject(errorIn(data.error, true));
    else pending.resolve({ value: data.ok, transferMs: data.sentAt ? Math.max(0, now() - data.sentAt) : 0 });
  }

  /** The worker calls a function or method of the page's (a progress callback, a token source, a link host). */
  async #answer({ call, ref, method, args }) {
    const target = this.refs.get(ref);
    let reply;
    try {
      if (!target) throw new PatientPortalError("the call it belonged to has ended", "internal");
      const value = await (method === null ? target(...args) : target[method](...args));
      reply = { callReply: call, ok: value };
    } catch (error) {
      reply = { callReply: call, error: errorOut(error) };
    }
    try {
      this.worker.postMessage(reply);
    } catch (error) {
      this.worker.postMessage({ callReply: call, error: errorOut(error) });
    }
  }

  request(op, args) {
    if (this.dead) return Promise.reject(this.dead);
    const id = this.next++;
    const owned = [];
    const refs = {
      add: (value) => {
        const ref = this.next++;
        this.refs.set(ref, value);
        owned.push(ref);
        if (value instanceof AbortSignal) {
          const abort = () => this.worker.postMessage({ abort: ref });
          value.addEventListener("abort", abort, { once: true });
          owned.push(() => value.removeEventListener("abort", abort));
        }
        return ref;
      },
    };
    return new Promise((resolve, reject) => {
      const done = () => {
        for (const item of owned) {
          if (typeof item === "function") item();
          else this.refs.delete(item);
        }
      };
      try {
        const message = { id, op, args: marshal(args, refs) };
        this.pending.set(id, { resolve, reject, done });
        this.worker.postMessage(message);
      } catch (error) {
        this.pending.delete(id);
        done();
        reject(error instanceof PatientPortalError ? error : badInput(`an argument cannot be given to the SDK's worker (${error?.name ?? "error"})`));
      }
    });
  }

  close() {
    this.worker.terminate();
    this.#fail("the SDK's worker was stopped");
  }
}

/** The fallback: the same operations on the page, over the main-thread module. */
class LocalChannel {
  mode = "main";

  constructor(module) {
    this.ready = init(module ?? undefined).then((exports) => {
      this.host = createHost(bindings, exports);
    });
  }

  async request(op, args) {
    return { value: await this.host.handle(op, args), transferMs: 0 };
  }

  close() {}
}

/** Starts the worker, or says why not (a CSP, no module workers, a cross-origin script). */
function startWorker(worker) {
  if (typeof globalThis.Worker !== "function") return null;
  if (worker instanceof globalThis.Worker) return worker;
  try {
    const url = worker === undefined ? workerUrl(new URL("./worker.js", import.meta.url).href) : worker;
    return new Worker(url, { type: "module", name: "patient-portal-sdk" });
  } catch {
    return null;
  }
}

const DISPLAY_KEYS = ["locale", "timeZone", "theme"];

/** A key for the chart of these display options ("" for the portal's own), or null when they are not only display options. */
function displayKey(options) {
  if (options === undefined || options === null) return "";
  if (typeof options !== "object" || !Object.keys(options).every((k) => DISPLAY_KEYS.includes(k))) return null;
  const values = DISPLAY_KEYS.map((k) => options[k] ?? null);
  return values.every((v) => v === null) ? "" : JSON.stringify(values);
}

// A record the page dropped without free() is freed in the worker, and stops counting for its portal.
const finalizer =
  typeof FinalizationRegistry === "function"
    ? new FinalizationRegistry(({ channel, id, portal }) => {
        portal?.remove();
        channel.request("freeRecord", [id]).catch(() => {});
      })
    : null;

// Charts on screen keep their record alive, as on the main-thread path.
const shownBy = new WeakMap();
let renderings = 0;

/**
 * A record opened by a `WorkerPortal`. Its data stays in the worker; the
 * getters, `resourceCounts()` and `decisions()` answer at once from what the
 * open brought back, and the methods that need the record's content
 * (`toHtml`, `resources`, `auditEvent`, `share`, `sharePreview`) resolve
 * from the worker. `render` returns a Promise, settled once the whole chart
 * is committed; with the portal's display options its first section is
 * committed before `render` returns.
 */
export class WorkerRecord {
  #channel;
  #id;
  #snap;
  #markups = new Map();
  #live = null;
  #renderSeq = 0;
  #portal;

  constructor(channel, id, snapshot, transfer, portal) {
    this.#channel = channel;
    this.#id = id;
    this.#snap = snapshot;
    this.#markups.set("", snapshot.markup);
    this.#portal = portal;
    /** What the open's answer cost to bring to the page: its size in characters, and the time from the worker's post to its delivery (ms). */
    this.transfer = Object.freeze({ characters: snapshot.markup.length + snapshot.decisions.length + snapshot.counts.length + snapshot.source.length + snapshot.stylesheet.length, ms: transfer });
    finalizer?.register(this, { channel, id, portal }, this);
    portal?.add();
  }

  #check(name) {
    if (!this.#snap) throw freed("PatientRecord", name);
  }

  #call(name, args) {
    if (!this.#snap) return Promise.reject(freed("PatientRecord", name));
    return this.#channel.request("record", [this.#id, name, args]).then(({ value }) => reviveRecords(value, this.#channel, this.#portal));
  }

  /** A getter's answer, from what the open brought back. */
  #answer(name) {
    this.#check(name);
    return this.#snap[name];
  }

  static {
    for (const name of ["resourceCount", "bundleType", "patientName", "withheldCount"]) {
      Object.defineProperty(this.prototype, name, {
        configurable: true,
        get() {
          return this.#answer(name);
        },
      });
    }
  }

  get source() {
    this.#check("source");
    return JSON.parse(this.#snap.source) ?? undefined;
  }

  resourceCounts() {
    this.#check("resourceCounts");
    return JSON.parse(this.#snap.counts);
  }

  decisions() {
    this.#check("decisions");
    return JSON.parse(this.#snap.decisions);
  }

  /** As `PatientRecord.toHtml`, resolved from the worker. */
  toHtml(options) {
    return this.#call("toHtml", [options]);
  }

  /** As `PatientRecord.resources`, resolved from the worker. */
  resources(resourceType) {
    return this.#call("resources", [resourceType]);
  }

  /** As `PatientRecord.auditEvent`, resolved from the worker. */
  auditEvent() {
    return this.#call("auditEvent", []);
  }

  share(options) {
    return this.#call("share", [options]);
  }

  sharePreview(options) {
    return this.#call("sharePreview", [options]);
  }

  /**
   * Renders the chart into `host` as `PatientRecord.render` does. For the
   * portal's display options, the banner, the table of contents and the
   * first section are committed before it returns; the later sections
   * follow in steps of their own. Resolves once all is committed.
   */
  render(host, options) {
    this.#check("render");
    if (!(host && host.nodeType === 1 && typeof host.attachShadow === "function")) throw badInput("render needs a DOM element to render into");
    const key = displayKey(options);
    const seq = ++this.#renderSeq;
    const ready = key === null ? undefined : this.#markups.get(key);
    if (ready !== undefined) return this.#commit(host, ready, options);
    return this.#channel.request("record", [this.#id, "__chartMarkup", [options]]).then(({ value }) => {
      if (!this.#snap) throw freed("PatientRecord", "render");
      if (key !== null) {
        // The portal's chart, and the latest other one.
        for (const k of this.#markups.keys()) if (k !== "") this.#markups.delete(k);
        this.#markups.set(key, value);
      }
      if (seq === this.#renderSeq) return this.#commit(host, value, options);
    });
  }

  #commit(host, markup, options) {
    let root = host.shadowRoot;
    if (!root) {
      try {
        root = host.attachShadow({ mode: "open" });
      } catch {
        throw badInput("this element cannot host a shadow root (use a div, section or custom element)");
      }
    }
    if (this.#live && this.#live.root !== root) this.#closeChart();
    else this.#detach();
    // Committed in steps (`commitChart`): the banner, the table of contents
    // and the first section now, the later sections in slices of their own.
    const committed = commitChart(root, markup);
    adoptStyles(root, this.#snap.stylesheet);
    const article = root.querySelector("article.chart");
    const token = `w${++renderings}`;
    article?.setAttribute("data-ppsdk-render", token);
    const live = { root, token, options, fills: new Map(), first: null, filtering: 0 };
    const current = () => this.#live === live && isCurrent(root, token);
    live.toggle = (event) => {
      const details = event.target;
      if (current() && details?.open) this.#fill(live, details);
    };
    live.click = (event) => {
      if (current()) onClick(root, event);
    };
    live.input = (event) => {
      if (current()) this.#filter(live, event);
    };
    live.print = () => {
      if (!current()) return;
      finishChart(root);
      for (const details of root.querySelectorAll("details")) {
        this.#fill(live, details);
        details.setAttribute("open", "");
      }
    };
    root.addEventListener("toggle", live.toggle, true);
    root.addEventListener("click", live.click);
    root.addEventListener("input", live.input);
    globalThis.addEventListener?.("beforeprint", live.print);
    this.#live = live;
    shownBy.set(host, this);
    const prefetch = () => {
      // The deferred disclosures, fetched while the page is idle, so that
      // opening one (and printing) needs no round trip: in answers of about
      // FILL_BATCH characters, each received in a task of its own.
      let keys = [...root.querySelectorAll("details[data-fill]")].map((d) => d.getAttribute("data-fill"));
      const next = () => {
        if (!keys.length || !current()) return;
        this.#channel
          .request("fills", [this.#id, keys, options, FILL_BATCH])
          .then(({ value }) => {
            for (const [key, html] of value) if (html !== null) live.fills.set(key, html);
            keys = keys.slice(value.length);
            if (value.length) setTimeout(next, 0);
          })
          .catch(() => {});
      };
      next();
    };
    return committed.then(() => {
      if (current()) prefetch();
    });
  }

  #fill(live, details) {
    const key = details.getAttribute("data-fill");
    if (key === null || details.hasAttribute("data-filled")) return;
    const put = (html) => {
      if (html === null || html === undefined || details.hasAttribute("data-filled") || this.#live !== live) return;
      const target = details.querySelector("[data-fill-here]");
      if (!target) return;
      appendHtml(target, html);
      details.setAttribute("data-filled", "");
    };
    if (live.fills.has(key)) put(live.fills.get(key));
    else
      this.#channel
        .request("record", [this.#id, "__fill", [key, live.options]])
        .then(({ value }) => put(value))
        .catch(() => {});
  }

  #filter(live, event) {
    const input = event.target;
    if (input?.id !== "ppsdk-results-filter") return;
    const list = live.root.querySelector(".results-list");
    const status = live.root.querySelector(".filter-status");
    if (!list || !status) return;
    const filter = input.value;
    const seq = ++live.filtering;
    if (filter.trim() === "") {
      if (live.first !== null) {
        setHtml(list, live.first);
        live.first = null;
      }
      status.textContent = "";
      return;
    }
    if (live.first === null) live.first = list.innerHTML;
    this.#channel
      .request("record", [this.#id, "__filter", [filter, live.options]])
      .then(({ value: [markup, text] }) => {
        // Only the answer to the latest keystroke is shown.
        if (seq !== live.filtering || this.#live !== live) return;
        setHtml(list, markup);
        status.textContent = text;
      })
      .catch(() => {});
  }

  #detach() {
    const live = this.#live;
    if (!live) return;
    this.#live = null;
    stopChart(live.root);
    live.root.removeEventListener("toggle", live.toggle, true);
    live.root.removeEventListener("click", live.click);
    live.root.removeEventListener("input", live.input);
    globalThis.removeEventListener?.("beforeprint", live.print);
  }

  #closeChart() {
    const live = this.#live;
    if (live && isCurrent(live.root, live.token)) {
      const p = live.root.ownerDocument.createElement("p");
      p.textContent = this.#snap.closedNote;
      p.setAttribute("role", "status");
      p.setAttribute("class", "closed");
      live.root.textContent = "";
      live.root.append(p);
    }
    this.#detach();
  }

  /** Frees the record in the worker; its chart on screen closes. */
  free() {
    this.#check("free");
    this.#closeChart();
    this.#snap = null;
    this.#markups.clear();
    finalizer?.unregister(this);
    this.#portal?.remove();
    this.#channel.request("freeRecord", [this.#id]).catch(() => {});
  }
}

/** `using` frees once; disposing of a freed object does nothing. */
function disposable(Class) {
  if (typeof Symbol.dispose !== "symbol") return;
  Object.defineProperty(Class.prototype, Symbol.dispose, {
    configurable: true,
    writable: true,
    value() {
      try {
        this.free();
      } catch {
        // already freed
      }
    },
  });
}

disposable(WorkerRecord);

/** Characters of deferred disclosures per answer from the worker (see `prefetch`). */
const FILL_BATCH = 128 * 1024;

function isCurrent(root, token) {
  return root.querySelector(`article[data-ppsdk-render="${token}"]`) !== null;
}

/** Section collapse buttons and the table of contents, as on the main-thread path. */
function onClick(root, event) {
  const target = event.target;
  if (!(target && typeof target.closest === "function")) return;
  const button = target.closest("button.toggle");
  if (button) {
    const expanded = button.getAttribute("aria-expanded") === "true";
    button.setAttribute("aria-expanded", expanded ? "false" : "true");
    const id = button.getAttribute("aria-controls");
    const body = id ? root.getElementById(id) : null;
    body?.toggleAttribute("hidden", expanded);
    return;
  }
  const link = target.closest('a[href^="#ppsdk-"]');
  if (!link) return;
  const id = link.getAttribute("href").slice(1);
  event.preventDefault();
  const heading = root.getElementById(`${id}-h`);
  const toggle = heading?.querySelector("button.toggle");
  if (toggle?.getAttribute("aria-expanded") === "false") toggle.click();
  if (heading) {
    heading.scrollIntoView();
    heading.focus?.();
  }
}

/** Records in a worker's answer (an open, `sharePreview`) as `WorkerRecord`s. */
function reviveRecords(value, channel, portal, transferMs = 0) {
  if (Array.isArray(value)) return value.map((v) => reviveRecords(v, channel, portal));
  if (value && typeof value === "object" && Object.getPrototypeOf(value) === Object.prototype) {
    if (typeof value.__record === "number") return new WorkerRecord(channel, value.__record, value.snapshot, transferMs, portal);
    const copy = {};
    for (const [k, v] of Object.entries(value)) copy[k] = reviveRecords(v, channel, portal);
    return copy;
  }
  return value;
}

/** Resolves a relative URL against the page (the worker's own base is the package). */
function absolute(url) {
  if (typeof url !== "string" && !(url instanceof URL)) return url;
  try {
    return new URL(String(url), globalThis.document?.baseURI ?? globalThis.location?.href).href;
  } catch {
    return url;
  }
}

/**
 * Opens records in a module Worker. The same opens as `PatientPortal`
 * (all asynchronous), resolving to `WorkerRecord`s. Options: those of
 * `PatientPortal`, and `worker` (a `Worker` running the package's
 * `worker.js`, its URL, or `false` for the main thread), `module` (what
 * the worker instantiates the WebAssembly module from, as `init` takes it),
 * `fallback` (default true: where no worker starts, open on the main thread).
 */
export class WorkerPortal {
  #channel = null;
  #started;
  #portal = null;
  /** Records not yet freed (a count: holding them would keep them from the finalizer). */
  #records = 0;
  #freed = false;

  constructor(options) {
    if (options !== undefined && options !== null && (typeof options !== "object" || Array.isArray(options))) throw badInput("new WorkerPortal takes an options object");
    const { worker, module, fallback = true, ...portalOptions } = options ?? {};
    const local = () => new LocalChannel(module);
    let channel = null;
    if (worker !== false) {
      const started = startWorker(worker === true ? undefined : worker);
      if (started) channel = new RemoteChannel(started, module);
    }
    const begin = (c) =>
      c.ready.then(async () => {
        this.#channel = c;
        const { value } = await c.request("portal", [portalOptions]);
        this.#portal = value;
        return c.mode;
      });
    if (channel) {
      this.#started = begin(channel).catch((error) => {
        if (error?.code === "badInput") throw error;
        if (!fallback) throw new PatientPortalError("the SDK's worker could not start here (fallback: false)", "unsupported");
        channel.close();
        return begin(local());
      });
    } else if (worker === false || fallback) {
      this.#started = begin(local());
    } else {
      this.#started = Promise.reject(new PatientPortalError("this browser cannot start the SDK's worker", "unsupported"));
    }
    // Opens report a failure to start; an unhandled rejection here would be noise.
    this.#started.catch(() => {});
  }

  /** Resolves to `"worker"`, or `"main"` when the records are opened on the page's main thread. */
  get ready() {
    return this.#started;
  }

  /** `"worker"` or `"main"` once ready, else undefined. */
  get mode() {
    return this.#portal ? this.#channel.mode : undefined;
  }

  /** As `PatientPortal.cryptoBackend`, once ready (else undefined). */
  get cryptoBackend() {
    return this.#portal?.cryptoBackend;
  }

  async #open(method, args) {
    if (this.#freed) throw freed("WorkerPortal", method);
    await this.#started;
    if (this.#freed) throw freed("WorkerPortal", method);
    const { value, transferMs } = await this.#channel.request("open", [this.#portal.id, method, args]);
    const tracker = { add: () => this.#records++, remove: () => this.#release() };
    return reviveRecords(value, this.#channel, tracker, transferMs);
  }

  openUrl(url, key, options) {
    return this.#open("openUrl", [absolute(url), key, options]);
  }

  openLink(linkOrViewerUrl, options) {
    return this.#open("openLink", [linkOrViewerUrl, options]);
  }

  openFhir(options) {
    const rest = options && typeof options === "object" && typeof options.baseUrl === "string" ? { ...options, baseUrl: absolute(options.baseUrl) } : options;
    return this.#open("openFhir", [rest]);
  }

  /** As `PatientPortal.openJwe`, but asynchronous. */
  openJwe(jwe, key, options) {
    return this.#open("openJwe", [jwe, key, options]);
  }

  #release() {
    this.#records--;
    if (this.#freed && this.#records === 0) this.#stop();
  }

  #stop() {
    const channel = this.#channel;
    if (channel?.mode === "worker") setTimeout(() => channel.close(), 0);
  }

  /** The size of the WebAssembly memory where the records are opened (the worker's, or the page's after the fallback), in bytes. */
  async memoryBytes() {
    await this.#started;
    return (await this.#channel.request("memory", [])).value;
  }

  /** Frees the portal; the worker stops once its records are freed too. */
  free() {
    if (this.#freed) throw freed("WorkerPortal", "free");
    this.#freed = true;
    this.#started
      .then(() => this.#channel.request("freePortal", [this.#portal.id]))
      .catch(() => {})
      .finally(() => {
        if (this.#records === 0) this.#stop();
      });
  }
}

disposable(WorkerPortal);
