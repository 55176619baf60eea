//! Where each resource goes in the chart, and the row it becomes.

use std::collections::{HashMap, HashSet};

use serde::Deserialize;

use crate::fhir::{
    first_label, Attachment, CodeableConcept, DateTime, Entry, HumanName, MedicationChoice, Observation, ObservationValue, Record, Reference, Resource, When,
};

use super::i18n::{Fmt, Locale, T};
use super::attachments::file_cell;
use super::narrative;
use super::trend::{Band, TrendPoint};
use super::view::{Cell, Flag, Group, OtherItem, Row, Section, Trend, TrendRow};

const ALLERGIES: usize = 0;
const PROBLEMS: usize = 1;
const MEDICATIONS: usize = 2;
pub const RESULTS: usize = 3;
const VITALS: usize = 4;
const IMMUNIZATIONS: usize = 5;
const PROCEDURES: usize = 6;
const ENCOUNTERS: usize = 7;
const DOCUMENTS: usize = 8;
const CARE_PLANS: usize = 9;

/// The chart's sections, in display order, with no rows yet.
pub fn empty(locale: Locale) -> Vec<Section> {
    let s = |id, title: T, columns: &[T]| Section {
        id,
        title: locale.t(title),
        columns: columns.iter().map(|c| locale.t(*c)).collect(),
        rows: Vec::new(),
        groups: Vec::new(),
    };
    vec![
        s("allergies", T::Allergies, &[T::Substance, T::Reactions, T::Criticality, T::Status, T::Recorded]),
        s("problems", T::Problems, &[T::Problem, T::Status, T::Onset, T::Resolved]),
        s("medications", T::Medications, &[T::Medication, T::Dosage, T::Status, T::Date, T::Prescriber]),
        s("results", T::Results, &[T::Test, T::Result, T::ReferenceRange, T::Flag, T::Date]),
        s("vitals", T::Vitals, &[T::Measurement, T::Value, T::Date]),
        s("immunizations", T::Immunizations, &[T::Vaccine, T::Status, T::Date]),
        s("procedures", T::Procedures, &[T::Procedure, T::Status, T::Date]),
        s("encounters", T::Encounters, &[T::Visit, T::Class, T::Date, T::Reason, T::Provider]),
        s("documents", T::Documents, &[T::Document, T::DocumentType, T::Date, T::Status, T::File]),
        s("care-plans", T::CarePlans, &[T::CarePlan, T::Activities, T::Status, T::Period]),
    ]
}

/// Where one entry is shown.
pub enum Placement {
    Section(usize, Row),
    /// In a group of results (kept by the builder until `finish`).
    Grouped,
    Other(OtherItem),
}

/// Places entries one at a time; results are grouped under their report
/// or panel, and numeric results collected into trends.
pub struct Builder<'r, 'f> {
    record: &'r Record,
    fmt: Fmt<'f>,
    /// Entry index of a result → entry index of the report or panel it is listed under.
    owner: HashMap<usize, usize>,
    /// Entry indexes of the reports and panels that list results.
    owners: HashSet<usize>,
    /// Entry index of a group's owner (or of a lone result) → its group.
    groups: Vec<Group>,
    group_of: HashMap<usize, usize>,
    trends: Vec<TrendAcc>,
    trend_of: HashMap<(String, String), usize>,
}

struct TrendAcc {
    title: String,
    unit: String,
    rows: Vec<TrendRow>,
    band: Option<(i64, Band, String)>,
}

fn is_lab(entry: &Entry) -> bool {
    matches!(&entry.resource, Resource::Observation(o) if !o.in_category("vital-signs")) && !is_entered_in_error(entry)
}

