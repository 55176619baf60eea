//! FHIR R4 `Consent` evaluation for one resource and one viewer.
//!
//! The rules, with their sources, are written out in ARCHITECTURE.md
//! ("Consent rules"). In short: only `active` privacy consents for this
//! patient apply; the root provision's `type`, else `policyRule`
//! (OPTIN/OPTOUT), is the base; a provision applies when every condition it
//! states holds (values within one condition are alternatives); nested
//! provisions are exceptions and are evaluated inside their parent; deny
//! overrides permit; a condition the SDK cannot evaluate counts as met for a
//! deny and unmet for a permit, so that uncertainty only ever withholds.

use serde_json::Value;

use super::labels::{canonical_system, level, Code, Facts, ACT_CODE, CONFIDENTIALITY};
use super::{Role, Viewer};

/// The effect of a provision.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Effect {
    Permit,
    Deny,
    /// A provision whose effect cannot be known (no `type` on a nested
    /// provision, an unknown `policyRule`): treated as a deny.
    Unknown,
}

/// What one Consent says about one resource.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verdict {
    pub effect: Effect,
    /// A provision on the path named the viewer by reference.
    pub names_viewer: bool,
    /// A condition that could not be evaluated decided the match.
    pub uncertain: bool,
    /// Which provision decided: `Consent/<id> provision`, `… provision.provision[1]`.
    pub rule: String,
}

/// Tri-state condition result.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Match {
    Yes,
    No,
    Unknown,
}

/// What the evaluator needs to know about the record besides the resource.
pub struct Context<'a> {
    /// `Type/id` and full URLs of the record's patient.
    pub patient_keys: &'a [String],
    /// Keys (`Type/id`, full URL) of the resource being decided.
    pub resource_keys: &'a [String],
    /// The resource's type.
    pub resource_type: &'a str,
    pub facts: &'a Facts,
    /// References made by another resource of the record, by its key.
    pub references_of: &'a dyn Fn(&str) -> Option<Vec<String>>,
}

fn codings(concept: &Value) -> impl Iterator<Item = &Value> {
    concept.get("coding").and_then(Value::as_array).into_iter().flatten()
}

fn code_of(coding: &Value) -> Option<Code> {
    let code = coding.get("code")?.as_str()?;
    let system = canonical_system(coding.get("system").and_then(Value::as_str).unwrap_or_default());
    Some(Code { system: system.to_string(), code: code.to_string() })
}

/// `Type/id` of a reference (relative, absolute, versioned); `urn:` and
/// contained references as they are. The record's own normaliser.
pub fn reference_key(reference: &str) -> String {
    crate::fhir::reference::key(reference)
}

fn same_party(a: &str, b: &str) -> bool {
    a.trim() == b.trim() || reference_key(a) == reference_key(b)
}

/// Combines condition results: all must hold.
fn all(results: impl IntoIterator<Item = Match>) -> Match {
    let mut out = Match::Yes;
    for r in results {
        match r {
            Match::No => return Match::No,
            Match::Unknown => out = Match::Unknown,
            Match::Yes => {}
        }
    }
    out
}

/// Alternatives: any may hold.
fn any(results: impl IntoIterator<Item = Match>) -> Match {
    let mut out = Match::No;
    for r in results {
        match r {
            Match::Yes => return Match::Yes,
            Match::Unknown => out = Match::Unknown,
            Match::No => {}
        }
    }
    out
}

fn list<'a>(node: &'a Value, name: &str) -> Option<&'a Vec<Value>> {
    node.get(name).and_then(Value::as_array).filter(|l| !l.is_empty())
}

/// `Period` contains the instant `at` (seconds).
fn period_contains(period: &Value, at: i64) -> Match {
    let bound = |name: &str| period.get(name).and_then(Value::as_str).map(|t| crate::fhir::DateTime::parse(t).span());
    let start_ok = match bound("start") {
        None => true,
        Some(Some((s, _))) => at >= s,
        Some(None) => return Match::Unknown,
    };
    let end_ok = match bound("end") {
        None => true,
        Some(Some((_, e))) => at < e,
        Some(None) => return Match::Unknown,
    };
    if start_ok && end_ok {
        Match::Yes
    } else {
        Match::No
    }
}

