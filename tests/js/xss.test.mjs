// Hostile record text: every string of every sample record (examples/data)
// is replaced with payloads from the XSS corpus (xss-payloads.txt), each
// resource gets a hostile FHIR narrative, DocumentReferences with hostile
// attachment URLs and titles and hostile notes are added; each variant is
// sealed as a JWE, opened with the SDK in a page of the development backend's
// origin and rendered (every disclosure opened, every clickable clicked);
// `record.toHtml()` is inserted with innerHTML into a second container. No
// payload may run (each calls window.__xss(<its line in the corpus>)), no
// dialog may open, nothing may navigate or load, and the markup may hold no
// active element, event-handler or style attribute, or script URL. The
// payloads must show as text instead: the patient's name payload in the
// banner, and every payload somewhere in the chart.
//
// Variants of each sample:
//   v0  text fields only: codes, systems, statuses, dates, ids, fullUrls and
//       references are kept (the record's structure and references intact),
//       every other string is one payload;
//   v1… every string except resourceType is replaced; ids, fullUrls and
//       references keep their value with a payload appended (the same one on
//       a resource's id, its fullUrl and every reference to it, so they
//       still resolve). Across these variants every payload lands in every
//       kind of field (resource type + path): a field that occurs m times
//       holds ceil(payloads / (m × variants)) payloads joined by spaces.
//
// Needs `cargo build --example dev_server` and a built pkg/ (`make pkg`).

import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";

import { STEP_TIMEOUT, launchBrowser, loadSamples, newHostPage, openAllDetails, openRecord, seal, startServer } from "./harness.mjs";

const CORPUS_URL = new URL("./xss-payloads.txt", import.meta.url);
const VARIANTS = 6; // v0 text-only + 5 full
const FULL = VARIANTS - 1;
const MIN_PAYLOADS = 150;
const SHORT = 200; // payloads at most this long fill the slots beyond full coverage
const SETTLE_MS = 300;
const CONTROL_MIN_FIRED = 90;
const XHTML_DIV = '<div xmlns="http://www.w3.org/1999/xhtml">';

// ---------------------------------------------------------------------------
// The corpus.

/** `⟪U+XXXX⟫` → that character, `⟪REPEAT n text⟫` → text repeated n times. */
function expand(raw) {
  return raw
    .replace(/⟪U\+([0-9A-Fa-f]{4,6})⟫/g, (_, hex) => String.fromCodePoint(parseInt(hex, 16)))
    .replace(/⟪REPEAT (\d+) ([^⟫]*)⟫/g, (_, n, text) => text.repeat(Number(n)));
}

/** Decodes the encodings the corpus uses (entities, %xx, \u and \x escapes, base64), so an encoded call can be found. */
function revealCalls(text) {
  let t = text;
  for (let round = 0; round < 3; round++) {
    t = t
      .replace(/base64,([A-Za-z0-9+/=]+)/g, (m, b64) => `${m} ${Buffer.from(b64, "base64").toString()}`)
      .replace(/atob\('([A-Za-z0-9+/=]+)'\)/g, (m, b64) => `${m} ${Buffer.from(b64, "base64").toString()}`)
      .replace(/&#x([0-9a-f]+);?/gi, (_, h) => String.fromCodePoint(parseInt(h, 16)))
      .replace(/&#(\d+);?/g, (_, d) => String.fromCodePoint(Number(d)))
      .replace(/\\u([0-9a-f]{4})/gi, (_, h) => String.fromCharCode(parseInt(h, 16)))
      .replace(/\\x([0-9a-f]{2})/gi, (_, h) => String.fromCharCode(parseInt(h, 16)))
      .replace(/%u([0-9a-f]{4})/gi, (_, h) => String.fromCharCode(parseInt(h, 16)))
      .replace(/%([0-9a-f]{2})/gi, (_, h) => String.fromCharCode(parseInt(h, 16)));
  }
  return t;
}

function loadCorpus() {
  const payloads = [];
  let section = "";
  readFileSync(CORPUS_URL, "utf8")
    .split("\n")
    .forEach((line, i) => {
      const raw = line.replace(/\r$/, "");
      if (raw.startsWith("# ==")) section = raw.replace(/^# == | ==$/g, "");
      if (raw === "" || raw.startsWith("#")) return;
      payloads.push({ line: i + 1, raw, text: expand(raw), section });
    });
  return payloads;
}

const corpus = loadCorpus();
const N = corpus.length;
const shortIdx = corpus.map((p, i) => (p.text.length <= SHORT ? i : -1)).filter((i) => i >= 0);
const urlIdx = corpus.map((p, i) => (p.section.startsWith("bare URLs") ? i : -1)).filter((i) => i >= 0);

// ---------------------------------------------------------------------------
// Hostile variants.

/** Keys whose strings are codes, URIs or dates: kept in v0 so the record keeps its structure. */
const STRUCTURAL = new Set(["system", "code", "status", "use", "gender", "intent", "url", "version", "language", "contentType", "type", "category", "criticality", "priority", "mode", "comparator", "severity"]);
const DATE = /^\d{4}(-\d{2}(-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})?)?)?)?$/;

