//! Where each resource goes in the chart, and the row it becomes.

use crate::util::{NumMap, TextMap};

use crate::fhir::{
    first_label, Attachment, CodeableConcept, DateTime, Entry, Observation, ObservationValue, Quantity, Record, Reference, ReferenceRange, Resource, When,
};
use crate::fhir::{Json, Members, Reader};
use crate::numtext::decimal_f64;

use super::i18n::{Fmt, Locale, T};
use super::trend::{Band, TrendPoint};
use super::view::{Cell, Flag, Group, Negation, OtherItem, Row, Section, Trend, TrendRow};
use super::{attachments, describe, dosage, names, narrative, observation};

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
        s("vitals", T::Vitals, &[T::Measurement, T::Value, T::ReferenceRange, T::Flag, T::Date]),
        s("immunizations", T::Immunizations, &[T::Vaccine, T::Status, T::Date]),
        s("procedures", T::Procedures, &[T::Procedure, T::Status, T::Date, T::Performer]),
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
    owner: NumMap,
    /// Entry indexes of the reports and panels that list results (to themselves).
    owners: NumMap,
    /// Entry index of a group's owner (or of a lone result) → its place in `groups`.
    group_of: NumMap,
    /// The groups, in the order they were started.
    groups: Vec<Group>,
    trends: Vec<TrendAcc>,
    /// `<length of id>:<id><unit>` → index in `trends`.
    trend_of: TextMap,
}

struct TrendAcc {
    title: String,
    unit: String,
    rows: Vec<TrendRow>,
    band: Option<(i64, Band, String)>,
}

fn is_lab(entry: &Entry) -> bool {
    matches!(&entry.resource, Resource::Observation(o) if !o.in_category("vital-signs")) && !entry.entered_in_error
}

impl<'r, 'f> Builder<'r, 'f> {
    /// A builder with every result's owner found (see [`Builder::claim`]).
    pub fn new(record: &'r Record, fmt: Fmt<'f>) -> Self {
        let mut builder = Self::start(record, fmt);
        for step in 0..2 * record.entries.len() {
            builder.claim(step);
        }
        builder.claimed();
        builder
    }

    /// A builder yet to find its results' owners: [`Builder::claim`] each
    /// step below twice the number of entries, then [`Builder::claimed`].
    pub fn start(record: &'r Record, fmt: Fmt<'f>) -> Self {
        Self {
            record,
            fmt,
            owner: NumMap::new(),
            owners: NumMap::new(),
            group_of: NumMap::new(),
            groups: Vec::new(),
            trends: Vec::new(),
            trend_of: TextMap::new(),
        }
    }

    /// One step of finding which report or panel each result is listed
    /// under: steps below the number of entries take the reports (their
    /// results, and the members of panels among them), one entry each;
    /// the steps after, the panels not listed in a report.
    pub fn claim(&mut self, step: usize) {
        let (record, count) = (self.record, self.record.entries.len());
        let listed = step.checked_sub(count).is_some_and(|by| self.owner.contains_key(&by));
        let owner = &mut self.owner;
        let mut claim = |by: usize, reference: &Reference| {
            let i = record.resolve_index(by, reference).filter(|&i| i != by && record.entries.get(i).is_some_and(is_lab))?;
            owner.entry(i).or_insert(by);
            Some(i)
        };
        if step < count {
            let by = step;
            if let Some(Entry { resource: Resource::DiagnosticReport(d), entered_in_error: false, .. }) = record.entries.get(by) {
                for r in &d.result {
                    if let Some(i) = claim(by, r) {
                        if let Some(Resource::Observation(panel)) = record.entries.get(i).map(|e| &e.resource) {
                            for m in &panel.has_member {
                                claim(by, m);
                            }
                        }
                    }
                }
            }
        } else if let Some(entry) = record.entries.get(step - count) {
            let by = step - count;
            if let (Resource::Observation(o), false) = (&entry.resource, listed || !is_lab(entry)) {
                for m in &o.has_member {
                    claim(by, m);
                }
            }
        }
    }

