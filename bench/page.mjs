// The benchmark page: opens one sealed record with the SDK or with one of
// two JavaScript peers and reports each stage's time. Driven by run.mjs.
//
//   peer        jose compactDecrypt + JSON.parse + one table committed to the DOM
//   fhir-react  jose compactDecrypt + JSON.parse + every resource rendered with
//               fhir-react's FhirResource (R4) by React, committed with flushSync
//
// Two modes. Loaded plainly, it loads every side and waits for
// window.benchRun calls (many runs in one page). Loaded as
// page.html?side=<side>#url=<record>&key=<key> ("page load"), it loads only
// what that side needs, opens and renders the record once, and leaves the
// figures in window.benchLoad: times from navigation start (performance.now()
// counts from it), the first chart section committed, the longest task of
// the open and render, and the WebAssembly memory after open and render.
// Runs force style and layout right after the commit and then wait for the
// next frame painted, so that "render" includes both; a page load forces no
// layout: its next frame lays out and paints, as on a portal's page. Long
// tasks are counted up to that frame.

const longTasks = [];
new PerformanceObserver((list) => longTasks.push(...list.getEntries().map((e) => ({ start: e.startTime, duration: e.duration })))).observe({ type: "longtask", buffered: true });

const params = new URLSearchParams(location.search);
const only = params.get("side");
const wants = (side) => !only || only === side || (side === "sdk" && only === "sdk-wasm") || (side === "sdk-worker" && only === "sdk-worker-wasm");
const loaded = { start: performance.now() };

let sdk = null;
let wasm = null;
if (wants("sdk")) {
  sdk = await import("/pkg/index.js");
  wasm = await sdk.default();
}
// Worker mode: one WorkerPortal per AES backend, its worker started and its
// module instantiated before the runs (as the page's own module is above).
const workers = {};
if (wants("sdk-worker")) {
  const { WorkerPortal } = await import("/pkg/worker-portal.js");
  for (const [side, options] of [["sdk-worker", {}], ["sdk-worker-wasm", { crypto: "wasm" }]]) {
    if (only && only !== side) continue;
    workers[side] = new WorkerPortal(options);
    const mode = await workers[side].ready;
    if (mode !== "worker") throw new Error(`${side}: the SDK's worker did not start (${mode})`);
  }
}
const jose = wants("peer") || wants("fhir-react") ? await import("/bench/out/jose.js") : null;
let fhirReact = null;
let fhirReactStyles = null;
if (wants("fhir-react")) {
  fhirReact = await import("/bench/out/fhir-react.js");
  // fhir-react's stylesheet (Bootstrap included), parsed once and adopted by
  // each rendering's shadow root, as the SDK adopts its own.
  fhirReactStyles = new CSSStyleSheet();
  // Its two @import rules name web fonts on another host: constructed
  // stylesheets refuse @import, and the bench stays on loopback.
  const css = await (await fetch("/bench/node_modules/fhir-react/build/style.css")).text();
  fhirReactStyles.replaceSync(css.replace(/@import[^;]*;/g, ""));
}
loaded.ready = performance.now();

const stage = document.getElementById("stage");
const fromB64u = (s) => Uint8Array.from(atob(s.replace(/-/g, "+").replace(/_/g, "/")), (c) => c.charCodeAt(0));
const memory = () => (wasm ? wasm.memory.buffer.byteLength : 0);

/** A fresh host element with an open shadow root, so every run starts from an empty DOM. */
function freshHost() {
  stage.replaceChildren();
  const host = document.createElement("div");
  stage.append(host);
  host.attachShadow({ mode: "open" });
  return host;
}

/**
 * Notes when the first element matching `selector` is committed under
 * `root`: a MutationObserver, whose callback runs right after the script
 * that committed it (the SDK's render() commits the chart in one step into
 * the shadow root it finds; React commits inside flushSync).
 */
function watchFirst(root, selector) {
  const seen = { at: null, painted: null };
  const observer = new MutationObserver(() => {
    if (seen.at === null && root.querySelector(selector)) seen.at = performance.now();
    // The SDK shows the first section's body a frame after its heading: on screen once it is.
    if (seen.at !== null && !root.querySelector("[data-ppsdk-first-frame]")) {
      observer.disconnect();
      // On screen: the frame after the commit, timed as the whole chart's (below).
      requestAnimationFrame(() => setTimeout(() => (seen.painted = performance.now()), 0));
    }
  });
  observer.observe(root, { childList: true, subtree: true, attributes: true, attributeFilter: ["data-ppsdk-first-frame"] });
  seen.stop = () => observer.disconnect();
  return seen;
}

/** The first chart section of each side. */
const FIRST = { sdk: "article.chart section", "sdk-wasm": "article.chart section", "sdk-worker": "article.chart section", "sdk-worker-wasm": "article.chart section", peer: "tbody tr", "fhir-react": ".fhir-react-bench > *" };

