// Patient Portal demo page, a SMART Health Links viewer: opens
// `<this page>#shlink:/…` (the spec's viewer-URL convention), asking for the
// passcode when the link has the P flag, or `#record=<path or URL>&key=<key>`
// for a bare encrypted file, or reads a patient from a FHIR server
// (`?fhir=<base URL>&patient=<id>`, or the form) with an access token the
// user types; then renders the record with the SDK. An open record can be
// shared as a new SMART Health Link hosted by the development backend's
// /api/ ("Share…"), and the links made with a host token are listed with
// their accesses and can be revoked ("My links").
// The tokens (FHIR access token, host token) live only in this page's memory: never in the address, never in
// localStorage or sessionStorage, and only ever sent to the server it was
// typed for.
// Nothing from the record is ever written outside the SDK's own shadow root:
// all dynamic text here is set with textContent and comes from fixed strings.

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
  record.render(chart, readDisplay());
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

// ---------------------------------------------------------------------------
// Sharing the open record as a new SMART Health Link, and "My links".
//
// The links are hosted by the development backend that serves this page, at
// its /api/ (bearer token of an account). The host token is typed into the
// dialogs and kept in this variable only: never in the address, never in the
// browser's storage, and only ever sent to this origin's /api/.

const API_BASE = new URL("/api/", location.origin).href;
let hostToken = "";

const shareDialog = $("share-dialog");
const shareForm = $("share-form");
const shareSections = $("share-sections");
const shareSectionsEmpty = $("share-sections-empty");
const shareLabel = $("share-label");
const sharePasscode = $("share-passcode");
const shareExpiry = $("share-expiry");
const shareToken = $("share-token");
const shareMessage = $("share-message");
const shareStatus = $("share-status");
const sharePreviewView = $("share-preview");
const shareResult = $("share-result");
const shareUrl = $("share-url");
const shareCopyStatus = $("share-copy-status");
const shareQr = $("share-qr");
const linksDialog = $("links-dialog");
const linksForm = $("links-form");
const linksToken = $("links-token");
const linksMessage = $("links-message");
const linksStatus = $("links-status");
const linksEmpty = $("links-empty");
const linksList = $("links-list");

let previewRecord = null; // the recipient's view of the open record (wasm object), freed when done
// The previews running: one for the section checkboxes, one for the recipient's chart. A newer
// request supersedes (cancels) the one before; a preview that resolves too late is freed, never shown.
const sectionsRun = { run: 0, controller: null };
const chartRun = { run: 0, controller: null };
let sharing = 0; // increments on every opening of the share dialog; stale results are dropped
const excluded = new Set(); // section keys the sharer unchecked

const SHARE_STAGES = {
  bundle: "Preparing what is shared…",
  seal: "Encrypting…",
  upload: "Uploading…",
  done: "The link is ready.",
};

const OUTCOMES = {
  served: "Opened",
  wrongPasscode: "Wrong passcode",
  noPasscode: "No passcode given",
  expired: "Refused: the link had expired",
  revoked: "Refused: the link was revoked",
  locked: "Refused: locked after wrong passcodes",
  rateLimited: "Refused: too many requests",
};

/** A short message for a failed host or share call, chosen by error code only. */
function hostErrorText(err, doing) {
  const code = err && typeof err.code === "string" ? err.code : "";
  const status = err && Number.isInteger(err.status) ? err.status : null;
  if (code === "unauthorized" || status === 401) return "The host did not accept this token. Check it and try again.";
  if (code === "network") return `Could not reach the host: ${doing} failed. Check your connection and try again.`;
  if (code === "rateLimited" || status === 429) return "Too many requests to the host. Wait a moment and try again.";
  if (code === "tooLarge" || status === 413) return "This record is too large for the host.";
  if (code === "badInput") return "The host or the SDK refused these options. Check them and try again.";
  if (code === "freed") return "This record was closed.";
  return status ? `The host answered with HTTP status ${status}: ${doing} failed.` : `Something went wrong: ${doing} failed. Please try again.`;
}

function say(element, text) {
  element.textContent = text ?? "";
  element.hidden = !text;
}

/** Cancels the preview running in `slot`, if any: its result, should it still come, is dropped. */
function cancelPreview(slot) {
  slot.run++;
  slot.controller?.abort();
  slot.controller = null;
}

/**
 * `record.sharePreview(options)` in `slot`, superseding the one running there.
 * Resolves to the preview, or to null when it was superseded, cancelled, or the
 * record or dialog changed meanwhile (a preview made anyway is freed at once).
 */