    /// Ends the search for owners.
    pub fn claimed(&mut self) {
        self.owners = self.owner.values().map(|&o| (o, o)).collect();
    }

    /// Fills in the group of `owner`, started empty if there is none yet.
    fn group(&mut self, owner: usize, fill: impl FnOnce(&mut Group)) {
        let next = self.groups.len();
        let i = *self.group_of.entry(owner).or_insert(next);
        if i == next {
            self.groups.push(Group {
                title: String::new(),
                detail: String::new(),
                sort_key: None,
                rows: Vec::new(),
                is_resource: false,
                entry: None,
                links: Vec::new(),
                report_text: None,
                negation: None,
            });
        }
        if let Some(group) = self.groups.get_mut(i) {
            fill(group);
        }
    }

    /// The groups of results (newest first) and the trends (most recent first).
    pub fn finish(self) -> (Vec<Group>, Vec<Trend>) {
        let mut groups = self.groups;
        for g in &mut groups {
            g.sort_key = g.sort_key.or_else(|| g.rows.iter().filter_map(|r| r.sort_key).max());
        }
        crate::util::sort_by_key(&mut groups, |g| std::cmp::Reverse(g.sort_key));
        let mut trends: Vec<Trend> = self
            .trends
            .into_iter()
            .filter(|t| t.rows.len() >= 2)
            .map(|mut t| {
                crate::util::sort_by_key(&mut t.rows, |r| std::cmp::Reverse(r.point.at));
                let (band, band_text) = t.band.map(|(_, b, text)| (Some(b), text)).unwrap_or_default();
                Trend { title: t.title, unit: t.unit, rows: t.rows, band, band_text }
            })
            .collect();
        crate::util::sort_by_key(&mut trends, |t| std::cmp::Reverse(t.rows.first().map(|r| r.point.at)));
        (groups, trends)
    }

