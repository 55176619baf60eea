//! A dosage in words: the source's `text` when it has one, else built from
//! the structured fields (dose, frequency, route, as needed), localised.

use crate::fhir::{Dosage, DoseAndRate, TimingRepeat};

use super::i18n::{Fmt, T};

/// Every dosage of a prescription or statement, `; `-separated.
pub fn dosages(fmt: Fmt<'_>, dosages: &[Dosage]) -> String {
    dosages.iter().map(|d| dosage(fmt, d)).filter(|d| !d.is_empty()).collect::<Vec<_>>().join("; ")
}

/// One dosage. Text written by the source is shown as written; structured
/// parts it does not mention are not added (the text is the prescriber's).
pub fn dosage(fmt: Fmt<'_>, d: &Dosage) -> String {
    if let Some(text) = d.text.as_deref().map(str::trim).filter(|t| !t.is_empty()) {
        return text.to_string();
    }
    let mut parts: Vec<String> = Vec::new();
    let dose = d.dose_and_rate.iter().filter_map(|r| dose(fmt, r)).collect::<Vec<_>>().join(", ");
    if !dose.is_empty() {
        parts.push(dose);
    }
    if let Some(route) = d.route.as_ref().and_then(|r| r.label()) {
        parts.push(fmt.t_with(T::Route, route));
    }
    if let Some(timing) = &d.timing {
        match timing.repeat.as_ref().and_then(|r| frequency(fmt, r)) {
            Some(f) => parts.push(f),
            None => {
                if let Some(code) = timing.code.as_ref().and_then(|c| c.label()) {
                    parts.push(code.to_string());
                }
            }
        }
    }
    match (&d.as_needed_codeable_concept, d.as_needed_boolean) {
        (Some(reason), _) => match reason.label() {
            Some(r) => parts.push(fmt.t_with(T::AsNeededFor, r)),
            None => parts.push(fmt.t(T::AsNeeded).to_string()),
        },
        (None, Some(true)) => parts.push(fmt.t(T::AsNeeded).to_string()),
        _ => {}
    }
    if let Some(i) = d.patient_instruction.as_deref().map(str::trim).filter(|t| !t.is_empty()) {
        parts.push(i.to_string());
    }
    parts.join(", ")
}

fn dose(fmt: Fmt<'_>, r: &DoseAndRate) -> Option<String> {
    let dose = r.dose_quantity.as_ref().map(|q| fmt.quantity(q)).or_else(|| r.dose_range.as_ref().map(|q| fmt.range(q)));
    let rate = r
        .rate_quantity
        .as_ref()
        .map(|q| fmt.quantity(q))
        .or_else(|| r.rate_range.as_ref().map(|q| fmt.range(q)))
        .or_else(|| r.rate_ratio.as_ref().map(|q| fmt.ratio(q)));
    match (dose, rate) {
        (Some(d), Some(r)) => Some(format!("{d} ({r})")),
        (d, r) => d.or(r).filter(|s| !s.is_empty()),
    }
}

/// `3 times per day`, `every 8 hours`, `once per week`.
fn frequency(fmt: Fmt<'_>, r: &TimingRepeat) -> Option<String> {
    let unit = r.period_unit.as_deref()?;
    let period = r.period.as_ref().map_or_else(|| "1".to_string(), |p| p.as_str().to_string());
    let times = match (r.frequency, r.frequency_max) {
        (Some(f), Some(max)) if max > f => format!("{f}–{max}"),
        (Some(f), _) => f.to_string(),
        (None, _) => "1".to_string(),
    };
    let (one, many) = match unit {
        "s" => (T::UnitSecond, T::UnitSeconds),
        "min" => (T::UnitMinute, T::UnitMinutes),
        "h" => (T::UnitHour, T::UnitHours),
        "d" => (T::UnitDay, T::UnitDays),
        "wk" => (T::UnitWeek, T::UnitWeeks),
        "mo" => (T::UnitMonth, T::UnitMonths),
        "a" => (T::UnitYear, T::UnitYears),
        _ => return None,
    };
    let period_text = fmt.decimal(&crate::fhir::Decimal::from_text(&period));
    let fill = |template: T, n: &str, x: &str| fmt.t(template).replace("{n}", n).replace("{x}", x);
    Some(match (times.as_str(), period.as_str()) {
        ("1", "1") => fill(T::OncePer, "", fmt.t(one)),
        (n, "1") => fill(T::TimesPer, n, fmt.t(one)),
        ("1", _) => fill(T::Every, "", &fmt.t(many).replace("{n}", &period_text)),
        (n, _) => fill(T::TimesPer, n, &fmt.t(many).replace("{n}", &period_text)),
    })
}

#[cfg(test)]
mod tests {
    use super::dosage;
    use crate::fhir::Dosage;
    use crate::render::i18n::{Fmt, Locale, TimeZone};

    fn words(locale: Locale, json: serde_json::Value) -> String {
        let zone = TimeZone::recorded();
        dosage(Fmt { locale, zone: &zone }, &crate::fhir::from_value::<Dosage>(&json).unwrap())
    }

    #[test]
    fn structured_dosage_in_words() {
        let d = serde_json::json!({
            "timing": {"repeat": {"frequency": 3, "period": 1, "periodUnit": "d"}},
            "route": {"coding": [{"system": "http://snomed.info/sct", "code": "26643006", "display": "Oral route"}]},
            "doseAndRate": [{"doseQuantity": {"value": 1, "unit": "capsule"}}],
            "asNeededBoolean": true
        });
        assert_eq!(words(Locale::EnUs, d.clone()), "1 capsule, route: Oral route, 3 times per day, as needed");
        assert_eq!(words(Locale::DeDe, d), "1 capsule, Art: Oral route, 3-mal pro Tag, bei Bedarf");
        let every = serde_json::json!({"timing": {"repeat": {"frequency": 1, "period": 8, "periodUnit": "h"}}, "doseAndRate": [{"doseQuantity": {"value": 0.5, "unit": "mg"}}]});
        assert_eq!(words(Locale::EnUs, every.clone()), "0.5 mg, every 8 hours");
        assert_eq!(words(Locale::FrFr, every), "0,5 mg, toutes les 8 heures");
        let once = serde_json::json!({"timing": {"repeat": {"frequency": 1, "period": 1, "periodUnit": "d"}}});
        assert_eq!(words(Locale::EsEs, once), "una vez por día");
        // The source's text is the prescriber's: shown as written.
        assert_eq!(
            words(Locale::DeDe, serde_json::json!({"text": "Take 1 tablet daily", "doseAndRate": [{"doseQuantity": {"value": 2}}]})),
            "Take 1 tablet daily"
        );
        let reason = serde_json::json!({"asNeededCodeableConcept": {"text": "pain"}});
        assert_eq!(words(Locale::EnUs, reason), "as needed for pain");
    }
}