const PARTICIPATION: &str = "http://terminology.hl7.org/CodeSystem/v3-ParticipationType";
/// Participation roles that name the one who receives the information.
const RECIPIENT_ROLES: &[&str] = &["IRCP", "PRCP", "REFT", "CALLBCK", "NOT"];

/// `actor`: the viewer is the party named (by reference). A role that names
/// the data's custodian or author (not a recipient) cannot be checked
/// against a viewer: unknown. A viewer with no actor reference cannot be
/// told apart from the named party: unknown (a patient viewer is the
/// record's patient).
fn actor_matches(actor: &Value, viewer: &Viewer, ctx: &Context<'_>) -> (Match, bool) {
    let roles: Vec<Code> = actor.get("role").map(|r| codings(r).filter_map(code_of).collect()).unwrap_or_default();
    if roles.iter().any(|r| r.system == PARTICIPATION && !RECIPIENT_ROLES.contains(&r.code.as_str())) {
        return (Match::Unknown, false);
    }
    let Some(reference) = actor.get("reference").and_then(|r| r.get("reference")).and_then(Value::as_str) else {
        return (Match::Unknown, false);
    };
    let is_patient = ctx.patient_keys.iter().any(|k| same_party(k, reference));
    match (&viewer.actor, viewer.role) {
        (_, Role::Patient) if is_patient => (Match::Yes, true),
        (Some(actor), _) if same_party(actor, reference) => (Match::Yes, true),
        (Some(_), _) => (Match::No, false),
        (None, _) if is_patient => (Match::No, false),
        (None, _) => (Match::Unknown, false),
    }
}

fn action_matches(concept: &Value) -> Match {
    any(codings(concept).map(|c| {
        let system = c.get("system").and_then(Value::as_str).unwrap_or_default();
        let code = c.get("code").and_then(Value::as_str).unwrap_or_default();
        match (system, code) {
            ("http://terminology.hl7.org/CodeSystem/consentaction" | "", "access") => Match::Yes,
            ("http://terminology.hl7.org/CodeSystem/consentaction" | "", "collect" | "use" | "disclose" | "correct") => Match::No,
            _ => Match::Unknown,
        }
    }))
}

/// `securityLabel`: confidentiality is a high-water mark (the rule covers
/// data at or below its level); other labels must be on the resource.
fn label_matches(label: &Code, facts: &Facts) -> Match {
    if label.system == CONFIDENTIALITY || (label.system.is_empty() && level(&label.code).is_some()) {
        return match level(&label.code) {
            Some(l) if facts.confidentiality <= l => Match::Yes,
            Some(_) => Match::No,
            None => Match::Unknown,
        };
    }
    if facts.labels.iter().any(|l| label.matches(l)) {
        Match::Yes
    } else {
        Match::No
    }
}

fn class_matches(class: &Code, ctx: &Context<'_>) -> Match {
    match class.system.as_str() {
        "http://hl7.org/fhir/resource-types" | "http://hl7.org/fhir/ValueSet/resource-types" => {
            if class.code == ctx.resource_type {
                Match::Yes
            } else {
                Match::No
            }
        }
        "urn:ietf:bcp:13" => {
            if ctx.facts.mime_types.iter().any(|m| m.split(';').next().unwrap_or_default().trim().eq_ignore_ascii_case(&class.code)) {
                Match::Yes
            } else {
                Match::No
            }
        }
        _ if class.code.contains("/StructureDefinition/") => {
            if ctx.facts.profiles.iter().any(|p| p == &class.code) {
                Match::Yes
            } else {
                Match::No
            }
        }
        _ => Match::Unknown,
    }
}

