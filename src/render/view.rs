//! The view model: what the chart shows, as plain data, before any markup.

use crate::fhir::{age_in_years, Date, Identifier, Patient, Record, Resource};
use crate::util::lowercase;

use super::i18n::{Fmt, Locale, TimeZone, T};
use super::sections;
use super::trend::{Band, TrendPoint};

/// Inputs to rendering besides the record.
#[derive(Debug, Clone)]
pub struct RenderOptions {
    /// Today's date in the viewer's calendar (ages are computed from it).
    pub today: Date,
    /// Where the record came from (a shared link's label, its files and
    /// health card signatures), shown above the banner. Empty for a plain JWE.
    pub source: Option<SourceSummary>,
    /// Set when resources were withheld from this viewer: the chart says so.
    pub withheld: Option<WithheldNotice>,
    /// The language of the SDK's labels, dates and numbers.
    pub locale: Locale,
    /// The viewer's time zone, for times of day.
    pub time_zone: TimeZone,
    /// Light, dark, or following the viewer's system setting.
    pub theme: Theme,
}

impl RenderOptions {
    pub fn new(today: Date) -> Self {
        Self { today, source: None, withheld: None, locale: Locale::EnUs, time_zone: TimeZone::recorded(), theme: Theme::Auto }
    }

    fn fmt(&self) -> Fmt<'_> {
        Fmt { locale: self.locale, zone: &self.time_zone }
    }
}

/// The chart's colour scheme.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Theme {
    /// Follows `prefers-color-scheme`.
    #[default]
    Auto,
    Light,
    Dark,
}

impl Theme {
    pub fn from_name(name: &str) -> Option<Theme> {
        match name {
            "auto" => Some(Theme::Auto),
            "light" => Some(Theme::Light),
            "dark" => Some(Theme::Dark),
            _ => None,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Theme::Auto => "auto",
            Theme::Light => "light",
            Theme::Dark => "dark",
        }
    }
}

/// "Some items are not shown": with their number for the patient or a
/// clinician, without it (or anything about them) for a proxy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WithheldNotice {
    pub count: Option<usize>,
}

/// How far a part of the record can be trusted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Trust {
    /// Signed, and the signature verifies with a key the host trusts.
    Verified,
    /// Signed, and the signature verifies with the issuer's own published
    /// key, but the issuer is not in the host's trust list.
    Signed,
    /// Signed, but the signature could not be checked.
    Unverified,
    /// Signed, and the signature does not verify.
    Invalid,
    /// Not signed (plain FHIR JSON).
    Unsigned,
}

impl Trust {
    pub fn class(self) -> &'static str {
        match self {
            Trust::Verified => "verified",
            Trust::Signed => "signed",
            Trust::Unverified => "unverified",
            Trust::Invalid => "invalid",
            Trust::Unsigned => "unsigned",
        }
    }
}

/// One line about the record's source.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceNote {
    pub trust: Trust,
    pub what: SourceNoteKind,
}

/// What a source note says (worded by the renderer, in the viewer's language).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SourceNoteKind {
    /// A health card and its issuer; `why` says why it is unverified.
    Card { issuer: String, keys_unavailable: bool },
    /// This many unsigned FHIR files.
    Unsigned(usize),
    /// A file not opened, of this content type.
    Skipped { content_type: String, reason: SkippedWhy },
}

/// Why a shared file was not opened.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SkippedWhy {
    NoLongerValid,
    ApiAccess,
    Unsupported,
}

impl SourceNote {
    /// The note in the viewer's language.
    pub fn text(&self, locale: Locale) -> String {
        match &self.what {
            SourceNoteKind::Card { issuer, keys_unavailable } => {
                let key = match (self.trust, keys_unavailable) {
                    (Trust::Verified, _) => T::CardVerified,
                    (Trust::Signed, _) => T::CardUntrusted,
                    (Trust::Invalid, _) => T::CardInvalid,
                    (_, true) => T::CardKeysUnavailable,
                    _ => T::CardNoKeys,
                };
                locale.t_with(key, issuer)
            }
            SourceNoteKind::Unsigned(1) => locale.t(T::UnsignedOne).to_string(),
            SourceNoteKind::Unsigned(n) => locale.t_with(T::UnsignedMany, &n.to_string()),
            SourceNoteKind::Skipped { content_type, reason } => {
                let why = match reason {
                    SkippedWhy::NoLongerValid => T::SkipNoLongerValid,
                    SkippedWhy::ApiAccess => T::SkipApiAccess,
                    SkippedWhy::Unsupported => T::SkipUnsupported,
                };
                format!("{} ({})", locale.t_with(T::SkippedFile, content_type), locale.t(why))
            }
        }
    }
}

/// The record's source, as shown above the banner.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SourceSummary {
    /// The link's label (sharer-written text).
    pub label: Option<String>,
    pub notes: Vec<SourceNote>,
}

