// Patient Portal demo page: sharing the open record as a new SMART Health
// Link, and "My links". app.js (the viewer) starts it with setupSharing().

const $ = (id) => document.getElementById(id);

/** What the viewer gives the dialogs: the open record, the SDK, the display options. */
let app = { record: () => null, loadSdk: () => Promise.reject(new Error("sharing is not set up")), readDisplay: () => ({}) };

/** Connects the dialogs to the viewer (`{ record(), loadSdk(), readDisplay() }`). */
export function setupSharing(viewer) {
  app = viewer;
}

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
  const record = app.record();
  const dialog = sharing;
  const stale = () => run !== slot.run || dialog !== sharing || record !== app.record();
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

export function closeShare() {
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
  refocus(shareDialog, $("share-open"));
});
linksDialog.addEventListener("close", () => refocus(linksDialog, $("links-open")));

/**
 * Gives the focus to `opener` after `dialog` closed, unless it is already
 * elsewhere on the page: the close event comes a task after the dialog closed
 * (and the browser put the focus back), and a keyboard user may have moved on.
 */
function refocus(dialog, opener) {
  const active = document.activeElement;
  if (!active || active === document.body || dialog.contains(active)) opener.focus();
}

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
  if (!app.record()) return;
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
  if (!app.record()) return;
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
    previewRecord.render($("share-preview-chart"), app.readDisplay());
  } catch (err) {
    say(shareMessage, hostErrorText(err, "the preview"));
  }
  $("share-preview-title").scrollIntoView?.({ block: "nearest" });
});

shareForm.addEventListener("submit", async (event) => {
  event.preventDefault();
  const record = app.record();
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
    const { HttpShlHost } = await app.loadSdk();
    const host = new HttpShlHost({ baseUrl: API_BASE, token });
    const onProgress = (p) => {
      if (mine === sharing && p && Object.hasOwn(SHARE_STAGES, p.stage)) shareStatus.textContent = SHARE_STAGES[p.stage];
    };
    const shared = await record.share({ ...options, host, onProgress });
    if (mine !== sharing || record !== app.record()) return;
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
    const { HttpShlHost } = await app.loadSdk();
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