    /// Decides where the entry at `index` is shown and builds its row.
    pub fn place(&mut self, index: usize, entry: &Entry) -> Placement {
        let (record, fmt) = (self.record, self.fmt);
        // The resource's members, read once for all the row needs, then let go.
        let raw = entry.raw.reader();
        if matches!(entry.resource, Resource::Invalid) {
            return other(fmt, record, index, entry, &raw, Some(fmt.t(T::CouldNotRead)));
        }
        if entry.entered_in_error {
            return other(fmt, record, index, entry, &raw, Some(fmt.t(T::EnteredInError)));
        }
        let row = |cells: Vec<Cell>, sort_key: Option<i64>, negation: Option<Negation>| Row {
            entry: index,
            cells,
            sort_key,
            negation,
            narrative: narrative_of(entry, &raw, false),
        };
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
                let negation = refuted(&a.verification_status);
                Placement::Section(
                    ALLERGIES,
                    row(vec![label(&a.code).into(), reactions.into(), criticality.into(), status.into(), recorded.into()], key, negation),
                )
            }
            Resource::Condition(c) => {
                let status = clinical_status(fmt, &c.clinical_status, &c.verification_status);
                // Onset, else when it was recorded (saying so).
                // Onset; when that is not a date (none, an age, text), also
                // when it was recorded, saying so.
                let (onset, key) = day(fmt, c.onset());
                let (onset, key) = match (&c.recorded_date, key) {
                    (Some(d), None) => {
                        let recorded = fmt.t_with(T::RecordedOn, &fmt.date(d));
                        (if onset.is_empty() { recorded } else { format!("{onset} · {recorded}") }, d.sort_key())
                    }
                    _ => (onset, key),
                };
                let (resolved, _) = day(fmt, c.abatement());
                let negation = refuted(&c.verification_status);
                Placement::Section(PROBLEMS, row(vec![label(&c.code).into(), status.into(), onset.into(), resolved.into()], key, negation))
            }
            Resource::MedicationRequest(m) => {
                let (on, key) = date(fmt, &m.authored_on);
                let do_not = m.do_not_perform == Some(true);
                // A "do not give" order is never shown with an ordinary status.
                let status = if do_not { fmt.t(T::DoNotGive).to_string() } else { fmt.code(m.status.as_deref()) };
                let cells = vec![
                    names::medication_name(fmt, record, index, m.medication()).into(),
                    dosage::dosages(fmt, &m.dosage_instruction).into(),
                    status.into(),
                    on.into(),
                    names::reference_name(fmt, record, index, &m.requester).into(),
                ];
                Placement::Section(MEDICATIONS, row(cells, key, do_not.then_some(Negation::DoNotGive)))
            }
            Resource::MedicationStatement(m) => {
                let (on, key) = day(fmt, m.effective());
                let (on, key) = if on.is_empty() { date(fmt, &m.date_asserted) } else { (on, key) };
                let negation = (m.status.as_deref() == Some("not-taken")).then_some(Negation::NotTaken);
                let cells = vec![
                    names::medication_name(fmt, record, index, m.medication()).into(),
                    dosage::dosages(fmt, &m.dosage).into(),
                    fmt.code(m.status.as_deref()).into(),
                    on.into(),
                    Cell::default(),
                ];
                Placement::Section(MEDICATIONS, row(cells, key, negation))
            }
            Resource::Observation(o) => {
                let vital = o.in_category("vital-signs");
                let (on, key) = when(fmt, o.effective());
                let flag = observation::flag(o);
                let flag_cell =
                    Cell { text: flag.as_ref().map(|f| f.label(fmt.locale).to_string()).unwrap_or_default(), flag: flag.clone(), links: Vec::new() };
                self.add_to_trends(o, &on);
                let value = observation::value(fmt, record, index, o);
                let range = observation::all_ranges(fmt, o);
                let negation = cancelled(o.status.as_deref());
                let result = row(vec![label(&o.code).into(), value.clone().into(), range.clone().into(), flag_cell, on.clone().into()], key, negation);
                if vital {
                    return Placement::Section(VITALS, result);
                }
                if let Some(&owner) = self.owner.get(&index) {
                    self.group(owner, |g| g.rows.push(result));
                } else if self.owners.contains_key(&index) {
                    // A panel heading keeps the panel's own value, flag and range.
                    let flag = flag.map(|f| f.label(fmt.locale).to_string());
                    let panel_of = o.value().is_none() && o.component.is_empty();
                    let detail = [(!panel_of).then_some(value), flag, Some(range), Some(on)];
                    self.group(index, |g| {
                        g.title = result.cells.first().map(|c| c.text.clone()).unwrap_or_default();
                        g.detail = detail.into_iter().flatten().filter(|d| !d.is_empty()).collect::<Vec<_>>().join(" · ");
                        g.sort_key = key;
                        g.is_resource = true;
                        g.entry = Some(index);
                        g.negation = negation;
                    });
                } else {
                    self.group(index, |g| g.rows.push(result));
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
                if let Some(s) = d.status.as_deref().filter(|s| !matches!(*s, "final" | "amended" | "corrected" | "appended" | "cancelled")) {
                    detail.push(fmt.code(Some(s)));
                }
                let who = names::names(fmt, record, index, d.performer.iter().chain(&d.results_interpreter).cloned());
                if !who.is_empty() {
                    detail.push(fmt.t_with(T::By, &who));
                }
                let hidden = d.result.iter().filter(|r| record.is_withheld(index, r)).count();
                if d.result.is_empty() {
                    let attached = d.presented_form.iter().any(|a| a.data.is_some() || a.url.is_some());
                    detail.push(fmt.t(if attached { T::ReportAttached } else { T::NoResultsHere }).to_string());
                } else if hidden > 0 {
                    detail.push(fmt.t_with(T::CountNotShown, &hidden.to_string()));
                }
                if let Some(c) = d.conclusion.as_deref().filter(|c| !c.trim().is_empty()) {
                    detail.push(fmt.t_with(T::Conclusion, c));
                }
                let title = label(&d.code);
                let (links, report_text) = attachments::report_form(fmt, &title, &d.presented_form);
                self.group(index, |g| {
                    g.title = title;
                    g.detail = detail.join(" · ");
                    g.sort_key = effective.and_then(DateTime::sort_key);
                    g.is_resource = true;
                    g.entry = Some(index);
                    g.links = links;
                    g.report_text = report_text;
                    g.negation = cancelled(d.status.as_deref());
                });
                Placement::Grouped
            }
            Resource::Immunization(i) => {
                let not_done = i.status.as_deref() == Some("not-done");
                let status = match i.status.as_deref() {
                    Some("completed") => fmt.t(T::Given).to_string(),
                    Some("not-done") => match i.status_reason.as_ref().and_then(|r| r.label()) {
                        Some(reason) => format!("{} ({reason})", fmt.t(T::NotGiven)),
                        None => fmt.t(T::NotGiven).to_string(),
                    },
                    other => fmt.code(other),
                };
                let (on, key) = day(fmt, i.occurrence());
                let negation = not_done.then_some(Negation::NotGiven);
                Placement::Section(IMMUNIZATIONS, row(vec![label(&i.vaccine_code).into(), status.into(), on.into()], key, negation))
            }
            Resource::Procedure(p) => {
                let (on, key) = day(fmt, p.performed());
                let not_done = p.status.as_deref() == Some("not-done");
                let status = match (not_done, p.status_reason.as_ref().and_then(|r| r.label())) {
                    (true, Some(reason)) => format!("{} ({reason})", fmt.t(T::NotDone)),
                    _ => fmt.code(p.status.as_deref()),
                };
                let who = names::names(fmt, record, index, p.performer.iter().filter_map(|p| p.actor.clone()));
                let negation = not_done.then_some(Negation::NotDone);
                Placement::Section(PROCEDURES, row(vec![label(&p.code).into(), status.into(), on.into(), who.into()], key, negation))
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
                    names::reference_name(fmt, record, index, &e.service_provider).into(),
                ];
                let negation = cancelled(e.status.as_deref());
                Placement::Section(ENCOUNTERS, row(cells, key, negation))
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
                let files = attachments::file_cell(fmt, &title, &attachments);
                Placement::Section(DOCUMENTS, row(vec![title.into(), kind.into(), on.into(), fmt.code(d.status.as_deref()).into(), files], key, None))
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
                    let what = if a.do_not_perform == Some(true) && !what.is_empty() { format!("{}: {what}", fmt.t(T::DoNotPerform)) } else { what };
                    if !what.is_empty() && !activities.contains(&what) {
                        activities.push(what);
                    }
                }
                let (on, key) = match &c.period {
                    Some(p) => (fmt.period(p), p.start.as_ref().or(p.end.as_ref()).and_then(DateTime::sort_key)),
                    None => date(fmt, &c.created),
                };
                Placement::Section(
                    CARE_PLANS,
                    row(vec![title.into(), activities.join("; ").into(), fmt.code(c.status.as_deref()).into(), on.into()], key, None),
                )
            }
            Resource::Medication(_) | Resource::Patient(_) | Resource::Other | Resource::Invalid => other(fmt, record, index, entry, &raw, None),
        }
    }

    /// Numeric results into trends: the observation's own value, and each
    /// numeric component (so blood pressure gives systolic and diastolic).
    fn add_to_trends(&mut self, o: &Observation, date_text: &str) {
        let Some(at) = o.effective().and_then(|w| w.sort_key()) else {
            return;
        };
        if let (Some(ObservationValue::Quantity(q)), Some(code)) = (o.value(), o.code.as_ref()) {
            self.add_point(code, q, at, date_text, observation::flag_of(&o.interpretation), o.reference_range.first());
        }
        for c in &o.component {
            if let (Some(ObservationValue::Quantity(q)), Some(code)) = (c.value(), c.code.as_ref()) {
                self.add_point(code, q, at, date_text, observation::flag_of(&c.interpretation), c.reference_range.first());
            }
        }
    }

    fn add_point(&mut self, code: &CodeableConcept, q: &Quantity, at: i64, date_text: &str, flag: Option<Flag>, range: Option<&ReferenceRange>) {
        let (Some(value), None, Some(unit)) = (q.value.as_ref().and_then(decimal_f64), q.comparator.as_deref(), q.unit_label()) else {
            return;
        };
        let Some(title) = code.label() else { return };
        let id = code
            .coding
            .iter()
            .find_map(|c| Some(format!("{}|{}", c.system.as_deref().unwrap_or_default(), c.code.as_deref()?)))
            .unwrap_or_else(|| crate::util::lowercase(title));
        let next = self.trends.len();
        let i = *self.trend_of.entry(format!("{}:{id}{unit}", id.len())).or_insert(next);
        if i == next {
            self.trends.push(TrendAcc { title: title.to_string(), unit: unit.to_string(), rows: Vec::new(), band: None });
        }
        let fmt = self.fmt;
        let Some(trend) = self.trends.get_mut(i) else { return };
        let point = TrendPoint { at, value, flagged: flag.as_ref().is_some_and(Flag::is_out_of_range) };
        trend.rows.push(TrendRow { point, date: date_text.to_string(), value: fmt.quantity(q), flag });
        if let Some(range) = range {
            let bound = |q: &Option<Quantity>| q.as_ref().and_then(|q| q.value.as_ref()).and_then(decimal_f64);
            let band = Band { low: bound(&range.low), high: bound(&range.high) };
            if (band.low.is_some() || band.high.is_some()) && trend.band.as_ref().is_none_or(|(t, _, _)| *t <= at) {
                trend.band = Some((at, band, observation::reference_range(fmt, range)));
            }
        }
    }
}