impl<'r, 'f> Builder<'r, 'f> {
    pub fn new(record: &'r Record, fmt: Fmt<'f>) -> Self {
        let mut owner = HashMap::new();
        let claim = |owner: &mut HashMap<usize, usize>, by: usize, reference: &Reference| {
            let i = record.resolve_index(reference).filter(|&i| i != by && is_lab(&record.entries[i]))?;
            owner.entry(i).or_insert(by);
            Some(i)
        };
        // Reports first: their results, and the members of panels among them.
        for (by, entry) in record.entries.iter().enumerate() {
            if let (Resource::DiagnosticReport(d), false) = (&entry.resource, is_entered_in_error(entry)) {
                for r in &d.result {
                    if let Some(i) = claim(&mut owner, by, r) {
                        if let Resource::Observation(panel) = &record.entries[i].resource {
                            for m in &panel.has_member {
                                claim(&mut owner, by, m);
                            }
                        }
                    }
                }
            }
        }
        // Then panels not listed in a report.
        for (by, entry) in record.entries.iter().enumerate() {
            if let (Resource::Observation(o), false) = (&entry.resource, owner.contains_key(&by) || !is_lab(entry)) {
                for m in &o.has_member {
                    claim(&mut owner, by, m);
                }
            }
        }
        let owners = owner.values().copied().collect();
        Self { record, fmt, owner, owners, groups: Vec::new(), group_of: HashMap::new(), trends: Vec::new(), trend_of: HashMap::new() }
    }

    fn group(&mut self, owner: usize) -> &mut Group {
        let next = self.groups.len();
        let i = *self.group_of.entry(owner).or_insert(next);
        if i == next {
            self.groups.push(Group { title: String::new(), detail: String::new(), sort_key: None, rows: Vec::new(), is_resource: false, entry: None });
        }
        &mut self.groups[i]
    }

    /// The groups of results (newest first) and the trends (most recent first).
    pub fn finish(mut self) -> (Vec<Group>, Vec<Trend>) {
        for g in &mut self.groups {
            g.sort_key = g.sort_key.or_else(|| g.rows.iter().filter_map(|r| r.sort_key).max());
        }
        self.groups.sort_by_key(|g| std::cmp::Reverse(g.sort_key));
        let mut trends: Vec<Trend> = self
            .trends
            .into_iter()
            .filter(|t| t.rows.len() >= 2)
            .map(|mut t| {
                t.rows.sort_by_key(|r| std::cmp::Reverse(r.point.at));
                let (band, band_text) = t.band.map(|(_, b, text)| (Some(b), text)).unwrap_or_default();
                Trend { title: t.title, unit: t.unit, rows: t.rows, band, band_text }
            })
            .collect();
        trends.sort_by_key(|t| std::cmp::Reverse(t.rows.first().map(|r| r.point.at)));
        (self.groups, trends)
    }