/** The sample plus the resources the corpus needs: notes, a CarePlan, DocumentReferences with attachments. */
function augment(bundle) {
  const out = structuredClone(bundle);
  const patientEntry = out.entry.find((e) => e.resource?.resourceType === "Patient");
  const patientRef = patientEntry?.fullUrl ?? `Patient/${patientEntry?.resource.id}`;
  if (!out.entry.some((e) => e.resource?.resourceType === "CarePlan")) {
    out.entry.push({
      fullUrl: "urn:uuid:0f6c1a2e-9d4b-4c1e-8a55-xss-careplan",
      resource: {
        resourceType: "CarePlan", id: "xss-careplan", status: "active", intent: "plan", subject: { reference: patientRef },
        title: "Care plan", description: "Plan", period: { start: "2024-01-01" },
        category: [{ coding: [{ system: "http://snomed.info/sct", code: "734163000", display: "Care plan" }], text: "Care plan" }],
        activity: [{ detail: { status: "in-progress", code: { text: "Exercise" }, description: "Walk daily" } }],
      },
    });
  }
  for (const { resource } of out.entry) {
    if (resource?.resourceType === "CarePlan" || resource?.resourceType === "Observation") resource.note = [{ text: "Note", time: "2024-01-01" }];
  }
  const docs = Math.ceil(urlIdx.length / VARIANTS);
  for (let d = 0; d < docs; d++) {
    out.entry.push({
      fullUrl: `urn:uuid:5b1f7c3d-2a4e-4f6a-9b8c-xss-doc-${d}`,
      resource: {
        resourceType: "DocumentReference", id: `xss-doc-${d}`, status: "current", subject: { reference: patientRef },
        type: { coding: [{ system: "http://loinc.org", code: "34133-9", display: "Summary of episode note" }], text: "Summary" },
        category: [{ coding: [{ system: "http://hl7.org/fhir/us/core/CodeSystem/us-core-documentreference-category", code: "clinical-note", display: "Clinical Note" }] }],
        date: `2024-01-${String(d + 1).padStart(2, "0")}T10:00:00Z`, description: "Discharge summary",
        content: [{ attachment: { contentType: "text/html", url: "https://example.org/document", title: "Discharge summary", creation: "2024-01-01" } }],
      },
    });
  }
  return out;
}

