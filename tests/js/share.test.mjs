// Sharing a record as a SMART Health Link (record.sharePreview, record.share):
// a record opened from a real link of the development backend is shared for
// a clinician, with a passcode, through a ShlHost implemented here over a
// loopback HTTP server that serves the SMART Health Links manifest protocol;
// the shared link then opens in a second browser context with this SDK and
// in kill-the-clipboard's SHLViewer. Also: the ciphertext is all the host
// gets, a tampered file or a wrong key fails, a failed upload revokes the
// link, hostile options are refused.
//
// Needs `cargo build --example dev_server` and a built pkg/ (`make pkg`).

import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { createDecipheriv, randomBytes } from "node:crypto";
import { readFile } from "node:fs/promises";
import { createServer } from "node:http";
import { inflateRawSync } from "node:zlib";

import { CompactEncrypt } from "jose";
import jsQR from "jsqr";
import { SHLViewer } from "kill-the-clipboard";

import { ROOT, STEP_TIMEOUT, assertNoPageProblems, launchBrowser, newHostPage, startServer } from "./harness.mjs";
import init, { HttpShlHost, PatientPortal, PatientPortalError, parseLink } from "patient-portal-sdk";

const wasm = await readFile(new URL(import.meta.resolve("patient-portal-sdk/patient_portal_sdk_bg.wasm")));
await init({ module_or_path: wasm });

// The sample behind the backend's "Alex Rivera (demo)" link.
const SAMPLE = JSON.parse(await readFile(new URL("examples/data/alex-rivera.json", `file://${ROOT}`), "utf8"));
const RESOURCES = SAMPLE.entry.map((e) => e.resource);
const hasLabel = (r, code) => (r.meta?.security ?? []).some((s) => s.code === code);
/** What the portal's policy reserves from clinicians here: PSY (mental health). */
const WITHHELD = RESOURCES.filter((r) => hasLabel(r, "PSY"));
/** Words that name a withheld resource: their code texts and displays. */
const MARKERS = [...new Set(WITHHELD.flatMap((r) => [r.code?.text, ...(r.code?.coding ?? []).map((c) => c.display)]).filter((t) => typeof t === "string" && t.length > 4))];
const POLICY = { clinicianSensitive: ["SUD", "ETHUD", "OPIOIDUD", "PSYTHPN", "PSY"] };
const PASSCODE = "violet-harbor-27";

const b64url = (bytes) => Buffer.from(bytes).toString("base64url");

/** The payload of a `shlink:/` link or viewer URL. */
function payload(link) {
  const text = link.slice(link.indexOf("shlink:/") + "shlink:/".length);
  return JSON.parse(Buffer.from(text, "base64url").toString("utf8"));
}

/** Opens a compact JWE (dir, A256GCM, zip DEF) with node:crypto and zlib: an implementation independent of the SDK's. */
function openJwe(jwe, key) {
  const [protectedHeader, encryptedKey, iv, ciphertext, tag] = jwe.split(".");
  assert.equal(encryptedKey, "", "dir: no encrypted key");
  const header = JSON.parse(Buffer.from(protectedHeader, "base64url").toString("utf8"));
  const decipher = createDecipheriv("aes-256-gcm", Buffer.from(key, "base64url"), Buffer.from(iv, "base64url"));
  decipher.setAAD(Buffer.from(protectedHeader, "ascii"));
  decipher.setAuthTag(Buffer.from(tag, "base64url"));
  const compressed = Buffer.concat([decipher.update(Buffer.from(ciphertext, "base64url")), decipher.final()]);
  return { header, plaintext: header.zip === "DEF" ? inflateRawSync(compressed) : compressed };
}

/**
 * A link host for the tests: a ShlHost (createLink, addFile, revoke, list,
 * accesses) whose links a loopback HTTP server serves by the SMART Health
 * Links manifest protocol (POST /shl/<id> → manifest, GET /file/<id>/<n>),
 * with passcodes and CORS, as a real host would.
 */
