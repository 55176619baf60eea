// SMART Health Links through the built npm package, from Node, as a portal
// uses it: links made and served by an independent implementation (npm
// `kill-the-clipboard`) open in the SDK; links made by our development
// backend resolve in kill-the-clipboard's viewer; and every protocol case
// against the development backend on loopback (passcode right, wrong and
// locked out; expired; revoked; tampered; 429; U flag; multi-file with a
// signed health card; embedded and location files).

import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { execFile, spawn } from "node:child_process";
import { generateKeyPairSync } from "node:crypto";
import { existsSync } from "node:fs";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { createServer } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { inflateRawSync } from "node:zlib";

import { calculateJwkThumbprint } from "jose";
import { SHCIssuer, SHL, SHLManifestBuilder, SHLViewer } from "kill-the-clipboard";
import init, { PatientPortal, parseLink } from "patient-portal-sdk";

const DATA = new URL("../../../shared/data/", import.meta.url);
const readJson = async (path) => JSON.parse(await readFile(new URL(path, DATA), "utf8"));
const SERVER = fileURLToPath(new URL("../../target/debug/examples/dev_server", import.meta.url));
const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const CHRISTIAN = "fhir/synthea/Christian_Balistreri_59339691-0270-4c4a-a34d-338e3008b9c3.json";

const wasm = await readFile(new URL(import.meta.resolve("patient-portal-sdk/patient_portal_sdk_bg.wasm")));
await init({ module_or_path: wasm });

async function expectError(promise, code, extra = {}) {
  let caught;
  try {
    await promise;
  } catch (err) {
    caught = err;
  }
  assert.ok(caught instanceof Error, `expected a PatientPortalError with code ${code}`);
  assert.equal(caught.name, "PatientPortalError");
  assert.equal(caught.code, code, `error code (message: ${caught.message})`);
  for (const [k, v] of Object.entries(extra)) assert.equal(caught[k], v, `error.${k}`);
  return caught;
}

/** Resource counts by type of a list of resources. */
function countTypes(resources) {
  const counts = {};
  for (const r of resources) counts[r.resourceType] = (counts[r.resourceType] ?? 0) + 1;
  return counts;
}

/** What the SDK's merge of several files should give: identical resources (same type, id, JSON) once. */
function merged(...lists) {
  const out = [];
  const seen = new Map();
  for (const r of lists.flat()) {
    const key = r.id === undefined ? undefined : `${r.resourceType}/${r.id}`;
    const text = JSON.stringify(r);
    if (key !== undefined && seen.get(key) === text) continue;
    if (key !== undefined && !seen.has(key)) seen.set(key, text);
    out.push(r);
  }
  return out;
}

function listen(handler) {
  const server = createServer((req, res) => {
    handler(req, res).catch((err) => {
      res.writeHead(500).end(String(err));
    });
  });
  return new Promise((resolve) => server.listen(0, "127.0.0.1", () => resolve(server)));
}

async function body(req) {
  const chunks = [];
  for await (const chunk of req) chunks.push(chunk);
  return Buffer.concat(chunks).toString("utf8");
}

