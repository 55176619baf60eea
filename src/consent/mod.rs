//! Consent and proxy access: decide, resource by resource, what this viewer
//! may see, before anything is rendered or handed to JavaScript. Fails
//! closed: what cannot be evaluated is withheld.
//!
//! Order of a decision (ARCHITECTURE.md, "Consent rules", has the full
//! table with spec references):
//! 1. The patient sees their whole record (right of access); consents are
//!    the patient's own choices about others.
//! 2. For anyone else, every applicable Consent is evaluated
//!    ([`rules`]); a deny from any of them withholds.
//! 3. The host policy's restrictions for the viewer's role (sensitive
//!    labels, confidentiality R/V, an adolescent's record for a parent or
//!    guardian, Consent resources for proxies) withhold unless a Consent
//!    provision that names this viewer permits.
//! 4. Otherwise a Consent permit, else the role's default: permit.

mod audit;
pub mod labels;
mod redact;
pub mod rules;

use serde_json::Value;

pub use audit::audit_event;
use labels::{level_name, Facts};
pub use redact::redacted;
use rules::{evaluate, in_force, reference_key, Context, Effect, InForce};

use crate::fhir::{age_in_years, DateTime, Record};

/// Who is viewing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    Patient,
    /// A parent, guardian, caregiver or other person acting for the patient.
    Proxy,
    Clinician,
}

impl Role {
    pub fn name(self) -> &'static str {
        match self {
            Role::Patient => "patient",
            Role::Proxy => "proxy",
            Role::Clinician => "clinician",
        }
    }

    pub fn parse(text: &str) -> Option<Role> {
        match text {
            "patient" => Some(Role::Patient),
            "proxy" => Some(Role::Proxy),
            "clinician" => Some(Role::Clinician),
            _ => None,
        }
    }
}

/// The viewing context.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Viewer {
    pub role: Role,
    /// For proxies: a v3 RoleCode (`PRN`, `MTH`, `GRD`, `STPPRN`, …) or
    /// its name (`parent`, `guardian`, `caregiver`, …), in any case; see
    /// [`relationship`]. Unknown or absent counts as a parent's.
    pub relationship: Option<String>,
    /// `RelatedPerson/…`, `Practitioner/…`, `Organization/…`.
    pub actor: Option<String>,
    /// Purpose of use, a v3-ActReason code (`TREAT`, `ETREAT`, …).
    pub purpose: Option<String>,
    /// Evaluation time, seconds since 1970.
    pub at: i64,
}

impl Viewer {
    pub fn patient(at: i64) -> Self {
        Viewer { role: Role::Patient, relationship: None, actor: None, purpose: None, at }
    }

    /// A proxy the adolescent rule applies to: a parent or guardian, or a
    /// proxy whose relationship is not known to be another (fails closed).
    fn is_parental(&self) -> bool {
        self.role == Role::Proxy && relationship(self.relationship.as_deref()).is_none_or(|r| r.parental)
    }
}

/// A proxy's relationship to the patient, as far as the policy looks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Relationship {
    /// The v3 RoleCode (`http://terminology.hl7.org/CodeSystem/v3-RoleCode`), when there is one.
    pub code: Option<&'static str>,
    /// A parent, guardian or other family elder: the adolescent rule applies.
    pub parental: bool,
}

pub const ROLE_CODE: &str = "http://terminology.hl7.org/CodeSystem/v3-RoleCode";