async function startLinkHost() {
  const links = new Map();
  const calls = [];
  const state = { failAddFile: false };
  const server = createServer(async (req, res) => {
    res.setHeader("Access-Control-Allow-Origin", "*");
    res.setHeader("Access-Control-Allow-Headers", "Content-Type");
    res.setHeader("Access-Control-Allow-Methods", "GET, POST, OPTIONS");
    if (req.method === "OPTIONS") return res.writeHead(204).end();
    const chunks = [];
    for await (const c of req) chunks.push(c);
    const url = new URL(req.url, "http://127.0.0.1");
    const send = (status, body) => res.writeHead(status, { "Content-Type": "application/json" }).end(JSON.stringify(body));
    const manifest = url.pathname.match(/^\/shl\/([\w-]+)$/);
    if (manifest && req.method === "POST") {
      const link = links.get(manifest[1]);
      let body;
      try {
        body = JSON.parse(Buffer.concat(chunks).toString("utf8"));
      } catch {
        return send(400, { error: "badRequest" });
      }
      if (!link || link.revoked || typeof body.recipient !== "string") return send(404, { error: "notFound" });
      link.accesses.push({ recipient: body.recipient, at: new Date().toISOString(), outcome: "pending" });
      const access = link.accesses.at(-1);
      if (link.passcode !== undefined && body.passcode !== link.passcode) {
        link.attemptsLeft--;
        access.outcome = body.passcode === undefined ? "noPasscode" : "wrongPasscode";
        return send(401, { remainingAttempts: link.attemptsLeft });
      }
      access.outcome = "served";
      const origin = `http://127.0.0.1:${server.address().port}`;
      return send(200, { files: link.files.map((f, n) => ({ contentType: f.contentType, location: `${origin}/file/${manifest[1]}/${n}` })) });
    }
    const file = url.pathname.match(/^\/file\/([\w-]+)\/(\d+)$/);
    if (file && req.method === "GET") {
      const link = links.get(file[1]);
      const f = link && !link.revoked ? link.files[Number(file[2])] : undefined;
      if (!f) return send(404, { error: "notFound" });
      return res.writeHead(200, { "Content-Type": "application/jose" }).end(f.jwe);
    }
    send(404, { error: "notFound" });
  });
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  const origin = `http://127.0.0.1:${server.address().port}`;
  const host = {
    async createLink(request) {
      calls.push(["createLink", structuredClone(request)]);
      const id = randomBytes(16).toString("hex");
      links.set(id, { ...request, files: [], revoked: false, attemptsLeft: 5, accesses: [] });
      return { id, url: `${origin}/shl/${id}`, viewerUrl: "http://viewer.invalid/open" };
    },
    async addFile(id, file) {
      calls.push(["addFile", id, { contentType: file.contentType, jweLength: file.jwe.length }]);
      if (state.failAddFile) throw Object.assign(new Error("storage full"), { status: 507 });
      links.get(id).files.push(file);
    },
    async revoke(id) {
      calls.push(["revoke", id]);
      links.get(id).revoked = true;
    },
    async list() {
      return [...links].map(([id, l]) => ({ id, url: `${origin}/shl/${id}`, label: l.label, flag: l.flag, expiresAt: l.expiresAt ?? null, createdAt: 0, revoked: l.revoked, files: l.files.length, attemptsLeft: l.attemptsLeft, accesses: l.accesses.length }));
    },
    async accesses(id) {
      return links.get(id).accesses;
    },
  };
  return { host, links, calls, state, origin, stop: () => new Promise((resolve) => (server.close(resolve), server.closeAllConnections())) };
}

/** Binds a ShlHost living in Node into a browser context as `window.__linkHost`. */
async function bindHost(context, host) {
  for (const name of ["createLink", "addFile", "revoke", "list", "accesses"]) {
    await context.exposeFunction(`__linkHost_${name}`, (...args) => host[name](...args));
  }
  await context.addInitScript(() => {
    window.__linkHost = Object.fromEntries(["createLink", "addFile", "revoke", "list", "accesses"].map((n) => [n, (...args) => window[`__linkHost_${n}`](...args)]));
  });
}

/** The chart's table of contents in `host`'s shadow root, trends aside: [section, count]. */
async function tableOfContents(page, selector = "#chart") {
  return page.evaluate((selector) => {
    const root = document.querySelector(selector).shadowRoot;
    return [...root.querySelectorAll("nav.toc li a")]
      .map((a) => [a.getAttribute("href").replace("#ppsdk-", ""), Number(a.querySelector(".count").textContent.replace(/\D/g, ""))])
      .filter(([id]) => id !== "trends");
  }, selector);
}


/** The text of the QR code the SVG draws (its dark modules as `M x y h n v1 h-n z` runs), read by jsQR from a 4 px/module bitmap. */
function readQrSvg(svg) {
  const n = Number(/viewBox="0 0 (\d+) \1"/.exec(svg)[1]);
  const path = /fill="#000" d="([^"]*)"/.exec(svg)[1];
  const scale = 4;
  const width = n * scale;
  const pixels = new Uint8ClampedArray(width * width * 4).fill(255);
  for (const [, x, y, run] of path.matchAll(/M(\d+) (\d+)h(\d+)v1h-\3z/g)) {
    for (let px = Number(x) * scale; px < (Number(x) + Number(run)) * scale; px++) {
      for (let py = Number(y) * scale; py < (Number(y) + 1) * scale; py++) pixels.fill(0, (py * width + px) * 4, (py * width + px) * 4 + 3);
    }
  }
  return jsQR(pixels, width, width)?.data ?? null;
}