/// An interpretation flag on a result.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Flag {
    High,
    Low,
    CriticalHigh,
    CriticalLow,
    Abnormal,
    CriticalAbnormal,
    Normal,
    /// Any other interpretation, by its label.
    Other(String),
}

impl Flag {
    /// The visible (and spoken) text.
    pub fn label(&self, locale: Locale) -> &str {
        let key = match self {
            Flag::High => T::High,
            Flag::Low => T::Low,
            Flag::CriticalHigh => T::CriticalHigh,
            Flag::CriticalLow => T::CriticalLow,
            Flag::Abnormal => T::Abnormal,
            Flag::CriticalAbnormal => T::CriticalAbnormal,
            Flag::Normal => T::Normal,
            Flag::Other(label) => return label,
        };
        locale.t(key)
    }

    /// A CSS class suffix.
    pub fn class(&self) -> &'static str {
        match self {
            Flag::High => "high",
            Flag::Low => "low",
            Flag::CriticalHigh => "critical-high",
            Flag::CriticalLow => "critical-low",
            Flag::Abnormal => "abnormal",
            Flag::CriticalAbnormal => "critical",
            Flag::Normal => "normal",
            Flag::Other(_) => "other",
        }
    }

    /// Whether the result lies outside its range (drawn as such in trends).
    pub fn is_out_of_range(&self) -> bool {
        !matches!(self, Flag::Normal | Flag::Other(_))
    }
}

/// A statement that something was NOT done or is NOT to be done, or is
/// not true: shown as a marker before the row's name, never as if it
/// happened or was ordered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Negation {
    /// `MedicationRequest.doNotPerform`.
    DoNotGive,
    /// `ServiceRequest.doNotPerform`, `DeviceRequest` / `CarePlan` activity `doNotPerform`.
    DoNotPerform,
    /// `Procedure` / `MedicationAdministration` status `not-done`.
    NotDone,
    /// `Immunization` status `not-done`.
    NotGiven,
    /// `MedicationStatement` status `not-taken`.
    NotTaken,
    /// `MedicationDispense` status `declined`.
    Declined,
    /// `Condition` / `AllergyIntolerance` verification status `refuted`.
    Refuted,
    /// `Observation` / `DiagnosticReport` status `cancelled`.
    Cancelled,
}

impl Negation {
    pub fn label(self, locale: Locale) -> &'static str {
        locale.t(match self {
            Negation::DoNotGive => T::DoNotGive,
            Negation::DoNotPerform => T::DoNotPerform,
            Negation::NotDone => T::NotDone,
            Negation::NotGiven => T::NotGiven,
            Negation::NotTaken => T::NotTaken,
            Negation::Declined => T::Declined,
            Negation::Refuted => T::Refuted,
            Negation::Cancelled => T::Cancelled,
        })
    }
}

/// A link in a cell: a document's download or its address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Link {
    /// `https://…`, `http://…`, or a `data:application/octet-stream;base64,…`
    /// URL built by the SDK from the attachment's validated base64 data.
    pub href: String,
    pub label: String,
    /// The file name, for a download.
    pub download: Option<String>,
}

/// One table cell: text, optionally with a flag, or links.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Cell {
    pub text: String,
    pub flag: Option<Flag>,
    pub links: Vec<Link>,
}

impl From<String> for Cell {
    fn from(text: String) -> Self {
        Cell { text, ..Cell::default() }
    }
}

impl From<&str> for Cell {
    fn from(text: &str) -> Self {
        Cell { text: text.to_string(), ..Cell::default() }
    }
}

/// One table row, with a sort key (newest first).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row {
    /// Index of the resource in the record (`data-entry` in the markup).
    pub entry: usize,
    pub cells: Vec<Cell>,
    pub sort_key: Option<i64>,
    /// Shown before the first cell: the row states a negation.
    pub negation: Option<Negation>,
    /// The resource's own narrative, sanitised, when it says more than the
    /// row (FHIR `text.status` other than `generated`).
    pub narrative: Option<String>,
}

/// Results under one heading: a DiagnosticReport or a panel with its
/// members, or (with no title) a single result.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Group {
    /// The report's or panel's name; empty for a result on its own.
    pub title: String,
    /// Date, status and conclusion of the report.
    pub detail: String,
    pub sort_key: Option<i64>,
    pub rows: Vec<Row>,
    /// Whether the heading is itself a resource of the record.
    pub is_resource: bool,
    /// Index of that resource in the record.
    pub entry: Option<usize>,
    /// The report as written: its `presentedForm` files.
    pub links: Vec<Link>,
    /// The report as written, when it is text or XHTML: safe HTML (escaped
    /// text, or sanitised XHTML).
    pub report_text: Option<String>,
    pub negation: Option<Negation>,
}