/** Forces style and layout of what was just committed. */
function layout(el) {
  return el.getBoundingClientRect().height + document.body.offsetHeight;
}

const escapeHtml = (s) => String(s).replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]);

function label(r) {
  const concept = r.code ?? r.vaccineCode ?? r.medicationCodeableConcept ?? r.type?.[0] ?? r.class;
  return concept?.text ?? concept?.coding?.[0]?.display ?? concept?.display ?? "";
}

function when(r) {
  return r.effectiveDateTime ?? r.onsetDateTime ?? r.occurrenceDateTime ?? r.authoredOn ?? r.performedPeriod?.start ?? r.period?.start ?? r.recordedDate ?? r.issued ?? "";
}

function value(r) {
  const q = r.valueQuantity;
  if (q) return `${q.value} ${q.unit ?? ""}`;
  return r.valueCodeableConcept?.text ?? r.valueString ?? "";
}

let reactRoot = null;

/**
 * Empties the page between runs (outside the timed window), and settles what
 * emptying it costs: the layout of the removal, and (where run.mjs exposes
 * it) a full garbage collection, so that no side's run pays for the garbage
 * or the DOM of the side before it (fhir-react leaves a great deal of both).
 */
window.benchClear = function benchClear({ collect = true } = {}) {
  if (reactRoot) {
    fhirReact.unmount(reactRoot);
    reactRoot = null;
  }
  if (stage.firstChild) {
    stage.replaceChildren();
    void document.body.offsetHeight;
  }
  if (collect) globalThis.gc?.();
};

/** Records kept on screen until the page goes (page load): freeing one closes its chart. */
const kept = [];

window.benchRun = async function benchRun(url, keyText, which, { keep = false } = {}) {
  // A page load measures the page as it comes: no collection forced.
  window.benchClear({ collect: !keep });
  const host = freshHost();
  const first = watchFirst(host.shadowRoot, FIRST[which]);
  const marks = {};
  const mem = {};
  const t0 = performance.now();
  const firstTask = longTasks.length;
  let resources;
  let out;
  let windows = {};
  let plaintextAt;
  let backend = null;
  let transfer = null;
  let afterFrame = async () => {};
  if (which.startsWith("sdk")) {
    const worker = workers[which];
    const portal = worker ?? new sdk.PatientPortal(which === "sdk-wasm" ? { crypto: "wasm" } : {});
    const record = await portal.openUrl(url, keyText, {
      onProgress: ({ stage }) => {
        marks[stage] = performance.now();
      },
    });
    marks.opened = performance.now();
    if (!worker) mem.opened = memory();
    // render() commits the banner, the contents and the first section before
    // it returns (the MutationObserver notes it), each later section in a task
    // of its own; its Promise settles once the whole chart is committed.
    await record.render(host);
    marks.committed = performance.now();
    if (!keep) layout(host.shadowRoot.firstElementChild ?? host);
    marks.rendered = performance.now();
    if (worker) transfer = record.transfer;
    else mem.rendered = memory();
    resources = record.resourceCount;
    backend = portal.cryptoBackend;
    // After the frame that paints the chart (below): the worker's memory,
    // read by a message to it, and freeing, which closes the chart. Neither
    // is part of showing the record.
    afterFrame = async () => {
      if (worker) mem.opened = mem.rendered = await worker.memoryBytes();
      if (keep) kept.push(record, portal);
      else {
        record.free();
        if (!worker) portal.free();
      }
    };
    // "render" is building the chart while opening plus committing it to the DOM;
    // its parts: the view model built while opening ("build"), render() committing
    // the whole chart in its steps ("commit"), then style and layout ("layout").
    out = {
      fetch: marks.decrypt - t0,
      decrypt: marks.parse - marks.decrypt,
      parse: marks.consent - marks.parse,
      consent: marks.chart - marks.consent,
      render: marks.opened - marks.chart + (marks.rendered - marks.opened),
      build: marks.opened - marks.chart,
      commit: marks.committed - marks.opened,
      layout: marks.rendered - marks.committed,
    };
    windows = { fetch: [t0, marks.decrypt], decrypt: [marks.decrypt, marks.parse], parse: [marks.parse, marks.consent], consent: [marks.consent, marks.chart], render: [marks.chart, marks.rendered] };
    plaintextAt = marks.parse;
  } else {
    // The peers: jose, JSON.parse, then a table or fhir-react.
    const response = await fetch(url);
    const jwe = await response.text();
    marks.decrypt = performance.now();
    const { plaintext } = await jose.compactDecrypt(jwe, fromB64u(keyText));
    marks.parse = performance.now();
    const bundle = JSON.parse(new TextDecoder().decode(plaintext));
    marks.ready = performance.now();
    if (which === "fhir-react") {
      host.shadowRoot.adoptedStyleSheets = [fhirReactStyles];
      const container = document.createElement("div");
      container.className = "fhir-react-bench";
      host.shadowRoot.append(container);
      reactRoot = fhirReact.mount(container);
      fhirReact.renderBundle(reactRoot, bundle);
      await null;
      marks.committed = performance.now();
      if (!keep) layout(container);
      resources = container.querySelectorAll(":scope > *").length;
    } else {
      const rows = bundle.entry.map(({ resource: r }) => `<tr><td>${escapeHtml(r.resourceType)}</td><td>${escapeHtml(label(r))}</td><td>${escapeHtml(value(r))}</td><td>${escapeHtml(when(r))}</td></tr>`);
      const table = document.createElement("div");
      host.shadowRoot.append(table);
      table.innerHTML = `<table><caption>Record</caption><thead><tr><th>Type</th><th>What</th><th>Value</th><th>When</th></tr></thead><tbody>${rows.join("")}</tbody></table>`;
      await null;
      marks.committed = performance.now();
      if (!keep) layout(table);
      resources = bundle.entry.length;
    }
    marks.rendered = performance.now();
    out = { fetch: marks.decrypt - t0, decrypt: marks.parse - marks.decrypt, parse: marks.ready - marks.parse, consent: 0, render: marks.rendered - marks.ready, build: 0, commit: marks.committed - marks.ready, layout: marks.rendered - marks.committed };
    windows = { fetch: [t0, marks.decrypt], decrypt: [marks.decrypt, marks.parse], parse: [marks.parse, marks.ready], render: [marks.ready, marks.rendered] };
    plaintextAt = marks.parse;
  }
  first.stop();
  // The frame after the commit: a task posted from its animation frame
  // callback runs once it is painted. Every side is timed to it, so that a
  // chart committed in steps (frames painted between them) and one committed
  // at once (its one frame) are timed alike: to the whole record on screen.
  await new Promise((resolve) => requestAnimationFrame(() => setTimeout(resolve, 0)));
  marks.painted = performance.now();
  out.layout += marks.painted - marks.rendered;
  out.render += marks.painted - marks.rendered;
  windows.render[1] = marks.painted;
  await afterFrame();
  // A page load's tasks are counted up to the painted frame (its layout is that frame's).
  return finish({ stages: out, t0, end: marks.painted, resources, firstTask, plaintextAt, windows, first, mem, painted: marks.painted, backend, transfer });
};

