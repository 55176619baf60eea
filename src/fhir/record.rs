//! A record: the resources of one Bundle (or a single resource), in order.

use std::collections::{HashMap, HashSet};

use super::{Reference, Resource};

/// Why bytes could not be read as FHIR JSON. Messages never quote the input.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParseError {
    #[error("the record is not valid UTF-8 JSON (line {line}, column {column})")]
    Json { line: usize, column: usize },
    #[error("the record is JSON but not a FHIR resource (no \"resourceType\")")]
    NotFhir,
    #[error("the Bundle's \"entry\" is not a list")]
    BadBundle,
}

/// One resource of a record, as received and as understood.
#[derive(Debug, Clone)]
pub struct Entry {
    /// `Bundle.entry.fullUrl`, when given.
    pub full_url: Option<String>,
    /// `resourceType`.
    pub resource_type: String,
    /// `id`, when given.
    pub id: Option<String>,
    /// The resource's JSON exactly as received (numbers keep their digits).
    pub raw: serde_json::Value,
    /// The typed form.
    pub resource: Resource,
}

/// The resources of a record, in their original order.
#[derive(Debug, Clone, Default)]
pub struct Record {
    /// `Bundle.type` (`document`, `collection`, `transaction`, `searchset`,
    /// …), or `None` when the record was a single resource.
    pub bundle_type: Option<String>,
    pub entries: Vec<Entry>,
    /// Bundle entries that carried no resource (a `request` only, say).
    pub entries_without_resource: usize,
    index: HashMap<String, usize>,
    /// Keys (`fullUrl`, `Type/id`) of resources withheld from this viewer:
    /// references to them are not followed (see `is_withheld`).
    withheld: HashSet<String>,
    withheld_entries: usize,
}

impl Record {
    /// Entries of one `resourceType`.
    pub fn of_type<'a>(&'a self, resource_type: &'a str) -> impl Iterator<Item = &'a Entry> + 'a {
        self.entries.iter().filter(move |e| e.resource_type == resource_type)
    }

    /// Finds the entry a reference points to: by `fullUrl` (`urn:uuid:…`,
    /// absolute URLs) or by `Type/id`.
    pub fn resolve(&self, reference: &Reference) -> Option<&Entry> {
        self.resolve_index(reference).map(|i| &self.entries[i])
    }

    /// Like [`Record::resolve`], the entry's index.
    pub fn resolve_index(&self, reference: &Reference) -> Option<usize> {
        let r = reference.reference.as_deref()?;
        if let Some(&i) = self.index.get(r) {
            return Some(i);
        }
        // An absolute URL whose tail is Type/id.
        let mut parts = r.rsplit('/');
        let (id, ty) = (parts.next()?, parts.next()?);
        self.index.get(&format!("{ty}/{id}")).copied()
    }

    /// Whether `reference` points at a resource withheld from this viewer
    /// (by `fullUrl`, `Type/id`, or an absolute URL ending in `Type/id`).
    pub fn is_withheld(&self, reference: &Reference) -> bool {
        let Some(r) = reference.reference.as_deref() else {
            return false;
        };
        if self.withheld.is_empty() {
            return false;
        }
        if self.withheld.contains(r) {
            return true;
        }
        let mut parts = r.rsplit('/');
        matches!((parts.next(), parts.next()), (Some(id), Some(ty)) if self.withheld.contains(&format!("{ty}/{id}")))
    }

    /// Number of resources withheld from this viewer.
    pub fn withheld_count(&self) -> usize {
        self.withheld_entries
    }

    /// Keeps the entries whose flag in `keep` is true (in order); the others
    /// are dropped and remembered as withheld.
    pub fn retain(self, keep: &[bool]) -> Record {
        let mut out = Record { bundle_type: self.bundle_type, entries_without_resource: self.entries_without_resource, ..Record::default() };
        out.withheld = self.withheld;
        out.withheld_entries = self.withheld_entries;
        for (i, entry) in self.entries.into_iter().enumerate() {
            if keep.get(i).copied().unwrap_or(false) {
                let n = out.entries.len();
                if let Some(url) = &entry.full_url {
                    out.index.entry(url.clone()).or_insert(n);
                }
                if let Some(id) = &entry.id {
                    out.index.entry(format!("{}/{id}", entry.resource_type)).or_insert(n);
                }
                out.entries.push(entry);
            } else {
                out.withheld_entries += 1;
                if let Some(url) = &entry.full_url {
                    out.withheld.insert(url.clone());
                }
                if let Some(id) = &entry.id {
                    out.withheld.insert(format!("{}/{id}", entry.resource_type));
                }
            }
        }
        out
    }

    /// Adds the resources of another FHIR JSON document (a Bundle or a
    /// single resource) to this record, as a link with several files needs.
    /// A resource equal to one already present (same type, id and JSON) is
    /// not added twice; one with the same id and other content is kept.
    pub fn merge_json(&mut self, root: serde_json::Value) -> Result<(), ParseError> {
        self.add_root(root, true)
    }

    fn add_root(&mut self, mut root: serde_json::Value, dedupe: bool) -> Result<(), ParseError> {
        let is_bundle = root.get("resourceType").and_then(|t| t.as_str()) == Some("Bundle");
        if !is_bundle {
            return self.push(None, root, dedupe);
        }
        let bundle_type = root.get("type").and_then(|t| t.as_str()).map(str::to_string);
        if self.bundle_type.is_none() {
            self.bundle_type = bundle_type;
        }
        let entries = match root.get_mut("entry").map(serde_json::Value::take) {
            None | Some(serde_json::Value::Null) => Vec::new(),
            Some(serde_json::Value::Array(a)) => a,
            Some(_) => return Err(ParseError::BadBundle),
        };
        self.entries.reserve(entries.len());
        for mut entry in entries {
            let full_url = entry.get("fullUrl").and_then(|u| u.as_str()).map(str::to_string);
            match entry.get_mut("resource").map(serde_json::Value::take) {
                Some(resource @ serde_json::Value::Object(_)) => self.push(full_url, resource, dedupe)?,
                _ => self.entries_without_resource += 1,
            }
        }
        Ok(())
    }

    fn push(&mut self, full_url: Option<String>, raw: serde_json::Value, dedupe: bool) -> Result<(), ParseError> {
        let resource_type = raw.get("resourceType").and_then(|t| t.as_str()).ok_or(ParseError::NotFhir)?.to_string();
        let id = raw.get("id").and_then(|i| i.as_str()).map(str::to_string);
        if dedupe {
            let same = id.as_ref().and_then(|id| self.index.get(&format!("{resource_type}/{id}"))).is_some_and(|&i| self.entries[i].raw == raw);
            if same {
                return Ok(());
            }
        }
        let resource = Resource::from_json(&resource_type, &raw);
        let i = self.entries.len();
        if let Some(url) = &full_url {
            self.index.entry(url.clone()).or_insert(i);
        }
        if let Some(id) = &id {
            self.index.entry(format!("{resource_type}/{id}")).or_insert(i);
        }
        self.entries.push(Entry { full_url, resource_type, id, raw, resource });
        Ok(())
    }
}

