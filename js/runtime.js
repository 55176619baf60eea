// The parts of the SDK that are JavaScript by nature, imported by the
// WebAssembly module: its error class, HTML assignment through a Trusted
// Types policy, and the chart's stylesheet as a constructable stylesheet.
// Nothing here reads or keeps record content beyond the call it serves.

/** Every error the SDK throws or rejects with; `code` says which. */
export class PatientPortalError extends Error {
  constructor(message, code) {
    super(message);
    this.name = "PatientPortalError";
    this.code = code;
  }
}

/**
 * Whether `value` is an error from this SDK: an instance of this copy's
 * class, or of another copy's (two bundles of the SDK on one page).
 */
export function isPatientPortalError(value) {
  return value instanceof PatientPortalError || (value instanceof Error && value.name === "PatientPortalError" && typeof value.code === "string");
}

/** The Trusted Types policy the SDK assigns its markup through. */
export const POLICY_NAME = "patient-portal-sdk";

// undefined: not created yet; null: none (no Trusted Types, or refused).
let policy;
let refused = false;

function trusted(html) {
  if (policy === undefined) {
    const factory = globalThis.trustedTypes;
    policy = null;
    if (factory && typeof factory.createPolicy === "function") {
      try {
        // The markup is the SDK's own: every value from the record is escaped
        // and narratives pass the SDK's sanitiser before they get here.
        // The one script URL it passes is the package's own worker (worker mode).
        policy = factory.createPolicy(POLICY_NAME, { createHTML: (markup) => markup, createScriptURL: (url) => url });
      } catch {
        refused = true;
      }
    }
  }
  return policy ? policy.createHTML(html) : html;
}

/** The package's worker script URL, through the policy where the page has Trusted Types. */
export function workerUrl(url) {
  trusted("");
  return policy ? policy.createScriptURL(url) : url;
}

function assign(write) {
  try {
    write();
  } catch (err) {
    if (err instanceof TypeError && (refused || globalThis.trustedTypes)) {
      throw new PatientPortalError(
        `the page enforces Trusted Types and does not allow the policy "${POLICY_NAME}": add it to the trusted-types directive ` +
          `of the Content-Security-Policy (with 'allow-duplicates' when two copies of the SDK share the page)`,
        "trustedTypes",
      );
    }
    throw err;
  }
}

/** `node.innerHTML = html`, through the policy where the page has Trusted Types. */
export function setHtml(node, html) {
  assign(() => {
    node.innerHTML = trusted(html);
  });
}

/** Appends `html` inside `element`, through the policy where the page has Trusted Types. */
export function appendHtml(element, html) {
  assign(() => element.insertAdjacentHTML("beforeend", trusted(html)));
}

// The chart's stepped commit: ARCHITECTURE "Staying responsive".

const SECTION = '<section id="ppsdk-';
const PIECE = 8 * 1024;
const SLICE_MS = 12;
const committing = new WeakMap();
const FIRST_FRAME = "data-ppsdk-first-frame";

/** The article with its first section, then each later section (record text never holds a raw `<`). */
function splitSections(markup) {
  const starts = [];
  for (let i = markup.indexOf(SECTION); i >= 0; i = markup.indexOf(SECTION, i + 1)) starts.push(i);
  const end = markup.lastIndexOf("</article>");
  if (starts.length < 2 || end < starts[starts.length - 1]) return [markup];
  const pieces = [markup.slice(0, starts[1]) + markup.slice(end)];
  for (let i = 1; i < starts.length; i++) pieces.push(markup.slice(starts[i], i + 1 < starts.length ? starts[i + 1] : end));
  return pieces;
}

function* laterSections(article, later) {
  let batch = "";
  for (const [i, part] of later.entries()) {
    if (part.length <= PIECE) {
      // Short sections together, up to PIECE characters a step.
      batch += part;
      if (batch.length + (later[i + 1]?.length ?? Infinity) > PIECE) {
        appendHtml(article, batch);
        batch = "";
        yield;
      }
      continue;
    }
    const holder = article.ownerDocument.createElement("template");
    setHtml(holder, part);
    const body = holder.content.firstElementChild?.querySelector(":scope > .body");
    const items = body ? [...body.childNodes] : [];
    body?.replaceChildren();
    article.append(holder.content);
    yield;
    const per = Math.max(1, Math.ceil((items.length * PIECE) / part.length));
    for (let j = 0; j < items.length; j += per) {
      body.append(...items.slice(j, j + per));
      yield;
    }
  }
  article.removeAttribute("aria-busy");
}

/** Commits a chart into `root`; resolves once all of it is committed or it no longer shows. */
export function commitChart(root, markup) {
  stopChart(root);
  const [first, ...later] = splitSections(markup);
  setHtml(root, first);
  const article = root.querySelector("article.chart");
  if (!later.length || !article) return Promise.resolve();
  article.setAttribute("aria-busy", "true");
  // The first section's body waits for the next frame or the last step, whichever comes first (ARCHITECTURE "Staying responsive").
  const reveal = () => article.removeAttribute(FIRST_FRAME);
  if (typeof requestAnimationFrame === "function") {
    article.setAttribute(FIRST_FRAME, "");
    requestAnimationFrame(() => yieldTurn().then(reveal));
  }
  const steps = laterSections(article, later);
  const shown = () => article.getRootNode() === root;
  return new Promise((resolve) => {
    const entry = {
      finish() {
        try {
          if (shown()) while (!steps.next().done);
        } finally {
          entry.stop();
        }
      },
      stop() {
        if (committing.get(root) === entry) committing.delete(root);
        steps.return();
        reveal();
        resolve();
      },
    };
    committing.set(root, entry);
    // Steps for SLICE_MS, each laid out at once, then a turn of the event loop.
    const next = () => {
      if (committing.get(root) !== entry) return;
      const start = performance.now();
      let done = !shown();
      try {
        while (!done && !(done = steps.next().done)) {
          void root.host.offsetHeight;
          if (performance.now() - start >= SLICE_MS) break;
        }
      } catch {
        done = true;
      }
      if (done) return entry.stop();
      yieldTurn().then(next);
    };
    yieldTurn().then(next);
  });
}

