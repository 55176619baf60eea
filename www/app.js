// Patient Portal demo page, a SMART Health Links viewer: opens
// `<this page>#shlink:/…` (the spec's viewer-URL convention), asking for the
// passcode when the link has the P flag, or `#record=<path or URL>&key=<key>`
// for a bare encrypted file, or reads a patient from a FHIR server
// (`?fhir=<base URL>&patient=<id>`, or the form) with an access token the
// user types; then renders the record with the SDK. An open record can be
// shared as a new SMART Health Link hosted by the development backend's
// /api/ ("Share…"), and the links made with a host token are listed with
// their accesses and can be revoked ("My links"); those dialogs are in share.js.
// The tokens (FHIR access token, host token) live only in this page's memory: never in the address, never in
// localStorage or sessionStorage, and only ever sent to the server it was
// typed for.
// Nothing from the record is ever written outside the SDK's own shadow root:
// all dynamic text here is set with textContent and comes from fixed strings.

import { closeShare, setupSharing } from "./share.js";

const SDK_URL = "/pkg/index.js";
const TITLE_IDLE = "Patient Portal — demo";

const STAGE_TEXT = {
  fetch: "Downloading…",
  decrypt: "Decrypting…",
  parse: "Reading the record…",
  verify: "Checking signatures…",
  consent: "Checking what you may see…",
  chart: "Preparing the chart…",
  ready: "Reading the record…",
};

// Who is viewing, for consent decisions: from the query string
// (`?viewer=proxy&relationship=parent`, optional `actor` and `purpose`) or
// the selector, which rewrites the query string and reopens the record.
const viewerSelect = document.getElementById("viewer-select");

function readViewer() {
  const q = new URLSearchParams(location.search);
  const role = ["patient", "proxy", "clinician"].includes(q.get("viewer")) ? q.get("viewer") : "patient";
  const viewer = { role };
  for (const name of ["relationship", "actor", "purpose"]) {
    const value = q.get(name);
    if (value) viewer[name] = value;
  }
  if (role === "proxy" && !viewer.relationship) viewer.relationship = "caregiver";
  return viewer;
}

function syncSelector(viewer) {
  const value = viewer.role === "proxy" ? `proxy:${viewer.relationship}` : viewer.role;
  if ([...viewerSelect.options].some((o) => o.value === value)) viewerSelect.value = value;
}

viewerSelect.addEventListener("change", () => {
  const [role, relationship] = viewerSelect.value.split(":");
  const q = new URLSearchParams(location.search);
  q.set("viewer", role);
  if (relationship) q.set("relationship", relationship);
  else q.delete("relationship");
  history.replaceState(null, "", `${location.pathname}?${q}${location.hash}`);
  show();
});
document.getElementById("viewer-form").addEventListener("submit", (e) => e.preventDefault());

// How the chart is shown: `?lang=de-DE`, `?theme=dark`, `?tz=Europe/Berlin`
// (default: the browser's language and time zone, the system theme), or
// the selectors, which rewrite the query string and render again (the
// record stays open).
const localeSelect = document.getElementById("locale-select");
const themeSelect = document.getElementById("theme-select");

function readDisplay() {
  const q = new URLSearchParams(location.search);
  const display = {};
  const lang = q.get("lang") ?? navigator.language;
  const locale = [...localeSelect.options].find((o) => o.value.slice(0, 2) === (lang ?? "").slice(0, 2).toLowerCase());
  display.locale = locale ? locale.value : "en-US";
  localeSelect.value = display.locale;
  display.theme = ["auto", "light", "dark"].includes(q.get("theme")) ? q.get("theme") : "auto";
  themeSelect.value = display.theme;
  if (q.get("tz")) display.timeZone = q.get("tz");
  document.documentElement.dataset.theme = display.theme;
  return display;
}

for (const [select, name] of [[localeSelect, "lang"], [themeSelect, "theme"]]) {
  select.addEventListener("change", () => {
    const q = new URLSearchParams(location.search);
    q.set(name, select.value);
    history.replaceState(null, "", `${location.pathname}?${q}${location.hash}`);
    if (current) {
      try {
        current.render(chart, readDisplay());
      } catch (err) {
        showError(err);
      }
    } else {
      readDisplay();
    }
  });
}
readDisplay();

// Who is viewing, as the sharer will see it (the SHL protocol requires one).
// `?recipient=…` in the page's query string overrides it.
const RECIPIENT = new URLSearchParams(location.search).get("recipient") || "Patient Portal demo viewer";

const COULD_NOT_REACH = "Could not reach the server";
const NOT_SUPPORTED = {
  title: "File format not supported",
  message: "This file's format isn't supported by this viewer.",
};

