//! A record: the resources of one Bundle (or a single resource), in order.

use std::collections::{HashMap, HashSet};

use super::reference::{target, Target};
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
    /// Which file (or health card) of the record this came from: a
    /// `fullUrl` such as `resource:0` is only meaningful within its own.
    pub source: usize,
    /// The resource's `contained` resources, reachable only by `#id`
    /// references from inside it.
    pub contained: Vec<Entry>,
}

impl Entry {
    fn new(full_url: Option<String>, raw: serde_json::Value, source: usize) -> Option<Entry> {
        let resource_type = raw.get("resourceType").and_then(|t| t.as_str())?.to_string();
        let id = raw.get("id").and_then(|i| i.as_str()).map(str::to_string);
        let contained = match raw.get("contained") {
            Some(serde_json::Value::Array(items)) => items.iter().filter_map(|c| Entry::new(None, c.clone(), source)).collect(),
            _ => Vec::new(),
        };
        let resource = Resource::from_json(&resource_type, &raw);
        Some(Entry { full_url, resource_type, id, raw, resource, source, contained })
    }

    /// The contained resource with this id.
    pub fn contained(&self, id: &str) -> Option<&Entry> {
        self.contained.iter().find(|c| c.id.as_deref() == Some(id))
    }

    /// Replaces the resource's JSON (same type, id and `fullUrl`: what
    /// consent leaves of it) and the typed form read from it.
    pub fn set_raw(&mut self, raw: serde_json::Value) {
        let source = self.source;
        if let Some(entry) = Entry::new(self.full_url.take(), raw, source) {
            *self = entry;
        }
    }
}

/// A resource inside another resource.
#[derive(Debug, Clone, Copy)]
pub struct Inner<'a> {
    pub raw: &'a serde_json::Value,
    pub resource_type: &'a str,
    /// `fullUrl` of a Bundle entry.
    pub full_url: Option<&'a str>,
    /// In a Bundle's `entry` (a Bundle inside the record's Bundle, say).
    pub bundle_entry: bool,
    /// In its container's `contained` list.
    pub contained: bool,
}

/// Every resource inside `resource`, at any depth: `contained` resources,
/// the entries of a Bundle (and of Bundles inside those), and any other
/// element that holds a resource (`Parameters.parameter.resource`, …).
pub fn inner_resources(resource: &serde_json::Value) -> Vec<Inner<'_>> {
    fn is_resource(v: &serde_json::Value) -> Option<&str> {
        v.get("resourceType").and_then(serde_json::Value::as_str)
    }
    fn walk<'a>(value: &'a serde_json::Value, bundle: bool, field: &str, out: &mut Vec<Inner<'a>>) {
        match value {
            serde_json::Value::Object(map) => {
                for (k, v) in map {
                    match is_resource(v) {
                        Some(ty) => {
                            let full_url = if k == "resource" { map.get("fullUrl").and_then(serde_json::Value::as_str) } else { None };
                            out.push(Inner { raw: v, resource_type: ty, full_url, bundle_entry: bundle && k == "resource", contained: false });
                            walk(v, ty == "Bundle", "", out);
                        }
                        _ => walk(v, bundle, k, out),
                    }
                }
            }
            serde_json::Value::Array(items) => {
                for item in items {
                    match is_resource(item) {
                        Some(ty) => {
                            out.push(Inner { raw: item, resource_type: ty, full_url: None, bundle_entry: false, contained: field == "contained" });
                            walk(item, ty == "Bundle", "", out);
                        }
                        None => walk(item, bundle, field, out),
                    }
                }
            }
            _ => {}
        }
    }
    let mut out = Vec::new();
    walk(resource, is_resource(resource) == Some("Bundle"), "", &mut out);
    out
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
    /// `Type/id` → entries (any file), in order.
    by_key: HashMap<String, Vec<usize>>,
    /// (file, `fullUrl`) → entry.
    by_url: HashMap<(usize, String), usize>,
    /// Resources withheld from this viewer: references to them are not
    /// followed (see `is_withheld`). `Type/id` in any file, `fullUrl` per file.
    withheld_keys: HashSet<String>,
    // A map like `by_url` (one map type less in the module); the value is unused.
    withheld_urls: HashMap<(usize, String), usize>,
    withheld_entries: usize,
    /// Files (or health cards) read so far.
    sources: usize,
}