    /// Decides where the entry at `index` is shown and builds its row.
    pub fn place(&mut self, index: usize, entry: &Entry) -> Placement {
        let (record, fmt) = (self.record, self.fmt);
        if matches!(entry.resource, Resource::Invalid) {
            return other(fmt, index, entry, Some(fmt.t(T::CouldNotRead)));
        }
        if is_entered_in_error(entry) {
            return other(fmt, index, entry, Some(fmt.t(T::EnteredInError)));
        }
        let row = |cells: Vec<Cell>, sort_key: Option<i64>| Row { entry: index, cells, sort_key, narrative: narrative_of(entry, false) };
        match &entry.resource {
            Resource::AllergyIntolerance(a) => {
                let reactions = a
                    .reaction
                    .iter()
                    .map(|r| {
                        let what = r.manifestation.iter().filter_map(|m| m.label()).collect::<Vec<_>>().join(", ");
                        let what = if what.is_empty() { r.description.clone().unwrap_or_default() } else { what };
                        match r.severity.as_deref() {
                            Some(s) => format!("{what} ({})", fmt.code(Some(s))),
                            None => what,
                        }
                    })
                    .collect::<Vec<_>>()
                    .join("; ");
                let status = clinical_status(fmt, &a.clinical_status, &a.verification_status);
                let (recorded, key) = date(fmt, &a.recorded_date);
                let (recorded, key) = if recorded.is_empty() { day(fmt, a.onset()) } else { (recorded, key) };
                let criticality = fmt.code(a.criticality.as_deref());
                Placement::Section(ALLERGIES, row(vec![label(&a.code).into(), reactions.into(), criticality.into(), status.into(), recorded.into()], key))
            }
            Resource::Condition(c) => {
                let status = clinical_status(fmt, &c.clinical_status, &c.verification_status);
                let (onset, key) = day(fmt, c.onset());
                let key = key.or_else(|| c.recorded_date.as_ref().and_then(DateTime::sort_key));
                let (resolved, _) = day(fmt, c.abatement());
                Placement::Section(PROBLEMS, row(vec![label(&c.code).into(), status.into(), onset.into(), resolved.into()], key))
            }
            Resource::MedicationRequest(m) => {
                let dosage = m.dosage_instruction.iter().filter_map(|d| d.text.clone()).collect::<Vec<_>>().join("; ");
                let (on, key) = date(fmt, &m.authored_on);
                let cells = vec![
                    medication_name(fmt, record, m.medication()).into(),
                    dosage.into(),
                    fmt.code(m.status.as_deref()).into(),
                    on.into(),
                    reference_name(fmt, record, &m.requester).into(),
                ];
                Placement::Section(MEDICATIONS, row(cells, key))
            }
            Resource::MedicationStatement(m) => {
                let dosage = m.dosage.iter().filter_map(|d| d.text.clone()).collect::<Vec<_>>().join("; ");
                let (on, key) = day(fmt, m.effective());
                let (on, key) = if on.is_empty() { date(fmt, &m.date_asserted) } else { (on, key) };
                let cells =
                    vec![medication_name(fmt, record, m.medication()).into(), dosage.into(), fmt.code(m.status.as_deref()).into(), on.into(), Cell::default()];
                Placement::Section(MEDICATIONS, row(cells, key))
            }
            Resource::Observation(o) if o.in_category("vital-signs") => {
                let (on, key) = when(fmt, o.effective());
                Placement::Section(VITALS, row(vec![label(&o.code).into(), observation_value(fmt, record, o).into(), on.into()], key))
            }
            Resource::Observation(o) => {
                let (on, key) = when(fmt, o.effective());
                let range = o.reference_range.iter().map(|r| reference_range(fmt, r)).filter(|r| !r.is_empty()).collect::<Vec<_>>().join("; ");
                let flag = flag_of(&o.interpretation);
                let flag_cell =
                    Cell { text: flag.as_ref().map(|f| f.label(fmt.locale).to_string()).unwrap_or_default(), flag: flag.clone(), links: Vec::new() };
                self.add_to_trend(o, &on, flag);
                let result = row(vec![label(&o.code).into(), observation_value(fmt, record, o).into(), range.into(), flag_cell, on.clone().into()], key);
                if let Some(&owner) = self.owner.get(&index) {
                    self.group(owner).rows.push(result);
                } else if self.owners.contains(&index) {
                    let g = self.group(index);
                    g.title = result.cells[0].text.clone();
                    g.detail = on;
                    g.sort_key = key;
                    g.is_resource = true;
                    g.entry = Some(index);
                } else {
                    self.group(index).rows.push(result);
                }
                Placement::Grouped
            }
            Resource::DiagnosticReport(d) => {
                let effective = match d.effective() {
                    Some(When::DateTime(dt)) => Some(dt),
                    Some(When::Period(p)) => p.start.as_ref(),
                    _ => d.issued.as_ref(),
                };
                let mut detail: Vec<String> = effective.map(|e| fmt.date_time(e)).into_iter().collect();
                if let Some(s) = d.status.as_deref().filter(|s| !matches!(*s, "final" | "amended" | "corrected" | "appended")) {
                    detail.push(fmt.code(Some(s)));
                }
                let hidden = d.result.iter().filter(|r| record.is_withheld(r)).count();
                if d.result.is_empty() {
                    detail.push(fmt.t(T::NoResultsHere).to_string());
                } else if hidden > 0 {
                    detail.push(fmt.t_with(T::CountNotShown, &hidden.to_string()));
                }
                if let Some(c) = d.conclusion.as_deref().filter(|c| !c.trim().is_empty()) {
                    detail.push(fmt.t_with(T::Conclusion, c));
                }
                let g = self.group(index);
                g.title = label(&d.code);
                g.detail = detail.join(" · ");
                g.sort_key = effective.and_then(DateTime::sort_key);
                g.is_resource = true;
                    g.entry = Some(index);
                Placement::Grouped
            }
            Resource::Immunization(i) => {
                let status = match i.status.as_deref() {
                    Some("completed") => fmt.t(T::Given).to_string(),
                    Some("not-done") => match i.status_reason.as_ref().and_then(|r| r.label()) {
                        Some(reason) => format!("{} ({reason})", fmt.t(T::NotGiven)),
                        None => fmt.t(T::NotGiven).to_string(),
                    },
                    other => fmt.code(other),
                };
                let (on, key) = day(fmt, i.occurrence());
                Placement::Section(IMMUNIZATIONS, row(vec![label(&i.vaccine_code).into(), status.into(), on.into()], key))
            }
            Resource::Procedure(p) => {
                let (on, key) = day(fmt, p.performed());
                Placement::Section(PROCEDURES, row(vec![label(&p.code).into(), fmt.code(p.status.as_deref()).into(), on.into()], key))
            }
            Resource::Encounter(e) => {
                let class = e.class.as_ref().map(|c| encounter_class(fmt, c.code.as_deref(), c.label())).unwrap_or_default();
                let (on, key) = e.period.as_ref().map(|p| (fmt.period(p), p.start.as_ref().and_then(DateTime::sort_key))).unwrap_or_default();
                let reason = e.reason_code.iter().filter_map(|r| r.label()).collect::<Vec<_>>().join("; ");
                let cells = vec![
                    first_label(&e.type_).unwrap_or_default().into(),
                    class.into(),
                    on.into(),
                    reason.into(),
                    reference_name(fmt, record, &e.service_provider).into(),
                ];
                Placement::Section(ENCOUNTERS, row(cells, key))
            }
            Resource::DocumentReference(d) => {
                let attachments: Vec<&Attachment> = d.content.iter().map(|c| &c.attachment).collect();
                let title = d
                    .description
                    .clone()
                    .filter(|s| !s.trim().is_empty())
                    .or_else(|| attachments.iter().find_map(|a| a.title.clone().filter(|t| !t.trim().is_empty())))
                    .unwrap_or_else(|| label(&d.type_));
                let kind = d.type_.as_ref().and_then(|t| t.label()).or_else(|| first_label(&d.category)).unwrap_or_default();
                let when = d.date.as_ref().or_else(|| attachments.iter().find_map(|a| a.creation.as_ref()));
                let (on, key) = date(fmt, &when.cloned());
                let files = file_cell(fmt, &title, &attachments);
                Placement::Section(DOCUMENTS, row(vec![title.into(), kind.into(), on.into(), fmt.code(d.status.as_deref()).into(), files], key))
            }
            Resource::CarePlan(c) => {
                let title = c
                    .title
                    .clone()
                    .filter(|t| !t.trim().is_empty())
                    .or_else(|| first_label(&c.category).map(str::to_string))
                    .or_else(|| c.description.clone())
                    .unwrap_or_default();
                let mut activities: Vec<String> = Vec::new();
                for a in c.activity.iter().filter_map(|a| a.detail.as_ref()) {
                    let what = a.code.as_ref().and_then(|c| c.label()).or(a.description.as_deref()).unwrap_or_default().to_string();
                    if !what.is_empty() && !activities.contains(&what) {
                        activities.push(what);
                    }
                }
                let (on, key) = match &c.period {
                    Some(p) => (fmt.period(p), p.start.as_ref().or(p.end.as_ref()).and_then(DateTime::sort_key)),
                    None => date(fmt, &c.created),
                };
                Placement::Section(CARE_PLANS, row(vec![title.into(), activities.join("; ").into(), fmt.code(c.status.as_deref()).into(), on.into()], key))
            }
            Resource::Medication(_) | Resource::Patient(_) | Resource::Other | Resource::Invalid => other(fmt, index, entry, None),
        }
    }