fn data_matches(data: &Value, ctx: &Context<'_>) -> Match {
    let Some(reference) = data.get("reference").and_then(|r| r.get("reference")).and_then(Value::as_str) else {
        return Match::Unknown;
    };
    let is_it = ctx.resource_keys.iter().any(|k| same_party(k, reference));
    let refers_to_it = || ctx.facts.references.iter().any(|r| same_party(r, reference));
    match data.get("meaning").and_then(Value::as_str).unwrap_or("instance") {
        "instance" => if is_it { Match::Yes } else { Match::No },
        // The instance and the instances it refers to.
        "related" => {
            if is_it {
                return Match::Yes;
            }
            match (ctx.references_of)(&reference_key(reference)) {
                Some(refs) if refs.iter().any(|r| ctx.resource_keys.iter().any(|k| same_party(k, r))) => Match::Yes,
                Some(_) => Match::No,
                None => Match::Unknown,
            }
        }
        // The instance and the instances that refer to it.
        "dependents" => if is_it || refers_to_it() { Match::Yes } else { Match::No },
        "authoredby" => if ctx.facts.authors.iter().any(|a| same_party(a, reference)) { Match::Yes } else { Match::No },
        _ => Match::Unknown,
    }
}

/// Whether a provision's own conditions hold; and whether it named the viewer.
fn conditions(node: &Value, viewer: &Viewer, ctx: &Context<'_>) -> (Match, bool) {
    let mut results = Vec::new();
    let mut names_viewer = false;
    if let Some(period) = node.get("period") {
        results.push(period_contains(period, viewer.at));
    }
    if let Some(actors) = list(node, "actor") {
        let matched: Vec<(Match, bool)> = actors.iter().map(|a| actor_matches(a, viewer, ctx)).collect();
        names_viewer = matched.iter().any(|(m, named)| *m == Match::Yes && *named);
        results.push(any(matched.into_iter().map(|(m, _)| m)));
    }
    if let Some(actions) = list(node, "action") {
        results.push(any(actions.iter().map(action_matches)));
    }
    if let Some(labels) = list(node, "securityLabel") {
        results.push(any(labels.iter().map(|l| code_of(l).map_or(Match::Unknown, |c| label_matches(&c, ctx.facts)))));
    }
    if let Some(purposes) = list(node, "purpose") {
        results.push(any(purposes.iter().map(|p| match (&viewer.purpose, code_of(p)) {
            (Some(v), Some(c)) if c.code == *v => Match::Yes,
            _ => Match::No,
        })));
    }
    if let Some(classes) = list(node, "class") {
        results.push(any(classes.iter().map(|c| code_of(c).map_or(Match::Unknown, |c| class_matches(&c, ctx)))));
    }
    if let Some(codes) = list(node, "code") {
        results.push(any(codes.iter().map(|concept| {
            let found = codings(concept).filter_map(code_of).any(|c| ctx.facts.codings.iter().any(|have| c.matches(have)));
            if found {
                Match::Yes
            } else {
                Match::No
            }
        })));
    }
    if let Some(period) = node.get("dataPeriod") {
        results.push(match ctx.facts.when {
            None => Match::Unknown,
            Some((s, e)) => {
                // The data's span must fall inside the rule's period.
                let inside = |t: i64| period_contains(period, t);
                all([inside(s), inside(e - 1)])
            }
        });
    }
    if let Some(data) = list(node, "data") {
        results.push(any(data.iter().map(|d| data_matches(d, ctx))));
    }
    (all(results), names_viewer)
}

fn effect_of(node: &Value) -> Option<Effect> {
    match node.get("type").and_then(Value::as_str) {
        Some("permit") => Some(Effect::Permit),
        Some("deny") => Some(Effect::Deny),
        Some(_) => Some(Effect::Unknown),
        None => None,
    }
}