// Friendly messages, chosen by error code only (never by error text).
const ERRORS = {
  decrypt: {
    title: "Could not open the record",
    message: "This record could not be opened. The link may be wrong, or the file was changed after it was shared.",
  },
  network: {
    title: COULD_NOT_REACH,
    message: "The record could not be downloaded. Check your connection and try again.",
  },
  httpStatus: {
    title: COULD_NOT_REACH,
    message: "The server did not return the record",
  },
  format: {
    title: "Not a readable health record",
    message: "The file was opened, but it is not a health record this viewer can read.",
  },
  unsupported: NOT_SUPPORTED,
  malformedJwe: NOT_SUPPORTED,
  badKey: {
    title: "The link is not valid",
    message: "The key in this link is not valid. Check that you copied the whole link.",
  },
  badInput: {
    title: "The link is not complete",
    message: "This link is incomplete or not valid. Check that you copied the whole link.",
  },
  tooLarge: {
    title: "This record is too large",
    message: "This record is too large to open in this viewer.",
  },
  badLink: {
    title: "The link is not valid",
    message: "This is not a valid SMART Health Link. Check that you copied the whole link.",
  },
  expired: {
    title: "This link has expired",
    message: "This shared link has expired. Ask the person who shared it for a new one.",
  },
  linkInactive: {
    title: "This link is no longer active",
    message: "This shared link has been turned off, has expired, or was locked after too many wrong passcodes. Ask the person who shared it for a new one.",
  },
  passcodeRequired: {
    title: "A passcode is needed",
    message: "This shared link needs a passcode.",
  },
  locked: {
    title: "This link is locked",
    message: "Too many wrong passcodes were entered, so this link no longer works. Ask the person who shared it for a new one.",
  },
  startup: {
    title: "The viewer could not start",
    message: "This page could not load the record viewer. Please try again later.",
  },
};
const GENERIC = {
  title: "Something went wrong",
  message: "The record could not be opened. Please try again later.",
};

const $ = (id) => document.getElementById(id);
const landing = $("landing");
const progress = $("progress");
const progressText = $("progress-text");
const errorView = $("error");
const passcodeView = $("passcode");
const passcodeForm = $("passcode-form");
const passcodeInput = $("passcode-input");
const passcodeMessage = $("passcode-message");
const fhirView = $("fhir");
const fhirForm = $("fhir-form");
const fhirBase = $("fhir-base");
const fhirPatient = $("fhir-patient");
const fhirToken = $("fhir-token");
const fhirMessage = $("fhir-message");
const chartTitle = $("chart-title");
const recordTools = $("record-tools");
let chart = $("chart");

let sdk = null; // Promise<{ PatientPortal }>, created on first use
let portal = null;
let current = null; // the open record (wasm object), freed on every change
let generation = 0; // increments on every view change; stale loads are dropped
let pending = null; // AbortController of the FHIR read in progress
let fhirSession = null; // { baseUrl, token } typed for that FHIR server, in memory only

class LinkError extends Error {
  constructor(code) {
    super(code);
    this.name = "PatientPortalError";
    this.code = code;
  }
}

function setState(state) {
  document.body.dataset.state = state;
  landing.hidden = state !== "idle";
  progress.hidden = state !== "loading";
  errorView.hidden = state !== "error";
  passcodeView.hidden = state !== "passcode";
  fhirView.hidden = state !== "fhir";
  chart.hidden = state !== "ready";
  chartTitle.hidden = state !== "ready";
  recordTools.hidden = state !== "ready";
}

// Frees the open record and swaps in a fresh, empty chart host (a shadow root
// cannot be detached, so the old host element is discarded).
function clearRecord() {
  closeShare();
  if (current) {
    try {
      current.free();
    } catch {
      // already freed
    }
    current = null;
  }
  const fresh = document.createElement("div");
  fresh.id = "chart";
  fresh.hidden = true;
  chart.replaceWith(fresh);
  chart = fresh;
}

function loadSdk() {
  if (!sdk) {
    sdk = import(SDK_URL)
      .then(async (module) => {
        await module.default();
        return module;
      })
      .catch(() => {
        sdk = null; // allow a retry on the next hash change
        throw new LinkError("startup");
      });
  }
  return sdk;
}

// `{ shlink }` for a SMART Health Link, `{ url, key }` for a bare file, or null.
function readLink() {
  if (location.hash.toLowerCase().startsWith("#shlink:/")) return { shlink: location.href };
  const params = new URLSearchParams(location.hash.slice(1));
  const record = params.get("record");
  const key = params.get("key");
  if (record === null && key === null) return null;
  if (!record || !key) throw new LinkError("badInput");
  let url;
  try {
    url = new URL(record, location.href);
  } catch {
    throw new LinkError("badInput");
  }
  if (url.protocol !== "https:" && url.protocol !== "http:") throw new LinkError("badInput");
  return { url: url.href, key };
}