    fn add_to_trend(&mut self, o: &Observation, date_text: &str, flag: Option<Flag>) {
        let (Some(ObservationValue::Quantity(q)), Some(at)) = (o.value(), o.effective().and_then(|w| w.sort_key())) else {
            return;
        };
        let (Some(value), None, Some(unit)) = (q.value.as_ref().and_then(|v| v.to_f64()), q.comparator.as_deref(), q.unit_label()) else {
            return;
        };
        let Some(code) = o.code.as_ref() else { return };
        let Some(title) = code.label() else { return };
        let id = code
            .coding
            .iter()
            .find_map(|c| Some(format!("{}|{}", c.system.as_deref().unwrap_or_default(), c.code.as_deref()?)))
            .unwrap_or_else(|| title.to_lowercase());
        let next = self.trends.len();
        let i = *self.trend_of.entry((id, unit.to_string())).or_insert(next);
        if i == next {
            self.trends.push(TrendAcc { title: title.to_string(), unit: unit.to_string(), rows: Vec::new(), band: None });
        }
        let fmt = self.fmt;
        let trend = &mut self.trends[i];
        let point = TrendPoint { at, value, flagged: flag.as_ref().is_some_and(Flag::is_out_of_range) };
        trend.rows.push(TrendRow { point, date: date_text.to_string(), value: fmt.quantity(q), flag });
        if let Some(range) = o.reference_range.first() {
            let bound = |q: &Option<crate::fhir::Quantity>| q.as_ref().and_then(|q| q.value.as_ref()).and_then(|v| v.to_f64());
            let band = Band { low: bound(&range.low), high: bound(&range.high) };
            if (band.low.is_some() || band.high.is_some()) && trend.band.as_ref().is_none_or(|(t, _, _)| *t <= at) {
                trend.band = Some((at, band, reference_range(fmt, range)));
            }
        }
    }
}

