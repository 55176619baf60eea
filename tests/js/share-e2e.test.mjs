// End to end, sharing: the demo page (www/) served by the development backend
// (examples/dev_server/) shares the record it has open as a new SMART Health
// Link hosted by the backend's /api/, through its "Share…" dialog, as a
// person would (audience, sections, label, passcode, expiry, preview, then
// the link, its QR code and the Copy button); the recipient opens the link in
// a second browser context. Checked: a resource the audience may not see (a
// withheld marker) is nowhere in the plaintext of the uploaded ciphertext
// (the JWE fetched through the manifest, decrypted with the key in the
// link), in the recipient's page or in the host's database file; "My links"
// lists the link with its accesses (a wrong passcode, then the right one) and
// Revoke makes the recipient's reopening fail; the host token goes only to
// the host API and is kept nowhere in the browser; no Content-Security-Policy
// violation and no console error on either page. Shared once from a
// SMART Health Link and once from a record read from the backend's FHIR API.
//
// Needs `cargo build --example dev_server` and a built pkg/ (`make pkg`).

import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { createRequire } from "node:module";
import { createDecipheriv, randomBytes } from "node:crypto";
import { existsSync } from "node:fs";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { inflateRawSync } from "node:zlib";

import { POLL_MS, ROOT, SERVER_BIN, STEP_TIMEOUT, launchBrowser, startServer } from "./harness.mjs";

const TEST_TIMEOUT = 120_000;
const SCREENSHOTS = fileURLToPath(new URL("./screenshots/", import.meta.url));
const AXE_PATH = createRequire(import.meta.url).resolve("axe-core/axe.min.js");
const AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"];
const RECIPIENT = "Patient Portal demo viewer"; // what the demo page tells the host
const PASSCODE = `pc-${randomBytes(6).toString("hex")}`;

// ---------------------------------------------------------------------------
// The record shared from a link: a sample bundle plus a Condition labelled
// SUD (42 CFR Part 2), which a clinician does not see without a Consent. Its
// text is a marker unique to this run.

const MARKER = `Withheld-marker-${randomBytes(8).toString("hex")}`;
const SUD = { system: "http://terminology.hl7.org/CodeSystem/v3-ActCode", code: "SUD", display: "substance use disorder information sensitivity" };

async function markedBundle() {
  const bundle = JSON.parse(await readFile(join(ROOT, "examples/data/christian-balistreri.json"), "utf8"));
  const patient = bundle.entry.find((e) => e.resource.resourceType === "Patient");
  const patientRef = patient.fullUrl.startsWith("urn:") ? patient.fullUrl : `Patient/${patient.resource.id}`;
  const id = "d1c3a0e4-5f06-4b7e-9a21-7c0f6a3b2e11";
  bundle.entry.push({
    fullUrl: `urn:uuid:${id}`,
    resource: {
      resourceType: "Condition",
      id,
      meta: { security: [SUD, { system: "http://terminology.hl7.org/CodeSystem/v3-Confidentiality", code: "R" }] },
      clinicalStatus: { coding: [{ system: "http://terminology.hl7.org/CodeSystem/condition-clinical", code: "active" }] },
      code: { coding: [{ system: "http://snomed.info/sct", code: "5602001", display: `${MARKER} opioid abuse` }], text: MARKER },
      subject: { reference: patientRef },
      onsetDateTime: "2021-03-04",
      note: [{ text: `${MARKER} (note)` }],
    },
  });
  return bundle;
}

// ---------------------------------------------------------------------------
// Reading what the host stores and serves.

/** Decrypts a compact JWE (dir, A256GCM, optional zip DEF) with the base64url `key`; the plaintext as text. */
function decryptJwe(jwe, key) {
  const parts = jwe.split(".");
  assert.equal(parts.length, 5, "a compact JWE has five parts");
  const [protectedB64, encryptedKey, iv, ciphertext, tag] = parts;
  const header = JSON.parse(Buffer.from(protectedB64, "base64url").toString("utf8"));
  assert.equal(header.alg, "dir");
  assert.equal(header.enc, "A256GCM");
  assert.equal(encryptedKey, "", "dir: no encrypted key");
  const decipher = createDecipheriv("aes-256-gcm", Buffer.from(key, "base64url"), Buffer.from(iv, "base64url"));
  decipher.setAAD(Buffer.from(protectedB64, "ascii"));
  decipher.setAuthTag(Buffer.from(tag, "base64url"));
  const raw = Buffer.concat([decipher.update(Buffer.from(ciphertext, "base64url")), decipher.final()]);
  return { header, text: (header.zip === "DEF" ? inflateRawSync(raw) : raw).toString("utf8") };
}