// `{ baseUrl, patient }` from `?fhir=<base URL>&patient=<id>` (either may be
// empty: the form asks for it), or null when the page is not in FHIR mode.
function readFhir() {
  const q = new URLSearchParams(location.search);
  if (!q.has("fhir")) return null;
  return { baseUrl: (q.get("fhir") ?? "").trim(), patient: (q.get("patient") ?? "").trim() };
}

// The FHIR base URL without trailing slashes, or null unless it is a plain
// http(s) URL (no credentials, query or fragment).
function fhirBaseUrl(text) {
  let url;
  try {
    url = new URL(text);
  } catch {
    return null;
  }
  if (url.protocol !== "https:" && url.protocol !== "http:") return null;
  if (url.username || url.password || url.search || url.hash) return null;
  return url.href.replace(/\/+$/, "");
}

function abortPending() {
  if (pending) {
    pending.abort();
    pending = null;
  }
}

function showError(err) {
  const code = err && typeof err.code === "string" ? err.code : "";
  const text = Object.hasOwn(ERRORS, code) ? ERRORS[code] : GENERIC;
  let message = text.message;
  if (code === "httpStatus" && Number.isInteger(err.status)) {
    message += ` (HTTP status ${err.status})`;
  }
  if (!message.endsWith(".")) message += ".";
  clearRecord();
  $("error-title").textContent = text.title;
  $("error-message").textContent = message;
  document.title = "Record could not be opened";
  setState("error");
  console.warn("Patient Portal: could not open the record:", code || "unknown error");
}

async function show() {
  const mine = ++generation;
  abortPending();
  clearRecord();
  syncSelector(readViewer());
  let link;
  try {
    link = readLink();
  } catch (err) {
    showError(err);
    return;
  }
  if (!link) {
    const fhir = readFhir();
    if (fhir) {
      showFhir(mine, fhir);
      return;
    }
    document.title = TITLE_IDLE;
    setState("idle");
    return;
  }

  progressText.textContent = STAGE_TEXT.fetch;
  document.title = "Opening record…";
  setState("loading");
  try {
    const sdkModule = await loadSdk();
    if (mine !== generation) return;
    if (link.shlink) {
      const info = sdkModule.parseLink(link.shlink);
      if (info.expired) throw new LinkError("expired");
      if (info.passcodeRequired) {
        askPasscode(mine, info, null);
        return;
      }
    }
    await open(mine, link, null);
  } catch (err) {
    if (mine === generation) showError(err);
  }
}

function onProgress(mine) {
  return (p) => {
    if (mine !== generation || !p || !Object.hasOwn(STAGE_TEXT, p.stage)) return;
    let text = STAGE_TEXT[p.stage];
    // A FHIR read reports its pages and resources as it fetches.
    if (p.stage === "fetch" && Number.isInteger(p.resources)) {
      const page = Number.isInteger(p.pages) ? `page ${p.pages}, ` : "";
      const of = Number.isInteger(p.total) ? ` of ${p.total}` : "";
      text = `Downloading… ${page}${p.resources}${of} ${p.resources === 1 && !of ? "resource" : "resources"}`;
    }
    progressText.textContent = text;
  };
}

// FHIR mode: opens at once when a token was typed for this server earlier in
// this page's life, else shows the form.
function showFhir(mine, fhir) {
  const baseUrl = fhirBaseUrl(fhir.baseUrl);
  if (fhirSession && fhirSession.baseUrl !== baseUrl) fhirSession = null;
  if (fhirSession && fhir.patient) {
    openFhirRecord(mine, { baseUrl, patient: fhir.patient }, fhirSession.token);
  } else {
    askFhir(mine, fhir, null);
  }
}

// The FHIR form, filled from the address; `message` says why it is shown again.
function askFhir(mine, fhir, message) {
  fhirBase.value = fhir.baseUrl;
  fhirBase.placeholder = `${location.origin}/fhir`;
  fhirPatient.value = fhir.patient;
  fhirToken.value = "";
  fhirMessage.textContent = message ?? "";
  fhirMessage.hidden = !message;
  document.title = "Open a record from a FHIR server";
  setState("fhir");
  (!fhir.baseUrl ? fhirBase : !fhir.patient ? fhirPatient : fhirToken).focus();
  const refuse = (text, field) => {
    fhirMessage.textContent = text;
    fhirMessage.hidden = false;
    field.focus();
  };
  fhirForm.onsubmit = (event) => {
    event.preventDefault();
    if (mine !== generation) return;
    const baseUrl = fhirBaseUrl(fhirBase.value.trim());
    const patient = fhirPatient.value.trim();
    const token = fhirToken.value.trim();
    fhirToken.value = "";
    if (!baseUrl) return refuse("Enter the FHIR server's base URL (http:// or https://, no query).", fhirBase);
    if (!patient) return refuse("Enter the patient id.", fhirPatient);
    if (!token) return refuse("Enter the access token.", fhirToken);
    // The address keeps the server and the patient, never the token.
    const q = new URLSearchParams(location.search);
    q.set("fhir", baseUrl);
    q.set("patient", patient);
    history.replaceState(null, "", `${location.pathname}?${q}`);
    fhirSession = { baseUrl, token };
    openFhirRecord(mine, { baseUrl, patient }, token);
  };
}