describe("a link made and served by kill-the-clipboard opens in the SDK", () => {
  let http;
  let base;
  let shl;
  let fhirBundle;
  let cardBundle;
  let issuerJwks;
  let attemptsLeft = 5;
  const PASSCODE = "interop-7";
  const ISSUER = "https://issuer.kill-the-clipboard.example";
  const files = new Map();
  const requests = [];

  before(async () => {
    const christian = await readJson(CHRISTIAN);
    const isImmunization = (e) => e.resource.resourceType === "Immunization";
    const patientEntry = christian.entry.find((e) => e.resource.resourceType === "Patient");
    fhirBundle = { ...christian, entry: christian.entry.filter((e) => !isImmunization(e)) };
    // The card: the patient and their immunizations, issued (ES256) by kill-the-clipboard.
    const { privateKey, publicKey } = generateKeyPairSync("ec", { namedCurve: "P-256" });
    const publicJwk = publicKey.export({ format: "jwk" });
    const issuer = new SHCIssuer({ issuer: ISSUER, privateKey: privateKey.export({ format: "jwk" }), publicKey: publicJwk, enableQROptimization: false });
    const card = await issuer.issue({ resourceType: "Bundle", type: "collection", entry: [patientEntry, ...christian.entry.filter(isImmunization)] });
    // The bundle exactly as signed, read from the JWS payload (raw DEFLATE).
    const payload = JSON.parse(inflateRawSync(Buffer.from(card.asJWS().split(".")[1], "base64url")).toString("utf8"));
    cardBundle = payload.vc.credentialSubject.fhirBundle;
    issuerJwks = { keys: [{ ...publicJwk, kid: await calculateJwkThumbprint(publicJwk), use: "sig", alg: "ES256" }] };

    http = await listen(async (req, res) => {
      requests.push(`${req.method} ${req.url}`);
      if (req.method === "POST" && new URL(req.url, base).href === shl.url) {
        const request = JSON.parse(await body(req));
        if (attemptsLeft <= 0) return void res.writeHead(404).end();
        if (request.passcode !== PASSCODE) {
          attemptsLeft -= 1;
          res.writeHead(401, { "content-type": "application/json" });
          return void res.end(JSON.stringify({ remainingAttempts: attemptsLeft }));
        }
        const manifest = await builder().buildManifest({ embeddedLengthMax: request.embeddedLengthMax });
        res.writeHead(200, { "content-type": "application/json" });
        return void res.end(JSON.stringify(manifest));
      }
      const name = req.url.startsWith("/files/") ? req.url.slice("/files/".length) : undefined;
      if (req.method === "GET" && files.has(name)) {
        res.writeHead(200, { "content-type": "application/jose" });
        return void res.end(files.get(name));
      }
      res.writeHead(404).end();
    });
    base = `http://127.0.0.1:${http.address().port}`;
    shl = SHL.generate({ baseManifestURL: `${base}/manifests/`, manifestPath: "/manifest.json", label: "Interop: kill-the-clipboard", flag: "P" });
    const built = builder();
    await built.addFHIRResource({ content: fhirBundle });
    await built.addHealthCard({ shc: card });
    state = built.toDBAttrs();
  });
  after(() => http?.close());

  let state;
  function builder() {
    const storage = {
      uploadFile: async (content) => {
        const name = `f${files.size + 1}`;
        files.set(name, content);
        return name;
      },
      getFileURL: async (path) => `${base}/files/${path}`,
      loadFile: async (path) => files.get(path),
    };
    return state ? SHLManifestBuilder.fromDBAttrs({ shl: shl.payload, attrs: state, ...storage }) : new SHLManifestBuilder({ shl, ...storage });
  }

  test("parseLink reads its payload; a wrong passcode reports the attempts left", async () => {
    const viewerUrl = `https://viewer.example/#${shl.toURI()}`;
    const info = parseLink(viewerUrl);
    assert.equal(info.url, shl.url);
    assert.equal(info.label, "Interop: kill-the-clipboard");
    assert.equal(info.passcodeRequired, true);
    assert.equal(info.expired, false);
    assert.equal(info.key, undefined, "the key is not exposed");
    const portal = new PatientPortal();
    await expectError(portal.openLink(viewerUrl, { recipient: "SDK test" }), "passcodeRequired");
    const err = await expectError(portal.openLink(viewerUrl, { recipient: "SDK test", passcode: "nope" }), "passcodeWrong", { remainingAttempts: 4 });
    assert.ok(!err.message.includes("nope"), "the passcode is not in the message");
  });

  test("the right passcode opens both files as one record; the card verifies with the issuer's keys", async () => {
    const portal = new PatientPortal();
    const record = await portal.openLink(shl.toURI(), { recipient: "SDK test", passcode: PASSCODE, issuerKeys: { [ISSUER]: issuerJwks } });
    const expected = merged(fhirBundle.entry.map((e) => e.resource), cardBundle.entry.map((e) => e.resource));
    assert.deepEqual(record.resources(), expected, "resource for resource, the card's after the FHIR file's");
    assert.deepEqual(record.resourceCounts(), countTypes(expected));
    assert.equal(record.resourceCounts().Immunization, cardBundle.entry.length - 1);
    const source = record.source;
    assert.equal(source.label, "Interop: kill-the-clipboard");
    assert.deepEqual(source.files.map((f) => f.contentType).sort(), ["application/fhir+json", "application/smart-health-card"]);
    assert.equal(source.cards.length, 1);
    assert.equal(source.cards[0].issuer, ISSUER);
    assert.equal(source.cards[0].verification, "verified");
    const html = record.toHtml();
    assert.ok(html.includes(`verified issuer: ${ISSUER}`));
    assert.ok(html.includes("Interop: kill-the-clipboard"));
  });

  test("without the issuer's keys the card is unverified; with other keys it is invalid", async () => {
    const portal = new PatientPortal();
    const unverified = await portal.openLink(shl.toURI(), { recipient: "SDK test", passcode: PASSCODE });
    assert.deepEqual(unverified.source.cards.map((c) => [c.verification, c.reason]), [["unverified", "noKeys"]]);
    assert.ok(unverified.toHtml().includes("SMART Health Card: unverified"));
    const other = generateKeyPairSync("ec", { namedCurve: "P-256" }).publicKey.export({ format: "jwk" });
    const otherJwks = { keys: [{ ...issuerJwks.keys[0], x: other.x, y: other.y }] };
    const invalid = await portal.openLink(shl.toURI(), { recipient: "SDK test", passcode: PASSCODE, issuerKeys: { [ISSUER]: otherJwks } });
    assert.equal(invalid.source.cards[0].verification, "invalid");
  });

  test("embeddedLengthMax chooses embedded or location delivery", async () => {
    const portal = new PatientPortal();
    const located = await portal.openLink(shl.toURI(), { recipient: "SDK test", passcode: PASSCODE, embeddedLengthMax: 0 });
    assert.deepEqual(located.source.files.map((f) => f.delivery), ["location", "location"]);
    const embedded = await portal.openLink(shl.toURI(), { recipient: "SDK test", passcode: PASSCODE, embeddedLengthMax: 50_000_000 });
    assert.deepEqual(embedded.source.files.map((f) => f.delivery), ["embedded", "embedded"]);
    assert.equal(embedded.resourceCount, located.resourceCount);
  });

  test("bad links and options are refused before any request", async () => {
    const portal = new PatientPortal();
    const before = requests.length;
    await expectError(portal.openLink("https://viewer.example/#not-a-link", { recipient: "x" }), "badLink");
    await expectError(portal.openLink(shl.toURI(), {}), "badInput");
    const payload = (p) => `shlink:/${Buffer.from(JSON.stringify(p)).toString("base64url")}`;
    const key = Buffer.alloc(32, 1).toString("base64url");
    await expectError(portal.openLink(payload({ url: shl.url, key, exp: 1000 }), { recipient: "x" }), "expired");
    await expectError(portal.openLink(payload({ url: shl.url, key, v: 2 }), { recipient: "x" }), "unsupported");
    await expectError(portal.openLink(payload({ url: shl.url, key: "short" }), { recipient: "x" }), "badLink");
    await expectError(portal.openLink(payload({ url: shl.url, key, flag: "PU" }), { recipient: "x" }), "badLink");
    assert.throws(() => parseLink("shlink:/!!"), (e) => e.code === "badLink");
    assert.equal(requests.length, before, "no request was made");
  });
});