function finish({ stages, t0, end, resources, firstTask, plaintextAt, windows, first, mem, painted, backend, transfer }) {
  // Let the long-task observer deliver entries for this run.
  return new Promise((resolve) =>
    setTimeout(() => {
      const tasks = longTasks.slice(firstTask).filter((t) => t.start >= t0 - 1 && t.start <= end + 1);
      const longest = tasks.reduce((m, t) => (t.duration > (m?.duration ?? 0) ? t : m), null);
      resolve({
        // How far the longest task ran past the end of the render (the task goes on after the measured commit and layout).
        longestTaskPastEnd: longest ? longest.start + longest.duration - end : 0,
        stages,
        t0,
        total: end - t0,
        afterPlaintext: end - plaintextAt,
        firstSection: first.at,
        // Set by then: the first section's frame is at latest the whole chart's.
        firstSectionPainted: first.painted,
        painted: painted ?? null,
        resources,
        backend,
        longTasks: tasks.length,
        longestTask: tasks.reduce((m, t) => Math.max(m, t.duration), 0),
        // The stage each long task started in.
        longTaskStages: tasks.map((t) => `${Object.entries(windows).find(([, [a, b]]) => t.start >= a - 1 && t.start < b)?.[0] ?? "?"} ${Math.round(t.duration)}ms`),
        wasmMemory: mem.rendered ?? memory(),
        transfer,
        wasmMemoryOpened: mem.opened ?? 0,
        wasmMemoryRendered: mem.rendered ?? 0,
        jsHeap: performance.memory?.usedJSHeapSize ?? null,
      });
    }, 50),
  );
}

if (only) {
  // Page load: one open and render, timed from navigation start.
  const hash = new URLSearchParams(location.hash.slice(1));
  history.replaceState(null, "", location.pathname + location.search);
  const wasmAtLoad = workers[only] ? await workers[only].memoryBytes() : memory();
  try {
    const out = await window.benchRun(hash.get("url"), hash.get("key"), only, { keep: true });
    window.benchLoad = { ...out, modulesLoaded: loaded.ready - loaded.start, loadStart: loaded.start, wasmMemoryAtLoad: wasmAtLoad, loadLongestTask: longTasks.reduce((m, t) => Math.max(m, t.duration), 0) };
  } catch (err) {
    window.benchLoad = { error: String(err) };
  }
}

window.benchReady = true;