function openFhirRecord(mine, target, token) {
  progressText.textContent = STAGE_TEXT.fetch;
  document.title = "Opening record…";
  setState("loading");
  open(mine, { fhir: target, token }, null).catch((err) => {
    if (mine !== generation) return;
    const code = err && typeof err.code === "string" ? err.code : "";
    if (code === "unauthorized" || (code === "httpStatus" && (err.status === 401 || err.status === 403))) {
      fhirSession = null;
      askFhir(mine, target, "The server did not accept this access token. Check it and try again.");
    } else {
      showError(err);
    }
  });
}

// Shows the passcode form for the link being opened; `left` is the number
// of attempts the host said remain after a wrong passcode (or null).
function askPasscode(mine, info, left) {
  const label = $("link-label");
  label.textContent = info.label ? `“${info.label}”` : "";
  label.hidden = !info.label;
  passcodeInput.value = "";
  if (left === null) {
    passcodeMessage.hidden = true;
    passcodeMessage.textContent = "";
  } else {
    passcodeMessage.textContent =
      Number.isInteger(left) ? `That passcode is not right. ${left} ${left === 1 ? "attempt" : "attempts"} left.` : "That passcode is not right.";
    passcodeMessage.hidden = false;
  }
  document.title = "Passcode needed";
  setState("passcode");
  passcodeInput.focus();
  passcodeForm.onsubmit = (event) => {
    event.preventDefault();
    if (mine !== generation) return;
    const passcode = passcodeInput.value;
    passcodeInput.value = "";
    if (!passcode) return;
    progressText.textContent = STAGE_TEXT.fetch;
    document.title = "Opening record…";
    setState("loading");
    open(mine, { shlink: location.href }, passcode).catch((err) => {
      if (mine !== generation) return;
      if (err && err.code === "passcodeWrong" && err.remainingAttempts !== 0) {
        askPasscode(mine, info, Number.isInteger(err.remainingAttempts) ? err.remainingAttempts : undefined);
      } else if (err && err.code === "passcodeWrong") {
        showError(new LinkError("locked"));
      } else {
        showError(err);
      }
    });
  };
}

let trusted;
/** The issuers this portal trusts: the development backend that serves it (its JWKS). */
async function trustedIssuers() {
  if (!trusted) {
    try {
      const response = await fetch("/.well-known/jwks.json", { headers: { accept: "application/json" } });
      trusted = response.ok ? { [location.origin]: await response.json() } : {};
    } catch {
      trusted = {};
    }
  }
  return trusted;
}

async function open(mine, link, passcode) {
  const { PatientPortal } = await loadSdk();
  if (mine !== generation) return;
  portal ??= new PatientPortal();
  const viewer = readViewer();
  let record;
  if (link.fhir) {
    if (typeof portal.openFhir !== "function") throw new LinkError("startup");
    const controller = new AbortController();
    pending = controller;
    const { token } = link;
    try {
      record = await portal.openFhir({
        baseUrl: link.fhir.baseUrl,
        patient: link.fhir.patient,
        // The token typed into the form: a refresh can only offer it again.
        getAccessToken: async () => token,
        viewer,
        onProgress: onProgress(mine),
        signal: controller.signal,
      });
    } finally {
      if (pending === controller) pending = null;
    }
  } else {
    record = await openShared(link, passcode, viewer, mine);
  }
  if (mine !== generation) {
    record.free();
    return;
  }
  current = record;
  await record.render(chart, readDisplay());
  // Another view may have started while the later sections were committed.
  if (mine !== generation) return;
  document.title = "Health record";
  setState("ready");
}

// A SMART Health Link or a bare encrypted file.
async function openShared(link, passcode, viewer, mine) {
  return link.shlink
    ? await portal.openLink(link.shlink, {
        recipient: RECIPIENT,
        passcode: passcode ?? undefined,
        // The host's trust list: this backend's own issuer. Cards from other
        // issuers are checked against their published keys and shown as
        // "signed by …, not in your trust list".
        issuerKeys: await trustedIssuers(),
        fetchIssuerKeys: true,
        viewer,
        onProgress: onProgress(mine),
      })
    : await portal.openUrl(link.url, link.key, { viewer, onProgress: onProgress(mine) });
}

setupSharing({ record: () => current, loadSdk, readDisplay });

window.addEventListener("hashchange", show);
show();
