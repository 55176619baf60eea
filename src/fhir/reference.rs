//! The one reference normaliser: what a FHIR `Reference.reference` points
//! at, in a form the chart, consent and the JavaScript API compare alike.

/// What a reference points at.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Target {
    /// `#id`: a resource in the referring resource's `contained` list (and
    /// only there); `#` alone is the container itself.
    Contained(String),
    /// `Type/id`, from a relative reference, an absolute URL ending in
    /// `Type/id`, or either with `/_history/n`.
    Key(String),
    /// A URI matched against `Bundle.entry.fullUrl` only (`urn:uuid:…`,
    /// `urn:oid:…`, or an absolute URL with no `Type/id` tail).
    FullUrl(String),
}

/// Whether `s` looks like a FHIR resource type name (`Observation`).
fn is_type_name(s: &str) -> bool {
    s.chars().next().is_some_and(|c| c.is_ascii_uppercase()) && s.chars().all(|c| c.is_ascii_alphanumeric())
}

/// Whether `s` can be a FHIR id (1-64 of `A-Za-z0-9-.`).
fn is_id(s: &str) -> bool {
    !s.is_empty() && s.len() <= 64 && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.')
}

/// Normalises a `Reference.reference`. Surrounding whitespace and a query
/// or fragment on a URL are ignored; `_history/n` is dropped (a version of
/// a resource is that resource).
pub fn target(reference: &str) -> Option<Target> {
    let r = reference.trim();
    if r.is_empty() {
        return None;
    }
    if let Some(id) = r.strip_prefix('#') {
        return Some(Target::Contained(id.to_string()));
    }
    if r.starts_with("urn:") {
        return Some(Target::FullUrl(r.to_string()));
    }
    let path = r.split(['?', '#']).next().unwrap_or_default().trim_end_matches('/');
    let parts: Vec<&str> = path.rsplit('/').take(4).collect();
    let key = match parts.as_slice() {
        [_, "_history", id, ty, ..] if is_type_name(ty) && is_id(id) => Some(format!("{ty}/{id}")),
        [id, ty, ..] if is_type_name(ty) && is_id(id) => Some(format!("{ty}/{id}")),
        _ => None,
    };
    Some(match key {
        Some(key) => Target::Key(key),
        None => Target::FullUrl(r.to_string()),
    })
}

/// `Type/id` of a reference when it has one; otherwise the reference as
/// written (trimmed). For comparing two references to the same party.
pub fn key(reference: &str) -> String {
    match target(reference) {
        Some(Target::Key(k)) => k,
        Some(Target::Contained(id)) => format!("#{id}"),
        Some(Target::FullUrl(u)) => u,
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::{key, target, Target};

    #[test]
    fn forms_of_reference() {
        let k = |s: &str| Some(Target::Key(s.to_string()));
        assert_eq!(target("Medication/m1"), k("Medication/m1"));
        assert_eq!(target(" Medication/m1 "), k("Medication/m1"));
        assert_eq!(target("Medication/m1/_history/2"), k("Medication/m1"));
        assert_eq!(target("https://ehr.example/fhir/R4/Medication/m1/_history/2"), k("Medication/m1"));
        assert_eq!(target("https://ehr.example/fhir/Medication/m1?x=1"), k("Medication/m1"));
        assert_eq!(target("#med0320"), Some(Target::Contained("med0320".into())));
        assert_eq!(target("urn:uuid:0c3151bd-1cbf-4d64-b04d-cd9187a4c6e0"), Some(Target::FullUrl("urn:uuid:0c3151bd-1cbf-4d64-b04d-cd9187a4c6e0".into())));
        assert_eq!(target("resource:0"), Some(Target::FullUrl("resource:0".into())));
        assert_eq!(target(""), None);
        assert_eq!(key("https://x.example/fhir/Patient/1/_history/3"), "Patient/1");
        assert_eq!(key("Patient/1"), "Patient/1");
    }
}