impl Record {
    /// Entries of one `resourceType`.
    pub fn of_type<'a>(&'a self, resource_type: &'a str) -> impl Iterator<Item = &'a Entry> + 'a {
        self.entries.iter().filter(move |e| e.resource_type == resource_type)
    }

    /// Finds the resource a reference made by the entry at `from` points
    /// to: `#id` among that entry's contained resources; a `fullUrl`
    /// (`urn:uuid:…`, absolute URLs) within the same file; `Type/id`
    /// (relative, absolute, versioned) in the same file first, then any.
    pub fn resolve(&self, from: usize, reference: &Reference) -> Option<&Entry> {
        let r = reference.reference.as_deref()?;
        if let Some(Target::Contained(id)) = target(r) {
            let container = self.entries.get(from)?;
            return if id.is_empty() { Some(container) } else { container.contained(&id) };
        }
        self.resolve_index(from, reference).and_then(|i| self.entries.get(i))
    }

    /// Like [`Record::resolve`], for top-level entries: the entry's index.
    pub fn resolve_index(&self, from: usize, reference: &Reference) -> Option<usize> {
        let r = reference.reference.as_deref()?;
        let source = self.entries.get(from).map_or(0, |e| e.source);
        if let Some(&i) = self.by_url.get(&(source, r.trim().to_string())) {
            return Some(i);
        }
        match target(r)? {
            Target::Key(key) => {
                let found = self.by_key.get(&key)?;
                found.iter().copied().find(|&i| self.entries.get(i).is_some_and(|e| e.source == source)).or_else(|| found.first().copied())
            }
            Target::Contained(_) | Target::FullUrl(_) => None,
        }
    }

    /// Whether `reference`, made by the entry at `from`, points at a
    /// resource withheld from this viewer.
    pub fn is_withheld(&self, from: usize, reference: &Reference) -> bool {
        let Some(r) = reference.reference.as_deref() else {
            return false;
        };
        if self.withheld_entries == 0 {
            return false;
        }
        let source = self.entries.get(from).map_or(0, |e| e.source);
        if self.withheld_urls.contains_key(&(source, r.trim().to_string())) {
            return true;
        }
        matches!(target(r), Some(Target::Key(key)) if self.withheld_keys.contains(&key))
    }

    /// Number of resources withheld from this viewer.
    pub fn withheld_count(&self) -> usize {
        self.withheld_entries
    }

    /// Keeps the entries whose flag in `keep` is true (in order); the others
    /// are dropped and remembered as withheld.
    pub fn retain(self, keep: &[bool]) -> Record {
        let mut out = Record { bundle_type: self.bundle_type, entries_without_resource: self.entries_without_resource, ..Record::default() };
        out.withheld_keys = self.withheld_keys;
        out.withheld_urls = self.withheld_urls;
        out.withheld_entries = self.withheld_entries;
        out.sources = self.sources;
        for (i, entry) in self.entries.into_iter().enumerate() {
            if keep.get(i).copied().unwrap_or(false) {
                out.index_entry(&entry, out.entries.len());
                out.entries.push(entry);
            } else {
                out.withheld_entries += 1;
                if let Some(url) = &entry.full_url {
                    out.withheld_urls.insert((entry.source, url.trim().to_string()), 0);
                    if let Some(Target::Key(key)) = target(url) {
                        out.withheld_keys.insert(key);
                    }
                }
                if let Some(id) = &entry.id {
                    out.withheld_keys.insert(format!("{}/{id}", entry.resource_type));
                }
                // What is inside goes with it: the entries of a Bundle in the
                // Bundle (by `Type/id` and `fullUrl`). Contained resources are
                // reached only from inside their container.
                for inner in inner_resources(&entry.raw).into_iter().filter(|r| !r.contained) {
                    if let Some(url) = inner.full_url {
                        out.withheld_urls.insert((entry.source, url.trim().to_string()), 0);
                        if let Some(Target::Key(key)) = target(url) {
                            out.withheld_keys.insert(key);
                        }
                    }
                    if let Some(id) = inner.raw.get("id").and_then(serde_json::Value::as_str) {
                        out.withheld_keys.insert(format!("{}/{id}", inner.resource_type));
                    }
                }
            }
        }
        out
    }

    fn index_entry(&mut self, entry: &Entry, i: usize) {
        if let Some(url) = &entry.full_url {
            self.by_url.entry((entry.source, url.trim().to_string())).or_insert(i);
            if let Some(Target::Key(key)) = target(url) {
                self.by_key.entry(key).or_default().push(i);
            }
        }
        if let Some(id) = &entry.id {
            let key = format!("{}/{id}", entry.resource_type);
            let list = self.by_key.entry(key).or_default();
            if !list.contains(&i) {
                list.push(i);
            }
        }
    }

    /// A record of resources fetched one by one (from a FHIR server): one
    /// `fullUrl` namespace, in the order given, nothing merged; a turn of the
    /// event loop every few milliseconds.
    pub async fn from_fetched<S: crate::source::Scheduler>(
        resources: Vec<(Option<String>, serde_json::Value)>,
        bundle_type: &str,
        sched: &S,
    ) -> Result<Record, ParseError> {
        let mut record = Record { bundle_type: Some(bundle_type.to_string()), sources: 1, ..Record::default() };
        record.entries.reserve(resources.len());
        let pacer = crate::source::Pacer::new(sched);
        for (full_url, raw) in resources {
            record.push(full_url, raw, false)?;
            pacer.tick().await;
        }
        Ok(record)
    }

    /// Adds the resources of another FHIR JSON document (a Bundle or a
    /// single resource) to this record, as a link with several files needs.
    /// A resource equal to one already present (same type, id and JSON) is
    /// not added twice; one with the same id and other content is kept.
    pub fn merge_json(&mut self, root: serde_json::Value) -> Result<(), ParseError> {
        self.add_root(root, true)
    }

    fn add_root(&mut self, mut root: serde_json::Value, dedupe: bool) -> Result<(), ParseError> {
        self.sources += 1;
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
        let source = self.sources.saturating_sub(1);
        let entry = Entry::new(full_url, raw, source).ok_or(ParseError::NotFhir)?;
        if dedupe {
            // The same resource from another file or card (same type and
            // JSON; by id, or among those of its type when it has none) is
            // kept once, and this file's `fullUrl` leads to the one kept.
            let same = match &entry.id {
                Some(id) => self
                    .by_key
                    .get(&format!("{}/{id}", entry.resource_type))
                    .and_then(|found| found.iter().copied().find(|&i| self.entries.get(i).is_some_and(|e| e.raw == entry.raw))),
                // Only another file's entries: one file's own id-less entries are all kept.
                None => self.entries.iter().position(|e| e.source != source && e.id.is_none() && e.resource_type == entry.resource_type && e.raw == entry.raw),
            };
            if let Some(i) = same {
                if let Some(url) = &entry.full_url {
                    self.by_url.entry((source, url.trim().to_string())).or_insert(i);
                }
                return Ok(());
            }
        }
        let i = self.entries.len();
        self.index_entry(&entry, i);
        self.entries.push(entry);
        Ok(())
    }
}