/// The narrative of a resource, sanitised: for rows only when it says more
/// than the structured data (`text.status` is not `generated`).
fn narrative_of(entry: &Entry, raw: &Reader<'_>, any_status: bool) -> Option<String> {
    if !entry.has_text {
        return None;
    }
    let text = raw.json("text")?;
    let status = text.get("status").and_then(Json::as_str);
    let status = status.as_deref().unwrap_or_default();
    if status == "empty" || (!any_status && status == "generated") {
        return None;
    }
    narrative::sanitize_in_cell(&text.get("div")?.as_str()?)
}

fn label(concept: &Option<CodeableConcept>) -> String {
    concept.as_ref().and_then(CodeableConcept::label).unwrap_or_default().to_string()
}

fn refuted(verification: &Option<CodeableConcept>) -> Option<Negation> {
    verification.as_ref().is_some_and(|v| v.has_code("refuted")).then_some(Negation::Refuted)
}

fn cancelled(status: Option<&str>) -> Option<Negation> {
    (status == Some("cancelled")).then_some(Negation::Cancelled)
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

fn other(fmt: Fmt<'_>, record: &Record, index: usize, entry: &Entry, raw: &Reader<'_>, note: Option<&'static str>) -> Placement {
    let described = describe::describe(fmt, record, index, entry, raw);
    Placement::Other(OtherItem {
        entry: index,
        description: described.description,
        negation: described.negation,
        date: described.date.as_ref().map(|d| fmt.date(d)),
        note,
        sort_key: described.date.as_ref().and_then(DateTime::sort_key),
        narrative: if note.is_none() { narrative_of(entry, raw, true) } else { None },
    })
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