/** The payload of a viewer URL `…#shlink:/<base64url JSON>`. */
function payloadOf(viewerUrl) {
  const at = viewerUrl.indexOf("shlink:/");
  assert.ok(at >= 0, `${viewerUrl} carries a shlink:/`);
  return JSON.parse(Buffer.from(viewerUrl.slice(at + "shlink:/".length), "base64url").toString("utf8"));
}

/** Every file of the link as the recipient gets it (a manifest request, then each location); resolves to the JWEs. */
async function fetchFiles(payload, passcode) {
  const body = { recipient: "ciphertext check" };
  if (passcode) body.passcode = passcode;
  const response = await fetch(payload.url, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
  assert.equal(response.status, 200, "the manifest request is answered");
  const manifest = await response.json();
  assert.ok(manifest.files?.length >= 1, "the manifest lists the uploaded file");
  const jwes = [];
  for (const file of manifest.files) {
    if (file.embedded) {
      jwes.push(file.embedded);
    } else {
      const got = await fetch(file.location);
      assert.equal(got.status, 200, "the file location is served");
      jwes.push(await got.text());
    }
  }
  return jwes;
}

/** The host's SQLite database as bytes (with its write-ahead log and journal, if any). */
async function databaseBytes() {
  const parts = [];
  for (const suffix of ["", "-wal", "-journal", "-shm"]) {
    const path = `${server.db}${suffix}`;
    if (existsSync(path)) parts.push(await readFile(path));
  }
  assert.ok(parts.length > 0, "the host's database file exists");
  return Buffer.concat(parts);
}

// ---------------------------------------------------------------------------
// The pages.

/** Runs in each page before its scripts: records Content-Security-Policy violations. */
function recorder() {
  window.__csp = [];
  document.addEventListener("securitypolicyviolation", (e) => window.__csp.push(`${e.effectiveDirective || e.violatedDirective} ${e.blockedURI}`));
}

let server;
let links;
let browser;

async function newPage(width = 1280) {
  const context = await browser.newContext({ viewport: { width, height: 900 }, colorScheme: "light" });
  context.setDefaultTimeout(STEP_TIMEOUT);
  await context.addInitScript(recorder);
  const page = await context.newPage();
  const problems = { pageErrors: [], consoleErrors: [] };
  page.on("pageerror", (err) => problems.pageErrors.push(String(err?.stack ?? err)));
  page.on("console", (msg) => {
    if (msg.type() === "error") problems.consoleErrors.push(msg.text());
  });
  const sent = [];
  page.on("request", (request) => sent.push(request.allHeaders().then((headers) => ({ url: request.url(), authorization: headers.authorization ?? null }))));
  return { page, context, problems, requests: () => Promise.all(sent) };
}

/** The host token went only to the host API, and is kept nowhere in the browser. */
async function assertHostTokenOnlyToApi({ page, context, requests }, token, what) {
  const all = await requests();
  const withToken = all.filter((r) => r.authorization === `Bearer ${token}`);
  assert.ok(withToken.length > 0, `${what}: the host token was sent`);
  for (const r of withToken) assert.ok(r.url.startsWith(links.host.api), `${what}: the host token went to ${r.url}`);
  for (const r of all) assert.ok(!r.url.includes(token), `${what}: the host token is in the URL ${r.url}`);
  const kept = await page.evaluate(() => ({
    href: location.href,
    local: Object.keys(localStorage).length,
    session: Object.keys(sessionStorage).length,
    cookie: document.cookie,
  }));
  assert.ok(!kept.href.includes(token), `${what}: the host token is in the address`);
  assert.deepEqual([kept.local, kept.session, kept.cookie], [0, 0, ""], `${what}: the browser's storage`);
  assert.deepEqual(await context.cookies(), [], `${what}: cookies`);
}

async function settled(page) {
  await page.waitForFunction(() => ["ready", "error", "passcode", "fhir"].includes(document.body.dataset.state), null, { timeout: STEP_TIMEOUT, polling: POLL_MS });
  return page.evaluate(() => document.body.dataset.state);
}

/**
 * What the page shows of its dialogs' state: when a wait fails, its message
 * says what the page was doing (a message, a status, a busy dialog).
 */
const dialogState = (page) =>
  page
    .evaluate(() => {
      const text = (id) => {
        const el = document.getElementById(id);
        return el ? `${el.hidden ? "(hidden) " : ""}${JSON.stringify(el.textContent)}` : "(none)";
      };
      const dialog = (id) => {
        const el = document.getElementById(id);
        return el ? `${el.open ? "open" : "closed"}${el.getAttribute("aria-busy") === "true" ? ", busy" : ""}` : "(none)";
      };
      return [
        `state ${document.body.dataset.state}`,
        `share dialog ${dialog("share-dialog")}, message ${text("share-message")}, status ${text("share-status")}`,
        `links dialog ${dialog("links-dialog")}, message ${text("links-message")}, status ${text("links-status")}, ` +
          `${document.querySelectorAll("#links-list li.link-item").length} items`,
        `focus #${document.activeElement?.id ?? ""}`,
        ...(window.__trail ? [`trail: ${window.__trail.slice(-40).join(" | ")}`] : []),
      ].join("; ");
    })
    .catch((err) => `(the page's state could not be read: ${err.message})`);

/** `page.waitForFunction(fn, null, { polling: POLL_MS })`; on a timeout, the error says what the page showed (and the server's last log lines). */
async function waitShowing(page, fn, what) {
  try {
    await page.waitForFunction(fn, null, { polling: POLL_MS });
  } catch (err) {
    const log = server?.log?.().split("\n").slice(-15).join("\n") ?? "";
    throw new Error(`${what}: ${err.message}\npage: ${await dialogState(page)}\nserver log (last lines):\n${log}`, { cause: err });
  }
}

const errorText = (page) => page.evaluate(() => `${document.getElementById("error-title").textContent}: ${document.getElementById("error-message").textContent}`);

/** The page's whole HTML, with every open shadow root (the chart, the preview), and the values of its fields. */
const wholePage = (page) =>
  page.evaluate(() => {
    const parts = [document.documentElement.outerHTML];
    const visit = (root) => {
      for (const el of root.querySelectorAll("*")) {
        if (el.shadowRoot) {
          parts.push(el.shadowRoot.innerHTML);
          visit(el.shadowRoot);
        }
        if (el instanceof HTMLInputElement) parts.push(el.value);
      }
    };
    visit(document);
    return parts.join("\n");
  });

/** Opens every lazily filled disclosure of a chart host and waits until each is filled. */
async function openAllDisclosures(page, host) {
  await page.evaluate((host) => {
    for (const d of document.querySelector(host).shadowRoot.querySelectorAll("details[data-fill]")) d.open = true;
  }, host);
  await page.waitForFunction(
    (host) => [...document.querySelector(host).shadowRoot.querySelectorAll("details[data-fill]")].every((d) => d.hasAttribute("data-filled")),
    host,
    { polling: POLL_MS },
  );
}

async function assertClean(page, problems, what, allowed = []) {
  assert.deepEqual(await page.evaluate(() => window.__csp), [], `${what}: Content-Security-Policy violations`);
  assert.deepEqual(problems.pageErrors, [], `${what}: uncaught page errors`);
  const left = problems.consoleErrors.filter((e) => !allowed.some((a) => e.includes(a)));
  assert.deepEqual(left, [], `${what}: console errors`);
}

/** A date `days` from today, as an <input type=date> value. */
function dateIn(days) {
  const d = new Date(Date.now() + days * 86_400_000);
  return `${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, "0")}-${String(d.getDate()).padStart(2, "0")}`;
}

/**
 * Shares the open record through the dialog: `audience` (the radio's label),
 * sections to uncheck (by key), label, passcode, expiry; previews, checks the
 * preview against `hidden` (texts the recipient must not see), creates the
 * link; resolves to the viewer URL shown, the preview's counts and the QR image.
 */
async function shareThroughDialog(page, { audience, uncheck = [], label, passcode, expiryDays, hidden }) {
  await page.getByRole("button", { name: "Share…" }).click();
  const dialog = page.getByRole("dialog", { name: "Share this record" });
  await dialog.waitFor({ state: "visible" });
  await dialog.getByRole("radio", { name: audience }).check();
  // The sections are those the audience may see, each checked.
  await page.waitForFunction(() => document.querySelectorAll("#share-sections input[name=include]").length > 0, null, { polling: POLL_MS });
  const sections = await page.$$eval("#share-sections input[name=include]", (boxes) => boxes.map((b) => ({ key: b.value, checked: b.checked })));
  assert.ok(sections.every((s) => s.checked), "every section is checked at first");
  for (const key of uncheck) {
    assert.ok(sections.some((s) => s.key === key), `the ${key} section is offered (${sections.map((s) => s.key)})`);
    await dialog.locator(`#share-sections input[value="${key}"]`).uncheck();
  }
  if (label) await dialog.getByLabel("Label (optional, shown to the recipient)").fill(label);
  if (passcode) await dialog.getByLabel("Passcode (optional)").fill(passcode);
  if (expiryDays) await dialog.getByLabel("Expires on (optional)").fill(dateIn(expiryDays));
  const token = dialog.getByLabel("Host token");
  assert.equal(await token.getAttribute("type"), "password", "the host token field hides what is typed");
  if ((await token.inputValue()) === "") await token.fill(links.host.token);

  // Preview: the recipient's chart, with counts per section.
  await dialog.getByRole("button", { name: "Preview" }).click();
  await page.waitForFunction(() => document.getElementById("share-preview-chart").shadowRoot?.querySelector(".patient-name"), null, { polling: POLL_MS });
  const counts = await page.$$eval("#share-preview-counts li", (items) => items.map((li) => ({ section: li.dataset.section, text: li.textContent })));
  assert.ok(counts.length > 0, "the preview counts the sections");
  for (const key of uncheck) assert.ok(!counts.some((c) => c.section === key), `the unchecked ${key} section is not in the preview`);
  const summary = await page.locator("#share-preview-summary").textContent();
  assert.match(summary, /items? are not shared with this person|item is not shared with this person/, `summary: ${summary}`);
  await openAllDisclosures(page, "#share-preview-chart");
  const previewHtml = await page.evaluate(() => document.getElementById("share-preview-chart").shadowRoot.innerHTML);
  for (const text of hidden) assert.ok(!previewHtml.includes(text), `the preview shows ${JSON.stringify(text)}`);

  await dialog.getByRole("button", { name: "Create link" }).click();
  await page.waitForFunction(() => !document.getElementById("share-result").hidden || !document.getElementById("share-message").hidden, null, { polling: POLL_MS });
  assert.equal(await page.locator("#share-message").isVisible(), false, `share failed: ${await page.locator("#share-message").textContent()}`);
  const viewerUrl = await page.locator("#share-url").inputValue();
  const qr = await page.locator("#share-qr").getAttribute("src");
  return { viewerUrl, qr, counts, dialog };
}

describe("demo page, sharing (dev_server + headless Chromium, two browser contexts)", { timeout: 4 * TEST_TIMEOUT }, () => {
  before(
    async () => {
      server = await startServer();
      links = server.links;
      assert.ok(links.host?.token && links.host.api && links.host.viewerUrl, "the server prints its host API, token and viewer URL");
      assert.equal(links.host.api, new URL("api/", links.base).href, "the host API is the server's /api/");
      browser = await launchBrowser();
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

  test("a record opened from a link, shared for a clinician with a passcode: withheld nowhere; My links; revoke", { timeout: TEST_TIMEOUT }, async (t) => {
    // The record the patient was given as a link (created with the backend's create-link).
    const file = join(server.dbDir, "marked.json");
    await writeFile(file, JSON.stringify(await markedBundle()));
    const { stdout } = await promisify(execFile)(SERVER_BIN, ["create-link", "--db", server.db, "--base", links.base.replace(/\/$/, ""), "--json", file]);
    const source = JSON.parse(stdout.trim().split("\n").at(-1));
    assert.ok(source.viewerUrl.includes("#shlink:/"));

    const sharer = await newPage(320);
    const recipient = await newPage(1280);
    await sharer.context.grantPermissions(["clipboard-read", "clipboard-write"], { origin: new URL(links.base).origin });
    try {
      const { page } = sharer;
      await page.goto(source.viewerUrl);
      assert.equal(await settled(page), "ready", await errorText(page));
      // Control: the patient sees the marked resource.
      await openAllDisclosures(page, "#chart");
      assert.ok((await wholePage(page)).includes(MARKER), "control: the patient's own chart shows the marked Condition");

      const label = "For Dr. Example";
      const { viewerUrl, qr, dialog } = await shareThroughDialog(page, {
        audience: "A clinician",
        label,
        passcode: PASSCODE,
        expiryDays: 7,
        hidden: [MARKER],
      });
      assert.ok(viewerUrl.startsWith(`${links.host.viewerUrl}#shlink:/`), `the viewer URL ${viewerUrl} is the backend's viewer page`);
      assert.match(qr ?? "", /^data:image\/svg\+xml;charset=utf-8,%3Csvg/i, "the QR code is shown as an SVG image");
      assert.ok((await page.locator("#share-qr").evaluate((img) => img.complete && img.naturalWidth > 0)), "the QR image loaded");
      await dialog.getByRole("button", { name: "Copy link" }).click();
      await page.waitForFunction(() => document.getElementById("share-copy-status").textContent === "Copied.", null, { polling: POLL_MS });
      assert.equal(await page.evaluate(() => navigator.clipboard.readText()), viewerUrl, "the Copy button copies the viewer URL");
      const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
      assert.ok(overflow <= 0, `at 320px the page scrolls sideways by ${overflow}px`);
      const dialogOverflow = await page.locator("#share-dialog").evaluate((d) => d.scrollWidth - d.clientWidth);
      assert.ok(dialogOverflow <= 0, `at 320px the dialog scrolls sideways by ${dialogOverflow}px`);

      // The link: P flag, label, expiry, the host's manifest URL.
      const payload = payloadOf(viewerUrl);
      assert.ok(payload.flag.includes("P"), `flag ${payload.flag}`);
      assert.equal(payload.label, label);
      assert.ok(payload.exp > Date.now() / 1000 + 6 * 86_400, "expires in about a week");
      assert.ok(payload.url.startsWith(new URL("shl/", links.base).href), "the manifest is on this host");
      assert.equal(Buffer.from(payload.key, "base64url").length, 32, "a 256-bit key");

      // What was uploaded: the plaintext has the record, not the marker.
      const jwes = await fetchFiles(payload, PASSCODE);
      let plaintext = "";
      for (const jwe of jwes) {
        const { header, text } = decryptJwe(jwe, payload.key);
        assert.equal(header.cty, "application/fhir+json");
        plaintext += text;
      }
      const bundle = JSON.parse(plaintext);
      assert.equal(bundle.resourceType, "Bundle");
      assert.ok(bundle.entry.some((e) => e.resource.resourceType === "Patient"), "the Patient is shared");
      assert.ok(bundle.entry.length > 10, "the rest of the record is shared");
      assert.ok(!plaintext.includes(MARKER), "the withheld marker is in the uploaded plaintext");
      assert.ok(!plaintext.includes("d1c3a0e4-5f06-4b7e-9a21-7c0f6a3b2e11"), "the withheld resource's id is in the uploaded plaintext");
      // The host's database: the ciphertext, never the marker.
      const db = await databaseBytes();
      assert.ok(db.includes(Buffer.from(jwes[0].split(".")[3].slice(0, 64))), "control: the uploaded ciphertext is in the database");
      assert.ok(!db.includes(Buffer.from(MARKER)), "the withheld marker is in the host's database");
      assert.ok(!db.includes(Buffer.from(PASSCODE)), "the passcode is in the host's database in clear");

      // The recipient, in another browser context: a wrong passcode, then the right one.
      const r = recipient.page;
      await r.goto(viewerUrl);
      assert.equal(await settled(r), "passcode");
      assert.equal(await r.locator("#link-label").textContent(), `“${label}”`);
      const input = r.getByRole("textbox", { name: "Passcode" });
      await input.fill("not-the-passcode");
      await input.press("Enter");
      await r.waitForFunction(() => !document.getElementById("passcode-message").hidden, null, { polling: POLL_MS });
      assert.match(await r.locator("#passcode-message").textContent(), /^That passcode is not right\./);
      await input.fill(PASSCODE);
      await r.getByRole("button", { name: "Open record" }).click();
      assert.equal(await settled(r), "ready", await errorText(r));
      assert.ok((await r.locator("#chart .patient-name").textContent()).includes("Balistreri"));
      await openAllDisclosures(r, "#chart");
      const seen = await wholePage(r);
      assert.ok(!seen.includes(MARKER), "the withheld marker is in the recipient's page");
      assert.ok(seen.includes("ppsdk-"), "control: the recipient's page has the chart");

      // A preview superseded before it resolves (the audience changed at once) is dropped, never shown.
      const chosen = await page.evaluate(() => document.querySelector("#share-form input[name=audience]:checked").value);
      await page.evaluate(() => {
        document.getElementById("share-preview-button").click();
        [...document.querySelectorAll("#share-form input[name=audience]")].find((r) => !r.checked).click();
      });
      await page.waitForFunction(() => document.querySelectorAll("#share-sections input[name=include]").length > 0, null, { polling: POLL_MS });
      await page.evaluate(() => new Promise((resolve) => setTimeout(resolve, 500)));
      assert.equal(await page.locator("#share-preview").isVisible(), false, "the superseded preview is not shown");
      assert.equal(await page.evaluate(() => document.getElementById("share-preview-chart").shadowRoot), null, "nor rendered");
      // The preview asked for last is.
      await page.evaluate((value) => document.querySelector(`#share-form input[name=audience][value="${value}"]`).click(), chosen);
      await page.waitForFunction(() => document.querySelectorAll("#share-sections input[name=include]").length > 0, null, { polling: POLL_MS });
      await dialog.getByRole("button", { name: "Preview" }).click();
      await page.waitForFunction(() => document.getElementById("share-preview-chart").shadowRoot?.querySelector(".patient-name"), null, { polling: POLL_MS });
      assert.equal(await page.locator("#share-preview").isVisible(), true);

      // Closing the dialog frees the preview (its chart host is replaced by an empty one).
      await dialog.getByRole("button", { name: "Close" }).click();
      // A dialog's close event comes in a task of its own after close(): wait for it.
      await page.waitForFunction(() => !document.getElementById("share-dialog")?.open, null, { timeout: STEP_TIMEOUT, polling: POLL_MS }).catch(() => {});
      await page.waitForFunction(() => document.getElementById("share-preview-chart").shadowRoot === null, null, { timeout: 5_000, polling: POLL_MS }).catch(() => {});
      assert.equal(await page.evaluate(() => document.getElementById("share-preview-chart").shadowRoot), null, "the preview is gone");
      assert.equal(await page.evaluate(() => document.activeElement?.id), "share-open", "the focus is back on the Share button");

      // My links: the link with its accesses, oldest first.
      await page.getByRole("button", { name: "My links" }).click();
      const mine = page.getByRole("dialog", { name: "My links" });
      await mine.waitFor({ state: "visible" });
      const item = mine.locator("li.link-item", { has: page.getByRole("heading", { name: label }) });
      await item.waitFor();
      assert.equal(await item.getAttribute("data-revoked"), "false");
      const outcomes = await item.locator("details.accesses li").evaluateAll((lis) => lis.map((li) => li.dataset.outcome));
      assert.deepEqual(outcomes, ["served", "wrongPasscode", "served"], "the check's fetch, then the recipient's wrong and right passcodes");
      await item.locator("summary").click();
      const lines = await item.locator("details.accesses li").allTextContents();
      assert.ok(lines[1].includes(RECIPIENT) && lines[1].includes("Wrong passcode"), lines[1]);
      assert.ok(lines[2].includes(RECIPIENT) && lines[2].includes("Opened"), lines[2]);
      t.diagnostic(`My links, the link's access trail: ${lines.map((line) => line.replace(/\s+/g, " ").trim()).join(" | ")}`);

      // Revoke: the recipient's reopening fails.
      await item.getByRole("button", { name: "Revoke" }).click();
      await page.waitForFunction((label) => [...document.querySelectorAll("#links-list li.link-item")].some((li) => li.querySelector("h3").textContent === label && li.dataset.revoked === "true"), label, { polling: POLL_MS });
      const revoked = mine.locator("li.link-item", { has: page.getByRole("heading", { name: label }) });
      assert.equal(await revoked.locator(".link-state").textContent(), "Revoked");
      assert.equal(await revoked.getByRole("button", { name: "Revoke" }).count(), 0);

      await r.reload();
      assert.equal(await settled(r), "passcode");
      await input.fill(PASSCODE);
      await input.press("Enter");
      await r.waitForFunction(() => document.body.dataset.state === "error", null, { polling: POLL_MS });
      assert.equal(await r.locator("#error-title").textContent(), "This link is no longer active", await errorText(r));
      assert.ok(!(await wholePage(r)).includes("Balistreri"), "nothing from the record after the revocation");

      await assertHostTokenOnlyToApi(sharer, links.host.token, "sharer");
      await assertClean(page, sharer.problems, "sharer");
      // The browser itself logs the host's 401 (wrong passcode) and 404 (revoked link).
      await assertClean(r, recipient.problems, "recipient", ["status of 401", "status of 404"]);
      assert.ok(!server.log().includes(PASSCODE) && !server.log().includes(links.host.token), "no passcode or token in the server's log");
    } finally {
      await sharer.context.close();
      await recipient.context.close();
    }
  });

  test("a record read from the FHIR API, shared for a caregiver without the immunizations: withheld nowhere", { timeout: TEST_TIMEOUT }, async () => {
    const patient = links.fhir.patients.find((p) => p.name === "Alex Rivera");
    assert.ok(patient, "the adolescent sample is a FHIR patient");
    const bundle = JSON.parse(await readFile(join(ROOT, "examples/data/alex-rivera.json"), "utf8"));
    // Labelled sensitive (PSY, STD, ...): a caregiver does not see them.
    const labelled = bundle.entry.map((e) => e.resource).filter((r) => (r.meta?.security ?? []).some((l) => ["PSY", "STD", "MH"].includes(l.code)));
    assert.ok(labelled.length >= 3, "the sample has sensitive resources");
    const hidden = ["Generalized anxiety disorder"];
    assert.ok(JSON.stringify(labelled).includes(hidden[0]));

    const sharer = await newPage(1280);
    const recipient = await newPage(1280);
    try {
      const { page } = sharer;
      await page.goto(patient.url);
      await page.waitForFunction(() => document.body.dataset.state === "fhir", null, { polling: POLL_MS });
      await page.getByLabel("Access token").fill(links.fhir.token);
      await page.locator("#fhir-form").getByRole("button", { name: "Open record" }).click();
      assert.equal(await settled(page), "ready", await errorText(page));
      assert.ok((await wholePage(page)).includes(hidden[0]), "control: the patient sees her whole record");

      const { viewerUrl } = await shareThroughDialog(page, { audience: "A caregiver", uncheck: ["immunizations"], hidden });
      const payload = payloadOf(viewerUrl);
      assert.ok(!(payload.flag ?? "").includes("P"), "no passcode, no P flag");
      const plaintext = (await fetchFiles(payload)).map((jwe) => decryptJwe(jwe, payload.key).text).join("\n");
      const shared = JSON.parse(plaintext);
      assert.ok(!plaintext.includes(hidden[0]), "a sensitive condition is in the uploaded plaintext");
      for (const r of labelled) assert.ok(!shared.entry.some((e) => e.resource.id === r.id), `${r.resourceType}/${r.id} is uploaded`);
      assert.ok(!shared.entry.some((e) => e.resource.resourceType === "Immunization"), "the unchecked immunizations are uploaded");
      assert.ok(shared.entry.some((e) => e.resource.resourceType === "AllergyIntolerance"), "control: the allergies are shared");
      const db = await databaseBytes();
      assert.ok(db.includes(Buffer.from((await fetchFiles(payload)).at(0).split(".")[3].slice(0, 64))), "control: the uploaded ciphertext is in the database");
      assert.ok(!db.includes(Buffer.from(hidden[0])), "a sensitive condition is in the host's database");

      const r = recipient.page;
      await r.goto(viewerUrl);
      assert.equal(await settled(r), "ready", await errorText(r));
      assert.ok((await r.locator("#chart .patient-name").textContent()).includes("Rivera"));
      await openAllDisclosures(r, "#chart");
      const seen = await wholePage(r);
      for (const text of hidden) assert.ok(!seen.includes(text), `the recipient's page shows ${JSON.stringify(text)}`);
      assert.equal(await r.locator("#chart section#ppsdk-immunizations").count(), 0, "no immunizations section for the recipient");
      assert.equal(await r.locator("#chart section#ppsdk-allergies").count(), 1, "control: the allergies section is there");

      await assertClean(page, sharer.problems, "sharer (FHIR)");
      await assertClean(r, recipient.problems, "recipient (FHIR)");
    } finally {
      await sharer.context.close();
      await recipient.context.close();
    }
  });

  test("the dialogs with the keyboard only, and axe-core (WCAG 2.2 A/AA) at 320 px, light and dark", { timeout: TEST_TIMEOUT }, async () => {
    const link = links.links.find((l) => l.kind === "plain");
    // axe-core is injected into the page, which the page's CSP would block: this context ignores the CSP
    // (the two tests above check the page under it).
    const context = await browser.newContext({ viewport: { width: 320, height: 800 }, colorScheme: "light", bypassCSP: true, reducedMotion: "reduce" });
    context.setDefaultTimeout(STEP_TIMEOUT);
    // What the keyboard and the dialogs did, for the message of a wait that fails.
    await context.addInitScript(() => {
      const trail = (window.__trail = []);
      const name = (el) => (el?.id ? `#${el.id}` : (el?.tagName?.toLowerCase() ?? String(el)));
      const note = (text) => trail.push(`${Math.round(performance.now())} ${text}`);
      addEventListener("keydown", (e) => note(`keydown ${e.key} on ${name(e.target)}`), true);
      addEventListener("focusin", (e) => note(`focus ${name(e.target)}`), true);
      addEventListener("click", (e) => note(`click ${name(e.target)}`), true);
      addEventListener("close", (e) => note(`close ${name(e.target)}`), true);
      addEventListener("cancel", (e) => note(`cancel ${name(e.target)}`), true);
      new MutationObserver((list) => {
        for (const m of list) if (m.target.tagName === "DIALOG") note(`${name(m.target)} ${m.target.open ? "opened" : "closed"}`);
      }).observe(document, { subtree: true, attributes: true, attributeFilter: ["open"] });
    });
    const page = await context.newPage();
    const problems = { pageErrors: [], consoleErrors: [] };
    page.on("pageerror", (err) => problems.pageErrors.push(String(err?.stack ?? err)));
    page.on("console", (msg) => {
      if (msg.type() === "error") problems.consoleErrors.push(msg.text());
    });
    const active = () => page.evaluate(() => document.activeElement?.id ?? "");
    async function tabTo(id, max = 60) {
      for (let i = 0; i < max; i++) {
        if ((await active()) === id) return;
        await page.keyboard.press("Tab");
      }
      assert.fail(`Tab never reached #${id} (at #${await active()})`);
    }
    async function axe(selector, what) {
      for (const scheme of ["light", "dark"]) {
        await page.emulateMedia({ colorScheme: scheme });
        const result = await page.evaluate(
          ({ selector, tags }) => window.axe.run({ include: [[selector]] }, { runOnly: { type: "tag", values: tags }, resultTypes: ["violations"] }),
          { selector, tags: AXE_TAGS },
        );
        const violations = result.violations.map((v) => `${v.id} (${v.impact}): ${v.nodes.map((n) => n.target.join(" ")).slice(0, 3).join(", ")}`);
        assert.deepEqual(violations, [], `${what}, ${scheme}: axe violations`);
      }
      await page.emulateMedia({ colorScheme: "light" });
    }
    try {
      await page.goto(link.viewerUrl);
      assert.equal(await settled(page), "ready", await errorText(page));
      await page.evaluate(await readFile(AXE_PATH, "utf8"));

      // Share…: reached with Tab, opened with Enter; the focus moves into the dialog.
      await tabTo("share-open");
      await page.keyboard.press("Enter");
      await page.getByRole("dialog", { name: "Share this record" }).waitFor({ state: "visible" });
      assert.equal(await active(), "", "the focus is on the audience's checked radio (no id)");
      assert.equal(await page.evaluate(() => document.activeElement?.value), "clinician");
      await page.keyboard.press("ArrowDown");
      assert.equal(await page.evaluate(() => document.querySelector("#share-form input[name=audience]:checked").value), "proxy:caregiver", "arrows choose the audience");
      // A wrong host token: the host's refusal is said in the dialog, and nothing is shown as shared.
      await tabTo("share-token");
      await page.keyboard.type(`wrong-${links.host.token}`);
      await tabTo("share-create");
      await page.keyboard.press("Enter");
      await page.waitForFunction(() => !document.getElementById("share-message").hidden, null, { polling: POLL_MS });
      assert.equal(await page.locator("#share-message").textContent(), "The host did not accept this token. Check it and try again.");
      assert.equal(await page.locator("#share-message").getAttribute("role"), "alert");
      assert.equal(await page.locator("#share-result").isVisible(), false);
      await page.locator("#share-token").fill("");
      await tabTo("share-token");
      await page.keyboard.type(links.host.token);
      await tabTo("share-preview-button");
      await page.keyboard.press("Enter");
      await page.waitForFunction(() => document.getElementById("share-preview-chart").shadowRoot?.querySelector(".patient-name"), null, { polling: POLL_MS });
      await tabTo("share-create");
      await page.keyboard.press("Enter");
      await page.waitForFunction(() => !document.getElementById("share-result").hidden, null, { polling: POLL_MS });
      assert.equal(await active(), "share-url", "the focus moves to the new link");
      assert.ok((await page.locator("#share-url").inputValue()).includes("#shlink:/"));
      const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
      assert.ok(overflow <= 0, `at 320px the page scrolls sideways by ${overflow}px`);
      await axe("#share-dialog", "the share dialog with its preview and link");
      await mkdir(SCREENSHOTS, { recursive: true });
      await page.screenshot({ path: `${SCREENSHOTS}share-dialog-link-320.png` });
      // Escape closes it and gives the focus back.
      await page.keyboard.press("Escape");
      await page.waitForFunction(() => !document.getElementById("share-dialog").open, null, { polling: POLL_MS });
      assert.equal(await active(), "share-open");

      // My links: the token is remembered for the page's life, so the list loads at once.
      await tabTo("links-open");
      await page.keyboard.press("Enter");
      await waitShowing(page, () => document.querySelectorAll("#links-list li.link-item").length > 0, "the My links list never showed a link");
      assert.equal(await page.locator("#links-list li.link-item").first().getAttribute("data-revoked"), "false", "the newest link first");
      await axe("#links-dialog", "My links");
      await page.screenshot({ path: `${SCREENSHOTS}share-my-links-320.png` });
      await page.keyboard.press("Escape");
      assert.equal(await active(), "links-open");
      // A dialog's close event comes a task after it closed: a keyboard user who has already moved on keeps the focus there.
      for (const [opener, other] of [
        ["share-open", "links-open"],
        ["links-open", "share-open"],
      ]) {
        const kept = await page.evaluate(
          async ({ opener, other }) => {
            document.getElementById(opener).click();
            const dialog = document.querySelector("dialog[open]");
            dialog.close();
            document.getElementById(other).focus();
            await new Promise((resolve) => setTimeout(resolve, 100));
            return { dialog: dialog.id, focus: document.activeElement?.id ?? "" };
          },
          { opener, other },
        );
        assert.deepEqual(kept, { dialog: opener.replace("-open", "-dialog"), focus: other }, `closing the dialog of #${opener} leaves the focus on #${other}`);
      }
      assert.deepEqual(problems.pageErrors, [], "uncaught page errors");
      // The browser itself logs the host's 401 for the wrong token.
      assert.equal(problems.consoleErrors.filter((e) => e.includes("status of 401")).length, 1, "the host refused the wrong token once");
      assert.deepEqual(problems.consoleErrors.filter((e) => !e.includes("status of 401")), [], "console errors");
    } finally {
      await context.close();
    }
  });
});