/// Relationships by their folded form (lower case, without spaces, `-`
/// and `_`): v3 RoleCode codes and their names.
const RELATIONSHIPS: &[(&[&str], Option<&str>, bool)] = &[
    (&["prn", "parent"], Some("PRN"), true),
    (&["mth", "mother", "mom", "mum"], Some("MTH"), true),
    (&["fth", "father", "dad"], Some("FTH"), true),
    (&["nprn", "naturalparent", "birthparent"], Some("NPRN"), true),
    (&["nmth", "naturalmother", "birthmother"], Some("NMTH"), true),
    (&["nfth", "naturalfather", "birthfather"], Some("NFTH"), true),
    (&["gestm", "gestationalmother"], Some("GESTM"), true),
    (&["stpprn", "stepparent"], Some("STPPRN"), true),
    (&["stpmth", "stepmother"], Some("STPMTH"), true),
    (&["stpfth", "stepfather"], Some("STPFTH"), true),
    (&["adoptp", "adoptiveparent"], Some("ADOPTP"), true),
    (&["adoptm", "adoptivemother"], Some("ADOPTM"), true),
    (&["adoptf", "adoptivefather"], Some("ADOPTF"), true),
    (&["prnfost", "fosterparent"], Some("PRNFOST"), true),
    (&["mthfost", "fostermother"], Some("MTHFOST"), true),
    (&["fthfost", "fosterfather"], Some("FTHFOST"), true),
    (&["grd", "guardian", "legalguardian", "guard"], Some("GRD"), true),
    (&["grprn", "grandparent"], Some("GRPRN"), true),
    (&["grmth", "grandmother"], Some("GRMTH"), true),
    (&["grfth", "grandfather"], Some("GRFTH"), true),
    // Not a parent: the proxy defaults apply, without the adolescent rule.
    (&["caregiver", "carer"], None, false),
    (&["sps", "spouse"], Some("SPS"), false),
    (&["husb", "husband"], Some("HUSB"), false),
    (&["wife"], Some("WIFE"), false),
    (&["dompart", "domesticpartner", "partner"], Some("DOMPART"), false),
    (&["child"], Some("CHILD"), false),
    (&["son"], Some("SON"), false),
    (&["dau", "daughter"], Some("DAU"), false),
    (&["sib", "sibling"], Some("SIB"), false),
    (&["bro", "brother"], Some("BRO"), false),
    (&["sis", "sister"], Some("SIS"), false),
    (&["frnd", "friend"], Some("FRND"), false),
    (&["nbor", "neighbor", "neighbour"], Some("NBOR"), false),
    (&["powatt", "powerofattorney", "hpowatt", "healthcarepowerofattorney", "agent"], Some("POWATT"), false),
];

/// Reads a relationship given as a v3 RoleCode (`PRN`, `GRD`, optionally
/// as `system|code`) or a name (`parent`, `Step-parent`, ` Guardian `):
/// trimmed and case-folded. `None` when it is absent or not known.
pub fn relationship(text: Option<&str>) -> Option<Relationship> {
    let text = text?.trim();
    let code = text.rsplit('|').next().unwrap_or(text);
    let folded = crate::util::lowercase(&code.chars().filter(|c| !c.is_whitespace() && !matches!(c, '-' | '_')).collect::<String>());
    RELATIONSHIPS.iter().find(|(names, _, _)| names.contains(&folded.as_str())).map(|(_, code, parental)| Relationship { code: *code, parental: *parental })
}

/// The sensitivity codes (v3-ActCode) a proxy never sees unless a Consent
/// naming them permits it.
pub const DEFAULT_PROXY_SENSITIVE: &[&str] = &["PSY", "MH", "SUD", "ETH", "ETHUD", "OPIOIDUD", "HIV", "STD", "SDV", "SEX", "GDIS", "PSYTHPN", "TBOO"];
/// … and those a clinician does not see without a Consent (42 CFR Part 2
/// substance-use records, psychotherapy notes).
pub const DEFAULT_CLINICIAN_SENSITIVE: &[&str] = &["SUD", "ETHUD", "OPIOIDUD", "PSYTHPN"];
/// What a parent or guardian still sees once the patient reaches the
/// adolescent age.
pub const DEFAULT_ADOLESCENT_VISIBLE: &[&str] = &["Patient", "Immunization", "AllergyIntolerance"];

/// The host's policy. `Default` is the safe default described above.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Policy {
    pub proxy_sensitive: Vec<String>,
    pub clinician_sensitive: Vec<String>,
    /// From this age, a parent's or guardian's access narrows to
    /// `adolescent_visible` (an unknown age counts as reached).
    pub adolescent_age: u32,
    pub adolescent_visible: Vec<String>,
    /// Roles that do not see confidentiality `R` data without a Consent.
    pub restricted_hidden_from: Vec<Role>,
    /// Roles that do not see confidentiality `V` data without a Consent.
    pub very_restricted_hidden_from: Vec<Role>,
}

