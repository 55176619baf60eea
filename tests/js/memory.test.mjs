// Decrypted data does not outlive the record in WebAssembly memory.
//
// Real Synthea records with markers put in (the patient's family and given
// name, the medical record number, a diagnosis: random tokens unique to each
// case) are opened in headless Chromium with `openJwe` (the WebAssembly
// AES-GCM, with and without DEFLATE) and `openUrl` (WebCrypto, and the
// WebAssembly AES-GCM with `crypto: "wasm"`, which decrypts in the
// downloaded token's buffer and keeps the plaintext there), rendered, read
// with `toHtml()` and `resources()`, and freed. The whole linear memory of the
// SDK's WebAssembly instance (`memory`, from the exports `init()` returns) is
// scanned for each token and each half of it, as UTF-8 and as UTF-16LE:
// every token is found while the record is open (so the scan sees what it
// looks for), and none after `free()`. Failed opens (a tampered JWE, a
// record that decrypts but is not FHIR JSON, a Bundle whose last entry is not
// a FHIR resource) must leave none either. The chart in the host's DOM is the
// host's and is not looked at.
//
// Needs `cargo build --example dev_server` and a built pkg/ (`make pkg`).

import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { createCipheriv, randomBytes } from "node:crypto";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { deflateRawSync } from "node:zlib";

import { ROOT, launchBrowser, newHostPage, newKey, seal, startServer } from "./harness.mjs";

const SYNTHEA = join(ROOT, "../shared/data/fhir/synthea");
const SMALL = "Christian_Balistreri_59339691-0270-4c4a-a34d-338e3008b9c3.json";
const LARGE = "Zackary401_Nader710_ddd3b584-f0e6-4e6f-9700-0502ea9261c5.json";
const RECORDS_PATH = "/__tests__/records/";

/** 20 random letters and digits: no chance of occurring in memory by accident. */
function token() {
  const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
  return [...randomBytes(20)].map((b) => alphabet[b % alphabet.length]).join("");
}

/**
 * The Synthea bundle `file` with fresh markers: the patient's family and given
 * names, the MR identifier's value, and the first Condition's text and display.
 */
async function markedBundle(file) {
  const bundle = JSON.parse(await readFile(join(SYNTHEA, file), "utf8"));
  const markers = { family: token(), given: token(), mrn: token(), diagnosis: token() };
  const patient = bundle.entry.find((e) => e.resource.resourceType === "Patient").resource;
  patient.name[0].family = `Family${markers.family}`;
  patient.name[0].given = [`Given${markers.given}`];
  const mr = patient.identifier.find((i) => i.type?.coding?.some((c) => c.code === "MR"));
  assert.ok(mr, `${file}: the patient has a medical record number`);
  mr.value = `MRN-${markers.mrn}`;
  const condition = bundle.entry.find((e) => e.resource.resourceType === "Condition").resource;
  condition.code.text = `Diagnosis ${markers.diagnosis}`;
  condition.code.coding[0].display = `Diagnosis ${markers.diagnosis}`;
  return { bundle, markers };
}

/** Compact JWE sealed by hand (node:crypto AES-256-GCM, node:zlib raw DEFLATE), `zip: "DEF"`. */
function sealDeflated(text, key) {
  const header = Buffer.from(JSON.stringify({ alg: "dir", enc: "A256GCM", zip: "DEF", cty: "application/fhir+json" })).toString("base64url");
  const iv = randomBytes(12);
  const cipher = createCipheriv("aes-256-gcm", Buffer.from(key, "base64url"), iv);
  cipher.setAAD(Buffer.from(header, "ascii"));
  const ciphertext = Buffer.concat([cipher.update(deflateRawSync(Buffer.from(text))), cipher.final()]);
  return [header, "", iv.toString("base64url"), ciphertext.toString("base64url"), cipher.getAuthTag().toString("base64url")].join(".");
}

/** Flips one bit in the middle of the ciphertext segment, keeping valid base64url. */
function tamper(jwe) {
  const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  const parts = jwe.split(".");
  const middle = Math.floor(parts[3].length / 2);
  parts[3] = parts[3].slice(0, middle) + alphabet[alphabet.indexOf(parts[3][middle]) ^ 1] + parts[3].slice(middle + 1);
  return parts.join(".");
}

/** What the scan looks for: each marker token and each half of it (10 characters). */
const needles = (markers) => Object.values(markers).flatMap((t) => [t, t.slice(0, 10), t.slice(10)]);

