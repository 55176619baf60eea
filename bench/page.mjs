// The benchmark page: opens one sealed record with the SDK or with the
// JavaScript peer (jose compactDecrypt + JSON.parse + one table committed
// to the DOM) and reports each stage's time. Driven by run.mjs.

import init, { PatientPortal } from "/pkg/index.js";
import { compactDecrypt } from "/bench/node_modules/jose/dist/webapi/index.js";

const wasm = await init();
const stage = document.getElementById("stage");
const longTasks = [];
new PerformanceObserver((list) => longTasks.push(...list.getEntries().map((e) => ({ start: e.startTime, duration: e.duration })))).observe({ type: "longtask", buffered: true });

const fromB64u = (s) => Uint8Array.from(atob(s.replace(/-/g, "+").replace(/_/g, "/")), (c) => c.charCodeAt(0));

/** A fresh host element, so every run starts from an empty DOM. */
function freshHost() {
  stage.replaceChildren();
  const host = document.createElement("div");
  stage.append(host);
  return host;
}

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

window.benchRun = async function benchRun(url, keyText, which) {
  const host = freshHost();
  const marks = {};
  const t0 = performance.now();
  const firstTask = longTasks.length;
  let resources;
  if (which === "sdk" || which === "sdk-wasm") {
    const portal = new PatientPortal(which === "sdk-wasm" ? { crypto: "wasm" } : {});
    const record = await portal.openUrl(url, keyText, {
      onProgress: ({ stage }) => {
        marks[stage] = performance.now();
      },
    });
    marks.opened = performance.now();
    record.render(host);
    layout(host.shadowRoot.firstElementChild ?? host);
    marks.rendered = performance.now();
    resources = record.resourceCount;
    record.free();
    portal.free();
    // "render" is building the chart while opening plus committing it to the DOM.
    const out = {
      fetch: marks.decrypt - t0,
      decrypt: marks.parse - marks.decrypt,
      parse: marks.consent - marks.parse,
      consent: marks.chart - marks.consent,
      render: marks.opened - marks.chart + (marks.rendered - marks.opened),
    };
    const windows = { fetch: [t0, marks.decrypt], decrypt: [marks.decrypt, marks.parse], parse: [marks.parse, marks.consent], consent: [marks.consent, marks.chart], render: [marks.chart, marks.rendered] };
    return finish(out, t0, marks.rendered, resources, firstTask, marks.parse, windows);
  }
  // The peer.
  const response = await fetch(url);
  const jwe = await response.text();
  marks.decrypt = performance.now();
  const { plaintext } = await compactDecrypt(jwe, fromB64u(keyText));
  marks.parse = performance.now();
  const bundle = JSON.parse(new TextDecoder().decode(plaintext));
  marks.ready = performance.now();
  const rows = bundle.entry.map(({ resource: r }) => `<tr><td>${escapeHtml(r.resourceType)}</td><td>${escapeHtml(label(r))}</td><td>${escapeHtml(value(r))}</td><td>${escapeHtml(when(r))}</td></tr>`);
  host.innerHTML = `<table><caption>Record</caption><thead><tr><th>Type</th><th>What</th><th>Value</th><th>When</th></tr></thead><tbody>${rows.join("")}</tbody></table>`;
  layout(host);
  marks.rendered = performance.now();
  resources = bundle.entry.length;
  const out = { fetch: marks.decrypt - t0, decrypt: marks.parse - marks.decrypt, parse: marks.ready - marks.parse, consent: 0, render: marks.rendered - marks.ready };
  return finish(out, t0, marks.rendered, resources, firstTask, marks.parse);
};

function finish(stages, t0, end, resources, firstTask, plaintextAt, windows = {}) {
  // Let the long-task observer deliver entries for this run.
  return new Promise((resolve) =>
    setTimeout(() => {
      const tasks = longTasks.slice(firstTask).filter((t) => t.start >= t0 - 1 && t.start <= end + 1);
      resolve({
        stages,
        total: end - t0,
        afterPlaintext: end - plaintextAt,
        resources,
        longTasks: tasks.length,
        longestTask: tasks.reduce((m, t) => Math.max(m, t.duration), 0),
        // The stage each long task started in.
        longTaskStages: tasks.map((t) => `${Object.entries(windows).find(([, [a, b]]) => t.start >= a - 1 && t.start < b)?.[0] ?? "?"} ${Math.round(t.duration)}ms`),
        wasmMemory: wasm.memory.buffer.byteLength,
        jsHeap: performance.memory?.usedJSHeapSize ?? null,
      });
    }, 50),
  );
}

window.benchReady = true;