/** Every string of `bundle`'s resources (and each entry's fullUrl), with its kind and role. */
function enumerate(bundle) {
  const leaves = [];
  bundle.entry.forEach((entry, e) => {
    if (typeof entry.fullUrl === "string") leaves.push({ e, onEntry: true, path: ["fullUrl"], key: "fullUrl", kind: "Bundle.entry.fullUrl", role: "furl" });
    const resource = entry.resource;
    if (!resource) return;
    const type = resource.resourceType;
    const walk = (value, path, kindPath, key, holder) => {
      if (Array.isArray(value)) return value.forEach((v, i) => walk(v, [...path, i], kindPath, key, holder));
      if (value && typeof value === "object") {
        for (const [k, v] of Object.entries(value)) {
          if (k === "resourceType") continue;
          if (k === "text" && path.length === 0) continue; // the resource's narrative: replaced whole
          walk(v, [...path, k], [...kindPath, k], k, value);
        }
        return;
      }
      if (typeof value !== "string") return;
      const kind = `${type}.${kindPath.join(".")}`;
      let role = "plain";
      if (key === "id") role = holder === resource ? "rid" : "append";
      else if (key === "reference") role = "ref";
      else if (key === "div") role = "div";
      else if (type === "DocumentReference" && kind === "DocumentReference.content.attachment.url") role = "attachmentUrl";
      leaves.push({ e, onEntry: false, path, key, kind, role, value });
    };
    walk(resource, [], [], "", null);
  });
  return leaves;
}

function setAt(object, path, value) {
  let o = object;
  for (const k of path.slice(0, -1)) o = o[k];
  o[path.at(-1)] = value;
}

const joinPayloads = (indices) => indices.map((i) => corpus[i].text).join(" ");
const wrapDiv = (text) => `${XHTML_DIV}${text}</div>`;

/** The variants of `bundle`, with what was placed where. */
function buildVariants(bundle) {
  const base = augment(bundle);
  const leaves = enumerate(base);
  // Occurrences per kind (the resource narratives are a kind per resource type).
  const counts = new Map();
  const occurrence = [];
  for (const leaf of leaves) {
    if (leaf.role !== "plain" && leaf.role !== "div") continue;
    occurrence.push([leaf, counts.get(leaf.kind) ?? 0]);
    counts.set(leaf.kind, (counts.get(leaf.kind) ?? 0) + 1);
  }
  const narratives = [];
  base.entry.forEach((entry, e) => {
    if (!entry.resource) return;
    const kind = `${entry.resource.resourceType}.text.div`;
    narratives.push([e, kind, counts.get(kind) ?? 0]);
    counts.set(kind, (counts.get(kind) ?? 0) + 1);
  });
  const kindIndex = new Map([...counts.keys()].map((k, i) => [k, i]));
  // Entry index of each fullUrl and Type/id: references resolve to the same payload.
  const target = new Map();
  base.entry.forEach((entry, e) => {
    if (entry.fullUrl) target.set(entry.fullUrl, e);
    if (entry.resource?.id) target.set(`${entry.resource.resourceType}/${entry.resource.id}`, e);
  });
  const resolve = (ref) => target.get(ref) ?? target.get(ref.split("/").slice(-2).join("/"));
  const suffix = (e, v) => shortIdx[(e * 31 + v * 7) % shortIdx.length];

  /** Payload indices for occurrence j of a kind seen m times, in variant v. */
  const chunk = (kind, m, j, v) => {
    if (v === 0) return [shortIdx[(j + kindIndex.get(kind) * 17) % shortIdx.length]];
    const c = Math.ceil(N / (m * FULL));
    const s = (v - 1) * m + j;
    const rotate = (kindIndex.get(kind) * 37) % N; // spreads the long payloads over the variants
    const out = [];
    for (let i = 0; i < c; i++) {
      const k = s * c + i;
      out.push(k < N ? (k + rotate) % N : shortIdx[k % shortIdx.length]);
    }
    return out;
  };

  const coverage = new Map([...counts.keys()].map((k) => [k, new Set()]));
  const attachmentUrls = new Set();
  const variants = [];
  for (let v = 0; v < VARIANTS; v++) {
    const out = structuredClone(base);
    let fields = 0;
    let placed = 0;
    const occ = new Map(occurrence.map(([leaf, j]) => [leaf, j]));
    let appendCount = 0;
    let docIndex = 0;
    for (const leaf of leaves) {
      const holder = leaf.onEntry ? out.entry[leaf.e] : out.entry[leaf.e].resource;
      const original = leaf.onEntry ? base.entry[leaf.e].fullUrl : leaf.value;
      let value;
      if (leaf.role === "plain" || leaf.role === "div") {
        if (v === 0 && leaf.role === "plain" && (STRUCTURAL.has(leaf.key) || DATE.test(original))) continue;
        const indices = chunk(leaf.kind, counts.get(leaf.kind), occ.get(leaf), v);
        if (v > 0) for (const i of indices) coverage.get(leaf.kind).add(i);
        value = leaf.role === "div" ? wrapDiv(joinPayloads(indices)) : joinPayloads(indices);
        placed += indices.length;
      } else if (leaf.role === "attachmentUrl") {
        const i = urlIdx[(v * Math.ceil(urlIdx.length / VARIANTS) + docIndex++) % urlIdx.length];
        attachmentUrls.add(i);
        value = corpus[i].text;
        placed += 1;
      } else {
        // rid, furl, ref, append: the value keeps its structure, a payload follows.
        if (v === 0) continue;
        const e = leaf.role === "ref" ? resolve(original) : leaf.role === "append" ? undefined : leaf.e;
        const i = e === undefined ? shortIdx[(appendCount++ * 13 + v * 5) % shortIdx.length] : suffix(e, v);
        value = original + corpus[i].text;
        placed += 1;
      }
      setAt(holder, leaf.path, value);
      fields += 1;
    }
    for (const [e, kind, j] of narratives) {
      const indices = chunk(kind, counts.get(kind), j, v);
      if (v > 0) for (const i of indices) coverage.get(kind).add(i);
      out.entry[e].resource.text = { status: "generated", div: wrapDiv(joinPayloads(indices)) };
      fields += 1;
      placed += indices.length;
    }
    const patient = out.entry.find((x) => x.resource?.resourceType === "Patient")?.resource;
    variants.push({ name: v === 0 ? "v0 (text fields)" : `v${v} (every string)`, bundle: out, fields, placed, patient });
  }
  const uncovered = [...coverage].filter(([, set]) => set.size < N).map(([kind, set]) => `${kind} (${set.size}/${N})`);
  return { variants, kinds: counts.size, uncovered, attachmentUrls: attachmentUrls.size };
}

