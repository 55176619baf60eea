//! The view model: what the chart shows, as plain data, before any markup.

use chrono::NaiveDate;

use crate::fhir::{age_in_years, Identifier, Patient, Record, Resource};

use super::sections;

/// Inputs to rendering besides the record.
#[derive(Debug, Clone)]
pub struct RenderOptions {
    /// Today's date in the viewer's calendar (ages are computed from it).
    pub today: NaiveDate,
    /// Where the record came from (a shared link's label, its files and
    /// health card signatures), shown above the banner. Empty for a plain JWE.
    pub source: Option<SourceSummary>,
    /// Set when resources were withheld from this viewer: the chart says so.
    pub withheld: Option<WithheldNotice>,
}

impl RenderOptions {
    pub fn new(today: NaiveDate) -> Self {
        Self { today, source: None, withheld: None }
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
    /// Signed, and the signature verifies with the issuer's key.
    Verified,
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
    pub text: String,
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
    pub fn label(&self) -> &str {
        match self {
            Flag::High => "High",
            Flag::Low => "Low",
            Flag::CriticalHigh => "Critically high",
            Flag::CriticalLow => "Critically low",
            Flag::Abnormal => "Abnormal",
            Flag::CriticalAbnormal => "Critically abnormal",
            Flag::Normal => "Normal",
            Flag::Other(label) => label,
        }
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
}

/// One table cell: text, optionally with a flag.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Cell {
    pub text: String,
    pub flag: Option<Flag>,
}

impl From<String> for Cell {
    fn from(text: String) -> Self {
        Cell { text, flag: None }
    }
}

impl From<&str> for Cell {
    fn from(text: &str) -> Self {
        Cell { text: text.to_string(), flag: None }
    }
}

/// One table row, with a sort key (newest first).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row {
    pub cells: Vec<Cell>,
    pub sort_key: Option<i64>,
}

/// A section of the chart: a table with a caption.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Section {
    pub id: &'static str,
    pub title: &'static str,
    pub columns: &'static [&'static str],
    pub rows: Vec<Row>,
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
    pub description: String,
    pub date: Option<String>,
    pub note: Option<&'static str>,
    pub sort_key: Option<i64>,
}

/// Resources of one type with no section of their own.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OtherGroup {
    pub resource_type: String,
    pub items: Vec<OtherItem>,
}

/// The whole chart.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Chart {
    pub source: Option<SourceSummary>,
    pub withheld: Option<WithheldNotice>,
    pub banners: Vec<Banner>,
    pub sections: Vec<Section>,
    pub other: Vec<OtherGroup>,
}

impl Chart {
    /// Number of resources shown anywhere in the chart.
    pub fn shown(&self) -> usize {
        self.banners.len() + self.sections.iter().map(|s| s.rows.len()).sum::<usize>() + self.other.iter().map(|g| g.items.len()).sum::<usize>()
    }
}

const SSN_SYSTEM: &str = "http://hl7.org/fhir/sid/us-ssn";

fn identifier_row(id: &Identifier) -> Option<(String, String)> {
    let value = id.value.as_deref()?.trim();
    if value.is_empty() {
        return None;
    }
    let label = id
        .type_
        .as_ref()
        .and_then(|t| t.label())
        .map(str::to_string)
        .unwrap_or_else(|| "Identifier".to_string());
    let is_ssn = id.system.as_deref() == Some(SSN_SYSTEM) || id.type_.as_ref().is_some_and(|t| t.has_code("SS"));
    let value = if is_ssn {
        let digits: String = value.chars().filter(char::is_ascii_digit).collect();
        format!("•••-••-{}", &digits[digits.len().saturating_sub(4)..])
    } else {
        value.to_string()
    };
    Some((label, value))
}

fn banner(patient: &Patient, options: &RenderOptions) -> Banner {
    let birth = patient.birth_date.as_ref();
    let death = patient.deceased_date_time.as_ref();
    let age_on = death.and_then(|d| d.start_date()).unwrap_or(options.today);
    let age = birth.filter(|b| matches!(b, crate::fhir::DateTime::Date(_))).and_then(|b| b.start_date()).and_then(|b| age_in_years(b, age_on));
    let deceased = match (death, patient.deceased_boolean) {
        (Some(d), _) => Some(d.display_date()),
        (None, Some(true)) => Some("Yes".to_string()),
        _ => None,
    };
    let sex = patient.gender.as_deref().map(|g| match g {
        "male" => "Male".to_string(),
        "female" => "Female".to_string(),
        "other" => "Other".to_string(),
        "unknown" => "Unknown".to_string(),
        other => other.to_string(),
    });
    Banner {
        name: patient.display_name().unwrap_or_else(|| "Name not recorded".to_string()),
        birth_date: birth.map(|b| b.display_date()),
        age,
        deceased,
        sex,
        identifiers: patient.identifier.iter().filter_map(identifier_row).collect(),
    }
}

/// Builds the view model for every resource of `record`. Each entry is
/// shown exactly once: in the banner, a section, or "Other records".
pub fn build_chart(record: &Record, options: &RenderOptions) -> Chart {
    let mut chart = start(options);
    for entry in &record.entries {
        add(&mut chart, record, entry, options);
    }
    finish(chart)
}

/// [`build_chart`], giving the event loop a turn every few milliseconds.
pub async fn build_chart_paced<C: crate::source::HttpClient>(record: &Record, options: &RenderOptions, client: &C) -> Chart {
    let mut chart = start(options);
    let pacer = crate::source::Pacer::new(client);
    for entry in &record.entries {
        add(&mut chart, record, entry, options);
        pacer.tick().await;
    }
    finish(chart)
}

fn start(options: &RenderOptions) -> Chart {
    Chart { source: options.source.clone(), withheld: options.withheld, banners: Vec::new(), sections: sections::empty(), other: Vec::new() }
}

fn add(chart: &mut Chart, record: &Record, entry: &crate::fhir::Entry, options: &RenderOptions) {
    if let Resource::Patient(p) = &entry.resource {
        chart.banners.push(banner(p, options));
        return;
    }
    match sections::place(record, entry) {
        sections::Placement::Section(index, row) => chart.sections[index].rows.push(row),
        sections::Placement::Other(item) => match chart.other.iter_mut().find(|g| g.resource_type == entry.resource_type) {
            Some(group) => group.items.push(item),
            None => chart.other.push(OtherGroup { resource_type: entry.resource_type.clone(), items: vec![item] }),
        },
    }
}

fn finish(mut chart: Chart) -> Chart {
    for section in &mut chart.sections {
        section.rows.sort_by_key(|r| std::cmp::Reverse(r.sort_key));
    }
    for group in &mut chart.other {
        group.items.sort_by_key(|i| std::cmp::Reverse(i.sort_key));
    }
    chart.other.sort_by(|a, b| a.resource_type.cmp(&b.resource_type));
    chart
}
