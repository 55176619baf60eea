// The loopback FHIR R4 server of fhir-server.mjs, checked with fetch (no
// browser): bearer authentication, the capability statement, ids kept from
// the bundle files, paging across `next` links, `$everything` giving back
// exactly the resources of each single-patient Synthea bundle, CORS, and every
// fault switch.

import assert from "node:assert/strict";
import { existsSync, statSync } from "node:fs";
import { join } from "node:path";
import { after, afterEach, before, describe, test } from "node:test";
import { fileURLToPath } from "node:url";

import { BASE_PATH, bundleKeys, bundleResources, loadBundleFile, startCatcher, startFhirServer } from "./fhir-server.mjs";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const DATA = join(ROOT, "../shared/data/fhir");
const FILES = {
  christian: join(DATA, "synthea/Christian_Balistreri_59339691-0270-4c4a-a34d-338e3008b9c3.json"),
  zackary: join(DATA, "synthea/Zackary401_Nader710_ddd3b584-f0e6-4e6f-9700-0502ea9261c5.json"),
  usCore: join(DATA, "us-core/patient-example.collection.json"),
  ips: join(DATA, "ips/bundle-minimal.json"),
};
const TOKEN = "token-for-the-fhir-server-test";
const ORIGIN = "http://127.0.0.1:1"; // the page's origin, as a browser would send it

let server;
let catcher;
const bundles = {};
const patientOf = {};

const auth = (token = TOKEN) => ({ Authorization: `Bearer ${token}` });

async function get(path, { token = TOKEN, headers = {}, signal } = {}) {
  const url = path.startsWith("http") ? path : `${server.baseUrl}/${path}`;
  const res = await fetch(url, { headers: { ...(token === null ? {} : auth(token)), Origin: ORIGIN, ...headers }, signal });
  const text = await res.text();
  return { res, text, body: text ? JSON.parse(text) : undefined };
}

/** Every entry of a paged answer, following `next` links; fails on a link outside baseUrl. */
async function allPages(path) {
  const entries = [];
  const pages = [];
  let url = `${server.baseUrl}/${path}`;
  while (url) {
    assert.ok(url.startsWith(`${server.baseUrl}/`), `next link ${url} is under baseUrl`);
    const { res, body } = await get(url);
    assert.equal(res.status, 200, url);
    assert.equal(body.resourceType, "Bundle");
    assert.equal(body.type, "searchset");
    pages.push(body);
    entries.push(...(body.entry ?? []));
    url = body.link?.find((l) => l.relation === "next")?.url;
    assert.ok(pages.length < 1000, "paging ends");
  }
  return { entries, pages };
}

const keyOf = (resource) => `${resource.resourceType}/${resource.id}`;
const withoutMeta = ({ meta: _meta, ...rest }) => rest;

before(async () => {
  for (const [name, path] of Object.entries(FILES)) {
    assert.ok(existsSync(path), `${path} (shared data, relative to the repository root) is missing`);
    bundles[name] = await loadBundleFile(path);
    patientOf[name] = bundles[name].entry.find((e) => e.resource.resourceType === "Patient").resource.id;
  }
  const started = performance.now();
  server = await startFhirServer({ bundles: Object.values(FILES), token: TOKEN });
  const ms = Math.round(performance.now() - started);
  catcher = await startCatcher();
  const mb = (Object.values(FILES).reduce((sum, path) => sum + statSync(path).size, 0) / 1e6).toFixed(1);
  console.log(`# fhir-server: ${server.counts.resources} resources of ${Object.keys(FILES).length} bundles (${mb} MB) loaded and served in ${ms} ms`);
});

after(async () => {
  await server?.close();
  await catcher?.close();
});

afterEach(() => {
  for (const name of Object.keys(server.faults)) {
    delete server.faults[name];
  }
  server.setToken(TOKEN);
});

