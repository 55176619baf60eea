// The built npm package (`patient-portal-sdk`, installed from the packed
// tarball) used from Node the way a portal's code would use it: opening real
// SMART Health Links files, records sealed by an independent JWE library
// (`jose`) and by hand with node:crypto, every error code a caller can see,
// and `openUrl` against a real loopback HTTP server.

import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { createCipheriv, randomBytes } from "node:crypto";
import { readFile, readdir } from "node:fs/promises";
import { createServer } from "node:http";
import { deflateRawSync, gzipSync } from "node:zlib";

import { CompactEncrypt, base64url } from "jose";
import init, { PatientPortal } from "patient-portal-sdk";

const DATA = new URL("../../../shared/data/", import.meta.url);
const data = (path) => new URL(path, DATA);
const readText = async (path) => readFile(data(path), "utf8");
const readJson = async (path) => JSON.parse(await readText(path));

/** Resource counts by type, computed from a plaintext bundle. */
function countTypes(bundle) {
  const counts = {};
  for (const { resource } of bundle.entry) counts[resource.resourceType] = (counts[resource.resourceType] ?? 0) + 1;
  return counts;
}

/** Asserts that `fn` (sync or async) fails with a PatientPortalError of `code`; returns the error. */
async function expectError(fn, code, extra = {}) {
  let caught;
  try {
    await fn();
  } catch (err) {
    caught = err;
  }
  assert.ok(caught !== undefined, `expected a PatientPortalError with code ${code}, but nothing was thrown`);
  assert.ok(caught instanceof Error, `expected an Error instance, got ${Object.prototype.toString.call(caught)}`);
  assert.equal(caught.name, "PatientPortalError");
  assert.equal(caught.code, code, `error code (message: ${caught.message})`);
  assert.equal(typeof caught.message, "string");
  assert.ok(caught.message.length > 0, "the error has a message");
  for (const [k, v] of Object.entries(extra)) assert.equal(caught[k], v, `error.${k}`);
  return caught;
}

/** Seals `plaintext` as a compact JWE with jose. */
async function joseSeal(plaintext, key, header = { alg: "dir", enc: "A256GCM" }) {
  const bytes = typeof plaintext === "string" ? new TextEncoder().encode(plaintext) : plaintext;
  return new CompactEncrypt(bytes).setProtectedHeader(header).encrypt(key);
}

/**
 * Seals by hand (node:crypto AES-256-GCM, node:zlib raw DEFLATE): an
 * implementation independent of both jose and the SDK.
 */
function manualSeal(plaintext, key, header = { alg: "dir", enc: "A256GCM", zip: "DEF" }) {
  const b64u = (buf) => Buffer.from(buf).toString("base64url");
  const protectedHeader = b64u(JSON.stringify(header));
  const iv = randomBytes(12);
  const cipher = createCipheriv("aes-256-gcm", key, iv);
  cipher.setAAD(Buffer.from(protectedHeader, "ascii"));
  const body = header.zip === "DEF" ? deflateRawSync(Buffer.from(plaintext)) : Buffer.from(plaintext);
  const ciphertext = Buffer.concat([cipher.update(body), cipher.final()]);
  return [protectedHeader, "", b64u(iv), b64u(ciphertext), b64u(cipher.getAuthTag())].join(".");
}

/** Flips one bit of the middle character of segment `index`, keeping valid base64url. */
function tamperSegment(jwe, index) {
  const ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  const parts = jwe.split(".");
  const segment = parts[index];
  const middle = Math.floor(segment.length / 2);
  const flipped = ALPHABET[ALPHABET.indexOf(segment[middle]) ^ 1];
  parts[index] = segment.slice(0, middle) + flipped + segment.slice(middle + 1);
  assert.notEqual(parts[index], segment);
  return parts.join(".");
}

const newKey = () => new Uint8Array(randomBytes(32));

// The way a Node host initialises a `--target web` package: with the bytes.
const wasm = await readFile(new URL(import.meta.resolve("patient-portal-sdk/patient_portal_sdk_bg.wasm")));
await init({ module_or_path: wasm });