impl Group {
    /// Whether the group or one of its results is named like `filter`
    /// (already lower-cased).
    pub fn matches(&self, filter: &str) -> bool {
        lowercase(&self.title).contains(filter) || self.rows.iter().any(|r| r.cells.first().is_some_and(|c| lowercase(&c.text).contains(filter)))
    }
}

/// A section of the chart: a table with a caption.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Section {
    pub id: &'static str,
    pub title: &'static str,
    pub columns: Vec<&'static str>,
    pub rows: Vec<Row>,
    /// Results only: the rows grouped by report or panel (then `rows` is empty).
    pub groups: Vec<Group>,
}

impl Section {
    /// Number of resources listed.
    pub fn len(&self) -> usize {
        self.rows.len() + self.groups.iter().map(|g| g.rows.len() + usize::from(g.is_resource)).sum::<usize>()
    }

    pub fn is_empty(&self) -> bool {
        self.rows.is_empty() && self.groups.is_empty()
    }
}

/// The patient banner.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Banner {
    pub name: String,
    pub birth_date: Option<String>,
    pub age: Option<u32>,
    pub deceased: Option<String>,
    pub sex: Option<String>,
    /// (label, value) pairs; social security numbers are masked.
    pub identifiers: Vec<(String, String)>,
}

/// One resource listed under "Other records".
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OtherItem {
    /// Index of the resource in the record (`data-entry` in the markup).
    pub entry: usize,
    pub description: String,
    pub negation: Option<Negation>,
    pub date: Option<String>,
    pub note: Option<&'static str>,
    pub sort_key: Option<i64>,
    /// The resource's narrative, sanitised (any status: it is the only
    /// readable form of a resource without a section).
    pub narrative: Option<String>,
}

/// Resources of one type with no section of their own.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OtherGroup {
    pub resource_type: String,
    pub items: Vec<OtherItem>,
}

/// One result of a trend, as shown in its data table.
#[derive(Debug, Clone, PartialEq)]
pub struct TrendRow {
    pub point: TrendPoint,
    pub date: String,
    pub value: String,
    pub flag: Option<Flag>,
}

/// A test with several numeric results in one unit.
#[derive(Debug, Clone, PartialEq)]
pub struct Trend {
    pub title: String,
    pub unit: String,
    /// Newest first.
    pub rows: Vec<TrendRow>,
    /// The newest result's reference range.
    pub band: Option<Band>,
    pub band_text: String,
}

/// The whole chart.
#[derive(Debug, Clone, PartialEq)]
pub struct Chart {
    pub locale: Locale,
    pub theme: Theme,
    /// The viewer's time zone name, when times are converted to it.
    pub time_zone: Option<String>,
    pub source: Option<SourceSummary>,
    pub withheld: Option<WithheldNotice>,
    pub banners: Vec<Banner>,
    pub sections: Vec<Section>,
    pub trends: Vec<Trend>,
    pub other: Vec<OtherGroup>,
}

impl Chart {
    /// Number of resources shown anywhere in the chart.
    pub fn shown(&self) -> usize {
        self.banners.len() + self.sections.iter().map(Section::len).sum::<usize>() + self.other.iter().map(|g| g.items.len()).sum::<usize>()
    }

    pub fn section(&self, id: &str) -> Option<&Section> {
        self.sections.iter().find(|s| s.id == id)
    }
}

const SSN_SYSTEM: &str = "http://hl7.org/fhir/sid/us-ssn";

fn identifier_row(id: &Identifier, fmt: &Fmt<'_>) -> Option<(String, String)> {
    let value = id.value.as_deref()?.trim();
    if value.is_empty() {
        return None;
    }
    let label = identifier_type(id, fmt);
    let is_ssn = id.system.as_deref() == Some(SSN_SYSTEM) || id.type_.as_ref().is_some_and(|t| t.has_code("SS"));
    let value = if is_ssn {
        let digits: String = value.chars().filter(char::is_ascii_digit).collect();
        format!("•••-••-{}", digits.get(digits.len().saturating_sub(4)..).unwrap_or_default())
    } else {
        value.to_string()
    };
    Some((label, value))
}

/// An identifier's type in words: the record's text or display, else the
/// meaning of a known v2-0203 or CARIN code, else the code; "Identifier"
/// when there is no type.
fn identifier_type(id: &Identifier, fmt: &Fmt<'_>) -> String {
    let Some(t) = id.type_.as_ref() else {
        return fmt.t(T::Identifier).to_string();
    };
    let text = t.text.as_deref().map(str::trim).filter(|s| !s.is_empty());
    let display = t.coding.iter().find_map(|c| c.display.as_deref().map(str::trim).filter(|s| !s.is_empty()));
    let known = t.coding.iter().find_map(|c| c.code.as_deref().and_then(|code| fmt.locale.identifier_type(code.trim())));
    match (text, display, known) {
        (Some(text), _, _) => text.to_string(),
        // A code's display is English; a known code reads in the viewer's language.
        (None, Some(d), Some(k)) => {
            if fmt.locale == Locale::EnUs {
                d.to_string()
            } else {
                k.to_string()
            }
        }
        (None, Some(d), None) => d.to_string(),
        (None, None, Some(k)) => k.to_string(),
        (None, None, None) => t.label().map_or_else(|| fmt.t(T::Identifier).to_string(), str::to_string),
    }
}