describe("sharing a record as a SMART Health Link", () => {
  let server;
  let browser;
  let linkHost;
  let source; // the backend's demo link of the sample
  let shared; // what share() resolved to
  let preview; // sharePreview's numbers
  let plaintext; // the shared Bundle, decrypted in Node from what the host stored
  let stages;

  before(async () => {
    assert.ok(MARKERS.length > 0 && WITHHELD.length > 0, "the sample has PSY-labelled resources with names");
    server = await startServer();
    browser = await launchBrowser();
    linkHost = await startLinkHost();
    source = server.links.links.find((l) => l.kind === "plain" && /Alex Rivera/.test(l.name));
    assert.ok(source, "the backend serves a demo link of the sample");
  });
  after(async () => {
    await browser?.close();
    await linkHost?.stop();
    await server?.stop();
  });

  test("share for a clinician with a passcode: only ciphertext reaches the host; the link, viewer URL and QR code", async (t) => {
    const { page, context, problems } = await newHostPage(browser, server, { setup: (context) => bindHost(context, linkHost.host) });
    const out = await page.evaluate(
      async ({ link, policy, passcode }) => {
        const { PatientPortal } = window.__ppsdk;
        const portal = new PatientPortal({ policy, locale: "en-US" });
        const record = await portal.openLink(link, { recipient: "the patient" });
        const audience = { role: "clinician", actor: "Practitioner/dr-test" };
        const p = await record.sharePreview({ audience, label: "For Dr. Test" });
        const previewToc = [];
        const previewHtml = p.record.toHtml();
        p.record.free();
        const stages = [];
        const expiresAt = Date.now() + 3_600_000;
        const shareStarted = performance.now();
        const shared = await record.share({ audience, label: "For Dr. Test", passcode, expiresAt, host: window.__linkHost, onProgress: (e) => stages.push(e.stage) });
        const shareMs = performance.now() - shareStarted;
        const own = JSON.stringify(record.resources());
        record.free();
        portal.free();
        return {
          shared: { ...shared, expiresAt: shared.expiresAt instanceof Date ? shared.expiresAt.getTime() : null },
          expiresAt,
          preview: { sections: p.sections, resourceCount: p.resourceCount, withheldCount: p.withheldCount, bytes: p.bytes, previewToc },
          previewHtml,
          own,
          stages,
          shareMs,
        };
      },
      { link: source.viewerUrl, policy: POLICY, passcode: PASSCODE },
    );
    ({ shared, preview, stages } = out);
    assertNoPageProblems(problems, "sharing");
    await context.close();

    // The sharer's own chart shows what the clinician will not see (so the checks below can fail).
    for (const marker of MARKERS) assert.ok(out.own.includes(marker), `the patient's record holds ${marker}`);
    assert.deepEqual(stages, ["bundle", "seal", "upload", "done"]);

    // What the host received: a request without key or content, then one JWE.
    const [create, add, ...rest] = linkHost.calls;
    assert.deepEqual(create, ["createLink", { label: "For Dr. Test", passcode: PASSCODE, expiresAt: Math.floor(out.expiresAt / 1000), flag: "P" }]);
    assert.equal(add[0], "addFile");
    assert.deepEqual(rest, []);
    const stored = linkHost.links.get(shared.id);
    assert.equal(stored.files.length, 1);
    assert.equal(stored.files[0].contentType, "application/fhir+json");
    const { jwe } = stored.files[0];
    assert.match(jwe, /^[\w-]+\.\.[\w-]{16}\.[\w-]+\.[\w-]{22}$/, "a compact dir JWE");

    // The link: the host's manifest URL, a fresh 256-bit key, exp, the P flag, the label, v 1.
    const p = payload(shared.link);
    assert.deepEqual(Object.keys(p).sort(), ["exp", "flag", "key", "label", "url", "v"]);
    assert.equal(p.url, `${linkHost.origin}/shl/${shared.id}`);
    assert.equal(Buffer.from(p.key, "base64url").length, 32);
    assert.equal(p.exp, Math.floor(out.expiresAt / 1000));
    assert.equal(p.flag, "P");
    assert.equal(p.label, "For Dr. Test");
    assert.equal(p.v, 1);
    assert.ok(!JSON.stringify(linkHost.calls).includes(p.key), "the host never saw the key");
    assert.equal(shared.viewerUrl, `http://viewer.invalid/open#${shared.link}`, "the host's viewer page, the link in the fragment");
    assert.equal(shared.expiresAt, out.expiresAt);
    const info = parseLink(shared.viewerUrl);
    assert.deepEqual([info.url, info.flags, info.label, info.passcodeRequired], [p.url, "P", "For Dr. Test", true]);
    assert.match(shared.qrSvg, /^<svg role="img" aria-label="SMART Health Link QR code" [^>]*viewBox="0 0 (\d+) \1"[\s\S]*<\/svg>$/);
    assert.ok(!shared.qrSvg.includes(p.key), "the QR code's SVG is drawn, not written out");
    assert.equal(readQrSvg(shared.qrSvg), shared.viewerUrl, "an independent QR reader (jsQR) reads the link from the drawn code");

    // The sealed file, opened in Node: the header the contract names, the Bundle without the withheld resources.
    const opened = openJwe(jwe, p.key);
    assert.deepEqual(opened.header, { alg: "dir", enc: "A256GCM", zip: "DEF", cty: "application/fhir+json" });
    plaintext = opened.plaintext;
    const text = plaintext.toString("utf8");
    for (const marker of MARKERS) assert.ok(!text.includes(marker), `the shared Bundle names ${marker}`);
    for (const r of WITHHELD) assert.ok(!text.includes(`"id":"${r.id}"`), `the shared Bundle holds ${r.resourceType}/${r.id}`);
    const bundle = JSON.parse(text);
    assert.equal(bundle.resourceType, "Bundle");
    assert.equal(bundle.type, "collection");
    assert.equal(bundle.entry.length, RESOURCES.length - WITHHELD.length);
    assert.ok(bundle.entry.some((e) => e.resource.resourceType === "Patient"));
    assert.equal(shared.resourceCount, bundle.entry.length);
    assert.deepEqual(shared.bytes, { plaintext: plaintext.length, ciphertext: jwe.length });
    t.diagnostic(
      `shared ${bundle.entry.length} of ${RESOURCES.length} resources: Bundle ${plaintext.length} B, JWE ${jwe.length} B, ` +
        `share() ${Math.round(out.shareMs)} ms (bundle, seal, createLink, addFile over loopback)`,
    );

    // The preview said so before anything left the page.
    assert.equal(preview.resourceCount, bundle.entry.length);
    assert.equal(preview.withheldCount, WITHHELD.length);
    assert.equal(preview.bytes, plaintext.length);
    for (const marker of MARKERS) assert.ok(!out.previewHtml.includes(marker), `the preview shows ${marker}`);
    assert.ok(preview.sections.length > 0 && preview.sections.every((s) => s.count > 0 && typeof s.title === "string"));
  });

  test("the shared link opens in a second browser context with the SDK: the clinician's chart, counted as previewed", async (t) => {
    assert.ok(shared, "the share test ran");
    // The link host is another loopback origin: the page is allowed to reach it (Local Network Access).
    const { page, problems } = await newHostPage(browser, server, { setup: (context) => context.grantPermissions(["local-network-access"]) });
    const wrong = await page.evaluate(async (link) => {
      const portal = new window.__ppsdk.PatientPortal();
      return portal.openLink(link, { recipient: "Dr. Test", passcode: "not-it" }).then(() => null, (e) => e.code);
    }, shared.viewerUrl);
    assert.equal(wrong, "passcodeWrong");
    const opened = await page.evaluate(
      async ({ link, passcode }) => {
        const portal = new window.__ppsdk.PatientPortal({ locale: "en-US" });
        const openStarted = performance.now();
        const record = await portal.openLink(link, { recipient: "Dr. Test", passcode });
        await record.render(document.querySelector("#chart"));
        const openMs = performance.now() - openStarted;
        window.__record = record;
        return { resources: record.resources(), label: record.source?.label, withheld: record.withheldCount, openMs };
      },
      { link: shared.viewerUrl, passcode: PASSCODE },
    );
    assert.deepEqual(opened.resources, JSON.parse(plaintext.toString("utf8")).entry.map((e) => e.resource));
    assert.equal(opened.label, "For Dr. Test");
    assert.equal(opened.withheld, 0);
    t.diagnostic(`the recipient opened and rendered the shared link in ${Math.round(opened.openMs)} ms`);
    const html = await page.evaluate(() => document.documentElement.outerHTML + document.querySelector("#chart").shadowRoot.innerHTML);
    for (const marker of MARKERS) assert.ok(!html.includes(marker), `the recipient's page shows ${marker}`);
    assert.deepEqual(await tableOfContents(page), preview.sections.map((s) => [s.section, s.count]), "sharePreview's counts are the recipient's chart's");
    // The wrong passcode's 401 is logged by the browser; nothing else may be.
    const expected = problems.consoleErrors.filter((m) => /status of 401/.test(m));
    assert.equal(expected.length, 1);
    problems.consoleErrors = problems.consoleErrors.filter((m) => !expected.includes(m));
    assertNoPageProblems(problems, "opening the shared link");
    await page.context().close();
    // The host saw both requests, the wrong passcode first.
    assert.deepEqual(linkHost.links.get(shared.id).accesses.map((a) => [a.recipient, a.outcome]), [["Dr. Test", "wrongPasscode"], ["Dr. Test", "served"]]);
  });

  test("kill-the-clipboard's SHLViewer opens the link: byte-equal to the Bundle the SDK shared", async () => {
    assert.ok(shared, "the share test ran");
    const resolved = await new SHLViewer({ shlinkURI: shared.link }).resolveSHL({ recipient: "kill-the-clipboard viewer", passcode: PASSCODE, embeddedLengthMax: 0 });
    assert.equal(resolved.fhirResources.length, 1);
    assert.equal(JSON.stringify(resolved.fhirResources[0]), plaintext.toString("utf8"));
  });

  test("a tampered file and a wrong key fail with decrypt; a revoked link is inactive", async () => {
    assert.ok(shared, "the share test ran");
    const p = payload(shared.link);
    const stored = linkHost.links.get(shared.id).files[0];
    const portal = new PatientPortal();
    try {
      // One character of the ciphertext changed.
      const parts = stored.jwe.split(".");
      const flip = parts[3][10] === "A" ? "B" : "A";
      parts[3] = parts[3].slice(0, 10) + flip + parts[3].slice(11);
      const { id } = await linkHost.host.createLink({ flag: "" });
      await linkHost.host.addFile(id, { contentType: "application/fhir+json", jwe: parts.join(".") });
      const tampered = `shlink:/${b64url(JSON.stringify({ url: `${linkHost.origin}/shl/${id}`, key: p.key, v: 1 }))}`;
      const e1 = await portal.openLink(tampered, { recipient: "r" }).catch((e) => e);
      assert.equal(e1.code, "decrypt", e1.message);
      // The right file, another key.
      const { id: id2 } = await linkHost.host.createLink({ flag: "" });
      await linkHost.host.addFile(id2, stored);
      const wrongKey = `shlink:/${b64url(JSON.stringify({ url: `${linkHost.origin}/shl/${id2}`, key: b64url(randomBytes(32)), v: 1 }))}`;
      const e2 = await portal.openLink(wrongKey, { recipient: "r" }).catch((e) => e);
      assert.equal(e2.code, "decrypt", e2.message);
      assert.ok(!e2.message.includes(p.key));
      // And the right key still opens it.
      const right = `shlink:/${b64url(JSON.stringify({ url: `${linkHost.origin}/shl/${id2}`, key: p.key, v: 1 }))}`;
      const record = await portal.openLink(right, { recipient: "r" });
      assert.equal(record.resourceCount, shared.resourceCount);
      record.free();
      await linkHost.host.revoke(id2);
      assert.equal((await portal.openLink(right, { recipient: "r" }).catch((e) => e)).code, "linkInactive");
    } finally {
      portal.free();
    }
  });
});