describe("HL7 SHL IG example (IPS_IG-bundle-01)", () => {
  let record;
  let bundle;
  let stages;

  before(async () => {
    const jwe = (await readText("shl/hl7-ig/IPS_IG-bundle-01-enc.txt")).trim();
    const { key } = (await readJson("shl/hl7-ig/IPS_IG-bundle-01-shl-details.json")).shlinkJsonPayload;
    bundle = await readJson("shl/hl7-ig/IPS_IG-bundle-01.json");
    stages = [];
    record = new PatientPortal().openJwe(jwe, key, { onProgress: (p) => stages.push(p.stage) });
  });
  after(() => record?.free());

  test("reports the decrypt, parse, consent and ready stages in order", () => {
    assert.deepEqual(stages, ["decrypt", "parse", "consent", "ready"]);
  });

  test("holds the 20 entries of the plaintext document", () => {
    assert.equal(bundle.entry.length, 20, "reference file");
    assert.equal(record.resourceCount, 20);
    assert.equal(record.bundleType, "document");
  });

  test("resources('Patient') is the plaintext's Patient, exactly", () => {
    const patients = bundle.entry.map((e) => e.resource).filter((r) => r.resourceType === "Patient");
    assert.equal(patients.length, 1);
    assert.deepStrictEqual(record.resources("Patient"), patients);
  });

  test("resources() is every entry's resource, in order", () => {
    assert.deepStrictEqual(record.resources(), bundle.entry.map((e) => e.resource));
  });

  test("resourceCounts() matches the plaintext", () => {
    assert.deepStrictEqual(record.resourceCounts(), countTypes(bundle));
  });

  test("resources() of an absent type is empty", () => {
    assert.deepStrictEqual(record.resources("Claim"), []);
  });

  test("patientName and toHtml name the patient", () => {
    const patient = bundle.entry.find((e) => e.resource.resourceType === "Patient").resource;
    const { family, given } = patient.name[0];
    assert.ok(record.patientName.includes(family), `patientName ${record.patientName} has ${family}`);
    assert.ok(record.patientName.includes(given[0]), `patientName ${record.patientName} has ${given[0]}`);
    const html = record.toHtml();
    assert.match(html, /<h2 class="patient-name">/);
    assert.ok(html.includes(family));
  });
});

describe("interoperability: bundles sealed by other implementations", () => {
  const portal = new PatientPortal();
  const files = [];

  before(async () => {
    const dir = data("fhir/synthea/");
    const names = (await readdir(dir)).filter((n) => n.endsWith(".json")).sort();
    for (const name of names) files.push({ name, text: await readFile(new URL(name, dir), "utf8") });
    assert.ok(files.length >= 2, "at least the 0.4 MB and 1 MB Synthea bundles");
  });
  after(() => portal.free());

  const check = (record, bundle) => {
    assert.equal(record.resourceCount, bundle.entry.length);
    assert.deepStrictEqual(record.resourceCounts(), countTypes(bundle));
    assert.equal(record.bundleType, bundle.type);
  };

  test("jose dir/A256GCM, key as base64url text", async () => {
    for (const { name, text } of files) {
      const key = newKey();
      const jwe = await joseSeal(text, key);
      const record = portal.openJwe(jwe, base64url.encode(key));
      try {
        check(record, JSON.parse(text));
      } catch (err) {
        err.message = `${name}: ${err.message}`;
        throw err;
      } finally {
        record.free();
      }
    }
  });

  test("jose dir/A256GCM with zip DEF, key as Uint8Array", async () => {
    for (const { name, text } of files) {
      const key = newKey();
      const jwe = await joseSeal(text, key, { alg: "dir", enc: "A256GCM", zip: "DEF", cty: "application/fhir+json" });
      assert.ok(jwe.length < text.length / 2, `${name}: compressed`);
      const record = portal.openJwe(jwe, key);
      try {
        check(record, JSON.parse(text));
      } finally {
        record.free();
      }
    }
  });

  test("hand-built node:crypto AES-256-GCM + raw DEFLATE, resources exactly as sealed", () => {
    const { text } = files[0];
    const bundle = JSON.parse(text);
    const key = newKey();
    const record = portal.openJwe(manualSeal(text, key), key);
    try {
      check(record, bundle);
      assert.deepStrictEqual(record.resources(), bundle.entry.map((e) => e.resource));
      const observations = bundle.entry.map((e) => e.resource).filter((r) => r.resourceType === "Observation");
      assert.deepStrictEqual(record.resources("Observation"), observations);
    } finally {
      record.free();
    }
  });
});