async function previewIn(slot, options) {
  cancelPreview(slot);
  const run = slot.run;
  const controller = new AbortController();
  slot.controller = controller;
  const record = current;
  const dialog = sharing;
  const stale = () => run !== slot.run || dialog !== sharing || record !== current;
  try {
    const preview = await record.sharePreview({ ...options, signal: controller.signal });
    if (stale()) {
      preview.record.free();
      return null;
    }
    return preview;
  } catch (err) {
    if (stale() || err?.code === "aborted") return null;
    throw err;
  } finally {
    if (slot.controller === controller) slot.controller = null;
  }
}

function freePreview() {
  cancelPreview(chartRun);
  if (previewRecord) {
    try {
      previewRecord.free();
    } catch {
      // already freed
    }
    previewRecord = null;
  }
  // A shadow root cannot be detached: a fresh container replaces the old one.
  const fresh = document.createElement("div");
  fresh.id = "share-preview-chart";
  fresh.className = "preview-chart";
  $("share-preview-chart").replaceWith(fresh);
  sharePreviewView.hidden = true;
}

function closeShare() {
  if (shareDialog.open) shareDialog.close();
  if (linksDialog.open) linksDialog.close();
  freePreview();
}

for (const dialog of [shareDialog, linksDialog]) {
  for (const button of dialog.querySelectorAll("[data-close]")) button.addEventListener("click", () => dialog.close());
}
shareDialog.addEventListener("close", () => {
  sharing++;
  cancelPreview(sectionsRun);
  freePreview();
  shareResult.hidden = true;
  shareUrl.value = "";
  shareQr.removeAttribute("src");
  sharePasscode.value = "";
  $("share-open").focus();
});
linksDialog.addEventListener("close", () => $("links-open").focus());

/** The audience chosen in the dialog, as a ShareOptions.audience (a viewer profile). */
function chosenAudience() {
  const [role, relationship] = shareForm.elements.audience.value.split(":");
  return relationship ? { role, relationship } : { role };
}

const isoDate = (d) => `${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, "0")}-${String(d.getDate()).padStart(2, "0")}`;

/**
 * The section checkboxes, from what the chosen audience may see of the open
 * record (a preview without `include`, freed at once). Keeps the sharer's
 * unchecked sections unchecked. A newer call supersedes one still running.
 */
async function fillSections() {
  for (const label of shareSections.querySelectorAll("label")) label.remove();
  shareSectionsEmpty.hidden = true;
  let sections = [];
  const preview = await previewIn(sectionsRun, { audience: chosenAudience() });
  if (!preview) return;
  try {
    sections = preview.sections.filter((s) => s.count > 0);
  } finally {
    preview.record.free();
  }
  for (const s of sections) {
    const label = document.createElement("label");
    label.className = "choice";
    const box = document.createElement("input");
    box.type = "checkbox";
    box.name = "include";
    box.value = s.section;
    box.checked = !excluded.has(s.section);
    box.addEventListener("change", () => {
      if (box.checked) excluded.delete(s.section);
      else excluded.add(s.section);
    });
    label.append(box, ` ${s.title} (${s.count})`);
    shareSections.append(label);
  }
  shareSectionsEmpty.hidden = sections.length > 0;
}

/** The ShareOptions from the form, or a message saying what to fix (and the field to focus). */
function readShareOptions() {
  const boxes = [...shareSections.querySelectorAll("input[name=include]")];
  const include = boxes.filter((b) => b.checked).map((b) => b.value);
  if (include.length === 0) return { refuse: "Choose at least one section to include.", field: boxes[0] ?? shareForm.elements.audience[0] };
  const options = { audience: chosenAudience(), include };
  const label = shareLabel.value.trim();
  if (label) options.label = label;
  if (sharePasscode.value) options.passcode = sharePasscode.value;
  if (shareExpiry.value) {
    const [y, m, d] = shareExpiry.value.split("-").map(Number);
    // The end of the chosen day, in this device's time zone.
    const at = new Date(y, m - 1, d, 23, 59, 59);
    if (Number.isNaN(at.getTime()) || at.getTime() <= Date.now()) return { refuse: "Choose an expiry date in the future.", field: shareExpiry };
    options.expiresAt = at;
  }
  return { options };
}

function refuseShare(text, field) {
  say(shareMessage, text);
  field?.focus();
}

function formatBytes(n) {
  return n < 1024 ? `${n} bytes` : `${(n / 1024).toFixed(1)} kB`;
}

function openShare() {
  if (!current) return;
  sharing++;
  say(shareMessage, "");
  shareStatus.textContent = "";
  shareResult.hidden = true;
  freePreview();
  shareToken.value = hostToken;
  const tomorrow = new Date();
  tomorrow.setDate(tomorrow.getDate() + 1);
  shareExpiry.min = isoDate(tomorrow);
  fillSections().catch((err) => say(shareMessage, hostErrorText(err, "reading the record")));
  shareDialog.showModal();
  shareForm.querySelector("input[name=audience]:checked")?.focus();
}