describe("share: failures and hostile options (Node entry)", () => {
  let linkHost;
  let portal;
  let record;
  before(async () => {
    linkHost = await startLinkHost();
    const key = randomBytes(32);
    const jwe = await new CompactEncrypt(Buffer.from(JSON.stringify(SAMPLE))).setProtectedHeader({ alg: "dir", enc: "A256GCM" }).encrypt(key);
    portal = new PatientPortal();
    record = portal.openJwe(jwe, key);
  });
  after(async () => {
    record?.free();
    portal?.free();
    await linkHost?.stop();
  });

  test("a failed upload revokes the half-made link and rejects with hostError, without secrets", async () => {
    linkHost.state.failAddFile = true;
    try {
      const err = await record.share({ audience: { role: "clinician" }, passcode: "pass-4321", host: linkHost.host }).then(
        () => null,
        (e) => e,
      );
      assert.ok(err instanceof PatientPortalError, `a PatientPortalError: ${err}`);
      assert.equal(err.code, "hostError");
      assert.equal(err.status, 507);
      assert.match(err.message, /addFile/);
      assert.ok(!err.message.includes("pass-4321"));
      assert.equal(err.cause?.message, "storage full", "the host's own error as the cause");
      const calls = linkHost.calls.map((c) => c[0]);
      assert.deepEqual(calls, ["createLink", "addFile", "revoke"]);
      const [, [, id]] = linkHost.calls;
      assert.equal(linkHost.links.get(id).revoked, true);
    } finally {
      linkHost.state.failAddFile = false;
    }
    // A host's own PatientPortalError passes through as it is.
    const refusing = { ...linkHost.host, createLink: async () => Promise.reject(new PatientPortalError("token refused", "unauthorized")) };
    assert.equal((await record.share({ audience: { role: "clinician" }, host: refusing }).catch((e) => e)).code, "unauthorized");
    // A host answering nonsense.
    const odd = { ...linkHost.host, createLink: async () => ({ id: 7 }) };
    assert.equal((await record.share({ audience: { role: "clinician" }, host: odd }).catch((e) => e)).code, "hostError");
  });

  test("crypto \"wasm\" seals with the portable backend: the file opens with node:crypto, the Bundle as previewed", async () => {
    const key = randomBytes(32);
    const jwe = await new CompactEncrypt(Buffer.from(JSON.stringify(SAMPLE))).setProtectedHeader({ alg: "dir", enc: "A256GCM" }).encrypt(key);
    const wasmPortal = new PatientPortal({ crypto: "wasm" });
    const own = wasmPortal.openJwe(jwe, key);
    try {
      const options = { audience: { role: "proxy", relationship: "caregiver" }, include: ["immunizations", "allergies"] };
      const preview = await own.sharePreview(options);
      const shared = await own.share({ ...options, host: linkHost.host });
      const { header, plaintext } = openJwe(linkHost.links.get(shared.id).files[0].jwe, payload(shared.link).key);
      assert.equal(header.zip, "DEF");
      const bundle = JSON.parse(plaintext.toString("utf8"));
      assert.deepEqual(bundle.entry.map((e) => e.resource), preview.record.resources());
      assert.equal(plaintext.length, preview.bytes);
      assert.equal(shared.viewerUrl, `http://viewer.invalid/open#${shared.link}`);
      preview.record.free();
      // Two shares of the same record: two keys, two links.
      const again = await own.share({ ...options, host: linkHost.host, viewerUrl: "https://portal.example/view?x=1#old" });
      assert.notEqual(payload(again.link).key, payload(shared.link).key);
      assert.notEqual(again.id, shared.id);
      assert.equal(again.viewerUrl, `https://portal.example/view?x=1#${again.link}`, "the portal's own viewer page wins");
    } finally {
      own.free();
      wasmPortal.free();
    }
  });

  test("an aborted share rejects with aborted; a link made meanwhile is revoked", async () => {
    const controller = new AbortController();
    controller.abort();
    const err = await record.share({ audience: { role: "clinician" }, host: linkHost.host, signal: controller.signal }).catch((e) => e);
    assert.equal(err.code, "aborted");
    // Aborted while the host is still creating the link: the share stops at once, the link is revoked when it exists.
    const slow = new AbortController();
    let made;
    const lagging = {
      ...linkHost.host,
      createLink: async (request) => {
        await new Promise((resolve) => setTimeout(resolve, 300));
        made = await linkHost.host.createLink(request);
        return made;
      },
    };
    const started = Date.now();
    const pending = record.share({ audience: { role: "clinician" }, host: lagging, signal: slow.signal });
    setTimeout(() => slow.abort(), 50);
    const e2 = await pending.catch((e) => e);
    assert.equal(e2.code, "aborted");
    assert.ok(Date.now() - started < 250, "the share did not wait for the host");
    await new Promise((resolve) => setTimeout(resolve, 400));
    assert.ok(made, "the host made the link after all");
    assert.equal(linkHost.links.get(made.id).revoked, true, "and the SDK revoked it");
    assert.equal(linkHost.links.get(made.id).files.length, 0, "without a file");
    // Aborted during the upload: revoked too.
    const during = new AbortController();
    let late;
    const uploading = {
      ...linkHost.host,
      addFile: (id, file) => {
        during.abort();
        late = new Promise((resolve) => setTimeout(resolve, 200)).then(() => linkHost.host.addFile(id, file));
        return late;
      },
    };
    const e3 = await record.share({ audience: { role: "clinician" }, host: uploading, signal: during.signal }).catch((e) => e);
    assert.equal(e3.code, "aborted");
    const [[createCall], [revokeCall, lastId]] = linkHost.calls.slice(-2);
    assert.deepEqual([createCall, revokeCall], ["createLink", "revoke"], "revoked without waiting for the upload");
    await late;
    assert.equal(linkHost.links.get(lastId).revoked, true);
  });

  test("a proxy audience and include narrow the preview; the Patient stays", async () => {
    const caregiver = await record.sharePreview({ audience: { role: "proxy", relationship: "caregiver" } });
    const kept = caregiver.record.resources();
    assert.ok(kept.every((r) => !hasLabel(r, "PSY") && !hasLabel(r, "STD")));
    assert.equal(caregiver.withheldCount, RESOURCES.filter((r) => hasLabel(r, "PSY") || hasLabel(r, "STD")).length);
    caregiver.record.free();
    const allergies = await record.sharePreview({ audience: { role: "clinician" }, include: ["allergies", "immunizations"] });
    assert.deepEqual([...new Set(allergies.record.resources().map((r) => r.resourceType))].sort(), ["AllergyIntolerance", "Immunization", "Patient"]);
    assert.deepEqual(allergies.sections.map((s) => s.section), ["allergies", "immunizations"]);
    assert.equal(allergies.resourceCount + allergies.withheldCount, RESOURCES.length);
    allergies.record.free();
  });

  test("sharePreview is cancelled by its signal: it rejects with aborted", async () => {
    const before = new AbortController();
    before.abort();
    assert.equal((await record.sharePreview({ audience: { role: "clinician" }, signal: before.signal }).catch((e) => e)).code, "aborted");
    // Aborted while it runs: it stops at its next turn of the event loop.
    const during = new AbortController();
    const pending = record.sharePreview({ audience: { role: "clinician" }, signal: during.signal });
    setTimeout(() => during.abort(), 0);
    const err = await pending.then((p) => (p.record.free(), null), (e) => e);
    assert.ok(err instanceof PatientPortalError && err.code === "aborted", `aborted while running: ${err?.code}`);
    // A signal that never aborts changes nothing.
    const kept = await record.sharePreview({ audience: { role: "clinician" }, signal: new AbortController().signal });
    assert.equal(kept.resourceCount + kept.withheldCount, RESOURCES.length);
    kept.record.free();
    assert.equal((await record.sharePreview({ audience: { role: "clinician" }, signal: {} }).catch((e) => e)).code, "badInput");
  });

  test("hostile option values are refused with badInput, before the host is called", async () => {
    const calls = linkHost.calls.length;
    const audience = { role: "clinician" };
    const cases = [
      undefined,
      {},
      { audience: null },
      { audience: "clinician" },
      { audience: { role: "admin" } },
      { audience: { role: "clinician", sudo: true } },
      { audience, include: ["secrets"] },
      { audience, include: "allergies" },
      { audience, include: [] },
      { audience, include: [{ toString: () => "allergies" }] },
      { audience, label: "x".repeat(81) },
      { audience, label: 42 },
      { audience, passcode: "" },
      { audience, passcode: 1234 },
      { audience, passcode: "p".repeat(257) },
      { audience, expiresAt: Date.now() - 1000 },
      { audience, expiresAt: new Date(Number.NaN) },
      { audience, expiresAt: "tomorrow" },
      { audience, expiresAt: Infinity },
      { audience, viewerUrl: "javascript:alert(1)" },
      { audience, viewerUrl: "https://viewer.example/a b" },
      { audience, hots: linkHost.host },
    ];
    for (const options of cases) {
      let pending;
      assert.doesNotThrow(() => (pending = record.sharePreview(options)), `sharePreview(${JSON.stringify(options)}) rejects rather than throws`);
      assert.ok(pending instanceof Promise);
      const refused = await pending.then((p) => (p.record.free(), null), (e) => e);
      assert.ok(refused instanceof PatientPortalError && refused.code === "badInput", `sharePreview(${JSON.stringify(options)}): ${refused?.code} ${refused?.message}`);
      const err = await record.share(options && { ...options, host: linkHost.host }).catch((e) => e);
      assert.ok(err instanceof PatientPortalError && err.code === "badInput", `share(${JSON.stringify(options)}): ${err?.code} ${err?.message}`);
    }
    assert.equal((await record.share({ audience, host: linkHost.host, onProgress: "yes" }).catch((e) => e)).code, "badInput");
    assert.equal((await record.share({ audience, host: linkHost.host, signal: {} }).catch((e) => e)).code, "badInput");
    for (const host of [undefined, null, {}, { createLink() {} }, "https://host.example"]) {
      const err = await record.share({ audience, host }).catch((e) => e);
      assert.equal(err?.code, "badInput", `host ${JSON.stringify(host)}`);
    }
    assert.equal(linkHost.calls.length, calls, "no host call for refused options");
  });
});