/// The parts of a Bundle read at once, with entries left as raw JSON text
/// so they can be read one at a time (a file's Bundle, a server's page).
#[derive(serde::Deserialize)]
pub(crate) struct Shell<'a> {
    #[serde(rename = "resourceType", borrow)]
    pub resource_type: Option<std::borrow::Cow<'a, str>>,
    #[serde(rename = "type", borrow)]
    pub kind: Option<std::borrow::Cow<'a, str>>,
    /// A searchset's `total`.
    pub total: Option<serde_json::Value>,
    /// A searchset's `link`s (`next`).
    pub link: Option<serde_json::Value>,
    #[serde(borrow)]
    pub entry: Option<Vec<&'a serde_json::value::RawValue>>,
}

fn json_error(e: serde_json::Error) -> ParseError {
    ParseError::Json { line: e.line(), column: e.column() }
}

impl Record {
    /// Like [`Record::merge_json`] (or, with `dedupe` false, like
    /// [`parse_record`]) from bytes, reading a Bundle's entries one at a time
    /// and giving the event loop a turn every few milliseconds.
    pub(crate) async fn add_bytes_paced<S: crate::source::Scheduler>(&mut self, bytes: &[u8], dedupe: bool, sched: &S) -> Result<(), ParseError> {
        let bytes = &*super::repair_unicode(bytes);
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
        self.sources += 1;
        let entries = shell.entry.unwrap_or_default();
        self.entries.reserve(entries.len());
        let pacer = crate::source::Pacer::new(sched);
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
pub async fn parse_record_paced<S: crate::source::Scheduler>(bytes: &[u8], sched: &S) -> Result<Record, ParseError> {
    let mut record = Record::default();
    record.add_bytes_paced(bytes, false, sched).await?;
    Ok(record)
}

/// Parses a FHIR JSON resource. A Bundle becomes one entry per
/// `entry.resource` (in order); any other resource becomes a record of one.
/// Unknown types and fields never fail the record; an entry whose resource
/// has no `resourceType` fails it, since it cannot be understood at all.
/// Text that is not valid Unicode (a lone surrogate escape, bytes that are
/// not UTF-8) becomes U+FFFD where it occurs, losing nothing else.
/// The same path as [`parse_record_paced`], run through without yielding.
pub fn parse_record(bytes: &[u8]) -> Result<Record, ParseError> {
    crate::source::run_now(parse_record_paced(bytes, &crate::source::Immediate))
}