$("share-open").addEventListener("click", openShare);
for (const radio of shareForm.querySelectorAll("input[name=audience]")) {
  radio.addEventListener("change", () => {
    freePreview();
    fillSections().catch((err) => say(shareMessage, hostErrorText(err, "reading the record")));
  });
}

$("share-preview-button").addEventListener("click", async () => {
  if (!current) return;
  say(shareMessage, "");
  const { options, refuse, field } = readShareOptions();
  if (refuse) return refuseShare(refuse, field);
  freePreview();
  let preview;
  try {
    preview = await previewIn(chartRun, options);
  } catch (err) {
    return say(shareMessage, hostErrorText(err, "the preview"));
  }
  if (!preview) return; // superseded: a newer request shows its own
  previewRecord = preview.record;
  const n = preview.resourceCount;
  const withheld = preview.withheldCount;
  $("share-preview-summary").textContent =
    `${n} ${n === 1 ? "item" : "items"} will be shared (${formatBytes(preview.bytes)} before encryption)` +
    (withheld > 0 ? `; ${withheld} ${withheld === 1 ? "item is" : "items are"} not shared with this person.` : ".");
  const counts = $("share-preview-counts");
  counts.replaceChildren();
  for (const s of preview.sections) {
    if (s.count === 0) continue;
    const li = document.createElement("li");
    li.dataset.section = s.section;
    li.textContent = `${s.title}: ${s.count}`;
    counts.append(li);
  }
  sharePreviewView.hidden = false;
  try {
    previewRecord.render($("share-preview-chart"), readDisplay());
  } catch (err) {
    say(shareMessage, hostErrorText(err, "the preview"));
  }
  $("share-preview-title").scrollIntoView?.({ block: "nearest" });
});

shareForm.addEventListener("submit", async (event) => {
  event.preventDefault();
  const record = current;
  if (!record) return;
  say(shareMessage, "");
  const { options, refuse, field } = readShareOptions();
  if (refuse) return refuseShare(refuse, field);
  const token = shareToken.value.trim();
  if (!token) return refuseShare("Enter the host token (the development backend prints it at start).", shareToken);
  hostToken = token;
  const mine = ++sharing;
  const buttons = shareForm.querySelectorAll("button");
  for (const b of buttons) b.disabled = true;
  shareStatus.textContent = "Encrypting and uploading…";
  try {
    const { HttpShlHost } = await loadSdk();
    const host = new HttpShlHost({ baseUrl: API_BASE, token });
    const onProgress = (p) => {
      if (mine === sharing && p && Object.hasOwn(SHARE_STAGES, p.stage)) shareStatus.textContent = SHARE_STAGES[p.stage];
    };
    const shared = await record.share({ ...options, host, onProgress });
    if (mine !== sharing || record !== current) return;
    sharePasscode.value = "";
    shareUrl.value = shared.viewerUrl;
    // The SDK's QR code as an image (an SVG in an <img> runs nothing; img-src allows data:).
    shareQr.src = `data:image/svg+xml;charset=utf-8,${encodeURIComponent(shared.qrSvg)}`;
    const n = shared.resourceCount;
    $("share-result-summary").textContent =
      `${n} ${n === 1 ? "item" : "items"}, ${formatBytes(shared.bytes.ciphertext)} encrypted` +
      (shared.expiresAt ? `; expires ${formatTime(shared.expiresAt)}.` : "; does not expire.") +
      (options.passcode ? " The recipient needs the passcode." : "");
    shareCopyStatus.textContent = "";
    shareResult.hidden = false;
    shareStatus.textContent = "The link is ready.";
    shareUrl.focus();
    shareUrl.select();
  } catch (err) {
    if (mine !== sharing) return;
    shareStatus.textContent = "";
    say(shareMessage, hostErrorText(err, "creating the link"));
    console.warn("Patient Portal: could not share the record:", err && typeof err.code === "string" ? err.code : "unknown error");
  } finally {
    for (const b of buttons) b.disabled = false;
  }
});

$("share-copy").addEventListener("click", async () => {
  try {
    await navigator.clipboard.writeText(shareUrl.value);
    shareCopyStatus.textContent = "Copied.";
  } catch {
    shareUrl.focus();
    shareUrl.select();
    shareCopyStatus.textContent = "Could not copy: the link is selected, copy it with your keyboard.";
  }
});