describe("errors", () => {
  const portal = new PatientPortal();
  let bundleText;
  let key;
  let jwe;

  before(async () => {
    const name = (await readdir(data("fhir/synthea/"))).find((n) => n.startsWith("Christian"));
    bundleText = await readText(`fhir/synthea/${name}`);
    key = newKey();
    jwe = await joseSeal(bundleText, key);
  });
  after(() => portal.free());

  test("the sealed record opens with the right key (control)", () => {
    portal.openJwe(jwe, key).free();
  });

  test("wrong key → decrypt, with no plaintext or key in the message", async () => {
    const wrong = newKey();
    const err = await expectError(() => portal.openJwe(jwe, wrong), "decrypt");
    const patient = JSON.parse(bundleText).entry[0].resource;
    assert.equal(patient.resourceType, "Patient");
    for (const leak of [patient.name[0].family, patient.name[0].given[0], patient.id, "resourceType", "{", base64url.encode(wrong), base64url.encode(key)]) {
      assert.ok(!err.message.includes(leak), `message ${JSON.stringify(err.message)} contains ${leak}`);
    }
    assert.ok(!("plaintext" in err) && !("data" in err), "no extra payload on the error");
  });

  test("wrong key given as base64url text → decrypt", async () => {
    await expectError(() => portal.openJwe(jwe, base64url.encode(newKey())), "decrypt");
  });

  test("CARIN file (a 3-part JWS, not a JWE) → malformedJwe", async () => {
    const jws = (await readText("shl/hl7-ig/CARIN_INS_CD-bundle-01-enc.txt")).trim();
    assert.equal(jws.split(".").length, 3, "reference file is a JWS");
    const { key: carinKey } = await readJson("shl/hl7-ig/CARIN_INS_CD-bundle-01-shl-details.json");
    await expectError(() => portal.openJwe(jws, carinKey), "malformedJwe");
  });

  test("a 16-byte key for an A256GCM record → badKey", async () => {
    const short = key.slice(0, 16);
    assert.equal(short.length, 16);
    await expectError(() => portal.openJwe(jwe, short), "badKey");
    await expectError(() => portal.openJwe(jwe, base64url.encode(short)), "badKey");
  });

  test("a key that is not 16 or 32 bytes, or not base64url → badKey", async () => {
    await expectError(() => portal.openJwe(jwe, key.slice(0, 31)), "badKey");
    await expectError(() => portal.openJwe(jwe, "not*base64url*at*all*not*base64url*at*all*"), "badKey");
  });

  test("alg A256KW → unsupported", async () => {
    const kw = await joseSeal('{"resourceType":"Patient"}', key, { alg: "A256KW", enc: "A256GCM" });
    assert.notEqual(kw.split(".")[1], "", "A256KW carries an encrypted key");
    await expectError(() => portal.openJwe(kw, key), "unsupported");
  });

  test("plaintext that is not JSON → format", async () => {
    const hello = await joseSeal("hello", key);
    await expectError(() => portal.openJwe(hello, key), "format");
  });

  test("JSON that is not FHIR → format", async () => {
    const notFhir = await joseSeal('{"hello":"world"}', key);
    await expectError(() => portal.openJwe(notFhir, key), "format");
  });

  test("tampered ciphertext (one base64url character in segment 4) → decrypt", async () => {
    const tampered = tamperSegment(jwe, 3);
    await expectError(() => portal.openJwe(tampered, key), "decrypt");
  });

  test("tampered authentication tag → decrypt", async () => {
    await expectError(() => portal.openJwe(tamperSegment(jwe, 4), key), "decrypt");
  });

  test("errors are thrown synchronously by openJwe", () => {
    assert.throws(() => portal.openJwe(jwe, newKey()), { name: "PatientPortalError", code: "decrypt" });
  });

  test("unusable arguments → badInput", async () => {
    await expectError(() => portal.openJwe(jwe, 42), "badInput");
    await expectError(() => portal.openJwe(jwe, key, { onProgress: "not a function" }), "badInput");
    await expectError(() => new PatientPortal({ maxRecordBytes: -1 }), "badInput");
    const record = portal.openJwe(jwe, key);
    try {
      await expectError(() => record.render({}), "badInput");
    } finally {
      record.free();
    }
  });
});