// ---------------------------------------------------------------------------
// In the page.

const INIT_SCRIPT = () => {
  window.__fired = [];
  window.__xss = (n) => {
    window.__fired.push(n);
    try {
      window.__xssReport?.(String(n), String(location.href));
    } catch {
      // the binding is missing in this frame: the page-side list still has it
    }
  };
};

/** Replaces #chart and #copy with fresh, empty containers. */
const resetHosts = (page) =>
  page.evaluate(() => {
    window.__record?.free();
    window.__record = undefined;
    for (const id of ["chart", "copy"]) {
      const fresh = document.createElement("div");
      fresh.id = id;
      document.getElementById(id).replaceWith(fresh);
    }
    window.__fired.length = 0;
  });

/**
 * Clicks what a person could click in the chart's shadow root and in #copy,
 * except real links (<a href>, <area href>): summaries (with `summaries`),
 * buttons, form controls, role=link/button, anything with onclick, links
 * without href. Returns the number clicked.
 */
const clickAll = (page, summaries) =>
  page.evaluate((summaries) => {
    const roots = [document.getElementById("chart").shadowRoot, document.getElementById("copy")];
    const selector = `${summaries ? "summary, " : ""}button, input, select, textarea, [role=link], [role=button], [onclick], a:not([href]), area:not([href])`;
    let n = 0;
    for (const root of roots) {
      for (const el of root.querySelectorAll(selector)) {
        if (!summaries && el.localName === "summary") continue;
        if (typeof el.click === "function") el.click();
        else el.dispatchEvent(new MouseEvent("click", { bubbles: true, cancelable: true, view: window }));
        n++;
      }
    }
    return n;
  }, summaries);

/**
 * What must not be in a rendered chart: active or loading elements, event
 * handler and style attributes, script URLs. Each finding names the payload
 * line it carries, when it carries one.
 */