/** A time from the host or the SDK (a Date, epoch seconds or milliseconds, RFC 3339 text) for people. */
function formatTime(value) {
  let date;
  if (value instanceof Date) date = value;
  else if (typeof value === "number") date = new Date(value < 1e11 ? value * 1000 : value);
  else if (typeof value === "string") date = new Date(value);
  if (!date || Number.isNaN(date.getTime())) return "";
  const options = { dateStyle: "medium", timeStyle: "short" };
  const tz = new URLSearchParams(location.search).get("tz");
  try {
    return new Intl.DateTimeFormat(localeSelect.value, tz ? { ...options, timeZone: tz } : options).format(date);
  } catch {
    return date.toISOString();
  }
}

// "My links": the links of the account whose token is given, newest first,
// each with its accesses (oldest first) and a Revoke button.
function openLinks() {
  linksToken.value = hostToken;
  say(linksMessage, "");
  linksDialog.showModal();
  if (hostToken) {
    loadLinks();
  } else {
    linksToken.focus();
  }
}

$("links-open").addEventListener("click", openLinks);
linksForm.addEventListener("submit", (event) => {
  event.preventDefault();
  const token = linksToken.value.trim();
  if (!token) {
    say(linksMessage, "Enter the host token (the development backend prints it at start).");
    linksToken.focus();
    return;
  }
  hostToken = token;
  loadLinks();
});

let listing = 0;
async function loadLinks() {
  const mine = ++listing;
  say(linksMessage, "");
  linksStatus.textContent = "Loading your links…";
  linksDialog.setAttribute("aria-busy", "true");
  try {
    const { HttpShlHost } = await loadSdk();
    const host = new HttpShlHost({ baseUrl: API_BASE, token: hostToken });
    const links = await host.list();
    // The trail of each link that has one (the list counts them).
    const accesses = await Promise.all(links.map((l) => (l.accesses === 0 ? [] : host.accesses(l.id))));
    if (mine !== listing) return;
    linksList.replaceChildren(...links.map((link, i) => linkItem(host, link, accesses[i])));
    linksEmpty.hidden = links.length > 0;
    linksStatus.textContent = `${links.length} ${links.length === 1 ? "link" : "links"}.`;
  } catch (err) {
    if (mine !== listing) return;
    linksList.replaceChildren();
    linksEmpty.hidden = true;
    linksStatus.textContent = "";
    say(linksMessage, hostErrorText(err, "listing the links"));
  } finally {
    if (mine === listing) linksDialog.removeAttribute("aria-busy");
  }
}

function element(tag, className, text) {
  const el = document.createElement(tag);
  if (className) el.className = className;
  if (text !== undefined) el.textContent = text;
  return el;
}

function linkItem(host, link, accesses) {
  const li = element("li", "link-item");
  li.dataset.id = link.id;
  li.dataset.revoked = String(Boolean(link.revoked));
  const headingId = `link-${link.id}`;
  const title = element("h3", "link-title", link.label || "Link without a label");
  title.id = headingId;
  li.append(title);
  const facts = [];
  const created = formatTime(link.createdAt);
  if (created) facts.push(`Created ${created}`);
  const expires = formatTime(link.expiresAt);
  facts.push(expires ? `expires ${expires}` : "no expiry");
  if ((link.flag ?? "").includes("P")) facts.push("passcode");
  if (Number.isInteger(link.attemptsLeft)) facts.push(`${link.attemptsLeft} wrong passcodes left`);
  li.append(element("p", "link-facts", facts.join(" · ")));
  li.append(element("p", link.revoked ? "link-state revoked" : "link-state", link.revoked ? "Revoked" : "Active"));

  const list = accesses ?? [];
  const details = element("details", "accesses");
  details.append(element("summary", null, `${list.length} ${list.length === 1 ? "access" : "accesses"}`));
  if (list.length > 0) {
    const ol = element("ol");
    for (const a of list) {
      const item = element("li", null, `${formatTime(a.at)} — ${a.recipient} — ${OUTCOMES[a.outcome] ?? a.outcome}`);
      item.dataset.outcome = a.outcome;
      ol.append(item);
    }
    details.append(ol);
  }
  li.append(details);

  if (!link.revoked) {
    const revoke = element("button", "revoke", "Revoke");
    revoke.type = "button";
    revoke.setAttribute("aria-describedby", headingId);
    revoke.addEventListener("click", async () => {
      revoke.disabled = true;
      try {
        await host.revoke(link.id);
        linksStatus.textContent = "The link was revoked.";
        await loadLinks();
      } catch (err) {
        revoke.disabled = false;
        say(linksMessage, hostErrorText(err, "revoking the link"));
      }
    });
    li.append(revoke);
  }
  return li;
}

window.addEventListener("hashchange", show);
show();