impl Default for Policy {
    fn default() -> Self {
        let strings = |l: &[&str]| l.iter().map(|s| s.to_string()).collect();
        Policy {
            proxy_sensitive: strings(DEFAULT_PROXY_SENSITIVE),
            clinician_sensitive: strings(DEFAULT_CLINICIAN_SENSITIVE),
            adolescent_age: 12,
            adolescent_visible: strings(DEFAULT_ADOLESCENT_VISIBLE),
            restricted_hidden_from: vec![Role::Proxy],
            very_restricted_hidden_from: vec![Role::Proxy, Role::Clinician],
        }
    }
}

/// Why a resource is shown or withheld.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reason {
    /// The patient's own record.
    PatientAccess,
    /// No Consent or restriction applied: the role's default.
    Default,
    ConsentPermit,
    ConsentDeny,
    /// A Consent applied that could not be fully evaluated.
    Unevaluable,
    /// A sensitivity label the policy reserves (the code).
    Sensitive(String),
    /// Confidentiality `R` or `V`.
    Confidentiality(&'static str),
    /// A parent's or guardian's view of an adolescent's record.
    Adolescent,
    /// Consent resources themselves are not shown to proxies.
    ConsentResource,
}

impl Reason {
    /// The machine-readable name JavaScript sees.
    pub fn name(&self) -> &'static str {
        match self {
            Reason::PatientAccess => "patientAccess",
            Reason::Default => "default",
            Reason::ConsentPermit => "consentPermit",
            Reason::ConsentDeny => "consentDeny",
            Reason::Unevaluable => "unevaluable",
            Reason::Sensitive(_) => "sensitive",
            Reason::Confidentiality(_) => "confidentiality",
            Reason::Adolescent => "adolescent",
            Reason::ConsentResource => "consentResource",
        }
    }
}

/// The decision on one entry of the record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision {
    /// Index in the record's entries.
    pub entry: usize,
    pub permit: bool,
    pub reason: Reason,
    /// The rule that decided, e.g. `Consent/x provision.provision[1]`,
    /// `policy.proxySensitive: PSY`, `default: proxy`.
    pub rule: String,
    /// The resource's security labels (for the audit record).
    pub labels: Vec<labels::Code>,
}

fn keys(full_url: Option<&str>, resource_type: &str, id: Option<&str>) -> Vec<String> {
    let mut keys = Vec::new();
    if let Some(id) = id {
        keys.push(format!("{resource_type}/{id}"));
    }
    if let Some(url) = full_url {
        keys.push(url.to_string());
    }
    keys
}

/// Decides entries one at a time (so long records can be decided in slices).
pub struct Decider<'a> {
    record: &'a Record,
    viewer: &'a Viewer,
    policy: &'a Policy,
    patient_keys: Vec<String>,
    age: Option<u32>,
    consents: Vec<(&'a Value, bool)>,
    by_key: crate::util::TextMap,
}

impl<'a> Decider<'a> {
    /// Prepares to decide `record` for `viewer`. Consents are those in the
    /// record plus `host_consents`.
    pub fn new(record: &'a Record, viewer: &'a Viewer, policy: &'a Policy, host_consents: &'a [Value]) -> Self {
        let patient = record.entries.iter().find(|e| e.resource_type == "Patient");
        let patient_keys = patient.map(|p| keys(p.full_url.as_deref(), "Patient", p.id.as_deref())).unwrap_or_default();
        let birth = patient.and_then(|p| p.raw.at("birthDate").as_str()).and_then(|b| DateTime::parse(b).start_date());
        let today = crate::fhir::Date::from_timestamp(viewer.at);
        let age = birth.zip(today).and_then(|(b, t)| age_in_years(b, t));
        let mut decider = Decider { record, viewer, policy, patient_keys, age, consents: Vec::new(), by_key: crate::util::TextMap::new() };
        if viewer.role == Role::Patient {
            return decider;
        }
        decider.consents = record
            .entries
            .iter()
            .filter(|e| e.resource_type == "Consent")
            .map(|e| &*e.raw)
            .chain(host_consents.iter().filter(|c| c.get("resourceType").and_then(Value::as_str) == Some("Consent")))
            .filter_map(|c| match in_force(c, &decider.patient_keys) {
                InForce::Yes => Some((c, true)),
                InForce::No => None,
                InForce::PatientUnconfirmed => Some((c, false)),
            })
            .collect();
        // Entries by their keys (for `data.meaning = related`).
        for (i, e) in record.entries.iter().enumerate() {
            for k in keys(e.full_url.as_deref(), &e.resource_type, e.id.as_deref()) {
                decider.by_key.entry(reference_key(&k)).or_insert(i);
                decider.by_key.entry(k).or_insert(i);
            }
        }
        decider
    }

