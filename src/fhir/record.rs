//! A record: the resources of one Bundle (or a single resource), in order.

use crate::util::{pair_key, ListMap, TextMap, TextSet};

use super::reference::{target, Target};
use super::scan::{json, members, Scanner, Shell, State, Step};
use super::{Raw, Reference, Resource};
use crate::source::Turn;

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
    /// The resource's JSON exactly as received (numbers keep their digits),
    /// kept as compact text and read back on demand (see [`Raw`]).
    pub raw: Raw,
    /// The typed form.
    pub resource: Resource,
    /// Which file (or health card) of the record this came from: a
    /// `fullUrl` such as `resource:0` is only meaningful within its own.
    pub source: usize,
    /// The resource's `contained` resources, reachable only by `#id`
    /// references from inside it.
    pub contained: Vec<Entry>,
    /// Whether the resource says it was entered in error (`status`, or a
    /// `verificationStatus` coding), noted while it is read: the chart
    /// asks this of every resource, several times for a report's results.
    pub entered_in_error: bool,
    /// Whether the resource has a `text` member (a narrative), noted while
    /// it is read, so the chart looks for one only where there is one.
    pub has_text: bool,
}

impl Entry {
    fn new(full_url: Option<String>, raw: serde_json::Value, source: usize) -> Option<Entry> {
        if !raw.is_object() {
            return None;
        }
        Entry::from_text(full_url, &super::value::write(&raw), source)
    }

    /// The entry for a resource given as the compact text of a JSON object
    /// (see [`super::compact`]); `None` without a `resourceType`.
    fn from_text(full_url: Option<String>, text: &str, source: usize) -> Option<Entry> {
        let members = members(text.as_bytes())?;
        Entry::with_members(full_url, text, &members, source)
    }

