// Consent and proxy access through the built npm package, from Node: the
// viewer, the host policy and host-supplied Consents as a portal passes
// them; withheld resources absent from everything the API returns; the
// decision list and the AuditEvent for the host.

import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";

import { CompactEncrypt } from "jose";
import init, { PatientPortal } from "patient-portal-sdk";

const wasm = await readFile(new URL(import.meta.resolve("patient-portal-sdk/patient_portal_sdk_bg.wasm")));
await init({ module_or_path: wasm });

const bundle = JSON.parse(await readFile(new URL("../../examples/data/alex-rivera.json", import.meta.url), "utf8"));
const key = new Uint8Array(32).fill(7);
const jwe = await new CompactEncrypt(new TextEncoder().encode(JSON.stringify(bundle)))
  .setProtectedHeader({ alg: "dir", enc: "A256GCM", cty: "application/fhir+json" })
  .encrypt(key);

const resources = bundle.entry.map((e) => e.resource);
const labelled = resources.filter((r) => r.meta?.security?.length);
const byType = (type) => resources.filter((r) => r.resourceType === type);
const parent = { role: "proxy", relationship: "parent", actor: "RelatedPerson/maria" };

/** Every text of `rs` (code texts, displays) longer than 3 characters. */
function texts(rs) {
  const out = new Set();
  const walk = (v, k) => {
    if (typeof v === "string" && ["text", "display"].includes(k) && v.length > 3) out.add(v);
    else if (Array.isArray(v)) v.forEach((x) => walk(x, k));
    else if (v && typeof v === "object") for (const [kk, vv] of Object.entries(v)) if (kk !== "meta") walk(vv, kk);
  };
  rs.forEach((r) => walk(r, ""));
  return out;
}

function expectBadInput(fn, what) {
  assert.throws(fn, (e) => e.name === "PatientPortalError" && e.code === "badInput", what);
}

