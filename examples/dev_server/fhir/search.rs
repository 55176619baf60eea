//! Searches, reads and `$everything` over the index: query parameters,
//! paging, searchset Bundles, and the CapabilityStatement.

use super::*;

// --------------------------------------------------------------- parameters

/// A query string, percent- and `+`-decoded, in order.
pub(super) struct Params(Vec<(String, String)>);

impl Params {
    pub(super) fn parse(query: &str) -> Option<Self> {
        query
            .split('&')
            .filter(|pair| !pair.is_empty())
            .map(|pair| {
                let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
                Some((percent_decode(name, true)?, percent_decode(value, true)?))
            })
            .collect::<Option<Vec<_>>>()
            .map(Self)
    }

    fn all<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.0.iter().filter(move |(n, _)| n == name).map(|(_, v)| v.as_str())
    }

    /// The value of a parameter given at most once.
    fn single<'a>(&'a self, name: &'a str) -> Result<Option<&'a str>, ResponseBox> {
        let mut values = self.all(name);
        let first = values.next();
        if values.next().is_some() {
            return Err(bad_request(&format!("{name} is given more than once")));
        }
        Ok(first)
    }
}

/// Percent-encodes a query value (unreserved characters and `/ : , $` stay).
fn encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || b"-._~/:,$".contains(&byte) {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

fn number(name: &str, value: &str) -> Result<usize, ResponseBox> {
    if value.is_empty() || !value.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad_request(&format!("{name} must be a non-negative integer")));
    }
    Ok(value.parse().unwrap_or(usize::MAX))
}

/// `system|code`, `|code`, `system|` or `code`.
struct TokenParam {
    /// `None`: any system; `Some(None)`: no system; `Some(Some(s))`: system `s`.
    system: Option<Option<String>>,
    code: Option<String>,
}

impl TokenParam {
    fn parse(text: &str) -> Option<Self> {
        let token = match text.split_once('|') {
            None => Self { system: None, code: Some(text.to_owned()) },
            Some(("", "")) => return None,
            Some(("", code)) => Self { system: Some(None), code: Some(code.to_owned()) },
            Some((system, "")) => Self { system: Some(Some(system.to_owned())), code: None },
            Some((system, code)) => Self { system: Some(Some(system.to_owned())), code: Some(code.to_owned()) },
        };
        (token.code.as_deref() != Some("")).then_some(token)
    }

    fn matches(&self, system: Option<&String>, code: Option<&String>) -> bool {
        let system_ok = match &self.system {
            None => true,
            Some(wanted) => wanted.as_ref() == system,
        };
        system_ok && self.code.as_ref().is_none_or(|wanted| Some(wanted) == code)
    }
}

/// One page of matches and includes.
struct Page<'a> {
    total: usize,
    matches: Vec<&'a Key>,
    includes: Vec<&'a Key>,
}

#[derive(Serialize)]
struct Bundle<'a> {
    #[serde(rename = "resourceType")]
    resource_type: &'static str,
    #[serde(rename = "type")]
    kind: &'static str,
    total: usize,
    link: Vec<Link>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    entry: Vec<Entry<'a>>,
}

#[derive(Serialize)]
struct Link {
    relation: &'static str,
    url: String,
}

#[derive(Serialize)]
struct Entry<'a> {
    #[serde(rename = "fullUrl")]
    full_url: String,
    resource: &'a RawValue,
    search: SearchMode,
}

#[derive(Serialize)]
struct SearchMode {
    mode: &'static str,
}

/// One authorised request.
pub(super) struct Context<'a> {
    pub(super) api: &'a Api,
    pub(super) base: String,
    pub(super) params: Params,
    pub(super) lenient: bool,
}

type Answer = Result<ResponseBox, ResponseBox>;