describe("loading", () => {
  test("the server listens on 127.0.0.1 under a path prefix, with every patient of the bundles", () => {
    assert.match(server.origin, /^http:\/\/127\.0\.0\.1:\d+$/);
    assert.equal(server.baseUrl, `${server.origin}${BASE_PATH}`);
    assert.deepEqual(new Set(server.patients), new Set(Object.values(patientOf)));
    const expected = new Set(Object.values(bundles).flatMap((b) => [...bundleKeys(b)]));
    assert.equal(server.counts.resources, expected.size);
    assert.deepEqual(server.unresolved, []);
  });

  test("every resource keeps its id and its content; urn:uuid references become Type/id", async () => {
    for (const name of ["christian", "usCore", "ips"]) {
      const { resources } = bundleResources(bundles[name]);
      for (const resource of resources) {
        const { res, body } = await get(`${resource.resourceType}/${resource.id}`);
        assert.equal(res.status, 200, keyOf(resource));
        assert.deepEqual(withoutMeta(body), withoutMeta(resource), `${keyOf(resource)} as served`);
      }
    }
    // The original Synthea and IPS bundles refer to urn:uuid fullUrls; the server has none left.
    assert.ok(JSON.stringify(bundles.christian).includes('"reference":"urn:uuid:'));
    for (const name of ["christian", "ips"]) {
      const { entries } = await allPages(`Patient/${patientOf[name]}/$everything?_count=500`);
      assert.ok(!JSON.stringify(entries).includes("urn:uuid:"), `${name}: no urn:uuid reference served`);
    }
    const { body } = await get(`Observation?patient=${patientOf.christian}&_count=1`);
    assert.equal(body.entry[0].resource.subject.reference, `Patient/${patientOf.christian}`);
  });

  test("a resource Medplum's validator rejects is stored all the same and reported", async () => {
    const report = server.invalid.find((i) => i.reference === "DiagnosticReport/cbc");
    assert.ok(report, "US Core's DiagnosticReport/cbc (no text.div) is reported");
    assert.ok(report.issues.some((i) => i.includes("DiagnosticReport.text.div")));
    const { res } = await get("DiagnosticReport/cbc");
    assert.equal(res.status, 200);
  });

  test("a resource of a type Medplum does not know fails the start, naming it", async () => {
    const bundle = {
      resourceType: "Bundle",
      type: "collection",
      entry: [{ resource: { resourceType: "Patient", id: "p1" } }, { resource: { resourceType: "NotAResourceType", id: "x1" } }],
    };
    await assert.rejects(startFhirServer({ bundles: [bundle] }), /NotAResourceType\/x1/);
  });
});

describe("authentication", () => {
  test("a request without the bearer token answers 401 with an OperationOutcome", async () => {
    for (const token of [null, "wrong-token"]) {
      const { res, body } = await get(`Patient/${patientOf.christian}`, { token });
      assert.equal(res.status, 401);
      assert.equal(body.resourceType, "OperationOutcome");
      assert.equal(res.headers.get("access-control-allow-origin"), "*");
      assert.match(res.headers.get("www-authenticate"), /^Bearer/);
    }
    const { res } = await get(`Patient/${patientOf.christian}`);
    assert.equal(res.status, 200);
    const last = server.log.slice(-3);
    assert.deepEqual(
      last.map((e) => [e.method, e.status, e.auth]),
      [
        ["GET", 401, false],
        ["GET", 401, true],
        ["GET", 200, true],
      ],
    );
    assert.equal(last[2].path, `${BASE_PATH}/Patient/${patientOf.christian}`);
  });

  test("setToken changes the accepted token", async () => {
    server.setToken("a-newer-token");
    assert.equal((await get("metadata")).res.status, 401);
    assert.equal((await get("metadata", { token: "a-newer-token" })).res.status, 200);
  });
});