    /// The decision on entry `i`. A resource is withheld as a whole when
    /// any resource inside it (contained, or an entry of a Bundle inside
    /// the record, at any depth) would be withheld on its own.
    pub fn decide_one(&self, i: usize) -> Decision {
        let Some(entry) = self.record.entries.get(i) else {
            // Fail closed: there is nothing at this index to evaluate.
            return Decision { entry: i, permit: false, reason: Reason::Unevaluable, rule: "no such entry".into(), labels: Vec::new() };
        };
        let viewer = self.viewer;
        if viewer.role == Role::Patient {
            return Decision {
                entry: i,
                permit: true,
                reason: Reason::PatientAccess,
                rule: "patient: right of access".into(),
                labels: labels::labels_of(&entry.raw, &entry.resource_type),
            };
        }
        let resource_keys = keys(entry.full_url.as_deref(), &entry.resource_type, entry.id.as_deref());
        // Read for this decision and not kept (the record keeps its text).
        let raw = entry.raw.value();
        let whole = self.decide_resource(i, &raw, &entry.resource_type, &resource_keys, &entry.resource_type);
        if !whole.permit {
            return whole;
        }
        for inner in crate::fhir::inner_resources(&raw) {
            let id = inner.raw.get("id").and_then(Value::as_str);
            let inner_keys = keys(inner.full_url, inner.resource_type, id);
            // A contained resource is part of its container, whose type the
            // adolescent rule looks at; a Bundle's entry is a record of its own.
            let age_type = if inner.bundle_entry { inner.resource_type } else { entry.resource_type.as_str() };
            let part = self.decide_resource(i, inner.raw, inner.resource_type, &inner_keys, age_type);
            if !part.permit {
                let place = if inner.contained {
                    "contained"
                } else if inner.bundle_entry {
                    "entry"
                } else {
                    "inner"
                };
                let name = match id {
                    Some(id) => format!("{}/{id}", inner.resource_type),
                    None => inner.resource_type.to_string(),
                };
                let mut labels = whole.labels;
                for l in part.labels {
                    if !labels.contains(&l) {
                        labels.push(l);
                    }
                }
                return Decision { entry: i, permit: false, reason: part.reason, rule: format!("{place} {name}: {}", part.rule), labels };
            }
        }
        whole
    }

    /// The decision on one resource (entry `i` or a resource inside it) on its own.
    fn decide_resource(&self, i: usize, raw: &Value, resource_type: &str, resource_keys: &[String], age_type: &str) -> Decision {
        let viewer = self.viewer;
        let facts = labels::facts(raw);
        let references_of = |key: &str| {
            let j = self.by_key.get(key).or_else(|| self.by_key.get(&reference_key(key)))?;
            Some(labels::facts(&self.record.entries.get(*j)?.raw.value()).references)
        };
        let ctx = Context { patient_keys: &self.patient_keys, resource_keys, resource_type, facts: &facts, references_of: &references_of };
        let verdicts: Vec<rules::Verdict> = self.consents.iter().filter_map(|(c, known)| evaluate(c, *known, viewer, &ctx)).collect();
        let deny = verdicts.iter().find(|v| v.effect != Effect::Permit);
        let permit = verdicts.iter().filter(|v| v.effect == Effect::Permit).max_by_key(|v| v.names_viewer);
        let decision = |permit: bool, reason: Reason, rule: String| Decision { entry: i, permit, reason, rule, labels: facts.labels.clone() };
        if let Some(d) = deny {
            let reason = if d.uncertain { Reason::Unevaluable } else { Reason::ConsentDeny };
            return decision(false, reason, d.rule.clone());
        }
        if let Some((reason, rule)) = restriction(viewer, self.policy, resource_type, age_type, &facts, self.age) {
            return match permit.filter(|p| p.names_viewer && reason != Reason::ConsentResource) {
                Some(p) => decision(true, Reason::ConsentPermit, p.rule.clone()),
                None => decision(false, reason, rule),
            };
        }
        match permit {
            Some(p) => decision(true, Reason::ConsentPermit, p.rule.clone()),
            None => decision(true, Reason::Default, format!("default: {}", viewer.role.name())),
        }
    }
}