describe("consent through the npm package", () => {
  test("the patient (the default viewer) sees everything", () => {
    const record = new PatientPortal().openJwe(jwe, key);
    assert.deepEqual(record.resources(), resources);
    assert.equal(record.withheldCount, 0);
    assert.ok(record.decisions().every((d) => d.effect === "permit" && d.reason === "patientAccess"));
    assert.ok(!record.toHtml().includes("not shown to you"));
  });

  test("a parent of a 14-year-old: only what the policy leaves visible, nowhere else", () => {
    const record = new PatientPortal().openJwe(jwe, key, { viewer: parent });
    const allowed = [...byType("Patient"), ...byType("AllergyIntolerance"), ...byType("Immunization")];
    assert.deepEqual(
      record.resources().map((r) => r.id).sort(),
      allowed.map((r) => r.id).sort(),
    );
    assert.deepEqual(record.resources("Condition"), []);
    assert.deepEqual(Object.keys(record.resourceCounts()).sort(), ["AllergyIntolerance", "Immunization", "Patient"]);
    assert.equal(record.resourceCount, allowed.length);
    assert.equal(record.withheldCount, resources.length - allowed.length);
    const html = record.toHtml();
    const hidden = resources.filter((r) => !allowed.includes(r));
    for (const text of texts(hidden)) assert.ok(!html.includes(text), `the chart shows ${JSON.stringify(text)}`);
    assert.ok(html.includes("Some items in this record are not shown to you."));
    assert.ok(!/\d+ items? in this record/.test(html), "no count for a proxy");

    // The host sees every decision, withheld ones included.
    const decisions = record.decisions();
    assert.equal(decisions.length, resources.length);
    for (const r of labelled) {
      const d = decisions.find((d) => d.id === r.id);
      assert.equal(d.effect, "withhold", `${r.resourceType}/${r.id}`);
      assert.equal(d.reason, "sensitive");
      assert.match(d.rule, /^policy\.proxySensitive: (PSY|STD)$/);
    }
    const asthma = decisions.find((d) => d.resourceType === "Condition" && !labelled.some((l) => l.id === d.id));
    assert.deepEqual([asthma.effect, asthma.reason], ["withhold", "adolescent"]);
    assert.match(asthma.rule, /^policy\.adolescentAge: patient is \d+ \(from 12\)$/);

    // And the audit trail as FHIR.
    const audit = record.auditEvent();
    assert.equal(audit.resourceType, "AuditEvent");
    assert.equal(audit.action, "R");
    assert.equal(audit.agent[0].who.reference, "RelatedPerson/maria");
    assert.equal(audit.agent[0].role[0].text, "parent");
    assert.equal(audit.entity.length, resources.length);
    const entity = audit.entity.find((e) => e.what.reference === `Condition/${labelled.find((r) => r.resourceType === "Condition").id}`);
    assert.deepEqual(entity.detail.map((d) => d.valueString), ["withhold", "sensitive", "policy.proxySensitive: PSY"]);
    assert.ok(entity.securityLabel.some((l) => l.code === "PSY"));
    assert.ok(!Number.isNaN(Date.parse(audit.recorded)));
  });

  test("a Consent from the host naming the parent opens exactly what it names", () => {
    const albuterol = byType("MedicationRequest").find((m) => !m.meta);
    const consent = {
      resourceType: "Consent", id: "alex-shares-inhaler", status: "active",
      scope: { coding: [{ system: "http://terminology.hl7.org/CodeSystem/consentscope", code: "patient-privacy" }] },
      category: [{ coding: [{ system: "http://loinc.org", code: "59284-0" }] }],
      patient: { reference: `Patient/${byType("Patient")[0].id}` },
      provision: {
        type: "permit",
        actor: [{ role: { coding: [{ system: "http://terminology.hl7.org/CodeSystem/v3-ParticipationType", code: "IRCP" }] }, reference: { reference: "RelatedPerson/maria" } }],
        code: [{ coding: albuterol.medicationCodeableConcept.coding }],
      },
    };
    const record = new PatientPortal().openJwe(jwe, key, { viewer: parent, consents: [consent] });
    assert.deepEqual(record.resources("MedicationRequest"), [albuterol]);
    assert.deepEqual(record.decisions().find((d) => d.id === albuterol.id), {
      resourceType: "MedicationRequest", id: albuterol.id, fullUrl: `urn:uuid:${albuterol.id}`,
      effect: "permit", reason: "consentPermit", rule: "Consent/alex-shares-inhaler provision",
    });
    // Another proxy is not named by it.
    const aunt = new PatientPortal().openJwe(jwe, key, { viewer: { ...parent, actor: "RelatedPerson/aunt" }, consents: [consent] });
    assert.deepEqual(aunt.resources("MedicationRequest"), []);
  });

  test("the host policy changes the defaults", () => {
    const portal = new PatientPortal({ policy: { adolescentAge: 16 } });
    const record = portal.openJwe(jwe, key, { viewer: parent });
    const shown = record.resources().map((r) => r.id);
    for (const r of resources) {
      const restricted = labelled.includes(r);
      assert.equal(shown.includes(r.id), !restricted, `${r.resourceType}/${r.id}`);
    }
    // A caregiver is never narrowed by age; a clinician sees the R-labelled data.
    assert.equal(new PatientPortal().openJwe(jwe, key, { viewer: { role: "proxy", relationship: "caregiver" } }).withheldCount, labelled.length);
    assert.equal(new PatientPortal().openJwe(jwe, key, { viewer: { role: "clinician", actor: "Practitioner/1", purpose: "TREAT" } }).withheldCount, 0);
    const strict = new PatientPortal({ policy: { restrictedHiddenFrom: ["proxy", "clinician"] } });
    assert.equal(strict.openJwe(jwe, key, { viewer: { role: "clinician" } }).withheldCount, labelled.length);
  });

  test("the evaluation time is the viewer's: before the 12th birthday the parent sees more", () => {
    const birth = Date.parse(byType("Patient")[0].birthDate);
    const at = new Date(birth + 10 * 365.25 * 24 * 3600 * 1000);
    const record = new PatientPortal().openJwe(jwe, key, { viewer: { ...parent, at } });
    assert.equal(record.withheldCount, labelled.length, "only the sensitive ones at 10");
    const asText = new PatientPortal().openJwe(jwe, key, { viewer: { ...parent, at: at.toISOString() } });
    assert.equal(asText.withheldCount, labelled.length);
  });

  test("bad consent options are refused with badInput", () => {
    const portal = new PatientPortal();
    expectBadInput(() => portal.openJwe(jwe, key, { viewer: { role: "admin" } }), "unknown role");
    expectBadInput(() => portal.openJwe(jwe, key, { viewer: "parent" }), "viewer not an object");
    expectBadInput(() => portal.openJwe(jwe, key, { viewer: { role: "proxy", at: "yesterday" } }), "bad time");
    expectBadInput(() => portal.openJwe(jwe, key, { consents: { resourceType: "Consent" } }), "consents not an array");
    expectBadInput(() => new PatientPortal({ policy: { adolescentAge: "twelve" } }), "bad age");
    expectBadInput(() => new PatientPortal({ policy: { proxySensitive: "PSY" } }), "not a list");
    expectBadInput(() => new PatientPortal({ policy: { restrictedHiddenFrom: ["visitor"] } }), "unknown role in policy");
  });
});