describe("reads and searches", () => {
  test("metadata lists the resource types with their search parameters and Patient $everything", async () => {
    const { res, body } = await get("metadata");
    assert.equal(res.status, 200);
    assert.equal(body.resourceType, "CapabilityStatement");
    assert.equal(body.fhirVersion, "4.0.1");
    const types = new Map(body.rest[0].resource.map((r) => [r.type, r]));
    for (const type of ["Patient", "Observation", "Condition", "MedicationRequest", "Medication", "Encounter", "Practitioner"]) {
      assert.ok(types.has(type), type);
    }
    const params = (type) => types.get(type).searchParam.map((p) => p.name);
    assert.ok(params("Observation").includes("patient") && params("Observation").includes("category"));
    assert.ok(params("MedicationRequest").includes("medication"));
    assert.deepEqual(
      types.get("Patient").operation.map((o) => o.name),
      ["everything"],
    );
  });

  test("GET Patient/{id}, and 404 for an unknown one", async () => {
    const { body } = await get(`Patient/${patientOf.zackary}`);
    assert.equal(body.resourceType, "Patient");
    assert.equal(body.id, patientOf.zackary);
    const missing = await get("Patient/no-such-patient");
    assert.equal(missing.res.status, 404);
    assert.equal(missing.body.resourceType, "OperationOutcome");
    for (const path of ["NotAType/1", "NotAType?patient=1"]) {
      const unknown = await get(path);
      assert.equal(unknown.res.status, 404, path);
      assert.equal(unknown.body.resourceType, "OperationOutcome");
    }
  });

  test("a search pages with _count and absolute next links and reaches every match once", async () => {
    const want = bundles.zackary.entry.filter((e) => e.resource.resourceType === "Observation").map((e) => `Observation/${e.resource.id}`);
    const started = performance.now();
    const { entries, pages } = await allPages(`Observation?patient=${patientOf.zackary}&_count=200`);
    console.log(`# fhir-server: ${want.length} Observations in ${pages.length} pages in ${Math.round(performance.now() - started)} ms`);
    assert.equal(pages.length, Math.ceil(want.length / 200));
    for (const page of pages) {
      assert.equal(page.total, want.length);
      assert.ok(page.link.find((l) => l.relation === "self").url.startsWith(`${server.baseUrl}/Observation?`));
    }
    assert.ok(!pages.at(-1).link.some((l) => l.relation === "next"), "the last page has no next link");
    const got = entries.map((e) => keyOf(e.resource));
    assert.equal(got.length, new Set(got).size, "no entry twice");
    assert.deepEqual(new Set(got), new Set(want));
    for (const e of entries) {
      assert.equal(e.fullUrl, `${server.baseUrl}/${keyOf(e.resource)}`);
      assert.equal(e.search.mode, "match");
    }
  });

  test("a search without _count answers a first page of the default size", async () => {
    const { body } = await get(`Observation?patient=${patientOf.zackary}`);
    assert.equal(body.entry.length, 20);
    assert.ok(body.link.some((l) => l.relation === "next"));
  });

  test("category filters, as in the original bundle", async () => {
    const isVital = (r) => r.resourceType === "Observation" && r.category?.some((c) => c.coding?.some((x) => x.code === "vital-signs"));
    const want = new Set(bundles.christian.entry.map((e) => e.resource).filter(isVital).map(keyOf));
    assert.ok(want.size > 0);
    const { entries } = await allPages(`Observation?patient=${patientOf.christian}&category=vital-signs&_count=7`);
    assert.deepEqual(new Set(entries.map((e) => keyOf(e.resource))), want);
  });

  test("_include=MedicationRequest:medication adds the Medication as an include", async () => {
    const { body } = await get(`MedicationRequest?patient=${patientOf.usCore}&_include=MedicationRequest:medication`);
    const wantRequests = bundles.usCore.entry.filter((e) => e.resource.resourceType === "MedicationRequest").length;
    assert.equal(body.total, wantRequests);
    const modes = body.entry.map((e) => `${e.resource.resourceType}:${e.search.mode}`);
    assert.equal(modes.filter((m) => m === "MedicationRequest:match").length, wantRequests);
    assert.ok(modes.includes("Medication:include"), modes.join(" "));
  });
});

describe("$everything", () => {
  for (const [name, count] of [
    ["christian", 40],
    ["zackary", 1000],
    ["usCore", 50],
    ["ips", 3],
  ]) {
    test(`${name}: every page together is exactly the original bundle (_count=${count})`, async () => {
      const want = bundleKeys(bundles[name]);
      const started = performance.now();
      const { entries, pages } = await allPages(`Patient/${patientOf[name]}/$everything?_count=${count}`);
      const ms = Math.round(performance.now() - started);
      console.log(`# fhir-server: $everything of ${name}: ${entries.length} resources in ${pages.length} pages in ${ms} ms`);
      assert.equal(pages.length, Math.ceil(want.size / count));
      for (const page of pages) {
        assert.equal(page.total, want.size);
      }
      const got = entries.map((e) => keyOf(e.resource));
      assert.equal(got.length, new Set(got).size, "no entry twice");
      assert.deepEqual(new Set(got), want);
      assert.equal(entries[0].resource.resourceType, "Patient");
      for (const e of entries) {
        assert.equal(e.fullUrl, `${server.baseUrl}/${keyOf(e.resource)}`);
        assert.ok(["match", "include"].includes(e.search.mode));
      }
      // What the patient's records refer to comes as includes.
      const includes = new Set(entries.filter((e) => e.search.mode === "include").map((e) => e.resource.resourceType));
      assert.ok(includes.has("Practitioner") || includes.has("Organization"), [...includes].join(" "));
      assert.ok(!includes.has("Observation") && !includes.has("Patient"));
    });
  }
});