/// Evaluates a provision with `effect`; `None` when it does not apply.
fn provision(node: &Value, effect: Effect, path: &str, named: bool, viewer: &Viewer, ctx: &Context<'_>) -> Option<Verdict> {
    let (matched, names_viewer) = conditions(node, viewer, ctx);
    let applies = match (matched, effect) {
        (Match::Yes, _) => true,
        (Match::No, _) => false,
        // Uncertainty withholds: a deny applies, a permit does not.
        (Match::Unknown, Effect::Deny | Effect::Unknown) => true,
        (Match::Unknown, Effect::Permit) => false,
    };
    if !applies {
        return None;
    }
    let named = named || names_viewer;
    let own = Verdict { effect, names_viewer: named, uncertain: matched == Match::Unknown || effect == Effect::Unknown, rule: path.to_string() };
    let children: Vec<Verdict> = node
        .get("provision")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .enumerate()
        .filter_map(|(i, child)| provision(child, effect_of(child).unwrap_or(Effect::Unknown), &format!("{path}.provision[{i}]"), named, viewer, ctx))
        .collect();
    // Exceptions override their parent; among them, deny overrides permit.
    children.iter().find(|v| v.effect != Effect::Permit).or_else(|| children.iter().find(|v| v.effect == Effect::Permit)).cloned().or(Some(own))
}

/// Whether a Consent is in force for this record's patient.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InForce {
    /// `active`, a privacy consent (`scope` patient-privacy), about this patient.
    Yes,
    No,
    /// Active privacy consent naming no patient, or the record names none:
    /// its denies apply, its permits do not.
    PatientUnconfirmed,
}

pub fn in_force(consent: &Value, patient_keys: &[String]) -> InForce {
    if consent.get("status").and_then(Value::as_str) != Some("active") {
        return InForce::No;
    }
    let privacy = consent.get("scope").is_some_and(|s| codings(s).any(|c| c.get("code").and_then(Value::as_str) == Some("patient-privacy")));
    if !privacy {
        return InForce::No;
    }
    match consent.get("patient").and_then(|p| p.get("reference")).and_then(Value::as_str) {
        Some(p) if patient_keys.iter().any(|k| same_party(k, p)) => InForce::Yes,
        Some(_) if !patient_keys.is_empty() => InForce::No,
        _ => InForce::PatientUnconfirmed,
    }
}

/// Evaluates one Consent (already found to be in force, or of unconfirmed
/// patient: `patient_known == false` makes its permits not apply).
pub fn evaluate(consent: &Value, patient_known: bool, viewer: &Viewer, ctx: &Context<'_>) -> Option<Verdict> {
    let id = consent.get("id").and_then(Value::as_str).unwrap_or("(no id)");
    let empty = Value::Object(Default::default());
    let root = consent.get("provision").unwrap_or(&empty);
    let base = effect_of(root).unwrap_or_else(|| {
        let rules: Vec<Code> = consent.get("policyRule").map(|p| codings(p).filter_map(code_of).collect()).unwrap_or_default();
        let is = |code: &str| rules.iter().any(|r| r.code == code && (r.system.is_empty() || r.system == ACT_CODE));
        if is("OPTIN") || is("OPTINR") {
            Effect::Permit
        } else if is("OPTOUT") || is("OPTOUTE") {
            Effect::Deny
        } else {
            Effect::Unknown
        }
    });
    let verdict = provision(root, base, &format!("Consent/{id} provision"), false, viewer, ctx)?;
    if !patient_known && verdict.effect == Effect::Permit {
        return None;
    }
    Some(Verdict { uncertain: verdict.uncertain || !patient_known, ..verdict })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reference_keys() {
        assert_eq!(reference_key("Patient/1"), "Patient/1");
        assert_eq!(reference_key("https://x.example/fhir/Patient/1"), "Patient/1");
        assert_eq!(reference_key("https://x.example/fhir/Patient/1/_history/3"), "Patient/1");
        assert_eq!(reference_key("urn:uuid:abc"), "urn:uuid:abc");
    }
}