impl Context<'_> {
    /// Refuses parameters outside `allowed` (unless lenient) and formats other than JSON.
    fn check_names(&self, allowed: &[&str]) -> Result<(), ResponseBox> {
        if let Some((name, _)) = self.params.0.iter().find(|(name, _)| !allowed.contains(&name.as_str())) {
            if !self.lenient {
                return Err(bad_request(&format!(
                    "unknown or unsupported parameter {name:?} (Prefer: handling=lenient ignores it)"
                )));
            }
        }
        for format in self.params.all("_format") {
            let mime = format.split(';').next().unwrap_or("").trim();
            if !["json", "application/json", "application/fhir+json"].contains(&mime) {
                return Err(outcome(406, "not-supported", "only JSON is served"));
            }
        }
        Ok(())
    }

    /// `(_count, _offset)`.
    fn paging(&self) -> Result<(usize, usize), ResponseBox> {
        let count = match self.params.single("_count")? {
            Some(value) => number("_count", value)?.min(MAX_COUNT),
            None => DEFAULT_COUNT,
        };
        let offset = match self.params.single("_offset")? {
            Some(value) => number("_offset", value)?,
            None => 0,
        };
        Ok((count, offset))
    }

    pub(super) fn read(&self, kind: &str, id: &str) -> Answer {
        match self.api.index.get(kind, id) {
            Some(stored) => Ok(fhir_json(200, stored.json.get().to_owned())),
            None => Err(outcome(404, "not-found", &format!("no {kind} with this id"))),
        }
    }

    pub(super) fn everything(&self, id: &str) -> Answer {
        self.check_names(&[PAGING, &["_type"]].concat())?;
        let Some(members) = self.api.index.compartments.get(id) else {
            return Err(outcome(404, "not-found", "no Patient with this id"));
        };
        let mut types: Option<HashSet<&str>> = None;
        for value in self.params.all("_type") {
            let list: HashSet<&str> = value.split(',').map(str::trim).collect();
            if !list.iter().all(|t| is_type(t)) {
                return Err(bad_request("_type must be a comma-separated list of resource types"));
            }
            types = Some(match types {
                Some(before) => before.intersection(&list).copied().collect(),
                None => list,
            });
        }
        let (count, offset) = self.paging()?;
        let found: Vec<&Key> =
            members.iter().filter(|(kind, _)| types.as_ref().is_none_or(|t| t.contains(kind.as_str()))).collect();
        let used: Vec<(&str, &str)> = self.params.all("_type").map(|v| ("_type", v)).collect();
        let page = page(found, count, offset, false, &self.api.index);
        Ok(self.bundle(&format!("Patient/{id}/$everything"), &used, count, offset, page))
    }

    pub(super) fn search(&self, kind: &str) -> Answer {
        let element = patient_element(kind);
        let mut allowed = [PAGING, &["_id", "_include"]].concat();
        if element.is_some() {
            allowed.push("patient");
        }
        if element == Some("subject") {
            allowed.push("subject");
        }
        if CATEGORY_TYPES.contains(&kind) {
            allowed.push("category");
        }
        self.check_names(&allowed)?;

        let mut used: Vec<(&str, &str)> = Vec::new();
        let subjects: Vec<(&str, &str)> = self
            .params
            .0
            .iter()
            .filter(|(n, _)| (n == "patient" || n == "subject") && allowed.contains(&n.as_str()))
            .map(|(n, v)| (n.as_str(), v.as_str()))
            .collect();
        let patient = match subjects.as_slice() {
            [] => None,
            [(name, value)] => {
                let id = value.strip_prefix("Patient/").unwrap_or(value);
                if !is_id(id) {
                    return Err(bad_request(&format!("{name} must be a Patient id or Patient/<id>")));
                }
                used.push((name, value));
                Some(id)
            }
            _ => return Err(bad_request("give the patient once (patient or subject)")),
        };
        let ids = self.params.single("_id")?;
        if let Some(value) = ids {
            used.push(("_id", value));
        }
        let ids: Option<HashSet<&str>> = ids.map(|v| v.split(',').map(str::trim).collect());
        if element.is_some() && patient.is_none() && ids.is_none() {
            return Err(bad_request(&format!("searching {kind} needs the patient: ?patient=<id>")));
        }
        let mut categories: Vec<Vec<TokenParam>> = Vec::new();
        if CATEGORY_TYPES.contains(&kind) {
            for value in self.params.all("category") {
                let tokens = value.split(',').map(TokenParam::parse).collect::<Option<Vec<_>>>();
                let Some(tokens) = tokens else {
                    return Err(bad_request("category must be code, system|code, |code or system|"));
                };
                categories.push(tokens);
                used.push(("category", value));
            }
        }
        let mut include = false;
        for value in self.params.all("_include") {
            if kind != "MedicationRequest"
                || (value != INCLUDE_MEDICATION && value != "MedicationRequest:medication:Medication")
            {
                return Err(bad_request(&format!("the only _include supported is {INCLUDE_MEDICATION}")));
            }
            include = true;
            used.push(("_include", value));
        }
        let (count, offset) = self.paging()?;

        let index = &self.api.index;
        let candidates: Box<dyn Iterator<Item = &Key>> = match patient {
            Some(id) => Box::new(index.compartments.get(id).into_iter().flatten()),
            None => Box::new(index.order.iter()),
        };
        let found: Vec<&Key> = candidates
            .filter(|key| key.0 == kind)
            .filter(|key| ids.as_ref().is_none_or(|ids| ids.contains(key.1.as_str())))
            .filter(|key| {
                let Some(stored) = index.resources.get(*key) else { return false };
                patient.is_none_or(|id| stored.patient.as_deref() == Some(id))
                    && categories.iter().all(|any| {
                        any.iter()
                            .any(|token| stored.categories.iter().any(|(s, c)| token.matches(s.as_ref(), c.as_ref())))
                    })
            })
            .collect();
        let page = page(found, count, offset, include, index);
        Ok(self.bundle(kind, &used, count, offset, page))
    }

    /// A searchset Bundle of `page`, with `self` and (when more follow) `next`.
    fn bundle(&self, path: &str, used: &[(&str, &str)], count: usize, offset: usize, page: Page<'_>) -> ResponseBox {
        let link = |offset: usize| {
            let mut query: Vec<String> = used.iter().map(|(n, v)| format!("{n}={}", encode(v))).collect();
            query.push(format!("_count={count}"));
            if offset > 0 {
                query.push(format!("_offset={offset}"));
            }
            format!("{}/{path}?{}", self.base, query.join("&"))
        };
        let mut links = vec![Link { relation: "self", url: link(offset) }];
        let next = offset.saturating_add(count);
        if count > 0 && next < page.total {
            links.push(Link { relation: "next", url: link(next) });
        }
        let index = &self.api.index;
        let entry = |key: &Key, mode| {
            let stored = index.resources.get(key)?;
            Some(Entry {
                full_url: format!("{}/{}/{}", self.base, key.0, key.1),
                resource: &stored.json,
                search: SearchMode { mode },
            })
        };
        let entries = page
            .matches
            .iter()
            .filter_map(|key| entry(key, "match"))
            .chain(page.includes.iter().filter_map(|key| entry(key, "include")))
            .collect();
        let bundle =
            Bundle { resource_type: "Bundle", kind: "searchset", total: page.total, link: links, entry: entries };
        match serde_json::to_string(&bundle) {
            Ok(body) => fhir_json(200, body),
            Err(_) => outcome(500, "exception", "the Bundle could not be written"),
        }
    }
}