describe("CORS", () => {
  test("a preflight is answered without a token, allowing Authorization and Accept on GET", async () => {
    const res = await fetch(`${server.baseUrl}/Patient/${patientOf.christian}`, {
      method: "OPTIONS",
      headers: { Origin: ORIGIN, "Access-Control-Request-Method": "GET", "Access-Control-Request-Headers": "authorization,accept" },
    });
    await res.text();
    assert.equal(res.status, 204);
    assert.equal(res.headers.get("access-control-allow-origin"), "*");
    assert.match(res.headers.get("access-control-allow-methods"), /\bGET\b/);
    const allowed = res.headers.get("access-control-allow-headers").toLowerCase();
    assert.ok(allowed.includes("authorization") && allowed.includes("accept"), allowed);
    assert.equal(server.log.at(-1).method, "OPTIONS");
  });

  test("every answer, errors too, allows the origin and exposes Retry-After", async () => {
    server.faults.rateLimit = { count: 1, retryAfter: "2" };
    const answers = [await get("metadata", { token: null }), await get("Observation?patient=x"), await get("Patient/none"), await get("metadata")];
    assert.deepEqual(
      answers.map((a) => a.res.status),
      [401, 429, 404, 200],
    );
    for (const { res } of answers) {
      assert.equal(res.headers.get("access-control-allow-origin"), "*");
      assert.match(res.headers.get("access-control-expose-headers"), /Retry-After/);
    }
  });
});