/// The narrative of a resource, sanitised: for rows only when it says more
/// than the structured data (`text.status` is not `generated`).
fn narrative_of(entry: &Entry, any_status: bool) -> Option<String> {
    let text = &entry.raw["text"];
    let status = text["status"].as_str().unwrap_or_default();
    if status == "empty" || (!any_status && status == "generated") {
        return None;
    }
    narrative::sanitize(text["div"].as_str()?)
}

fn label(concept: &Option<CodeableConcept>) -> String {
    concept.as_ref().and_then(CodeableConcept::label).unwrap_or_default().to_string()
}

/// `Active`, or `Active (unconfirmed)` when the verification status is
/// anything but `confirmed`.
fn clinical_status(fmt: Fmt<'_>, clinical: &Option<CodeableConcept>, verification: &Option<CodeableConcept>) -> String {
    let status = fmt.status(clinical).unwrap_or_default();
    match verification.as_ref().filter(|v| !v.has_code("confirmed")).and(fmt.status(verification)) {
        Some(v) => format!("{status} ({})", fmt.lower(&v)).trim().to_string(),
        None => status,
    }
}

/// With the time of day, for results, vitals and visits.
fn when(fmt: Fmt<'_>, w: Option<When<'_>>) -> (String, Option<i64>) {
    w.map(|w| (fmt.when(w), w.sort_key())).unwrap_or_default()
}

/// The day only, for problems, allergies, medications, immunizations and procedures.
fn day(fmt: Fmt<'_>, w: Option<When<'_>>) -> (String, Option<i64>) {
    w.map(|w| (fmt.when_date(w), w.sort_key())).unwrap_or_default()
}