/** Defined in the page: counts each needle in the SDK's linear memory, as UTF-8 and as UTF-16LE. */
function installScanner() {
  window.__scanWasm = async (needles) => {
    const { memory } = await window.__ppsdk.default();
    const bytes = new Uint8Array(memory.buffer);
    // One character per byte, so ASCII needles match their UTF-8 bytes at the same offsets.
    const text = new TextDecoder("latin1").decode(bytes);
    const count = (needle) => {
      let n = 0;
      for (let at = text.indexOf(needle); at !== -1; at = text.indexOf(needle, at + 1)) n++;
      return n;
    };
    const found = {};
    for (const needle of needles) {
      const utf8 = count(needle);
      const utf16 = count([...needle].map((c) => `${c}\0`).join(""));
      if (utf8 + utf16 > 0) found[needle] = { utf8, utf16 };
    }
    return { memoryBytes: bytes.length, found };
  };
}

/** Runs in the page: opens, renders, reads, scans, frees, scans again. */
async function openReadFree({ how, jwe, key, url, needles }) {
  const { PatientPortal } = window.__ppsdk;
  const portal = new PatientPortal(how === "openUrl-wasm" ? { crypto: "wasm" } : {});
  const record = how === "openJwe" ? portal.openJwe(jwe, key) : await portal.openUrl(url, key);
  await record.render(document.querySelector("#chart"));
  const html = record.toHtml();
  const conditions = record.resources("Condition");
  const patients = record.resources("Patient");
  const facts = { backend: how === "openJwe" ? "wasm" : portal.cryptoBackend, resources: record.resourceCount, html: html.length, conditions: conditions.length, patients: patients.length };
  const before = await window.__scanWasm(needles);
  record.free();
  portal.free();
  const after = await window.__scanWasm(needles);
  return { facts, before, after };
}

/** Runs in the page: an open that must fail; resolves to its error code and the scan after it. */
async function failedOpen({ how, jwe, key, url, needles }) {
  const { PatientPortal } = window.__ppsdk;
  const portal = new PatientPortal(how === "openUrl-wasm" ? { crypto: "wasm" } : {});
  let code = "none";
  try {
    const record = how === "openJwe" ? portal.openJwe(jwe, key) : await portal.openUrl(url, key);
    record.free();
  } catch (err) {
    code = err.code ?? String(err);
  }
  portal.free();
  return { code, after: await window.__scanWasm(needles) };
}

const total = (scan) => Object.values(scan.found).reduce((n, f) => n + f.utf8 + f.utf16, 0);