describe("openUrl against a loopback HTTP server", () => {
  let server;
  let base;
  let bundle;
  let key;
  let jwe;
  let bigJwe;
  const hits = new Map();
  const requests = [];
  const endless = [];
  const gzipBomb = gzipSync(Buffer.alloc(64 << 20, "A"));

  before(async () => {
    const name = (await readdir(data("fhir/synthea/"))).find((n) => n.startsWith("Christian"));
    const text = await readText(`fhir/synthea/${name}`);
    bundle = JSON.parse(text);
    key = newKey();
    jwe = await joseSeal(text, key, { alg: "dir", enc: "A256GCM", zip: "DEF" });
    bigJwe = await joseSeal(text, key); // uncompressed: about 0.5 MB
    server = createServer((req, res) => {
      const path = new URL(req.url, "http://x").pathname;
      const n = (hits.get(path) ?? 0) + 1;
      hits.set(path, n);
      requests.push({ method: req.method, path, accept: req.headers.accept });
      const send = (status, body, headers = {}) => {
        res.writeHead(status, { "content-type": "application/jose", ...headers });
        res.end(body);
      };
      switch (path) {
        case "/ok.jwe":
          return send(200, jwe);
        case "/flaky.jwe":
          return n === 1 ? send(503, "try later", { "content-type": "text/plain" }) : send(200, jwe);
        case "/big.jwe":
          return send(200, bigJwe);
        case "/big-chunked.jwe":
          // No Content-Length: the limit must hold on the body actually received.
          res.writeHead(200, { "content-type": "application/jose" });
          for (let i = 0; i < bigJwe.length; i += 65536) res.write(bigJwe.slice(i, i + 65536));
          return res.end();
        case "/cut.jwe":
          // The connection drops halfway through a declared body.
          res.writeHead(200, { "content-type": "application/jose", "content-length": bigJwe.length });
          res.write(bigJwe.slice(0, bigJwe.length >> 1));
          return setTimeout(() => res.socket.destroy(), 20);
        case "/endless.jwe": {
          // A chunked body that never ends: the client must stop reading.
          res.writeHead(200, { "content-type": "application/jose" });
          const chunk = "A".repeat(65536);
          let written = 0;
          const pump = () => {
            while (!res.destroyed && res.write(chunk)) written += chunk.length;
            if (!res.destroyed) res.once("drain", pump);
          };
          res.on("close", () => endless.push(written));
          return pump();
        }
        case "/bomb.jwe":
          // 64 MiB of "A" gzip-compressed to about 64 KiB: Content-Length is the compressed size.
          return send(200, gzipBomb, { "content-encoding": "gzip", "content-length": String(gzipBomb.length) });
        default:
          return send(404, "not found", { "content-type": "text/plain" });
      }
    });
    await new Promise((resolve, reject) => {
      server.once("error", reject);
      server.listen(0, "127.0.0.1", resolve);
    });
    base = `http://127.0.0.1:${server.address().port}`;
  });

  after(async () => {
    if (server) {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
  });

  test("200 → opens; onProgress sees fetch, decrypt, parse, consent, chart, ready in order", async () => {
    const stages = [];
    const portal = new PatientPortal();
    const record = await portal.openUrl(`${base}/ok.jwe`, base64url.encode(key), { onProgress: (p) => stages.push(p.stage) });
    try {
      assert.deepEqual(stages, ["fetch", "decrypt", "parse", "consent", "chart", "ready"]);
      assert.equal(record.resourceCount, bundle.entry.length);
      assert.deepStrictEqual(record.resourceCounts(), countTypes(bundle));
      assert.equal(hits.get("/ok.jwe"), 1);
      const last = requests.findLast((r) => r.path === "/ok.jwe");
      assert.equal(last.method, "GET");
      assert.match(last.accept ?? "", /application\/jose/);
    } finally {
      record.free();
      portal.free();
    }
  });

  test("WebCrypto and WebAssembly backends open the same record and refuse the same tampering", async () => {
    const fast = new PatientPortal();
    const portable = new PatientPortal({ crypto: "wasm" });
    assert.equal(fast.cryptoBackend, "webcrypto", "Node 20 has crypto.subtle");
    assert.equal(portable.cryptoBackend, "wasm");
    const a = await fast.openUrl(`${base}/ok.jwe`, base64url.encode(key));
    const b = await portable.openUrl(`${base}/big.jwe`, key);
    assert.deepStrictEqual(a.resources(), bundle.entry.map((e) => e.resource));
    assert.deepStrictEqual(b.resources(), a.resources());
    const wrong = newKey();
    for (const portal of [fast, portable]) {
      await expectError(() => portal.openUrl(`${base}/ok.jwe`, wrong), "decrypt");
    }
    assert.throws(() => new PatientPortal({ crypto: "fast" }), (e) => e.code === "badInput");
  });

  test("404 → httpStatus with status 404, not retried", async () => {
    const portal = new PatientPortal();
    await expectError(() => portal.openUrl(`${base}/missing.jwe`, key), "httpStatus", { status: 404 });
    assert.equal(hits.get("/missing.jwe"), 1);
    portal.free();
  });

  test("503 then 200 → retried once, then opens", async () => {
    const portal = new PatientPortal();
    const record = await portal.openUrl(`${base}/flaky.jwe`, key);
    try {
      assert.equal(hits.get("/flaky.jwe"), 2);
      assert.equal(record.resourceCount, bundle.entry.length);
    } finally {
      record.free();
      portal.free();
    }
  });

  test("connection refused → network", async () => {
    const closed = createServer();
    await new Promise((resolve) => closed.listen(0, "127.0.0.1", resolve));
    const port = closed.address().port;
    await new Promise((resolve) => closed.close(resolve));
    const portal = new PatientPortal({ retries: 1 });
    await expectError(() => portal.openUrl(`http://127.0.0.1:${port}/record.jwe`, key), "network");
    portal.free();
  });

  test("a connection that drops halfway through the body → network, saying so", async () => {
    const portal = new PatientPortal({ retries: 0 });
    const error = await expectError(() => portal.openUrl(`${base}/cut.jwe`, key), "network");
    assert.match(error.message, /ended before the whole answer arrived/);
    portal.free();
  });

  test("a body over maxRecordBytes → tooLarge (with and without Content-Length)", async () => {
    const portal = new PatientPortal({ maxRecordBytes: 1000 });
    await expectError(() => portal.openUrl(`${base}/big.jwe`, key), "tooLarge");
    await expectError(() => portal.openUrl(`${base}/big-chunked.jwe`, key), "tooLarge");
    portal.free();
    // Control: the same files open without the limit.
    const open = new PatientPortal();
    (await open.openUrl(`${base}/big-chunked.jwe`, key)).free();
    open.free();
  });

  test("a body is read with a running count and abandoned past maxRecordBytes, whatever the headers say", async () => {
    const portal = new PatientPortal({ maxRecordBytes: 1 << 20 });
    // An endless chunked body: refused, and the connection is dropped early.
    await expectError(() => portal.openUrl(`${base}/endless.jwe`, key), "tooLarge");
    for (let i = 0; i < 100 && endless.length === 0; i++) await new Promise((r) => setTimeout(r, 20));
    assert.equal(endless.length, 1, "the client closed the endless response");
    assert.ok(endless[0] < 64 << 20, `the server wrote ${endless[0]} bytes before the client stopped reading`);
    // A small compressed body that inflates past the limit.
    await expectError(() => portal.openUrl(`${base}/bomb.jwe`, key), "tooLarge");
    portal.free();
  });

  test("a decrypted record over maxRecordBytes → tooLarge", async () => {
    // The download (zip DEF) fits; the inflated plaintext does not.
    const limit = jwe.length + 1000;
    assert.ok(limit < JSON.stringify(bundle).length);
    const portal = new PatientPortal({ maxRecordBytes: limit });
    await expectError(() => portal.openUrl(`${base}/ok.jwe`, key), "tooLarge");
    portal.free();
  });

  test("the promise rejects (never throws synchronously) on a bad key", async () => {
    const portal = new PatientPortal();
    let promise;
    assert.doesNotThrow(() => {
      promise = portal.openUrl(`${base}/ok.jwe`, "short");
    });
    await expectError(() => promise, "badKey");
    portal.free();
  });
});

describe("free()", () => {
  test("a freed record and portal can no longer be used", async () => {
    const key = newKey();
    const portal = new PatientPortal();
    const record = portal.openJwe(await joseSeal('{"resourceType":"Patient","id":"p1"}', key), key);
    assert.equal(record.resourceCount, 1);
    assert.equal(record.bundleType, undefined);
    record.free();
    assert.throws(() => record.resourceCount);
    assert.throws(() => record.resources());
    assert.throws(() => record.resourceCounts());
    assert.throws(() => record.toHtml());
    portal.free();
    assert.throws(() => portal.openJwe("a.b.c.d.e", key));
  });
});