fn date(fmt: Fmt<'_>, d: &Option<DateTime>) -> (String, Option<i64>) {
    d.as_ref().map(|d| (fmt.date(d), d.sort_key())).unwrap_or_default()
}

/// The name of what a reference points to: its `display`, else the
/// resolved resource's name.
fn reference_name(fmt: Fmt<'_>, record: &Record, reference: &Option<Reference>) -> String {
    let Some(reference) = reference else {
        return String::new();
    };
    if record.is_withheld(reference) {
        return fmt.t(T::NotShown).to_string();
    }
    if let Some(d) = reference.display.as_deref().filter(|d| !d.trim().is_empty()) {
        return d.to_string();
    }
    let Some(target) = record.resolve(reference) else {
        return String::new();
    };
    match &target.raw["name"] {
        serde_json::Value::String(s) => s.clone(),
        names @ serde_json::Value::Array(_) => {
            Vec::<HumanName>::deserialize(names).ok().and_then(|n| n.iter().find_map(HumanName::display)).unwrap_or_default()
        }
        _ => String::new(),
    }
}

/// "N results" or "N results; M not shown", counting withheld references.
fn result_count(fmt: Fmt<'_>, record: &Record, references: &[Reference]) -> String {
    let hidden = references.iter().filter(|r| record.is_withheld(r)).count();
    let shown = fmt.count(references.len() - hidden, T::ResultOne, T::ResultMany);
    match hidden {
        0 => shown,
        _ if hidden == references.len() => fmt.t_with(T::CountNotShown, &hidden.to_string()),
        _ => format!("{shown}; {}", fmt.t_with(T::CountNotShown, &hidden.to_string())),
    }
}

fn medication_name(fmt: Fmt<'_>, record: &Record, choice: Option<MedicationChoice<'_>>) -> String {
    match choice {
        Some(MedicationChoice::Reference(r)) if record.is_withheld(r) => fmt.t(T::NotShown).to_string(),
        Some(MedicationChoice::Code(c)) => c.label().unwrap_or_default().to_string(),
        Some(MedicationChoice::Reference(r)) => match record.resolve(r).map(|e| &e.resource) {
            Some(Resource::Medication(m)) => label(&m.code),
            _ => r.display.clone().unwrap_or_default(),
        },
        None => String::new(),
    }
}

fn flag_of(concepts: &[CodeableConcept]) -> Option<Flag> {
    let c = concepts.first()?;
    let code = c.coding.iter().find_map(|c| c.code.as_deref());
    Some(match code {
        Some("H") => Flag::High,
        Some("L") => Flag::Low,
        Some("HH" | "HU" | ">") => Flag::CriticalHigh,
        Some("LL" | "LU" | "<") => Flag::CriticalLow,
        Some("A") => Flag::Abnormal,
        Some("AA") => Flag::CriticalAbnormal,
        Some("N") => Flag::Normal,
        _ => Flag::Other(c.label()?.to_string()),
    })
}

/// `text`, else `low – high`, `≥ low` or `≤ high`.
fn reference_range(fmt: Fmt<'_>, r: &crate::fhir::ReferenceRange) -> String {
    match r.text.as_deref().filter(|t| !t.trim().is_empty()) {
        Some(t) => t.to_string(),
        None => fmt.range(&crate::fhir::Range { low: r.low.clone(), high: r.high.clone() }),
    }
}

fn observation_value(fmt: Fmt<'_>, record: &Record, o: &Observation) -> String {
    let status_note = match o.status.as_deref() {
        None | Some("final" | "amended" | "corrected") => String::new(),
        Some(s) => format!(" ({})", fmt.lower(&fmt.code(Some(s)))),
    };
    let value = if let Some(v) = o.value() {
        fmt.value(v)
    } else if let Some(bp) = blood_pressure(fmt, o) {
        bp
    } else if !o.component.is_empty() {
        o.component
            .iter()
            .map(|c| {
                let v =
                    c.value().map(|v| fmt.value(v)).or_else(|| c.data_absent_reason.as_ref().and_then(|r| r.label()).map(|r| fmt.t_with(T::NotAvailable, r)));
                format!("{}: {}", label(&c.code), v.unwrap_or_default())
            })
            .collect::<Vec<_>>()
            .join("; ")
    } else if let Some(reason) = o.data_absent_reason.as_ref().and_then(|r| r.label()) {
        fmt.t_with(T::NotAvailable, reason)
    } else if !o.has_member.is_empty() {
        fmt.t_with(T::PanelOf, &result_count(fmt, record, &o.has_member))
    } else {
        String::new()
    };
    value + &status_note
}