describe("HttpShlHost against the development backend's link API", () => {
  let server;
  let browser;
  before(async () => {
    server = await startServer();
    browser = await launchBrowser();
  });
  after(async () => {
    await browser?.close();
    await server?.stop();
  });

  test("a portal page shares for a caregiver through /api/; list, accesses and revoke", async () => {
    const api = server.links.host;
    assert.ok(api?.api && api?.token, "the start line names the link API and the demo account's token");
    const source = server.links.links.find((l) => l.kind === "plain" && /Alex Rivera/.test(l.name));
    // The test's host page counts as public to Chromium: reaching the loopback API needs Local Network Access.
    const { page, context, problems } = await newHostPage(browser, server, { setup: (context) => context.grantPermissions(["local-network-access"]) });
    const out = await page.evaluate(
      async ({ link, api, passcode }) => {
        const { PatientPortal, HttpShlHost } = window.__ppsdk;
        const portal = new PatientPortal();
        const record = await portal.openLink(link, { recipient: "the patient" });
        const host = new HttpShlHost({ baseUrl: api.api, token: api.token });
        const shared = await record.share({ audience: { role: "proxy", relationship: "caregiver" }, label: "For the caregiver", passcode, expiresAt: Date.now() + 3_600_000, host });
        const listed = (await host.list()).find((l) => l.id === shared.id);
        const refused = await new HttpShlHost({ baseUrl: api.api, token: "not-a-token" }).list().then(() => null, (e) => [e.code, e.status]);
        const missing = await host.addFile("no-such-link", { contentType: "application/fhir+json", jwe: "a..b.c.d" }).then(() => null, (e) => [e.code, e.status]);
        record.free();
        portal.free();
        return { shared: { ...shared, expiresAt: shared.expiresAt.getTime() }, listed, refused, missing };
      },
      { link: source.viewerUrl, api, passcode: PASSCODE },
    );
    assertNoPageProblems({ ...problems, consoleErrors: problems.consoleErrors.filter((m) => !/status of (401|404)/.test(m)) }, "sharing through /api/");
    await context.close();
    const { shared } = out;
    const p = payload(shared.link);
    assert.ok(p.url.startsWith(`${server.base}shl/`), p.url);
    assert.equal(shared.viewerUrl, `${api.viewerUrl}#${shared.link}`, "the backend's viewer page");
    assert.equal(p.flag, "P");
    assert.equal(p.exp, Math.floor(shared.expiresAt / 1000));
    assert.deepEqual(
      [out.listed.label, out.listed.flag, out.listed.files, out.listed.revoked, out.listed.accesses, out.listed.expiresAt],
      ["For the caregiver", "P", 1, false, 0, p.exp],
    );
    assert.deepEqual(out.refused, ["unauthorized", 401]);
    assert.deepEqual(out.missing, ["hostError", 404]);

    // The recipient: only what a caregiver may see.
    const portal = new PatientPortal();
    try {
      const record = await portal.openLink(shared.link, { recipient: "Caregiver", passcode: PASSCODE });
      const text = JSON.stringify(record.resources());
      assert.equal(record.resourceCount, shared.resourceCount);
      const sensitive = RESOURCES.filter((r) => hasLabel(r, "PSY") || hasLabel(r, "STD"));
      assert.equal(record.resourceCount, RESOURCES.length - sensitive.length);
      for (const r of sensitive) assert.ok(!text.includes(`"id":"${r.id}"`), `${r.resourceType}/${r.id} shared with a caregiver`);
      record.free();
      const host = new HttpShlHost({ baseUrl: api.api, token: api.token });
      const trail = await host.accesses(shared.id);
      assert.deepEqual(trail.map((a) => [a.recipient, a.outcome]), [["Caregiver", "served"]]);
      await host.revoke(shared.id);
      assert.equal((await portal.openLink(shared.link, { recipient: "Caregiver", passcode: PASSCODE }).catch((e) => e)).code, "linkInactive");
      assert.equal((await host.list()).find((l) => l.id === shared.id).revoked, true);
    } finally {
      portal.free();
    }
  });
});