fn banner(patient: &Patient, options: &RenderOptions) -> Banner {
    let fmt = options.fmt();
    let birth = patient.birth_date.as_ref();
    let death = patient.deceased_date_time.as_ref();
    let age_on = death.and_then(|d| d.start_date()).unwrap_or(options.today);
    let age = birth.filter(|b| matches!(b, crate::fhir::DateTime::Date(_))).and_then(|b| b.start_date()).and_then(|b| age_in_years(b, age_on));
    let deceased = match (death, patient.deceased_boolean) {
        (Some(d), _) => Some(fmt.date(d)),
        (None, Some(true)) => Some(fmt.t(T::Yes).to_string()),
        _ => None,
    };
    let sex = patient.gender.as_deref().map(|g| match g {
        "male" => fmt.t(T::Male).to_string(),
        "female" => fmt.t(T::Female).to_string(),
        "other" => fmt.t(T::OtherGender).to_string(),
        "unknown" => fmt.t(T::UnknownGender).to_string(),
        other => other.to_string(),
    });
    Banner {
        name: patient.display_name().unwrap_or_else(|| fmt.t(T::NameNotRecorded).to_string()),
        birth_date: birth.map(|b| fmt.date(b)),
        age,
        deceased,
        sex,
        identifiers: patient.identifier.iter().filter_map(|i| identifier_row(i, &fmt)).collect(),
    }
}

/// Builds the view model for every resource of `record`. Each entry is
/// shown exactly once: in the banner, a section, or "Other records".
/// The same path as [`build_chart_paced`], run through without yielding.
pub fn build_chart(record: &Record, options: &RenderOptions) -> Chart {
    crate::source::run_now(build_chart_paced(record, options, &crate::source::Immediate))
}

/// [`build_chart`], giving the event loop a turn every few milliseconds.
pub async fn build_chart_paced<S: crate::source::Scheduler>(record: &Record, options: &RenderOptions, sched: &S) -> Chart {
    let pacer = crate::source::Pacer::new(sched);
    let mut builder = sections::Builder::start(record, options.fmt());
    for step in 0..2 * record.entries.len() {
        builder.claim(step);
        pacer.tick().await;
    }
    builder.claimed();
    let mut chart = start(options);
    for (index, entry) in record.entries.iter().enumerate() {
        add(&mut chart, &mut builder, index, entry, options);
        pacer.tick().await;
    }
    finish(chart, builder)
}

fn start(options: &RenderOptions) -> Chart {
    Chart {
        locale: options.locale,
        theme: options.theme,
        time_zone: options.time_zone.name().map(str::to_string),
        source: options.source.clone(),
        withheld: options.withheld,
        banners: Vec::new(),
        sections: sections::empty(options.locale),
        trends: Vec::new(),
        other: Vec::new(),
    }
}

fn add(chart: &mut Chart, builder: &mut sections::Builder<'_, '_>, index: usize, entry: &crate::fhir::Entry, options: &RenderOptions) {
    if let Resource::Patient(p) = &entry.resource {
        chart.banners.push(banner(p, options));
        return;
    }
    match builder.place(index, entry) {
        sections::Placement::Section(index, row) => {
            if let Some(section) = chart.sections.get_mut(index) {
                section.rows.push(row);
            }
        }
        sections::Placement::Grouped => {}
        sections::Placement::Other(item) => match chart.other.iter_mut().find(|g| g.resource_type == entry.resource_type) {
            Some(group) => group.items.push(item),
            None => chart.other.push(OtherGroup { resource_type: entry.resource_type.clone(), items: vec![item] }),
        },
    }
}

fn finish(mut chart: Chart, builder: sections::Builder<'_, '_>) -> Chart {
    let (groups, trends) = builder.finish();
    if let Some(results) = chart.sections.get_mut(sections::RESULTS) {
        results.groups = groups;
    }
    chart.trends = trends;
    for section in &mut chart.sections {
        crate::util::sort_by_key(&mut section.rows, |r| std::cmp::Reverse(r.sort_key));
    }
    for group in &mut chart.other {
        crate::util::sort_by_key(&mut group.items, |i| std::cmp::Reverse(i.sort_key));
    }
    crate::util::sort_by(&mut chart.other, |a, b| a.resource_type.cmp(&b.resource_type));
    chart
}