describe("WebAssembly memory after free and after a failed open", { timeout: 300_000 }, () => {
  let server;
  let browser;
  let host;
  /** Bodies the page fetches with openUrl, by path. */
  const served = new Map();

  before(async () => {
    server = await startServer();
    browser = await launchBrowser();
    host = await newHostPage(browser, server, {
      setup: (context) =>
        context.route(`${new URL(RECORDS_PATH, server.base).href}*`, (route) => {
          const body = served.get(new URL(route.request().url()).pathname);
          return body === undefined ? route.fulfill({ status: 404 }) : route.fulfill({ status: 200, contentType: "application/jose", body });
        }),
    });
    await host.page.evaluate(installScanner);
  });

  after(async () => {
    await browser?.close();
    await server?.stop();
  });

  /** Serves `jwe` at a fresh path for openUrl; returns its URL. */
  const serve = (jwe) => {
    const path = `${RECORDS_PATH}${token()}.jwe`;
    served.set(path, jwe);
    return new URL(path, server.base).href;
  };

  const opened = [
    { name: "openJwe (WebAssembly AES-GCM)", file: SMALL, how: "openJwe", sealWith: async (text, key) => (await seal(text, key)).jwe },
    { name: "openJwe with zip DEF", file: SMALL, how: "openJwe", sealWith: async (text, key) => sealDeflated(text, key) },
    { name: "openUrl (WebCrypto), the 9.1 MB record", file: LARGE, how: "openUrl", sealWith: async (text, key) => (await seal(text, key)).jwe },
    // The portable AES decrypts in the downloaded token's buffer and keeps the plaintext there.
    { name: "openUrl (crypto: wasm), the 9.1 MB record", file: LARGE, how: "openUrl-wasm", sealWith: async (text, key) => (await seal(text, key)).jwe },
  ];
  for (const c of opened) {
    test(`${c.name}: markers in memory while open, none after free()`, async () => {
      const { bundle, markers } = await markedBundle(c.file);
      const key = newKey();
      const jwe = await c.sealWith(JSON.stringify(bundle), key);
      const url = c.how === "openJwe" ? undefined : serve(jwe);
      const out = await host.page.evaluate(openReadFree, { how: c.how, jwe: c.how === "openJwe" ? jwe : undefined, key, url, needles: needles(markers) });
      console.log(`${c.name}: ${JSON.stringify(out.facts)}; memory ${(out.after.memoryBytes / 2 ** 20).toFixed(1)} MiB;`, `before free ${total(out.before)} hits, after free ${total(out.after)}`);
      assert.equal(out.facts.resources, bundle.entry.length);
      assert.equal(out.facts.patients, 1);
      if (c.how === "openUrl") assert.equal(out.facts.backend, "webcrypto", "openUrl decrypted with WebCrypto");
      if (c.how === "openUrl-wasm") assert.equal(out.facts.backend, "wasm", "crypto: wasm decrypted with the portable AES");
      for (const t of Object.values(markers)) assert.ok(out.before.found[t]?.utf8 > 0, `marker ${t} is found in memory while the record is open`);
      assert.deepEqual(out.after.found, {}, "no marker (or half of one) is left in WebAssembly memory after free()");
    });
  }

  const failures = [
    { name: "a tampered JWE", code: "decrypt", make: async (bundle, key) => tamper((await seal(JSON.stringify(bundle), key)).jwe) },
    { name: "a record that decrypts but is not JSON (cut short)", code: "format", make: async (bundle, key) => (await seal(JSON.stringify(bundle).slice(0, -200), key)).jwe },
    {
      name: "a Bundle whose last entry is not a FHIR resource",
      code: "format",
      make: async (bundle, key) => (await seal(JSON.stringify({ ...bundle, entry: [...bundle.entry, { resource: { id: "no-type" } }] }), key)).jwe,
    },
  ];
  for (const how of ["openJwe", "openUrl", "openUrl-wasm"]) {
    for (const f of failures) {
      test(`${how}, ${f.name}: fails with ${f.code}, no marker left`, async () => {
        const { bundle, markers } = await markedBundle(SMALL);
        const key = newKey();
        const jwe = await f.make(bundle, key);
        const out = await host.page.evaluate(failedOpen, { how, jwe: how === "openJwe" ? jwe : undefined, key, url: how === "openJwe" ? undefined : serve(jwe), needles: needles(markers) });
        console.log(`${how}, ${f.name}: ${out.code}; after ${total(out.after)} hits`);
        assert.equal(out.code, f.code);
        assert.deepEqual(out.after.found, {}, "no marker (or half of one) is left in WebAssembly memory after the failed open");
      });
    }
  }

  // WebCrypto decrypts a ciphertext over a megabyte a megabyte per call
  // (GHASH over each piece, then the keystream): sizes around the pieces
  // open whole, and a change in the last, partial piece or in the middle of
  // the 9.1 MB record fails with `decrypt` and leaves nothing behind.
  test("openUrl (WebCrypto) in megabyte pieces: whole at sizes around them, a changed piece refused", async () => {
    const { bundle, markers } = await markedBundle(SMALL);
    const text = JSON.stringify(bundle);
    for (const size of [2 ** 20 + 1, 2 ** 21, 2 ** 21 + 15, 3 * 2 ** 20 + 7]) {
      const padded = text + " ".repeat(size - Buffer.byteLength(text));
      const key = newKey();
      const { jwe } = await seal(padded, key);
      const out = await host.page.evaluate(openReadFree, { how: "openUrl", key, url: serve(jwe), needles: needles(markers) });
      assert.equal(out.facts.backend, "webcrypto");
      assert.equal(out.facts.resources, bundle.entry.length, `${size} bytes`);
      const parts = jwe.split(".");
      const at = parts[3].length - 2;
      parts[3] = parts[3].slice(0, at) + (parts[3][at] === "A" ? "B" : "A") + parts[3].slice(at + 1);
      const failed = await host.page.evaluate(failedOpen, { how: "openUrl", key, url: serve(parts.join(".")), needles: needles(markers) });
      assert.equal(failed.code, "decrypt", `${size} bytes, last piece changed`);
      assert.deepEqual(failed.after.found, {});
    }
    const large = await markedBundle(LARGE);
    const key = newKey();
    const jwe = tamper((await seal(JSON.stringify(large.bundle), key)).jwe);
    const failed = await host.page.evaluate(failedOpen, { how: "openUrl", key, url: serve(jwe), needles: needles(large.markers) });
    assert.equal(failed.code, "decrypt", "the 9.1 MB record changed in its middle");
    assert.deepEqual(failed.after.found, {}, "no marker left after the failed open");
  });

  test("no page errors", () => {
    assert.deepEqual(host.problems.pageErrors, []);
    assert.deepEqual(host.problems.consoleErrors, []);
  });
});