/// The slice `offset..offset + count` of `found`, and with `include` the
/// Medications its MedicationRequests name (once each, present ones only).
fn page<'a>(found: Vec<&'a Key>, count: usize, offset: usize, include: bool, index: &'a Index) -> Page<'a> {
    let total = found.len();
    let matches: Vec<&Key> = found.into_iter().skip(offset).take(count).collect();
    let mut includes: Vec<&Key> = Vec::new();
    if include {
        for key in &matches {
            let medication = index.resources.get(*key).and_then(|s| s.medication.as_ref());
            let Some((included, _)) =
                medication.and_then(|id| index.resources.get_key_value(&("Medication".to_owned(), id.clone())))
            else {
                continue;
            };
            if !includes.contains(&included) {
                includes.push(included);
            }
        }
    }
    Page { total, matches, includes }
}

/// The CapabilityStatement: every type present, its interactions, search
/// parameters and includes, and `$everything` on Patient.
pub(super) fn capability(api: &Api, base: &str) -> Value {
    let param = |name: &str, kind: &str| json!({ "name": name, "type": kind });
    let resources: Vec<Value> = api
        .index
        .types
        .iter()
        .map(|kind| {
            let element = patient_element(kind);
            let mut params = vec![param("_id", "token"), param("_count", "number")];
            if element.is_some() {
                params.push(param("patient", "reference"));
            }
            if element == Some("subject") {
                params.push(param("subject", "reference"));
            }
            if CATEGORY_TYPES.contains(&kind.as_str()) {
                params.push(param("category", "token"));
            }
            let mut resource = json!({
                "type": kind,
                "interaction": [{ "code": "read" }, { "code": "search-type" }],
                "searchParam": params,
            });
            if kind == "MedicationRequest" {
                resource["searchInclude"] = json!([INCLUDE_MEDICATION]);
            }
            if kind == "Patient" {
                resource["operation"] = json!([{ "name": "everything", "definition": EVERYTHING }]);
            }
            resource
        })
        .collect();
    json!({
        "resourceType": "CapabilityStatement",
        "status": "active",
        "date": api.started,
        "kind": "instance",
        "software": { "name": "Patient Portal SDK development backend" },
        "implementation": {
            "description": "Read-only FHIR API over the embedded sample patients (development use only)",
            "url": base,
        },
        "fhirVersion": "4.0.1",
        "format": ["json"],
        "rest": [{
            "mode": "server",
            "security": {
                "cors": true,
                "description": "Send Authorization: Bearer <token>, the token the server printed at start.",
            },
            "resource": resources,
        }],
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fhir::tests::BUNDLE;

    #[test]
    fn include_names_the_medication_once() {
        let index = Index::build(&[("Test", BUNDLE.as_bytes())]).expect("index");
        let key = ("MedicationRequest".to_owned(), "r-1".to_owned());
        let paged = page(vec![&key, &key], 10, 0, true, &index);
        assert_eq!(paged.includes.len(), 1);
        assert_eq!(paged.includes[0].1, "m-1");
        assert!(page(vec![&key], 10, 0, false, &index).includes.is_empty());
    }

    #[test]
    fn tokens() {
        let token = |t: &str| TokenParam::parse(t).expect("valid token");
        let (s, c) = (Some("http://s".to_owned()), Some("a".to_owned()));
        assert!(token("a").matches(s.as_ref(), c.as_ref()));
        assert!(token("http://s|a").matches(s.as_ref(), c.as_ref()));
        assert!(token("http://s|").matches(s.as_ref(), c.as_ref()));
        assert!(!token("|a").matches(s.as_ref(), c.as_ref()));
        assert!(token("|a").matches(None, c.as_ref()));
        assert!(!token("http://t|a").matches(s.as_ref(), c.as_ref()));
        assert!(!token("b").matches(s.as_ref(), c.as_ref()));
        assert!(TokenParam::parse("").is_none());
        assert!(TokenParam::parse("|").is_none());
        assert_eq!(encode("http://s|a b"), "http://s%7Ca%20b");
    }
}