/// The parts of a Bundle that matter here, with entries left as raw JSON
/// text so they can be read one at a time.
#[derive(serde::Deserialize)]
struct Shell<'a> {
    #[serde(rename = "resourceType", borrow)]
    resource_type: Option<std::borrow::Cow<'a, str>>,
    #[serde(rename = "type", borrow)]
    kind: Option<std::borrow::Cow<'a, str>>,
    #[serde(borrow)]
    entry: Option<Vec<&'a serde_json::value::RawValue>>,
}

fn json_error(e: serde_json::Error) -> ParseError {
    ParseError::Json { line: e.line(), column: e.column() }
}

impl Record {
    /// Like [`Record::merge_json`] (or, with `dedupe` false, like
    /// [`parse_record`]) from bytes, reading a Bundle's entries one at a time
    /// and giving the event loop a turn every few milliseconds.
    pub(crate) async fn add_bytes_paced<C: crate::source::HttpClient>(&mut self, bytes: &[u8], dedupe: bool, client: &C) -> Result<(), ParseError> {
        let shell: Shell<'_> = match serde_json::from_slice(bytes) {
            Ok(shell) => shell,
            // Not a well-formed Bundle shell: the whole-document reader gives the precise error.
            Err(_) => return self.add_root(serde_json::from_slice(bytes).map_err(json_error)?, dedupe),
        };
        if shell.resource_type.as_deref() != Some("Bundle") {
            return self.add_root(serde_json::from_slice(bytes).map_err(json_error)?, dedupe);
        }
        if self.bundle_type.is_none() {
            self.bundle_type = shell.kind.map(|k| k.into_owned());
        }
        let entries = shell.entry.unwrap_or_default();
        self.entries.reserve(entries.len());
        let pacer = crate::source::Pacer::new(client);
        for raw in entries {
            let mut entry: serde_json::Value = serde_json::from_str(raw.get()).map_err(json_error)?;
            let full_url = entry.get("fullUrl").and_then(|u| u.as_str()).map(str::to_string);
            match entry.get_mut("resource").map(serde_json::Value::take) {
                Some(resource @ serde_json::Value::Object(_)) => self.push(full_url, resource, dedupe)?,
                _ => self.entries_without_resource += 1,
            }
            pacer.tick().await;
        }
        Ok(())
    }
}

/// [`parse_record`], reading a Bundle's entries one at a time and giving the
/// event loop a turn every few milliseconds (in the browser).
pub async fn parse_record_paced<C: crate::source::HttpClient>(bytes: &[u8], client: &C) -> Result<Record, ParseError> {
    let mut record = Record::default();
    record.add_bytes_paced(bytes, false, client).await?;
    Ok(record)
}

/// Parses a FHIR JSON resource. A Bundle becomes one entry per
/// `entry.resource` (in order); any other resource becomes a record of one.
/// Unknown types and fields never fail the record; an entry whose resource
/// has no `resourceType` fails it, since it cannot be understood at all.
pub fn parse_record(bytes: &[u8]) -> Result<Record, ParseError> {
    let root: serde_json::Value = serde_json::from_slice(bytes).map_err(|e| ParseError::Json { line: e.line(), column: e.column() })?;
    let mut record = Record::default();
    record.add_root(root, false)?;
    Ok(record)
}