describe("HttpShlHost", () => {
  test("its own arguments are checked; the token is sent as a bearer token and never in messages", async () => {
    assert.throws(() => new HttpShlHost({ token: "t" }), (e) => e.code === "badInput");
    assert.throws(() => new HttpShlHost({ baseUrl: "ftp://x.example/", token: "t" }), (e) => e.code === "badInput");
    assert.throws(() => new HttpShlHost({ baseUrl: "https://x.example/api/" }), (e) => e.code === "badInput");
    const seen = [];
    const token = "tok-" + randomBytes(8).toString("hex");
    const answers = [
      { status: 201, body: { id: "abc", url: "https://x.example/shl/abc", viewerUrl: "https://x.example/", flag: "P", createdAt: 1 } },
      { status: 201, body: { files: 1 } },
      { status: 204 },
      { status: 401, body: { error: "unauthorized", message: `bad token ${token}` } },
      { status: 429, body: { error: "rateLimited" }, headers: { "retry-after": "3" } },
    ];
    const fetch = async (url, init) => {
      seen.push({ url, ...init });
      const a = answers.shift();
      return new Response(a.body ? JSON.stringify(a.body) : null, { status: a.status, headers: a.headers });
    };
    const host = new HttpShlHost({ baseUrl: "https://x.example/api", token, fetch });
    const created = await host.createLink({ label: "L", passcode: "pw", expiresAt: 2_000_000_000, flag: "P" });
    assert.equal(created.id, "abc");
    await host.addFile("abc", { contentType: "application/fhir+json", jwe: "a..b.c.d" });
    await host.revoke("abc");
    const e401 = await host.list().catch((e) => e);
    assert.equal(e401.code, "unauthorized");
    const e429 = await host.accesses("abc").catch((e) => e);
    assert.deepEqual([e429.code, e429.status, e429.retryAfter, e429.hostCode], ["hostError", 429, 3, "rateLimited"]);
    for (const e of [e401, e429]) assert.ok(!e.message.includes(token) && !e.message.includes("abc"), e.message);
    assert.deepEqual(
      seen.map((s) => [s.method, s.url, s.headers.Authorization === `Bearer ${token}`, s.headers["Content-Type"] ?? null]),
      [
        ["POST", "https://x.example/api/links", true, "application/json"],
        ["POST", "https://x.example/api/links/abc/files?contentType=application%2Ffhir%2Bjson", true, "application/jose"],
        ["DELETE", "https://x.example/api/links/abc", true, null],
        ["GET", "https://x.example/api/links", true, null],
        ["GET", "https://x.example/api/links/abc/accesses", true, null],
      ],
    );
    assert.deepEqual(JSON.parse(seen[0].body), { label: "L", passcode: "pw", expiresAt: 2_000_000_000, flag: "P" });
    assert.equal(seen[1].body, "a..b.c.d");
    const unreachable = new HttpShlHost({ baseUrl: "http://127.0.0.1:9/api/", token, fetch: async () => Promise.reject(new TypeError("fetch failed")) });
    assert.equal((await unreachable.list().catch((e) => e)).code, "network");
  });
});

void STEP_TIMEOUT;