/// Decides every entry of `record` for `viewer`. Consents are those in the
/// record plus `host_consents`.
pub fn decide(record: &Record, viewer: &Viewer, policy: &Policy, host_consents: &[Value]) -> Vec<Decision> {
    let decider = Decider::new(record, viewer, policy, host_consents);
    (0..record.entries.len()).map(|i| decider.decide_one(i)).collect()
}

/// The policy's restriction on this resource for this viewer, if any.
/// `age_type` is the type the adolescent rule looks at (a contained
/// resource's container's).
fn restriction(viewer: &Viewer, policy: &Policy, resource_type: &str, age_type: &str, facts: &Facts, age: Option<u32>) -> Option<(Reason, String)> {
    if viewer.role == Role::Proxy && resource_type == "Consent" {
        return Some((Reason::ConsentResource, "policy: Consent resources are not shown to proxies".into()));
    }
    let sensitive = match viewer.role {
        Role::Proxy => &policy.proxy_sensitive,
        Role::Clinician => &policy.clinician_sensitive,
        Role::Patient => return None,
    };
    if let Some(label) = facts.labels.iter().find(|l| sensitive.contains(&l.code)) {
        let list = if viewer.role == Role::Proxy { "proxySensitive" } else { "clinicianSensitive" };
        return Some((Reason::Sensitive(label.code.clone()), format!("policy.{list}: {}", label.code)));
    }
    let level = facts.confidentiality;
    if level >= 5 && policy.very_restricted_hidden_from.contains(&viewer.role) {
        return Some((Reason::Confidentiality("V"), "policy.veryRestricted: confidentiality V".into()));
    }
    if level >= 4 && policy.restricted_hidden_from.contains(&viewer.role) {
        return Some((Reason::Confidentiality(level_name(level)), format!("policy.restricted: confidentiality {}", level_name(level))));
    }
    if viewer.is_parental() && age.is_none_or(|a| a >= policy.adolescent_age) && !policy.adolescent_visible.iter().any(|t| t == age_type) {
        let rule = match age {
            Some(a) => format!("policy.adolescentAge: patient is {a} (from {})", policy.adolescent_age),
            None => format!("policy.adolescentAge: patient's age unknown (from {})", policy.adolescent_age),
        };
        return Some((Reason::Adolescent, rule));
    }
    None
}

/// One decision as the host sees it: which resource, the effect, why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecisionReport {
    pub resource_type: String,
    pub id: Option<String>,
    pub full_url: Option<String>,
    pub permit: bool,
    pub reason: Reason,
    pub rule: String,
    pub labels: Vec<labels::Code>,
}

/// A record screened for one viewer: what may be shown, every decision,
/// and the chart's notice.
#[derive(Debug, Clone)]
pub struct Screened {
    /// Only the permitted resources.
    pub record: Record,
    pub decisions: Vec<DecisionReport>,
    pub viewer: Viewer,
    pub notice: Option<crate::render::WithheldNotice>,
}

impl Screened {
    /// The audit trail of this viewing (built on request).
    pub fn audit(&self) -> Value {
        audit_event(&self.viewer, &self.decisions)
    }
}

/// Decides and filters in one step.
/// The same path as [`screen_paced`], run through without yielding.
pub fn screen(record: Record, viewer: &Viewer, policy: &Policy, host_consents: &[Value]) -> Screened {
    crate::source::run_now(screen_paced(record, viewer, policy, host_consents, &crate::source::Immediate))
}