const auditMarkup = (page, { styleText, sdkSvg }) =>
  page.evaluate(
    ({ styleText, sdkSvg }) => {
      const FORBIDDEN = new Set([
        "script", "iframe", "frame", "frameset", "object", "embed", "applet", "base", "meta", "link", "form", "svg", "math", "img", "image", "style",
        "video", "audio", "source", "track", "picture", "marquee", "bgsound", "portal", "noscript", "noembed", "noframes", "xmp", "plaintext", "listing", "template", "isindex", "keygen", "layer", "map", "area",
      ]);
      const URL_ATTRS = new Set(["href", "xlink:href", "src", "action", "formaction", "data", "poster", "background", "srcset", "codebase", "dynsrc", "lowsrc", "ping", "cite", "manifest", "longdesc", "icon", "archive", "classid", "profile", "values", "to", "from", "by"]);
      // The SDK's own inline charts (if it draws any for this record): static graphics only.
      const SVG_TAGS = new Set(["svg", "g", "path", "polyline", "polygon", "line", "circle", "ellipse", "rect", "text", "tspan", "title", "desc", "defs", "lineargradient", "stop", "clippath"]);
      const SVG_ATTR = /^(viewbox|width|height|x|y|x1|x2|y1|y2|cx|cy|r|rx|ry|dx|dy|d|points|fill|fill-opacity|fill-rule|stroke|stroke-width|stroke-linecap|stroke-linejoin|stroke-dasharray|stroke-opacity|opacity|transform|class|id|role|focusable|tabindex|lang|aria-[a-z-]+|data-[a-z0-9-]+|xmlns|xmlns:xlink|preserveaspectratio|vector-effect|text-anchor|dominant-baseline|font-size|font-weight|offset|stop-color|stop-opacity|gradientunits|clip-path|shape-rendering)$/;
      const SVG_NS = "http://www.w3.org/2000/svg";
      const scheme = (v) => v.replace(/[\u0000-\u0020\u007f-\u009f\s]/g, "").toLowerCase();
      const payloadLine = (el) => el.outerHTML.match(/xss\W{0,4}[(`](\d+)/)?.[1];
      const findings = [];
      const report = (where, el, what) => {
        const line = payloadLine(el);
        findings.push(`${where}: ${what}${line ? ` (payload line ${line})` : ""}: ${el.outerHTML.slice(0, 200)}`);
      };
      const check = (root, where) => {
        for (const el of root.querySelectorAll("*")) {
          const tag = el.localName.toLowerCase();
          const svg = el.namespaceURI === SVG_NS;
          const wrapper = el.parentElement;
          if (tag === "style" && wrapper?.classList.contains("ppsdk-root") && el === wrapper.firstElementChild && el.textContent === styleText) {
            // toHtml()'s scoped stylesheet, first in its wrapper, exactly as in a plain render
          } else if (svg && sdkSvg && SVG_TAGS.has(tag)) {
            for (const a of el.attributes) if (!SVG_ATTR.test(a.name.toLowerCase())) report(where, el, `attribute ${a.name} on the SDK's <${tag}>`);
          } else if (FORBIDDEN.has(tag) || svg || el.namespaceURI === "http://www.w3.org/1998/Math/MathML") {
            report(where, el, `element <${tag}>`);
          }
          for (const a of el.attributes) {
            const name = a.name.toLowerCase();
            if (name.startsWith("on")) report(where, el, `event handler attribute ${a.name}`);
            else if (name === "style") report(where, el, "style attribute");
            else if (name === "srcdoc") report(where, el, "srcdoc attribute");
            else if (URL_ATTRS.has(name) || name.endsWith(":href")) {
              const v = scheme(a.value);
              if (v.startsWith("javascript:") || v.startsWith("vbscript:") || (v.startsWith("data:") && !v.startsWith("data:application/octet-stream"))) {
                report(where, el, `${a.name}=${JSON.stringify(a.value.slice(0, 60))}`);
              }
            }
          }
          if (el.shadowRoot) check(el.shadowRoot, `${where} > <${tag}> shadow root`);
        }
        // Narrative stays in its container, as the browser's own parser built it:
        // every table row outside a narrative is one of the chart's own (a
        // resource's row, a group, a narrative row, a header or a trend's row),
        // and no narrative holds the chart's markup.
        for (const tr of root.querySelectorAll("tr")) {
          if (tr.closest(".narrative") || tr.closest("thead") || tr.closest("table.trend-table")) continue;
          if (!tr.hasAttribute("data-entry") && !tr.classList.contains("narrative-row") && !tr.classList.contains("group")) report(where, tr, "a table row that is not the chart's");
        }
        for (const n of root.querySelectorAll(".narrative")) {
          if (n.parentElement?.localName !== "details") report(where, n, "a narrative outside its disclosure");
          if (n.querySelector("[data-entry], [class]:not(.narrative-heading), details, section")) report(where, n, "the chart's markup inside a narrative");
        }
      };
      const chart = document.getElementById("chart").shadowRoot;
      check(chart, "chart (shadow root)");
      check(document.getElementById("copy"), "toHtml() copy");
      const styles = (root) => [...root.querySelectorAll("style")].length;
      return {
        findings,
        styleElements: { chart: styles(chart), copy: styles(document.getElementById("copy")) },
        chartText: chart.textContent,
        copyText: document.getElementById("copy").textContent,
        bannerText: chart.querySelector(".patient-name")?.textContent ?? null,
        fired: [...window.__fired],
        url: location.href,
      };
    },
    { styleText, sdkSvg },
  );

