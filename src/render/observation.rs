//! An observation's facts in words: its value and every component, its
//! flags and reference ranges. Laboratory results and vital signs alike.

use crate::fhir::{CodeableConcept, Observation, ObservationComponent, ObservationValue, Quantity, Record, ReferenceRange};

use super::i18n::{Fmt, T};
use super::names;
use super::view::Flag;

/// LOINC codes of blood pressure's systolic and diastolic components.
pub const SYSTOLIC: &str = "8480-6";
pub const DIASTOLIC: &str = "8462-4";

pub fn flag_of(concepts: &[CodeableConcept]) -> Option<Flag> {
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
pub fn reference_range(fmt: Fmt<'_>, r: &ReferenceRange) -> String {
    match r.text.as_deref().filter(|t| !t.trim().is_empty()) {
        Some(t) => t.to_string(),
        None => fmt.range(&crate::fhir::Range { low: r.low.clone(), high: r.high.clone() }),
    }
}

fn ranges(fmt: Fmt<'_>, ranges: &[ReferenceRange]) -> String {
    ranges.iter().map(|r| reference_range(fmt, r)).filter(|r| !r.is_empty()).collect::<Vec<_>>().join("; ")
}

/// The observation's reference ranges, then each component's, named.
pub fn all_ranges(fmt: Fmt<'_>, o: &Observation) -> String {
    let mut parts: Vec<String> = Vec::new();
    let own = ranges(fmt, &o.reference_range);
    if !own.is_empty() {
        parts.push(own);
    }
    for c in &o.component {
        let r = ranges(fmt, &c.reference_range);
        if !r.is_empty() {
            parts.push(format!("{}: {r}", component_name(c)));
        }
    }
    parts.join("; ")
}

fn component_name(c: &ObservationComponent) -> &str {
    c.code.as_ref().and_then(CodeableConcept::label).unwrap_or_default()
}

fn is_component(c: &ObservationComponent, loinc: &str) -> bool {
    c.code.as_ref().is_some_and(|k| k.has_code(loinc))
}

fn quantity_of(c: &ObservationComponent) -> Option<&Quantity> {
    match c.value() {
        Some(ObservationValue::Quantity(q)) => Some(q),
        _ => None,
    }
}

/// `120/80 mm[Hg]` from the systolic and diastolic components.
fn blood_pressure(fmt: Fmt<'_>, o: &Observation) -> Option<String> {
    let part = |loinc: &str| o.component.iter().find(|c| is_component(c, loinc)).and_then(quantity_of);
    let (sys, dia) = (part(SYSTOLIC)?, part(DIASTOLIC)?);
    let number = |q: &Quantity| {
        let mut text = q.comparator.clone().unwrap_or_default();
        text.push_str(&q.value.as_ref().map(|v| fmt.decimal(v)).unwrap_or_default());
        text
    };
    let unit = sys.unit_label().unwrap_or("mm[Hg]");
    Some(match dia.unit_label() {
        Some(u) if u != unit => format!("{} {unit}/{} {u}", number(sys), number(dia)),
        _ => format!("{}/{} {unit}", number(sys), number(dia)),
    })
}

/// A component's value, or why it is missing, with its flag in words.
fn component_value(fmt: Fmt<'_>, c: &ObservationComponent) -> String {
    let value = c
        .value()
        .map(|v| fmt.value(v))
        .or_else(|| c.data_absent_reason.as_ref().and_then(|r| r.label()).map(|r| fmt.t_with(T::NotAvailable, r)))
        .unwrap_or_default();
    match flag_of(&c.interpretation) {
        Some(flag) => format!("{value} ({})", flag.label(fmt.locale)),
        None => value,
    }
}

/// The observation's flag, else its first component's out-of-range flag.
pub fn flag(o: &Observation) -> Option<Flag> {
    flag_of(&o.interpretation).or_else(|| o.component.iter().filter_map(|c| flag_of(&c.interpretation)).find(Flag::is_out_of_range))
}

/// The value and every component: `80 %; Inhaled oxygen flow rate: 6 L/min`.
/// Blood pressure reads `120/80 mm[Hg]` (its other components follow).
/// A panel without a value of its own says how many results it has.
pub fn value(fmt: Fmt<'_>, record: &Record, from: usize, o: &Observation) -> String {
    let status_note = match o.status.as_deref() {
        None | Some("final" | "amended" | "corrected" | "cancelled") => String::new(),
        Some(s) => format!(" ({})", fmt.lower(&fmt.code(Some(s)))),
    };
    let mut parts: Vec<String> = Vec::new();
    let bp = if o.value().is_none() { blood_pressure(fmt, o) } else { None };
    if let Some(v) = o.value() {
        parts.push(fmt.value(v));
    }
    for c in &o.component {
        if bp.is_some() && (is_component(c, SYSTOLIC) || is_component(c, DIASTOLIC)) {
            if let Some(flag) = flag_of(&c.interpretation) {
                parts.push(format!("{}: {}", component_name(c), flag.label(fmt.locale)));
            }
            continue;
        }
        parts.push(format!("{}: {}", component_name(c), component_value(fmt, c)));
    }
    if let Some(bp) = bp {
        parts.insert(0, bp);
    }
    if parts.is_empty() {
        if let Some(reason) = o.data_absent_reason.as_ref().and_then(|r| r.label()) {
            parts.push(fmt.t_with(T::NotAvailable, reason));
        } else if !o.has_member.is_empty() {
            parts.push(fmt.t_with(T::PanelOf, &names::result_count(fmt, record, from, &o.has_member)));
        }
    }
    parts.join("; ") + &status_note
}