describe("fault switches", () => {
  const search = () => `Observation?patient=${patientOf.christian}&_count=10`;

  test("unauthorizedOnce: the next request after metadata answers 401 once, with the right token", async () => {
    server.faults.unauthorizedOnce = true;
    assert.equal((await get("metadata")).res.status, 200);
    const denied = await get(search());
    assert.equal(denied.res.status, 401);
    assert.equal(denied.body.resourceType, "OperationOutcome");
    assert.equal((await get(search())).res.status, 200);
  });

  test("rateLimit: count answers 429 with Retry-After in seconds or as an HTTP date", async () => {
    server.faults.rateLimit = { count: 2, retryAfter: "3" };
    for (let i = 0; i < 2; i++) {
      const { res, body } = await get(search());
      assert.equal(res.status, 429);
      assert.equal(res.headers.get("retry-after"), "3");
      assert.equal(body.resourceType, "OperationOutcome");
    }
    assert.equal((await get(search())).res.status, 200);
    const date = new Date(Date.now() + 5000).toUTCString();
    server.faults.rateLimit = { count: 1, retryAfter: date };
    assert.equal((await get(search())).res.headers.get("retry-after"), date);
    assert.equal((await get(search())).res.status, 200);
  });

  test("serverErrorOnce: 500 or 503 once, then normal", async () => {
    for (const status of [500, 503]) {
      server.faults.serverErrorOnce = status;
      const { res, body } = await get(search());
      assert.equal(res.status, status);
      assert.equal(body.resourceType, "OperationOutcome");
      assert.equal((await get(search())).res.status, 200);
    }
  });

  test("operationOutcome: every search answers it, with SECRET-DIAGNOSTICS in diagnostics; reads still work", async () => {
    server.faults.operationOutcome = { status: 400, severity: "error", code: "too-costly", details: "Too many results" };
    for (const path of [search(), search(), `Patient/${patientOf.christian}/$everything`]) {
      const { res, body } = await get(path);
      assert.equal(res.status, 400);
      assert.equal(body.resourceType, "OperationOutcome");
      assert.deepEqual(
        [body.issue[0].severity, body.issue[0].code, body.issue[0].details.text],
        ["error", "too-costly", "Too many results"],
      );
      assert.match(body.issue[0].diagnostics, /SECRET-DIAGNOSTICS/);
    }
    assert.equal((await get(`Patient/${patientOf.christian}`)).res.status, 200);
  });

  test("oversizedPage: the next page is padded to the size, chunked without Content-Length", async () => {
    const bytes = 3 * 1024 * 1024;
    server.faults.oversizedPage = bytes;
    const { res, text, body } = await get(search());
    assert.equal(res.status, 200);
    assert.equal(res.headers.get("content-length"), null);
    assert.equal(res.headers.get("transfer-encoding"), "chunked");
    assert.ok(Buffer.byteLength(text) >= bytes, `${Buffer.byteLength(text)} >= ${bytes}`);
    assert.equal(body.resourceType, "Bundle");
    assert.equal(body.entry.length, 10);
    const next = await get(search());
    assert.ok(Buffer.byteLength(next.text) < 100_000);
    assert.ok(next.res.headers.get("content-length"));
  });

  test("foreignNext: the first page's next link points at the catcher, which records what reaches it", async () => {
    server.faults.foreignNext = catcher.origin;
    const { body } = await get(search());
    const next = body.link.find((l) => l.relation === "next").url;
    assert.ok(next.startsWith(`${catcher.origin}${BASE_PATH}/Observation?`), next);
    // The following first page is normal again.
    const again = await get(search());
    assert.ok(again.body.link.find((l) => l.relation === "next").url.startsWith(server.baseUrl));
    const before = catcher.requests.length;
    const res = await fetch(next, { headers: { Authorization: "Bearer caught-token" } });
    const caught = await res.json();
    assert.equal(res.status, 200);
    assert.deepEqual([caught.resourceType, caught.type, caught.total], ["Bundle", "searchset", 0]);
    assert.equal(res.headers.get("access-control-allow-origin"), "*");
    assert.deepEqual(catcher.requests.slice(before), [{ method: "GET", url: new URL(next).pathname + new URL(next).search, authorization: "Bearer caught-token" }]);
    await (await fetch(`${catcher.origin}/x`)).text();
    assert.equal(catcher.requests.at(-1).authorization, null);
  });

  test("noEverything: $everything answers 404 and metadata no longer offers it", async () => {
    server.faults.noEverything = true;
    const { res, body } = await get(`Patient/${patientOf.christian}/$everything`);
    assert.equal(res.status, 404);
    assert.equal(body.resourceType, "OperationOutcome");
    const metadata = await get("metadata");
    assert.equal(metadata.body.rest[0].resource.find((r) => r.type === "Patient").operation, undefined);
  });

  test("wrongPatient: $everything and searches for a patient answer another patient's records", async () => {
    server.faults.wrongPatient = patientOf.zackary;
    const everything = await get(`Patient/${patientOf.christian}/$everything?_count=5`);
    assert.equal(everything.body.entry[0].resource.id, patientOf.zackary);
    assert.equal(everything.body.total, bundleKeys(bundles.zackary).size);
    const found = await get(search());
    assert.ok(found.body.entry.every((e) => e.resource.subject.reference === `Patient/${patientOf.zackary}`));
    const subject = await get(`Condition?subject=Patient/${patientOf.christian}`);
    assert.ok(subject.body.entry.length > 0);
    assert.ok(subject.body.entry.every((e) => e.resource.subject.reference === `Patient/${patientOf.zackary}`));
  });

  test("notBundle: pages answer a Patient resource instead of a Bundle", async () => {
    server.faults.notBundle = true;
    for (const path of [search(), `Patient/${patientOf.christian}/$everything`]) {
      const { res, body } = await get(path);
      assert.equal(res.status, 200);
      assert.equal(body.resourceType, "Patient");
    }
  });

  test("delayMs: answers are late, and a client can abort", async () => {
    server.faults.delayMs = 300;
    const started = performance.now();
    assert.equal((await get(search())).res.status, 200);
    assert.ok(performance.now() - started >= 290);
    await assert.rejects(get(search(), { signal: AbortSignal.timeout(50) }), { name: "TimeoutError" });
    delete server.faults.delayMs;
    await new Promise((resolve) => setTimeout(resolve, 350));
    assert.equal(server.log.at(-1).aborted, true);
    assert.equal((await get(search())).res.status, 200);
  });

  test("the log holds every request: method, path and query, status, whether Authorization came", async () => {
    const before = server.log.length;
    await get(`Observation?patient=${patientOf.christian}&_count=1`);
    await get("metadata", { token: null });
    assert.deepEqual(server.log.slice(before), [
      { method: "GET", path: `${BASE_PATH}/Observation?patient=${patientOf.christian}&_count=1`, status: 200, auth: true },
      { method: "GET", path: `${BASE_PATH}/metadata`, status: 401, auth: false },
    ]);
  });
});