/** Text as compared: without whitespace, control, invisible and bidi characters or U+FFFD. */
const norm = (s) => s.replace(/[\s\u0000-\u001f\u007f-\u009f\u00ad\u200b-\u200f\u2028-\u202e\u2060-\u2069\ufeff\ufffd]/g, "");

// ---------------------------------------------------------------------------

const samples = (await loadSamples()).map((sample) => ({ ...sample, ...buildVariants(sample.bundle) }));

let server;
let browser;

/**
 * A host page that records every way a payload could show it ran: the
 * __xss hook (page-side and, from every frame, Node-side), dialogs, popups,
 * navigations of the page, and requests other than the host page and /pkg/.
 */
async function watchedPage() {
  const seen = { fired: [], dialogs: [], popups: [], navigations: [], requests: [] };
  const { page, context, problems, hostUrl } = await newHostPage(browser, server, {
    initScript: INIT_SCRIPT,
    setup: async (context) => {
      await context.exposeBinding("__xssReport", ({ frame }, n, href) => seen.fired.push(`${n} (in ${frame === frame.page().mainFrame() ? "the page" : `frame ${href}`})`));
      context.on("page", (p) => seen.popups.push(p.url()));
    },
  });
  page.on("dialog", (dialog) => {
    seen.dialogs.push(`${dialog.type()}: ${dialog.message()}`);
    dialog.dismiss().catch(() => {});
  });
  page.on("framenavigated", (frame) => {
    if (frame === page.mainFrame() && frame.url() !== hostUrl) seen.navigations.push(frame.url());
  });
  const pkg = new URL("/pkg/", server.base).href;
  page.on("request", (request) => {
    const url = request.url();
    if (url !== hostUrl && !url.startsWith(pkg)) seen.requests.push(url.slice(0, 200));
  });
  const reset = () => {
    for (const list of Object.values(seen)) list.length = 0;
    problems.pageErrors.length = 0;
    problems.consoleErrors.length = 0;
  };
  return { page, context, problems, seen, reset };
}

const wait = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const lineOf = (i) => corpus[i].line;