    /// [`Entry::from_text`], the text's `members` found.
    fn with_members(full_url: Option<String>, text: &str, members: &[super::raw::Member], source: usize) -> Option<Entry> {
        let member = |name: &str| super::raw::member_text(text, members, name);
        let read = |name: &str| super::value::parse(member(name)?.as_bytes()).ok();
        let string = |name: &str| member(name).map(super::Json::Text).and_then(super::Json::as_str).map(std::borrow::Cow::into_owned);
        let resource_type = string("resourceType")?;
        let id = string("id");
        let contained = match read("contained") {
            Some(serde_json::Value::Array(items)) => items.into_iter().filter_map(|c| Entry::new(None, c, source)).collect(),
            _ => Vec::new(),
        };
        let said = |v: Option<super::Json<'_>>| v.and_then(super::Json::as_str).is_some_and(|s| s == "entered-in-error");
        let entered_in_error = said(member("status").map(super::Json::Text))
            || member("verificationStatus")
                .and_then(|v| super::Json::Text(v).get("coding"))
                .and_then(super::Json::items)
                .is_some_and(|c| c.into_iter().any(|c| said(c.get("code"))));
        let has_text = member("text").is_some();
        let resource = Resource::from_members(&resource_type, text, members);
        Some(Entry { full_url, resource_type, id, raw: Raw::from_text(text), resource, source, contained, entered_in_error, has_text })
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
    by_key: ListMap,
    /// (file, `fullUrl`) → entry ([`pair_key`]).
    by_url: TextMap,
    /// Resources withheld from this viewer: references to them are not
    /// followed (see `is_withheld`). `Type/id` in any file, `fullUrl` per file.
    withheld_keys: TextSet,
    withheld_urls: TextSet,
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
        if let Some(&i) = self.by_url.get(&pair_key(source, r.trim())) {
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
        if self.withheld_urls.contains(&pair_key(source, r.trim())) {
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
                    out.withheld_urls.insert(pair_key(entry.source, url.trim()));
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
                let raw = entry.raw.value();
                for inner in inner_resources(&raw).into_iter().filter(|r| !r.contained) {
                    if let Some(url) = inner.full_url {
                        out.withheld_urls.insert(pair_key(entry.source, url.trim()));
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
            self.by_url.entry(pair_key(entry.source, url.trim())).or_insert(i);
            if let Some(Target::Key(key)) = target(url) {
                self.by_key.add(key, i);
            }
        }
        if let Some(id) = &entry.id {
            let key = format!("{}/{id}", entry.resource_type);
            self.by_key.add(key, i);
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
        self.push_entry(Entry::new(full_url, raw, source).ok_or(ParseError::NotFhir)?, dedupe)
    }

    /// A Bundle's `entry` element read from its compact text `element`
    /// (see [`super::compact`]), whose members and whose resource's members
    /// are `noted`: its `resource`, with its `fullUrl`.
    fn push_element(&mut self, element: &str, noted: &[super::compact::Noted], dedupe: bool) -> Result<(), ParseError> {
        // The last of a repeated member, as a `Value` keeps.
        let member =
            |name: &str| noted.iter().rev().find(|(depth, key, _)| *depth == 1 && element.get(key.clone()) == Some(name)).map(|(_, _, value)| value.clone());
        let Some(at) = member("resource").filter(|at| element.get(at.clone()).is_some_and(|text| text.starts_with('{'))) else {
            self.entries_without_resource += 1;
            return Ok(());
        };
        let full_url = match member("fullUrl").and_then(|at| element.get(at)).and_then(|text| json(text.as_bytes())) {
            Some(serde_json::Value::String(url)) => Some(url),
            _ => None,
        };
        // The resource's own members, where they are in its text.
        let inside = |r: &std::ops::Range<usize>| at.start <= r.start && r.end <= at.end;
        let shift = |r: &std::ops::Range<usize>| r.start - at.start..r.end - at.start;
        let members: Vec<super::raw::Member> = noted
            .iter()
            .filter(|(depth, key, value)| *depth == 2 && inside(key) && inside(value))
            .map(|(_, key, value)| (shift(key), shift(value), std::cell::OnceCell::new()))
            .collect();
        let text = element.get(at).unwrap_or_default();
        let source = self.sources.saturating_sub(1);
        let entry = Entry::with_members(full_url, text, &members, source).ok_or(ParseError::NotFhir)?;
        self.push_entry(entry, dedupe)
    }

    fn push_entry(&mut self, entry: Entry, dedupe: bool) -> Result<(), ParseError> {
        let source = entry.source;
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
                    self.by_url.entry(pair_key(source, url.trim())).or_insert(i);
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

fn json_error(e: super::value::JsonError) -> ParseError {
    ParseError::Json { line: e.line(), column: e.column() }
}

impl Record {
    /// Like [`Record::merge_json`] (or, with `dedupe` false, like
    /// [`parse_record`]) from a decrypted plaintext, reading a Bundle's
    /// entries one at a time and giving the event loop a turn every few
    /// milliseconds. A large plaintext is folded first (see
    /// [`super::fold`]): what is left in `plaintext` is then the folded
    /// document, and errors say where they are in the original.
    pub(crate) async fn add_plaintext_paced<S: crate::source::Scheduler>(
        &mut self,
        plaintext: &mut zeroize::Zeroizing<Vec<u8>>,
        dedupe: bool,
        sched: &S,
    ) -> Result<(), ParseError> {
        let pacer = crate::source::Pacer::new(sched);
        let mut between = || -> Turn<'_> { Box::pin(pacer.tick()) };
        let folded = super::fold::fold_paced(plaintext, &mut between).await;
        match self.add_bytes_between(plaintext, dedupe, &mut between).await {
            Err(ParseError::Json { line, column }) if folded => Err(ParseError::Json { line, column: super::fold::unfold_column(plaintext, line, column) }),
            other => other,
        }
    }

    /// [`Record::add_plaintext_paced`] over bytes, awaiting `between` for each turn (see [`Turn`]).
    async fn add_bytes_between<'t>(&mut self, bytes: &[u8], dedupe: bool, between: &mut (dyn FnMut() -> Turn<'t> + '_)) -> Result<(), ParseError> {
        let bytes = Shell::repair(bytes, &mut *between).await;
        let bytes = &*bytes;
        // A record read afresh, without merging, reads each entry as the scan reaches it.
        let fresh = self.sources == 0 && self.entries.is_empty() && self.entries_without_resource == 0;
        self.add_repaired(bytes, dedupe, !dedupe && fresh, between).await
    }

    /// [`Record::add_bytes_between`] over repaired bytes. The scanner checks
    /// the Bundle's shell (members named once, nesting, nothing after the
    /// document) and delimits each `entry` element; they are read after the
    /// scan, or, with `one_pass` (a fresh record, read without merging) and
    /// once the document has said it is a Bundle, where the scan reaches
    /// them (each made compact and read in the same pass). Whatever the
    /// scanner refuses, or a document that is not a Bundle, is read whole
    /// by serde_json, the record first cleared of what one pass read; an
    /// entry that fails is reported once the scan has found the document
    /// well-formed, as when the elements are read after it.
    async fn add_repaired<'t>(&mut self, bytes: &[u8], dedupe: bool, one_pass: bool, between: &mut (dyn FnMut() -> Turn<'t> + '_)) -> Result<(), ParseError> {
        let mut scanner = Scanner { b: bytes, i: 0, check: false };
        let (mut shell, mut seen, mut state) = (Shell::default(), [false; 5], State::Start);
        // Each element made compact here (the plaintext's own bytes, wiped when done).
        let mut element = zeroize::Zeroizing::new(Vec::new());
        let mut noted = Vec::new();
        let mut failed = None;
        // The file the entries read come from.
        self.sources += 1;
        let scanned = loop {
            if one_pass && state == State::Entries && shell.resource_type.as_deref() == Some("Bundle") {
                match self.read_element_at(&mut scanner, &mut element, &mut noted, &mut failed) {
                    Some(next) => state = next,
                    None => break false,
                }
                between().await;
                continue;
            }
            match scanner.step(&mut shell, &mut seen, &mut state) {
                Some(Step::Member) => {}
                Some(Step::Entry) => between().await,
                Some(Step::Done) => break true,
                None => break false,
            }
        };
        if !scanned || shell.resource_type.as_deref() != Some("Bundle") {
            // Not a well-formed Bundle shell, or not a Bundle: the whole-document reader gives the precise error, or reads it.
            if one_pass {
                *self = Record::default();
            } else {
                self.sources -= 1;
            }
            return self.add_root(super::value::parse(bytes).map_err(json_error)?, dedupe);
        }
        if let Some(e) = failed {
            return Err(e);
        }
        if self.bundle_type.is_none() {
            self.bundle_type = shell.kind;
        }
        let entries = shell.entry.unwrap_or_default();
        self.entries.reserve(entries.len());
        for raw in entries {
            element.clear();
            if super::compact::compact_noting(raw, &mut element, &mut noted) {
                if let Ok(text) = std::str::from_utf8(&element) {
                    self.push_element(text, &noted, dedupe)?;
                    between().await;
                    continue;
                }
            }
            match self.push_raw_element(raw, dedupe) {
                Ok(pushed) => pushed?,
                // Not JSON (the scanner only delimited it): the whole document, read as
                // before the scanner, says where; it is broken wherever one element is.
                Err(e) => return Err(json_error(super::value::parse(bytes).err().unwrap_or(e))),
            }
            between().await;
        }
        Ok(())
    }

    /// The `entry` element `raw` read through serde_json, for what the
    /// compacting reader leaves to it (it refuses the element, or reads it
    /// differently); the outer `Err` when `raw` is not JSON.
    fn push_raw_element(&mut self, raw: &[u8], dedupe: bool) -> Result<Result<(), ParseError>, super::value::JsonError> {
        let mut entry: serde_json::Value = super::value::parse(raw)?;
        let full_url = entry.get("fullUrl").and_then(|u| u.as_str()).map(str::to_string);
        Ok(match entry.get_mut("resource").map(serde_json::Value::take) {
            Some(resource @ serde_json::Value::Object(_)) => self.push(full_url, resource, dedupe),
            _ => {
                self.entries_without_resource += 1;
                Ok(())
            }
        })
    }
}

impl Record {
    /// [`Record::add_repaired`]'s step over one `entry` element at the
    /// scanner's cursor: read (unless an earlier one `failed`), the cursor
    /// moved past it and its comma or closing bracket; the scanner's next
    /// state, or `None` where the document is not as the scanner takes it.
    #[inline(never)]
    fn read_element_at(
        &mut self,
        scanner: &mut Scanner<'_>,
        element: &mut Vec<u8>,
        noted: &mut Vec<super::compact::Noted>,
        failed: &mut Option<ParseError>,
    ) -> Option<State> {
        scanner.skip_ws();
        let from = scanner.i;
        element.clear();
        let compact = super::compact::compact_prefix(scanner.b.get(from..)?, element, noted);
        match compact.filter(|_| std::str::from_utf8(element).is_ok()) {
            Some(len) => {
                scanner.i = from + len;
                if failed.is_none() {
                    let text = std::str::from_utf8(element).unwrap_or_default();
                    *failed = self.push_element(text, noted, false).err();
                }
            }
            // What the compact reader leaves to serde_json, as in the two passes.
            None => {
                let raw = scanner.value(2)?;
                if failed.is_none() {
                    *failed = self.push_raw_element(raw, false).ok()?.err();
                }
            }
        }
        scanner.skip_ws();
        match scanner.peek()? {
            b',' => {
                scanner.i += 1;
                Some(State::Entries)
            }
            b']' => {
                scanner.i += 1;
                scanner.after_member()
            }
            _ => None,
        }
    }
}

/// [`parse_record`], reading a Bundle's entries one at a time and giving the
/// event loop a turn every few milliseconds (in the browser).
pub async fn parse_record_paced<S: crate::source::Scheduler>(bytes: &[u8], sched: &S) -> Result<Record, ParseError> {
    let pacer = crate::source::Pacer::new(sched);
    parse_between(bytes, &mut || Box::pin(pacer.tick())).await
}

/// [`parse_record_paced`] over a decrypted plaintext (see [`Record::add_plaintext_paced`]).
pub(crate) async fn parse_plaintext_paced<S: crate::source::Scheduler>(plaintext: &mut zeroize::Zeroizing<Vec<u8>>, sched: &S) -> Result<Record, ParseError> {
    let mut record = Record::default();
    record.add_plaintext_paced(plaintext, false, sched).await?;
    Ok(record)
}

async fn parse_between<'t>(bytes: &[u8], between: &mut (dyn FnMut() -> Turn<'t> + '_)) -> Result<Record, ParseError> {
    let mut record = Record::default();
    record.add_bytes_between(bytes, false, between).await?;
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fhir::scan::tests::{scan, TRICKY};

    /// The record as the `Value` path reads it: each element through serde_json.
    fn by_values(doc: &str) -> Record {
        let mut record = Record::default();
        record.add_root(serde_json::from_str(doc).unwrap(), false).unwrap();
        record
    }

    /// What each entry is: type, id, `fullUrl`, value, typed form, contained
    /// (and, without repeated members, the same `Raw`: see its `PartialEq`).
    fn same_entries(a: &Record, b: &Record, doc: &str) {
        let repeated = doc.contains(r#""code":{"text":"a"},"code""#) || doc.contains(r#""status":1,"status""#);
        assert_eq!((a.entries.len(), a.entries_without_resource), (b.entries.len(), b.entries_without_resource), "{doc}");
        for (x, y) in a.entries.iter().zip(&b.entries) {
            assert_eq!((&x.resource_type, &x.id, &x.full_url), (&y.resource_type, &y.id, &y.full_url), "{doc}");
            assert_eq!(*x.raw.value(), *y.raw.value(), "{doc}");
            assert_eq!(x.raw == y.raw, !repeated, "{doc}");
            assert_eq!(x.resource, y.resource, "{doc}");
            assert_eq!(x.contained.len(), y.contained.len(), "{doc}");
        }
    }

    #[test]
    fn the_compacting_reader_reads_entries_as_serde_json_values_do() {
        let deep = format!(r#"{{"resource":{{"resourceType":"Basic","x":{}1{}}}}}"#, "[".repeat(110), "]".repeat(110));
        let elements = [
            r#"{"fullUrl":"urn:a","resource":{"resourceType":"Observation","id":"o","status":"final","valueQuantity":{"value":7.20,"unit":"mg"},"code":{"text":"x"}}}"#,
            // Repeated members: the last one counts, wherever it is.
            r#"{"resource":{"resourceType":"Patient"},"resource":{"resourceType":"Condition","code":{"text":"a"},"code":{"text":"b"}},"fullUrl":"u1","fullUrl":"u2"}"#,
            // An earlier repeat of the wrong type does not make the resource invalid.
            r#"{"resource":{"resourceType":"Observation","status":1,"status":"final"}}"#,
            // Escaped keys and values.
            r#"{"fullUrl":"urn:\u0062","resourc\u0065":{"resourceTyp\u0065":"Patient","\u0069d":"\u00e9\ud83d\ude00","name":[{"family":"O\"Brien\\"}]}}"#,
            // Not a string, not an object.
            r#"{"fullUrl":7,"resource":{"resourceType":"Patient","id":3}}"#,
            r#"{"resource":[{"resourceType":"Patient"}]}"#,
            r#"{"resource":null}"#,
            r#"{"request":{"method":"GET","url":"Patient"}}"#,
            // Wrong JSON types in typed members: listed, not rendered.
            r#"{"resource":{"resourceType":"Condition","code":"not a concept"}}"#,
            // Contained resources and numbers in every form.
            r##"{"resource":{"resourceType":"MedicationRequest","contained":[{"resourceType":"Medication","id":"m","code":{"text":"x"}}],"medicationReference":{"reference":"#m"},"n":[1E5,-0,0.5e-3,12345678901234567890]}}"##,
            // Nested deeper than the compacting reader goes: serde_json reads it.
            &deep,
        ];
        for element in elements {
            let doc = format!(r#"{{"resourceType":"Bundle","type":"collection","entry":[{element}]}}"#);
            same_entries(&parse_record(doc.as_bytes()).unwrap(), &by_values(&doc), &doc);
        }
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/data/fhir");
        for path in [
            "synthea/Christian_Balistreri_59339691-0270-4c4a-a34d-338e3008b9c3.json",
            "ips/bundle-minimal.json",
            "us-core/PractitionerRole_Practitioner_Endpoint_Bundle_Example.json",
        ] {
            let doc = std::fs::read_to_string(format!("{dir}/{path}")).unwrap();
            same_entries(&parse_record(doc.as_bytes()).unwrap(), &by_values(&doc), path);
        }
    }

    /// One pass and two over the same document: the same entries, or the same error.
    fn same_one_pass_and_two(doc: &[u8]) {
        let one = parse_record(doc);
        let mut record = Record::default();
        let repaired = super::super::json::repair_unicode(doc);
        let two = crate::source::run_now(record.add_repaired(&repaired, false, false, &mut || Box::pin(async {}))).map(|()| record);
        let text = String::from_utf8_lossy(doc);
        match (one, two) {
            (Ok(a), Ok(b)) => {
                same_entries(&a, &b, &text);
                assert_eq!(a.bundle_type, b.bundle_type, "{text}");
            }
            (a, b) => assert_eq!(a.err(), b.err(), "{text}"),
        }
    }

    #[test]
    fn one_pass_reads_as_two_passes_do() {
        let entry = r#"{"fullUrl":"urn:a","resource":{"resourceType":"Observation","id":"o","status":"final","code":{"text":"x"}}}"#;
        let docs = [
            format!(r#"{{"resourceType":"Bundle","type":"collection","entry":[{entry},{{"request":{{"url":"x"}}}},{entry}]}}"#),
            // `entry` before `resourceType`, `type` after `entry`.
            format!(r#"{{"entry":[{entry}],"resourceType":"Bundle","type":"searchset"}}"#),
            format!(r#"{{"resourceType":"Bundle","entry":[{entry}],"type":"document"}}"#),
            // Repeated shell members, a resourceType after the entries that is not a Bundle's.
            format!(r#"{{"resourceType":"Bundle","entry":[{entry}],"resourceType":"Patient"}}"#),
            format!(r#"{{"resourceType":"Bundle","entry":[{entry}],"entry":[]}}"#),
            format!(r#"{{"resourceType":"Patient","entry":[{entry}]}}"#),
            // An entry that is not FHIR, then a broken document; then a well-formed one.
            format!(r#"{{"resourceType":"Bundle","entry":[{{"resource":{{"id":"x"}}}},{entry}],"type":}}"#),
            format!(r#"{{"resourceType":"Bundle","entry":[{{"resource":{{"id":"x"}}}},{entry}],"type":"collection"}}"#),
            // What the compact reader leaves to serde_json: deep nesting, a lone surrogate.
            format!(r#"{{"resourceType":"Bundle","entry":[{{"resource":{{"resourceType":"Basic","x":{}1{}}}}},{entry}]}}"#, "[".repeat(110), "]".repeat(110)),
            format!(r#"{{"resourceType":"Bundle","entry":[{{"resource":{{"resourceType":"Basic","id":"\ud800"}}}},{entry}]}}"#),
            format!(" \n{{ \"resourceType\" : \"Bundle\" , \"entry\" : [ {entry} , {entry} ] }} \n"),
            r#"{"resourceType":"Bundle","entry":[]}"#.to_string(),
            r#"{"resourceType":"Bundle","entry":null}"#.to_string(),
            r#"{"resourceType":"Bundle"}"#.to_string(),
        ];
        for doc in &docs {
            same_one_pass_and_two(doc.as_bytes());
        }
        // Every cut of a small Bundle, and every byte of it replaced by one that breaks or changes it.
        let doc = docs[0].as_bytes();
        for end in 0..doc.len() {
            same_one_pass_and_two(doc.get(..end).unwrap());
        }
        for at in 0..doc.len() {
            for byte in [b'"', b'{', b'}', b'[', b']', b',', b':', b' ', b'x', b'1', b'\\'] {
                let mut changed = doc.to_vec();
                changed[at] = byte;
                same_one_pass_and_two(&changed);
            }
        }
        // The reference records.
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/data/fhir");
        for path in ["synthea/Christian_Balistreri_59339691-0270-4c4a-a34d-338e3008b9c3.json", "ips/bundle-minimal.json", "us-core/bundle-docref-example1.json"]
        {
            same_one_pass_and_two(&std::fs::read(format!("{dir}/{path}")).unwrap());
        }
    }

    #[test]
    fn records_read_as_before() {
        // Errors name the place in the whole document.
        for doc in [&TRICKY[..TRICKY.len() - 40], r#"{"resourceType":"Bundle","entry":[{"resource":{"resourceType":"Patient"}} {}]}"#, "[1,"] {
            let e = serde_json::from_str::<serde_json::Value>(doc).unwrap_err();
            assert_eq!(parse_record(doc.as_bytes()).unwrap_err(), ParseError::Json { line: e.line(), column: e.column() }, "{doc}");
        }
        // An element the scanner delimits but that is not JSON, after good ones: the whole document's error.
        let patient = r#"{"resource":{"resourceType":"Patient","id":"p"}}"#;
        for bad in [
            r#"[tru]"#,
            r#"{"resource":{"resourceType":"Patient","x":01}}"#,
            r#"{"resource":{"x":"a\qb"}}"#,
            "{\"a\":\"\t\"}",
            r#"{"a" "b"}"#,
            r#"{"a":1,}"#,
            "[1 2]",
        ] {
            let doc = format!(r#"{{"resourceType":"Bundle","type":"collection","entry":[{patient},{patient},{bad},{patient}]}}"#);
            let e = serde_json::from_str::<serde_json::Value>(&doc).unwrap_err();
            assert_eq!(parse_record(doc.as_bytes()).unwrap_err(), ParseError::Json { line: e.line(), column: e.column() }, "{doc}");
            assert!(scan(&doc).0.is_none(), "{doc}");
        }
        // `entry` not a list; roots that are not objects.
        assert_eq!(parse_record(br#"{"resourceType":"Bundle","entry":{"resource":{"resourceType":"Patient"}}}"#).unwrap_err(), ParseError::BadBundle);
        assert_eq!(parse_record(br#"["Bundle","collection",null,null,[{"resource":{"resourceType":"Patient"}}]]"#).unwrap_err(), ParseError::NotFhir);
        assert_eq!(parse_record(b"\"Bundle\"").unwrap_err(), ParseError::NotFhir);
        // A repeated "entry": the last one, as the whole-document reader keeps.
        let twice = parse_record(br#"{"resourceType":"Bundle","type":"collection","entry":[{"resource":{"resourceType":"Patient"}}],"entry":[{"resource":{"resourceType":"Condition"}},{}]}"#).unwrap();
        assert_eq!(twice.entries.iter().map(|e| e.resource_type.as_str()).collect::<Vec<_>>(), ["Condition"]);
        assert_eq!((twice.entries_without_resource, twice.bundle_type.as_deref()), (1, Some("collection")));
        // Entries without a resource are counted; the tricky one reads whole.
        let record = parse_record(TRICKY.as_bytes()).unwrap();
        assert_eq!(record.entries.iter().map(|e| e.resource_type.as_str()).collect::<Vec<_>>(), ["Patient", "Observation"]);
        assert_eq!(record.entries_without_resource, 6);
        assert_eq!(record.entries[1].raw["valueQuantity"]["value"].to_string(), "1.50e2".parse::<serde_json::Value>().unwrap().to_string());
        // A single resource, with a member named "entry".
        let single = parse_record(br#"{"resourceType":"Basic","entry":[1]}"#).unwrap();
        assert_eq!((single.entries.len(), single.bundle_type), (1, None));
    }
}