// ---------------------------------------------------------------------------
// The development backend as a link host.

function run(args) {
  return promisify(execFile)(SERVER, args, { cwd: ROOT }).then(({ stdout }) => stdout);
}

function startBackend(args) {
  if (!existsSync(SERVER)) throw new Error(`${SERVER} is missing: run \`cargo build --example dev_server\` first`);
  const child = spawn(SERVER, ["--port", "0", "--json", "--root", ROOT, ...args], { stdio: ["ignore", "pipe", "pipe"] });
  let log = "";
  child.stderr.on("data", (chunk) => {
    log = (log + chunk).slice(-50_000);
  });
  const demo = new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no DEMO_LINKS line\n${log}`)), 60_000);
    child.once("exit", (code) => reject(new Error(`dev_server exited (${code})\n${log}`)));
    createInterface({ input: child.stdout }).on("line", (line) => {
      if (!line.startsWith("DEMO_LINKS ")) return;
      clearTimeout(timer);
      resolve(JSON.parse(line.slice("DEMO_LINKS ".length)));
    });
  });
  return { child, demo, log: () => log };
}

async function stopBackend(backend) {
  if (!backend || backend.child.exitCode !== null) return;
  const exited = new Promise((resolve) => backend.child.once("exit", resolve));
  backend.child.kill("SIGTERM");
  await exited;
}

describe("the development backend hosts links", () => {
  let dir;
  let backend;
  let demo;
  let db;
  const link = (kind, name) => {
    const found = demo.links.find((l) => l.kind === kind && (name === undefined || l.name === name));
    assert.ok(found, `a demo link of kind ${kind}`);
    return found;
  };
  const samples = {
    "Christian Balistreri": new URL("../../examples/data/christian-balistreri.json", import.meta.url),
    "Dusty Stracke": new URL("../../examples/data/dusty-stracke.json", import.meta.url),
  };
  const sample = async (name) => JSON.parse(await readFile(samples[name], "utf8"));

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "ppsdk-shl-"));
    db = join(dir, "links.sqlite3");
    backend = startBackend(["--db", db]);
    demo = await backend.demo;
  });
  after(async () => {
    await stopBackend(backend);
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  test("plain links open to the sample, resource for resource", async () => {
    const portal = new PatientPortal();
    for (const name of Object.keys(samples)) {
      const { viewerUrl } = link("plain", name);
      assert.ok(viewerUrl.startsWith(`${demo.base.replace(/\/$/, "")}/#shlink:/`));
      const record = await portal.openLink(viewerUrl, { recipient: "Node test" });
      const bundle = await sample(name);
      assert.deepEqual(record.resources(), bundle.entry.map((e) => e.resource));
      assert.ok(record.patientName.endsWith(name), record.patientName);
    }
  });

  test("passcode: missing, wrong (attempts left), right", async () => {
    const portal = new PatientPortal();
    const { viewerUrl, passcode } = link("passcode");
    assert.equal(parseLink(viewerUrl).passcodeRequired, true);
    await expectError(portal.openLink(viewerUrl, { recipient: "Node test" }), "passcodeRequired");
    await expectError(portal.openLink(viewerUrl, { recipient: "Node test", passcode: "0000" }), "passcodeWrong", { remainingAttempts: 2 });
    const record = await portal.openLink(viewerUrl, { recipient: "Node test", passcode });
    assert.equal(record.resourceCount, (await sample("Christian Balistreri")).entry.length);
    assert.ok(!backend.log().includes(passcode), "the backend does not log passcodes");
  });

  test("lockout: after the last wrong passcode even the right one is refused", async () => {
    const out = await run(["create-link", "--db", db, "--base", demo.base.replace(/\/$/, ""), "--passcode", "right-one", "--attempts", "2", "--json", fileURLToPath(samples["Dusty Stracke"])]);
    const created = JSON.parse(out.trim().split("\n").pop());
    const portal = new PatientPortal();
    await expectError(portal.openLink(created.link, { recipient: "Node test", passcode: "a" }), "passcodeWrong", { remainingAttempts: 1 });
    await expectError(portal.openLink(created.link, { recipient: "Node test", passcode: "b" }), "passcodeWrong", { remainingAttempts: 0 });
    await expectError(portal.openLink(created.link, { recipient: "Node test", passcode: "right-one" }), "linkInactive");
  });

  test("expired, revoked and tampered links show no record", async () => {
    const portal = new PatientPortal();
    await expectError(portal.openLink(link("expired").viewerUrl, { recipient: "Node test" }), "expired");
    await expectError(portal.openLink(link("revoked").viewerUrl, { recipient: "Node test" }), "linkInactive");
    await expectError(portal.openLink(link("tampered").viewerUrl, { recipient: "Node test" }), "decrypt");
    // Revoking a working link through the CLI takes effect at once.
    const out = await run(["create-link", "--db", db, "--base", demo.base.replace(/\/$/, ""), "--json", fileURLToPath(samples["Dusty Stracke"])]);
    const created = JSON.parse(out.trim().split("\n").pop());
    assert.equal((await portal.openLink(created.link, { recipient: "Node test" })).patientName, "Mr. Dusty Stracke");
    await run(["revoke", "--db", db, created.id]);
    await expectError(portal.openLink(created.link, { recipient: "Node test" }), "linkInactive");
  });

  test("U flag: one GET with the recipient", async () => {
    const portal = new PatientPortal();
    const { viewerUrl } = link("direct");
    assert.equal(parseLink(viewerUrl).direct, true);
    const record = await portal.openLink(viewerUrl, { recipient: "Node test" });
    assert.deepEqual(record.source.files, [{ contentType: "application/fhir+json", delivery: "direct" }]);
    assert.equal(record.resourceCount, (await sample("Dusty Stracke")).entry.length);
  });

  test("multi-file: FHIR file plus a health card the backend signed: signed by its issuer when fetched, verified when trusted", async () => {
    const portal = new PatientPortal();
    const { viewerUrl } = link("multi");
    const unverified = await portal.openLink(viewerUrl, { recipient: "Node test" });
    assert.equal(unverified.source.cards[0].verification, "unverified");
    // Keys fetched from the card's own issuer: signed, but not in the host's trust list.
    const fetched = await portal.openLink(viewerUrl, { recipient: "Node test", fetchIssuerKeys: true });
    assert.equal(fetched.source.cards[0].verification, "untrustedIssuer");
    assert.ok(fetched.toHtml().includes(`signed by ${demo.base.replace(/\/$/, "")}; this issuer is not in your trust list`));
    assert.ok(!fetched.toHtml().includes("verified issuer"));
    // The host's trust list names the issuer: verified.
    const jwks = await (await fetch(`${demo.base.replace(/\/$/, "")}/.well-known/jwks.json`)).json();
    const record = await portal.openLink(viewerUrl, { recipient: "Node test", issuerKeys: { [demo.base.replace(/\/$/, "")]: jwks } });
    const bundle = await sample("Christian Balistreri");
    assert.deepEqual(record.resourceCounts(), countTypes(bundle.entry.map((e) => e.resource)), "the two files make the whole record");
    assert.equal(record.source.files.length, 2);
    assert.equal(record.source.cards.length, 1);
    assert.equal(record.source.cards[0].verification, "verified");
    assert.equal(record.source.cards[0].issuer, demo.base.replace(/\/$/, ""));
    assert.ok(record.toHtml().includes("verified issuer:"));
  });

  test("embedded and location files, chosen by embeddedLengthMax", async () => {
    const portal = new PatientPortal();
    const { viewerUrl } = link("plain", "Christian Balistreri");
    const located = await portal.openLink(viewerUrl, { recipient: "Node test", embeddedLengthMax: 0 });
    assert.deepEqual(located.source.files.map((f) => f.delivery), ["location"]);
    const embedded = await portal.openLink(viewerUrl, { recipient: "Node test", embeddedLengthMax: 100_000_000 });
    assert.deepEqual(embedded.source.files.map((f) => f.delivery), ["embedded"]);
  });

  test("a link our backend created resolves in kill-the-clipboard's viewer", async () => {
    const bundle = await readJson(CHRISTIAN);
    const bundlePath = join(dir, "christian.json");
    await writeFile(bundlePath, JSON.stringify(bundle));
    const out = await run(["create-link", "--db", db, "--base", demo.base.replace(/\/$/, ""), "--label", "Interop: our backend", "--json", bundlePath]);
    const created = JSON.parse(out.trim().split("\n").pop());
    const viewer = new SHLViewer({ shlinkURI: created.viewerUrl });
    assert.equal(viewer.shl.label, "Interop: our backend");
    const resolved = await viewer.resolveSHL({ recipient: "kill-the-clipboard viewer" });
    assert.equal(resolved.fhirResources.length, 1);
    assert.deepEqual(resolved.fhirResources[0], bundle);
    // And with a passcode (the P flag), through the same viewer.
    const pout = await run(["create-link", "--db", db, "--base", demo.base.replace(/\/$/, ""), "--passcode", "ktc-1", "--json", bundlePath]);
    const withPasscode = JSON.parse(pout.trim().split("\n").pop());
    const resolvedP = await new SHLViewer({ shlinkURI: withPasscode.link }).resolveSHL({ recipient: "ktc", passcode: "ktc-1", embeddedLengthMax: 0 });
    assert.deepEqual(resolvedP.fhirResources[0], bundle);
  });

  test("the backend's signed health card verifies in kill-the-clipboard's reader", async () => {
    const jwks = await (await fetch(`${demo.base.replace(/\/$/, "")}/.well-known/jwks.json`)).json();
    const viewer = new SHLViewer({ shlinkURI: link("multi").link });
    const resolved = await viewer.resolveSHL({ recipient: "ktc", shcReaderConfig: { publicKey: jwks.keys[0] } });
    assert.equal(resolved.smartHealthCards.length, 1);
    const cardBundle = await resolved.smartHealthCards[0].asBundle();
    assert.ok(cardBundle.entry.some((e) => e.resource.resourceType === "Immunization"));
  });
});

describe("rate limiting: a 429 is waited out", () => {
  let dir;
  let backend;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "ppsdk-429-"));
    backend = startBackend(["--db", join(dir, "links.sqlite3"), "--manifest-rate", "1"]);
  });
  after(async () => {
    await stopBackend(backend);
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  test("two opens in the same second both succeed; the second waited for Retry-After", async () => {
    const demo = await backend.demo;
    const { viewerUrl } = demo.links.find((l) => l.kind === "plain");
    const portal = new PatientPortal();
    const first = portal.openLink(viewerUrl, { recipient: "a" });
    const second = portal.openLink(viewerUrl, { recipient: "b" });
    const [a, b] = await Promise.all([first, second]);
    assert.equal(a.resourceCount, b.resourceCount);
    assert.match(backend.log(), / 429\b/, "the host answered 429 at least once");
  });
});