/// `120/80 mm[Hg]` from the systolic (8480-6) and diastolic (8462-4) components.
fn blood_pressure(fmt: Fmt<'_>, o: &Observation) -> Option<String> {
    let part = |loinc: &str| {
        o.component.iter().find(|c| c.code.as_ref().is_some_and(|k| k.has_code(loinc))).and_then(|c| match c.value() {
            Some(ObservationValue::Quantity(q)) => Some(q),
            _ => None,
        })
    };
    let (sys, dia) = (part("8480-6")?, part("8462-4")?);
    let number = |q: &crate::fhir::Quantity| q.value.as_ref().and_then(|v| v.to_f64()).map(|v| fmt.number(v, 0)).unwrap_or_default();
    Some(format!("{}/{} {}", number(sys), number(dia), sys.unit_label().unwrap_or("mm[Hg]")))
}

/// A description and date for a resource with no section, from its raw JSON.
fn raw_summary(raw: &serde_json::Value) -> (String, Option<DateTime>) {
    let concept = |v: &serde_json::Value| -> Option<String> {
        let v = if let serde_json::Value::Array(a) = v { a.first()? } else { v };
        CodeableConcept::deserialize(v).ok()?.label().map(str::to_string)
    };
    let text = |v: &serde_json::Value| v.as_str().map(str::to_string);
    let description = concept(&raw["code"])
        .or_else(|| text(&raw["title"]))
        .or_else(|| text(&raw["name"]))
        .or_else(|| text(&raw["description"]))
        .or_else(|| concept(&raw["type"]))
        .or_else(|| concept(&raw["category"]))
        .unwrap_or_default();
    let date = ["date", "authoredOn", "created", "recorded", "issued", "started", "effectiveDateTime", "occurrenceDateTime"]
        .iter()
        .find_map(|k| raw[*k].as_str())
        .or_else(|| ["period", "billablePeriod", "effectivePeriod"].iter().find_map(|k| raw[*k]["start"].as_str()))
        .map(DateTime::parse);
    (description, date)
}

fn other(fmt: Fmt<'_>, index: usize, entry: &Entry, note: Option<&'static str>) -> Placement {
    let (description, date) = raw_summary(&entry.raw);
    Placement::Other(OtherItem {
        entry: index,
        description,
        date: date.as_ref().map(|d| fmt.date(d)),
        note,
        sort_key: date.as_ref().and_then(DateTime::sort_key),
        narrative: if note.is_none() { narrative_of(entry, true) } else { None },
    })
}

fn is_entered_in_error(entry: &Entry) -> bool {
    entry.raw["status"] == "entered-in-error"
        || entry.raw["verificationStatus"]["coding"].as_array().is_some_and(|c| c.iter().any(|c| c["code"] == "entered-in-error"))
}

/// An encounter class (HL7 v3 ActCode): the record's display in English,
/// else the code in the viewer's words when it is a known one.
fn encounter_class(fmt: Fmt<'_>, code: Option<&str>, label: Option<&str>) -> String {
    let known = code.and_then(|c| fmt.locale.code(c));
    match (known, label) {
        (Some(known), Some(label)) if Some(label) == code || fmt.locale != Locale::EnUs => known.to_string(),
        (_, Some(label)) => label.to_string(),
        (Some(known), None) => known.to_string(),
        (None, None) => String::new(),
    }
}
