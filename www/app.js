// Patient Portal demo page: reads `#record=<path or URL>&key=<base64url>` from
// the URL fragment, opens the encrypted record with the SDK and renders it.
// Nothing from the record is ever written outside the SDK's own shadow root:
// all dynamic text here is set with textContent and comes from fixed strings.

const SDK_URL = "/pkg/patient_portal_sdk.js";
const TITLE_IDLE = "Patient Portal — demo";

const STAGE_TEXT = {
  fetch: "Downloading…",
  decrypt: "Decrypting…",
  parse: "Reading the record…",
  ready: "Reading the record…",
};

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
const chartTitle = $("chart-title");
let chart = $("chart");

let sdk = null; // Promise<{ PatientPortal }>, created on first use
let portal = null;
let current = null; // the open record (wasm object), freed on every change
let generation = 0; // increments on every view change; stale loads are dropped

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
  chart.hidden = state !== "ready";
  chartTitle.hidden = state !== "ready";
}

// Frees the open record and swaps in a fresh, empty chart host (a shadow root
// cannot be detached, so the old host element is discarded).
function clearRecord() {
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

function readLink() {
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
  clearRecord();
  let link;
  try {
    link = readLink();
  } catch (err) {
    showError(err);
    return;
  }
  if (!link) {
    document.title = TITLE_IDLE;
    setState("idle");
    return;
  }

  progressText.textContent = STAGE_TEXT.fetch;
  document.title = "Opening record…";
  setState("loading");
  try {
    const { PatientPortal } = await loadSdk();
    if (mine !== generation) return;
    portal ??= new PatientPortal();
    const record = await portal.openUrl(link.url, link.key, {
      onProgress: (p) => {
        if (mine === generation && p && Object.hasOwn(STAGE_TEXT, p.stage)) {
          progressText.textContent = STAGE_TEXT[p.stage];
        }
      },
    });
    if (mine !== generation) {
      record.free();
      return;
    }
    current = record;
    record.render(chart);
    document.title = "Health record";
    setState("ready");
  } catch (err) {
    if (mine === generation) showError(err);
  }
}

window.addEventListener("hashchange", show);
show();