/// [`screen`], giving the event loop a turn every few milliseconds.
pub async fn screen_paced<S: crate::source::Scheduler>(record: Record, viewer: &Viewer, policy: &Policy, host_consents: &[Value], sched: &S) -> Screened {
    let pacer = crate::source::Pacer::new(sched);
    screen_between(record, viewer, policy, host_consents, &mut || Box::pin(pacer.tick())).await
}

/// [`screen_paced`], awaiting `between` for each turn (see [`crate::source::Turn`]).
async fn screen_between<'t>(
    record: Record,
    viewer: &Viewer,
    policy: &Policy,
    host_consents: &[Value],
    between: &mut (dyn FnMut() -> crate::source::Turn<'t> + '_),
) -> Screened {
    let mut decisions = Vec::with_capacity(record.entries.len());
    {
        let decider = Decider::new(&record, viewer, policy, host_consents);
        for i in 0..record.entries.len() {
            decisions.push(decider.decide_one(i));
            between().await;
        }
    }
    finish(record, viewer, decisions)
}

fn finish(record: Record, viewer: &Viewer, decisions: Vec<Decision>) -> Screened {
    let permitted: Vec<bool> = decisions.iter().map(|d| d.permit).collect();
    let reports = decisions
        .into_iter()
        .filter_map(|d| {
            let e = record.entries.get(d.entry)?;
            Some(DecisionReport {
                resource_type: e.resource_type.clone(),
                id: e.id.clone(),
                full_url: e.full_url.clone(),
                permit: d.permit,
                reason: d.reason,
                rule: d.rule,
                labels: d.labels,
            })
        })
        .collect();
    let mut record = record.retain(&permitted);
    // What is shown names nothing that is withheld.
    let changed: Vec<(usize, Value)> = (0..record.entries.len()).filter_map(|i| Some((i, redacted(&record, i)?))).collect();
    for (i, raw) in changed {
        if let Some(entry) = record.entries.get_mut(i) {
            entry.set_raw(raw);
        }
    }
    let withheld = record.withheld_count();
    let notice = (withheld > 0).then_some(crate::render::WithheldNotice { count: (viewer.role != Role::Proxy).then_some(withheld) });
    Screened { record, decisions: reports, viewer: viewer.clone(), notice }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relationships_from_role_codes_and_names() {
        for parental in [
            "parent",
            "PRN",
            "prn",
            " Parent ",
            "parent ",
            "MTH",
            "FTH",
            "GRD",
            "NMTH",
            "NFTH",
            "STPPRN",
            "stepparent",
            "Step-parent",
            "step parent",
            "Legal Guardian",
            "legal-guardian",
            "http://terminology.hl7.org/CodeSystem/v3-RoleCode|MTH",
            "mother",
            "Foster parent",
        ] {
            assert!(relationship(Some(parental)).is_some_and(|r| r.parental), "{parental:?}");
        }
        assert_eq!(relationship(Some("prn")).and_then(|r| r.code), Some("PRN"));
        assert_eq!(relationship(Some("stepparent")).and_then(|r| r.code), Some("STPPRN"));
        for other in ["caregiver", "Caregiver ", "FRND", "spouse", "SPS", "sibling"] {
            assert_eq!(relationship(Some(other)).map(|r| r.parental), Some(false), "{other:?}");
        }
        // Unknown or absent: the adolescent rule applies (fails closed).
        for unknown in [None, Some(""), Some("  "), Some("auntie"), Some("pa rent?")] {
            let v = Viewer { role: Role::Proxy, relationship: unknown.map(str::to_string), actor: None, purpose: None, at: 0 };
            assert!(v.is_parental(), "{unknown:?}");
        }
        let caregiver = Viewer { role: Role::Proxy, relationship: Some("CAREGIVER".into()), actor: None, purpose: None, at: 0 };
        assert!(!caregiver.is_parental());
        assert!(!Viewer { role: Role::Clinician, ..caregiver }.is_parental());
    }
}