describe(`XSS: hostile record text is shown, never run (corpus of ${N} payloads)`, { timeout: 10 * 60_000 }, () => {
  before(
    async () => {
      server = await startServer();
      browser = await launchBrowser();
      for (const s of samples) {
        const fields = s.variants.reduce((a, v) => a + v.fields, 0);
        const placed = s.variants.reduce((a, v) => a + v.placed, 0);
        console.log(`xss: ${s.name}: ${s.variants.length} variants × ${s.kinds} field kinds = ${fields} (variant × field) placements holding ${placed} payloads`);
      }
    },
    { timeout: 2 * STEP_TIMEOUT },
  );

  after(
    async () => {
      try {
        await browser?.close();
      } finally {
        await server?.stop();
      }
    },
    { timeout: STEP_TIMEOUT },
  );

  test(`the corpus: ${N} distinct payloads (at least ${MIN_PAYLOADS}), each calling __xss(<its line>)`, () => {
    assert.ok(N >= MIN_PAYLOADS, `xss-payloads.txt has ${N} payloads; at least ${MIN_PAYLOADS} wanted`);
    const seen = new Map();
    for (const p of corpus) {
      assert.ok(!seen.has(p.text), `payload line ${p.line} repeats line ${seen.get(p.text)}`);
      seen.set(p.text, p.line);
      assert.match(revealCalls(p.text), new RegExp(`xss\\W{0,4}[(\`]${p.line}[)\`]`), `payload line ${p.line} does not call __xss(${p.line}): ${p.raw.slice(0, 120)}`);
      assert.ok(!/[\n\r]/.test(p.raw), `payload line ${p.line} is one line`);
    }
    assert.ok(urlIdx.length >= 10, "the corpus has a section of bare URLs");
    for (const s of samples) {
      assert.deepEqual(s.uncovered.slice(0, 10), [], `${s.name}: field kinds that did not get every payload`);
      assert.equal(s.attachmentUrls, urlIdx.length, `${s.name}: every bare-URL payload is an attachment URL in some variant`);
    }
  });

  test(`control: inserted as raw HTML, at least ${CONTROL_MIN_FIRED} payloads run and are seen`, { timeout: 60_000 }, async (t) => {
    const { page, context, seen } = await watchedPage();
    try {
      await page.evaluate((texts) => {
        const box = document.getElementById("copy");
        for (const text of texts) {
          const div = document.createElement("div");
          div.innerHTML = text;
          box.append(div);
        }
      }, corpus.map((p) => p.text));
      await wait(1_000);
      const fired = await page.evaluate(() => [...window.__fired]).catch(() => []);
      const lines = new Set([...fired.map(String), ...seen.fired.map((f) => f.split(" ")[0])].map((n) => n.replace(/\D/g, "")));
      t.diagnostic(`control: ${lines.size} of ${N} payloads ran when inserted unescaped with innerHTML (without any click)`);
      assert.ok(lines.size >= CONTROL_MIN_FIRED, `only ${lines.size} payloads ran unescaped: the __xss hook or the corpus is broken (${[...lines].join(", ")})`);
    } finally {
      await context.close();
    }
  });

  for (const sample of samples) {
    const fields = sample.variants.reduce((a, v) => a + v.fields, 0);
    test(`${sample.name}: ${sample.variants.length} hostile variants, ${fields} field placements: nothing runs, all shows as text`, { timeout: 4 * 60_000 }, async (t) => {
      const { page, context, problems, seen, reset } = await watchedPage();
      const shownAsText = new Set();
      try {
        // The SDK's own markup for the plain sample: its stylesheet, whether it draws SVG, and a clean audit.
        await resetHosts(page);
        const plain = await seal(sample.bundle);
        await openRecord(page, plain);
        await openAllDetails(page);
        await page.evaluate(() => {
          document.getElementById("copy").innerHTML = window.__record.toHtml();
        });
        const baseline = await page.evaluate(() => {
          const root = document.getElementById("chart").shadowRoot;
          const first = document.querySelector("#copy > .ppsdk-root")?.firstElementChild;
          return { styleText: first?.localName === "style" ? first.textContent : null, sdkSvg: root.querySelector("svg") !== null, adopted: root.adoptedStyleSheets.length };
        });
        assert.ok(baseline.styleText, `${sample.name}: toHtml()'s markup starts with the SDK's scoped <style>`);
        assert.equal(baseline.adopted, 1, `${sample.name}: the chart's shadow root adopts the SDK's stylesheet`);
        const plainAudit = await auditMarkup(page, baseline);
        assert.deepEqual(plainAudit.findings, [], `${sample.name}: the SDK's own markup for the unmodified sample already fails the audit`);
        t.diagnostic(`${sample.name}: the SDK ${baseline.sdkSvg ? "draws" : "draws no"} SVG for the plain sample`);

        for (const variant of sample.variants) {
          await t.test(variant.name, async () => {
            const what = `${sample.name} ${variant.name}`;
            reset();
            await resetHosts(page);
            const { jwe, key } = await seal(variant.bundle);
            const info = await openRecord(page, { jwe, key });
            assert.equal(info.resourceCount, variant.bundle.entry.length, `${what}: every resource of the variant is in the record`);
            let clicked = await clickAll(page, true);
            await openAllDetails(page);
            await page.evaluate(() => {
              const copy = document.getElementById("copy");
              copy.innerHTML = window.__record.toHtml();
              for (const d of copy.querySelectorAll("details")) d.open = true;
            });
            clicked += await clickAll(page, false);
            await wait(SETTLE_MS);

            const audit = await auditMarkup(page, baseline);
            // Every way a payload could have got through, reported together.
            const ran = new Map(); // line → where
            for (const n of audit.fired) if (!ran.has(String(n))) ran.set(String(n), "in the page");
            for (const f of seen.fired) ran.set(f.split(" ")[0], f.slice(f.indexOf("(") + 1, -1));
            const payload = (n) => corpus.find((p) => String(p.line) === n)?.raw.slice(0, 120) ?? "(not a corpus line)";
            const failures = [
              ...[...ran].map(([n, where]) => `payload line ${n} RAN (${where}): ${payload(n)}`),
              ...seen.dialogs.map((d) => `a dialog opened: ${d}`),
              ...seen.popups.map((u) => `a window opened: ${u}`),
              ...seen.navigations.map((u) => `the page navigated to ${u}`),
              ...seen.requests.slice(0, 10).map((u) => `a request (injected markup loading something?): ${u}`),
              ...audit.findings.slice(0, 25),
              ...(audit.findings.length > 25 ? [`… and ${audit.findings.length - 25} more markup findings`] : []),
              ...(audit.styleElements.chart !== 0 ? [`${audit.styleElements.chart} <style> elements in the chart's shadow root (its stylesheet is adopted, none expected)`] : []),
              ...(audit.styleElements.copy !== 1 ? [`${audit.styleElements.copy} <style> elements in the toHtml() copy (only the SDK's one expected)`] : []),
              ...problems.pageErrors.map((e) => `uncaught page error: ${e.slice(0, 300)}`),
              ...problems.consoleErrors.slice(0, 10).map((e) => `console error: ${e.slice(0, 300)}`),
            ];
            if (failures.length) assert.fail(`${what}: ${failures.length} problem(s):\n  ${failures.join("\n  ")}`);

            // Shown as text: the patient's name payload in the banner.
            assert.ok(audit.bannerText !== null, `${what}: the chart has a patient banner (.patient-name)`);
            const banner = norm(audit.bannerText);
            const names = (variant.patient?.name ?? []).flatMap((n) => [n.text, n.family].filter((s) => typeof s === "string"));
            assert.ok(names.length > 0, `${what}: the variant's Patient has a name`);
            assert.ok(
              names.some((s) => banner.includes(norm(s))),
              `${what}: the banner ${JSON.stringify(audit.bannerText.slice(0, 300))} does not show the Patient's name payload as text (e.g. ${JSON.stringify(names[0].slice(0, 200))})`,
            );
            const text = norm(audit.chartText) + "\u0000" + norm(audit.copyText);
            corpus.forEach((p, i) => {
              if (!shownAsText.has(i) && text.includes(norm(p.text))) shownAsText.add(i);
            });
            t.diagnostic(`${what}: ${variant.fields} fields, ${variant.placed} payloads, ${clicked} elements clicked, nothing ran`);
          });
        }
        const never = corpus.map((p, i) => i).filter((i) => !shownAsText.has(i));
        assert.deepEqual(
          never.slice(0, 20).map((i) => `line ${lineOf(i)}: ${corpus[i].raw.slice(0, 80)}`),
          [],
          `${sample.name}: ${never.length} payload(s) never appeared as text in any variant's chart`,
        );
      } finally {
        await context.close();
      }
    });
  }
});