/** Commits what is left of the chart in `root` at once (before printing). */
export function finishChart(root) {
  committing.get(root)?.finish();
}

/** Stops committing the chart in `root` (closed, or rendered again). */
export function stopChart(root) {
  committing.get(root)?.stop();
}

// Turns of the event loop for the paced work. In a browser a timer nested
// in timers waits at least 4 ms, a third of a 12 ms slice; a message to a
// port of our own lets input, rendering and the page's other tasks run
// without that wait. (`scheduler.yield()` would put the SDK's work ahead of
// the page's other tasks until it is done.) Elsewhere (Node) timers are not
// clamped so, and a port would not keep the process waiting for the work.
let turns = null;
const inBrowser = typeof globalThis.window === "object" || typeof globalThis.WorkerGlobalScope === "function";

/** Resolves in a later task of the event loop. */
export function yieldTurn() {
  if (turns === null && inBrowser && typeof MessageChannel === "function") {
    const channel = new MessageChannel();
    const waiting = [];
    channel.port1.onmessage = () => waiting.shift()?.();
    turns = (resolve) => {
      waiting.push(resolve);
      channel.port2.postMessage(null);
    };
  }
  return new Promise((resolve) => (turns ? turns(resolve) : setTimeout(resolve, 0)));
}

/**
 * One request with `fetch`: a GET, or a POST of `body` (JSON) when it is
 * given; `Authorization` only when the SDK decided the token may go there,
 * and then no redirect is followed and nothing is cached. Resolves to
 * `[status, contentType, retryAfter, chunks]`: the body's chunks
 * (Uint8Arrays, in order), read with a running byte count; `null` once a
 * declared or counted length passes `maxBytes` (the stream is then
 * cancelled); `false` when the connection ended before the whole body came.
 * Rejects when the server cannot be reached, the browser blocks the
 * request or `signal` aborts it. The SDK copies the chunks into linear
 * memory itself, a slice at a time.
 */
export async function request(url, accept, authorization, body, signal, maxBytes) {
  const headers = { Accept: accept };
  const init = { headers, signal: signal || undefined };
  if (body) {
    init.method = "POST";
    init.body = body;
    headers["Content-Type"] = "application/json";
  }
  if (authorization) {
    headers.Authorization = authorization;
    init.redirect = "error";
    init.cache = "no-store";
  }
  const response = await fetch(url, init);
  const get = (name) => response.headers.get(name);
  const answer = [response.status, get("content-type"), get("retry-after"), null];
  if (Number(get("content-length")) > maxBytes) {
    response.body?.cancel().catch(() => {});
    return answer;
  }
  try {
    if (!response.body) {
      const whole = new Uint8Array(await response.arrayBuffer());
      answer[3] = whole.byteLength > maxBytes ? null : [whole];
      return answer;
    }
    const reader = response.body.getReader();
    const chunks = [];
    for (let total = 0; ; ) {
      const { done, value } = await reader.read();
      if (done) break;
      total += value.byteLength;
      if (total > maxBytes) {
        reader.cancel().catch(() => {});
        return answer;
      }
      chunks.push(value);
    }
    answer[3] = chunks;
  } catch {
    answer[3] = false;
  }
  return answer;
}

// One constructed stylesheet per document, shared by every chart in it.
const sheets = new WeakMap();

function sheetOf(doc, css) {
  const Sheet = doc?.defaultView?.CSSStyleSheet;
  if (!Sheet || typeof Sheet.prototype.replaceSync !== "function") return null;
  if (!sheets.has(doc)) {
    const sheet = new Sheet();
    sheet.replaceSync(css);
    sheets.set(doc, sheet);
  }
  return sheets.get(doc);
}

/** Parses the page's copy of the stylesheet ahead of its first chart (while a record downloads). */
export function prepareStyles(css) {
  sheetOf(globalThis.document, css);
}

/**
 * Gives `root` (a shadow root) the chart's stylesheet: adopted as a
 * constructable stylesheet, which no Content-Security-Policy blocks; where
 * the browser has no constructable stylesheets, a <style> element (which
 * needs `style-src 'unsafe-inline'` or a hash). Returns whether it was adopted.
 */
export function adoptStyles(root, css) {
  const doc = root.ownerDocument;
  const sheet = sheetOf(doc, css);
  if (sheet && "adoptedStyleSheets" in root) {
    if (!root.adoptedStyleSheets.includes(sheet)) root.adoptedStyleSheets = [...root.adoptedStyleSheets, sheet];
    return true;
  }
  const style = doc.createElement("style");
  style.textContent = css;
  root.prepend(style);
  return false;
}
