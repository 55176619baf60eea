//! FHIR R4 data types used by the rendered resources.

use serde::{Deserialize, Deserializer};

use super::DateTime;

/// A FHIR `decimal`, kept as written (`7.20` stays `7.20`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decimal(String);

impl Decimal {
    /// A decimal from its text (for computed values).
    pub fn from_text(text: &str) -> Decimal {
        Decimal(text.to_string())
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
    pub fn to_f64(&self) -> Option<f64> {
        self.0.parse().ok()
    }

    /// For display: as written, unless the fraction is longer than a person
    /// can use (machine-generated values such as `139.28477650494352`), which
    /// is rounded to four significant digits but never fewer than two
    /// decimals, so `0.000123456` stays `0.0001235`.
    pub fn display(&self) -> String {
        let text = self.0.as_str();
        let fraction = text.split_once('.').map_or(0, |(_, f)| f.trim_end_matches(|c: char| !c.is_ascii_digit()).len());
        if fraction <= 4 || text.contains(['e', 'E']) {
            return text.to_string();
        }
        let Some(v) = crate::numtext::parse_f64(text) else {
            return text.to_string();
        };
        let magnitude = if v == 0.0 { 0 } else { v.abs().log10().floor() as i32 };
        let decimals = (3 - magnitude).clamp(2, fraction as i32) as usize;
        crate::numtext::fixed(v, decimals)
    }
}

impl<'de> Deserialize<'de> for Decimal {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let n = serde_json::Number::deserialize(deserializer)?;
        Ok(Decimal(n.to_string()))
    }
}

#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(default)]
pub struct Coding {
    pub system: Option<String>,
    pub code: Option<String>,
    pub display: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(default)]
pub struct CodeableConcept {
    pub coding: Vec<Coding>,
    pub text: Option<String>,
}

fn non_empty(s: &Option<String>) -> Option<&str> {
    s.as_deref().map(str::trim).filter(|s| !s.is_empty())
}

impl CodeableConcept {
    /// What to show: `text`, else the first coding's `display`, else its `code`.
    pub fn label(&self) -> Option<&str> {
        non_empty(&self.text).or_else(|| self.coding.iter().find_map(|c| non_empty(&c.display))).or_else(|| self.coding.iter().find_map(|c| non_empty(&c.code)))
    }

    /// Whether any coding has this code (any system).
    pub fn has_code(&self, code: &str) -> bool {
        self.coding.iter().any(|c| c.code.as_deref() == Some(code))
    }
}

impl Coding {
    pub fn label(&self) -> Option<&str> {
        non_empty(&self.display).or_else(|| non_empty(&self.code))
    }
}

/// Label of the first concept in a list that has one.
pub fn first_label(concepts: &[CodeableConcept]) -> Option<&str> {
    concepts.iter().find_map(CodeableConcept::label)
}

#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(default)]
pub struct Quantity {
    pub value: Option<Decimal>,
    pub comparator: Option<String>,
    pub unit: Option<String>,
    pub system: Option<String>,
    pub code: Option<String>,
}

impl Quantity {
    pub fn unit_label(&self) -> Option<&str> {
        non_empty(&self.unit).or_else(|| non_empty(&self.code))
    }
}

#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(default)]
pub struct Range {
    pub low: Option<Quantity>,
    pub high: Option<Quantity>,
}

#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(default)]
pub struct Ratio {
    pub numerator: Option<Quantity>,
    pub denominator: Option<Quantity>,
}

#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(default)]
pub struct Period {
    pub start: Option<DateTime>,
    pub end: Option<DateTime>,
}

#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(default)]
pub struct Reference {
    pub reference: Option<String>,
    pub display: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(default)]
pub struct HumanName {
    #[serde(rename = "use")]
    pub use_: Option<String>,
    pub text: Option<String>,
    pub family: Option<String>,
    pub given: Vec<String>,
    pub prefix: Vec<String>,
    pub suffix: Vec<String>,
}

impl HumanName {
    /// `text`, else prefix given family suffix.
    pub fn display(&self) -> Option<String> {
        if let Some(t) = non_empty(&self.text) {
            return Some(t.to_string());
        }
        let parts: Vec<&str> = self
            .prefix
            .iter()
            .chain(&self.given)
            .map(String::as_str)
            .chain(self.family.as_deref())
            .chain(self.suffix.iter().map(String::as_str))
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .collect();
        (!parts.is_empty()).then(|| parts.join(" "))
    }
}

#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(default)]
pub struct Identifier {
    #[serde(rename = "use")]
    pub use_: Option<String>,
    #[serde(rename = "type")]
    pub type_: Option<CodeableConcept>,
    pub system: Option<String>,
    pub value: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(default)]
pub struct Annotation {
    pub text: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(default)]
pub struct Meta {
    pub security: Vec<Coding>,
}

#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(default, rename_all = "camelCase")]
pub struct Dosage {
    pub text: Option<String>,
    pub timing: Option<Timing>,
    pub as_needed_boolean: Option<bool>,
    pub as_needed_codeable_concept: Option<CodeableConcept>,
    pub route: Option<CodeableConcept>,
    pub method: Option<CodeableConcept>,
    pub site: Option<CodeableConcept>,
    pub dose_and_rate: Vec<DoseAndRate>,
    pub patient_instruction: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(default, rename_all = "camelCase")]
pub struct Timing {
    pub repeat: Option<TimingRepeat>,
    pub code: Option<CodeableConcept>,
}

#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(default, rename_all = "camelCase")]
pub struct TimingRepeat {
    pub frequency: Option<u32>,
    pub frequency_max: Option<u32>,
    pub period: Option<Decimal>,
    pub period_max: Option<Decimal>,
    pub period_unit: Option<String>,
    pub when: Vec<String>,
    pub time_of_day: Vec<String>,
    pub day_of_week: Vec<String>,
}

#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(default, rename_all = "camelCase")]
pub struct DoseAndRate {
    pub dose_quantity: Option<Quantity>,
    pub dose_range: Option<Range>,
    pub rate_quantity: Option<Quantity>,
    pub rate_range: Option<Range>,
    pub rate_ratio: Option<Ratio>,
}

#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(default, rename_all = "camelCase")]
pub struct Attachment {
    pub content_type: Option<String>,
    /// Inline content, base64.
    pub data: Option<String>,
    pub url: Option<String>,
    pub title: Option<String>,
    pub size: Option<u64>,
    pub creation: Option<DateTime>,
}

#[cfg(test)]
mod tests {
    use super::Decimal;

    #[test]
    fn decimal_display() {
        let d = |s: &str| Decimal(s.to_string()).display();
        assert_eq!(d("4.10"), "4.10");
        assert_eq!(d("120"), "120");
        assert_eq!(d("0.0035"), "0.0035");
        assert_eq!(d("139.28477650494352"), "139.28");
        assert_eq!(d("87.29578601962908"), "87.30");
        assert_eq!(d("1234.56789"), "1234.57");
        assert_eq!(d("0.000123456"), "0.0001235");
        assert_eq!(d("-5.123456"), "-5.123");
        assert_eq!(d("1e3"), "1e3");
    }
}
