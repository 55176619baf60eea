//! The resource types the chart renders, modelled as far as they are shown.
//! Unknown fields are ignored; `[x]` choices are separate fields exposed
//! through an accessor returning an enum.

use super::types::from_json;
use super::types::*;
use super::DateTime;

/// When something happened: the `effective[x]`, `onset[x]`, `performed[x]`,
/// `occurrence[x]` choices.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum When<'a> {
    DateTime(&'a DateTime),
    Period(&'a Period),
    Age(&'a Quantity),
    Range(&'a Range),
    Text(&'a str),
}

impl When<'_> {
    pub fn sort_key(&self) -> Option<i64> {
        match self {
            When::DateTime(d) => d.sort_key(),
            When::Period(p) => p.start.as_ref().or(p.end.as_ref()).and_then(DateTime::sort_key),
            _ => None,
        }
    }
}

fn first_when<'a, const N: usize>(options: [Option<When<'a>>; N]) -> Option<When<'a>> {
    options.into_iter().flatten().next()
}

/// An `Observation.value[x]` (or a component's).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum ObservationValue<'a> {
    Quantity(&'a Quantity),
    CodeableConcept(&'a CodeableConcept),
    String(&'a str),
    Boolean(bool),
    Integer(i64),
    Range(&'a Range),
    Ratio(&'a Ratio),
    Time(&'a str),
    DateTime(&'a DateTime),
    Period(&'a Period),
}

/// Declares a struct with the `value[x]` fields of an Observation and a
/// `value()` accessor.
macro_rules! with_value_x {
    ($(#[$meta:meta])* pub struct $name:ident { $($field:tt)* }) => {
        $(#[$meta])*
        pub struct $name {
            $($field)*
            value_quantity: Option<Quantity>,
            // The rarer types out of line (a record holds thousands of results).
            value_codeable_concept: Option<Box<CodeableConcept>>,
            value_string: Option<String>,
            value_boolean: Option<bool>,
            value_integer: Option<i64>,
            value_range: Option<Box<Range>>,
            value_ratio: Option<Box<Ratio>>,
            value_time: Option<String>,
            value_date_time: Option<DateTime>,
            value_period: Option<Box<Period>>,
        }

        impl $name {
            /// The `value[x]`, whichever type it has.
            pub fn value(&self) -> Option<ObservationValue<'_>> {
                use ObservationValue as V;
                self.value_quantity.as_ref().map(V::Quantity)
                    .or_else(|| self.value_codeable_concept.as_deref().map(V::CodeableConcept))
                    .or_else(|| self.value_string.as_deref().map(V::String))
                    .or_else(|| self.value_boolean.map(V::Boolean))
                    .or_else(|| self.value_integer.map(V::Integer))
                    .or_else(|| self.value_range.as_deref().map(V::Range))
                    .or_else(|| self.value_ratio.as_deref().map(V::Ratio))
                    .or_else(|| self.value_time.as_deref().map(V::Time))
                    .or_else(|| self.value_date_time.as_ref().map(V::DateTime))
                    .or_else(|| self.value_period.as_deref().map(V::Period))
            }
        }
    };
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Patient {
    pub id: Option<String>,
    pub meta: Option<Meta>,
    pub name: Vec<HumanName>,
    pub gender: Option<String>,
    pub birth_date: Option<DateTime>,
    pub deceased_boolean: Option<bool>,
    pub deceased_date_time: Option<DateTime>,
    pub identifier: Vec<Identifier>,
}

from_json!(Patient {
    id: "id",
    meta: "meta",
    name: "name",
    gender: "gender",
    birth_date: "birthDate",
    deceased_boolean: "deceasedBoolean",
    deceased_date_time: "deceasedDateTime",
    identifier: "identifier"
});

impl Patient {
    /// The official name, else the usual one, else the first.
    pub fn display_name(&self) -> Option<String> {
        let pick = |u: &str| self.name.iter().find(|n| n.use_.as_deref() == Some(u));
        pick("official").or_else(|| pick("usual")).into_iter().chain(&self.name).find_map(HumanName::display)
    }
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Reaction {
    pub manifestation: Vec<CodeableConcept>,
    pub severity: Option<String>,
    pub description: Option<String>,
}

from_json!(Reaction { manifestation: "manifestation", severity: "severity", description: "description" });

#[derive(Debug, Clone, Default, PartialEq)]
pub struct AllergyIntolerance {
    pub id: Option<String>,
    pub meta: Option<Meta>,
    pub clinical_status: Option<CodeableConcept>,
    pub verification_status: Option<CodeableConcept>,
    pub category: Vec<String>,
    pub criticality: Option<String>,
    pub code: Option<CodeableConcept>,
    onset_date_time: Option<DateTime>,
    onset_age: Option<Quantity>,
    onset_period: Option<Period>,
    onset_range: Option<Range>,
    onset_string: Option<String>,
    pub recorded_date: Option<DateTime>,
    pub reaction: Vec<Reaction>,
    pub note: Vec<Annotation>,
}

from_json!(AllergyIntolerance {
    id: "id",
    meta: "meta",
    clinical_status: "clinicalStatus",
    verification_status: "verificationStatus",
    category: "category",
    criticality: "criticality",
    code: "code",
    onset_date_time: "onsetDateTime",
    onset_age: "onsetAge",
    onset_period: "onsetPeriod",
    onset_range: "onsetRange",
    onset_string: "onsetString",
    recorded_date: "recordedDate",
    reaction: "reaction",
    note: "note"
});

impl AllergyIntolerance {
    pub fn onset(&self) -> Option<When<'_>> {
        first_when([
            self.onset_date_time.as_ref().map(When::DateTime),
            self.onset_period.as_ref().map(When::Period),
            self.onset_age.as_ref().map(When::Age),
            self.onset_range.as_ref().map(When::Range),
            self.onset_string.as_deref().map(When::Text),
        ])
    }
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Condition {
    pub id: Option<String>,
    pub meta: Option<Meta>,
    pub clinical_status: Option<CodeableConcept>,
    pub verification_status: Option<CodeableConcept>,
    pub category: Vec<CodeableConcept>,
    pub code: Option<CodeableConcept>,
    onset_date_time: Option<DateTime>,
    onset_age: Option<Quantity>,
    onset_period: Option<Period>,
    onset_range: Option<Range>,
    onset_string: Option<String>,
    abatement_date_time: Option<DateTime>,
    abatement_age: Option<Quantity>,
    abatement_period: Option<Period>,
    abatement_range: Option<Range>,
    abatement_string: Option<String>,
    pub recorded_date: Option<DateTime>,
    pub note: Vec<Annotation>,
}

from_json!(Condition {
    id: "id",
    meta: "meta",
    clinical_status: "clinicalStatus",
    verification_status: "verificationStatus",
    category: "category",
    code: "code",
    onset_date_time: "onsetDateTime",
    onset_age: "onsetAge",
    onset_period: "onsetPeriod",
    onset_range: "onsetRange",
    onset_string: "onsetString",
    abatement_date_time: "abatementDateTime",
    abatement_age: "abatementAge",
    abatement_period: "abatementPeriod",
    abatement_range: "abatementRange",
    abatement_string: "abatementString",
    recorded_date: "recordedDate",
    note: "note"
});

impl Condition {
    pub fn onset(&self) -> Option<When<'_>> {
        first_when([
            self.onset_date_time.as_ref().map(When::DateTime),
            self.onset_period.as_ref().map(When::Period),
            self.onset_age.as_ref().map(When::Age),
            self.onset_range.as_ref().map(When::Range),
            self.onset_string.as_deref().map(When::Text),
        ])
    }

    pub fn abatement(&self) -> Option<When<'_>> {
        first_when([
            self.abatement_date_time.as_ref().map(When::DateTime),
            self.abatement_period.as_ref().map(When::Period),
            self.abatement_age.as_ref().map(When::Age),
            self.abatement_range.as_ref().map(When::Range),
            self.abatement_string.as_deref().map(When::Text),
        ])
    }
}

/// `Procedure.performer`, `Immunization.performer`: who did it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Performer {
    pub actor: Option<Reference>,
    pub function: Option<CodeableConcept>,
}

from_json!(Performer { actor: "actor", function: "function" });

/// A `medication[x]`: a code, or a reference to a Medication resource.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum MedicationChoice<'a> {
    Code(&'a CodeableConcept),
    Reference(&'a Reference),
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct MedicationRequest {
    pub id: Option<String>,
    pub meta: Option<Meta>,
    pub status: Option<String>,
    pub intent: Option<String>,
    /// A modifier: the request is that this medication NOT be given.
    pub do_not_perform: Option<bool>,
    medication_codeable_concept: Option<CodeableConcept>,
    medication_reference: Option<Reference>,
    pub authored_on: Option<DateTime>,
    pub requester: Option<Reference>,
    pub dosage_instruction: Vec<Dosage>,
    pub reason_code: Vec<CodeableConcept>,
    pub note: Vec<Annotation>,
}

from_json!(MedicationRequest {
    id: "id",
    meta: "meta",
    status: "status",
    intent: "intent",
    do_not_perform: "doNotPerform",
    medication_codeable_concept: "medicationCodeableConcept",
    medication_reference: "medicationReference",
    authored_on: "authoredOn",
    requester: "requester",
    dosage_instruction: "dosageInstruction",
    reason_code: "reasonCode",
    note: "note"
});

impl MedicationRequest {
    pub fn medication(&self) -> Option<MedicationChoice<'_>> {
        self.medication_codeable_concept.as_ref().map(MedicationChoice::Code).or(self.medication_reference.as_ref().map(MedicationChoice::Reference))
    }
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct MedicationStatement {
    pub id: Option<String>,
    pub meta: Option<Meta>,
    pub status: Option<String>,
    medication_codeable_concept: Option<CodeableConcept>,
    medication_reference: Option<Reference>,
    effective_date_time: Option<DateTime>,
    effective_period: Option<Period>,
    pub date_asserted: Option<DateTime>,
    pub dosage: Vec<Dosage>,
    pub note: Vec<Annotation>,
}

from_json!(MedicationStatement {
    id: "id",
    meta: "meta",
    status: "status",
    medication_codeable_concept: "medicationCodeableConcept",
    medication_reference: "medicationReference",
    effective_date_time: "effectiveDateTime",
    effective_period: "effectivePeriod",
    date_asserted: "dateAsserted",
    dosage: "dosage",
    note: "note"
});

impl MedicationStatement {
    pub fn medication(&self) -> Option<MedicationChoice<'_>> {
        self.medication_codeable_concept.as_ref().map(MedicationChoice::Code).or(self.medication_reference.as_ref().map(MedicationChoice::Reference))
    }

    pub fn effective(&self) -> Option<When<'_>> {
        first_when([self.effective_date_time.as_ref().map(When::DateTime), self.effective_period.as_ref().map(When::Period)])
    }
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Medication {
    pub id: Option<String>,
    pub meta: Option<Meta>,
    pub code: Option<CodeableConcept>,
}

from_json!(Medication { id: "id", meta: "meta", code: "code" });

#[derive(Debug, Clone, Default, PartialEq)]
pub struct ReferenceRange {
    pub low: Option<Quantity>,
    pub high: Option<Quantity>,
    pub type_: Option<CodeableConcept>,
    pub text: Option<String>,
}

from_json!(ReferenceRange { low: "low", high: "high", type_: "type", text: "text" });

with_value_x! {
    #[derive(Debug, Clone, Default, PartialEq)]
    pub struct ObservationComponent {
        pub code: Option<CodeableConcept>,
        pub data_absent_reason: Option<Box<CodeableConcept>>,
        pub interpretation: Vec<CodeableConcept>,
        pub reference_range: Vec<ReferenceRange>,
    }
}

from_json!(ObservationComponent {
    code: "code",
    data_absent_reason: "dataAbsentReason",
    interpretation: "interpretation",
    reference_range: "referenceRange",
    value_quantity: "valueQuantity",
    value_codeable_concept: "valueCodeableConcept",
    value_string: "valueString",
    value_boolean: "valueBoolean",
    value_integer: "valueInteger",
    value_range: "valueRange",
    value_ratio: "valueRatio",
    value_time: "valueTime",
    value_date_time: "valueDateTime",
    value_period: "valuePeriod"
});

with_value_x! {
    #[derive(Debug, Clone, Default, PartialEq)]
    pub struct Observation {
        pub id: Option<String>,
        pub meta: Option<Meta>,
        pub status: Option<String>,
        pub category: Vec<CodeableConcept>,
        pub code: Option<CodeableConcept>,
        effective_date_time: Option<DateTime>,
        effective_period: Option<Box<Period>>,
        effective_instant: Option<DateTime>,
        pub issued: Option<DateTime>,
        pub data_absent_reason: Option<Box<CodeableConcept>>,
        pub interpretation: Vec<CodeableConcept>,
        pub reference_range: Vec<ReferenceRange>,
        pub component: Vec<ObservationComponent>,
        pub has_member: Vec<Reference>,
        pub note: Vec<Annotation>,
    }
}

from_json!(Observation {
    id: "id",
    meta: "meta",
    status: "status",
    category: "category",
    code: "code",
    effective_date_time: "effectiveDateTime",
    effective_period: "effectivePeriod",
    effective_instant: "effectiveInstant",
    issued: "issued",
    data_absent_reason: "dataAbsentReason",
    interpretation: "interpretation",
    reference_range: "referenceRange",
    component: "component",
    has_member: "hasMember",
    note: "note",
    value_quantity: "valueQuantity",
    value_codeable_concept: "valueCodeableConcept",
    value_string: "valueString",
    value_boolean: "valueBoolean",
    value_integer: "valueInteger",
    value_range: "valueRange",
    value_ratio: "valueRatio",
    value_time: "valueTime",
    value_date_time: "valueDateTime",
    value_period: "valuePeriod"
});

impl Observation {
    pub fn effective(&self) -> Option<When<'_>> {
        first_when([
            self.effective_date_time.as_ref().map(When::DateTime),
            self.effective_period.as_deref().map(When::Period),
            self.effective_instant.as_ref().map(When::DateTime),
            self.issued.as_ref().map(When::DateTime),
        ])
    }

    /// Whether any category has this code (`vital-signs`, `laboratory`, …).
    pub fn in_category(&self, code: &str) -> bool {
        self.category.iter().any(|c| c.has_code(code))
    }
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Immunization {
    pub id: Option<String>,
    pub meta: Option<Meta>,
    pub status: Option<String>,
    pub status_reason: Option<CodeableConcept>,
    pub vaccine_code: Option<CodeableConcept>,
    occurrence_date_time: Option<DateTime>,
    occurrence_string: Option<String>,
    pub primary_source: Option<bool>,
    pub performer: Vec<Performer>,
    pub lot_number: Option<String>,
    pub note: Vec<Annotation>,
}

from_json!(Immunization {
    id: "id",
    meta: "meta",
    status: "status",
    status_reason: "statusReason",
    vaccine_code: "vaccineCode",
    occurrence_date_time: "occurrenceDateTime",
    occurrence_string: "occurrenceString",
    primary_source: "primarySource",
    performer: "performer",
    lot_number: "lotNumber",
    note: "note"
});

impl Immunization {
    pub fn occurrence(&self) -> Option<When<'_>> {
        first_when([self.occurrence_date_time.as_ref().map(When::DateTime), self.occurrence_string.as_deref().map(When::Text)])
    }
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Encounter {
    pub id: Option<String>,
    pub meta: Option<Meta>,
    pub status: Option<String>,
    /// In R4 a single `Coding`.
    pub class: Option<Coding>,
    pub type_: Vec<CodeableConcept>,
    pub period: Option<Period>,
    pub reason_code: Vec<CodeableConcept>,
    pub service_provider: Option<Reference>,
}

from_json!(Encounter {
    id: "id",
    meta: "meta",
    status: "status",
    class: "class",
    type_: "type",
    period: "period",
    reason_code: "reasonCode",
    service_provider: "serviceProvider"
});

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Procedure {
    pub id: Option<String>,
    pub meta: Option<Meta>,
    pub status: Option<String>,
    pub status_reason: Option<CodeableConcept>,
    pub code: Option<CodeableConcept>,
    pub performer: Vec<Performer>,
    performed_date_time: Option<DateTime>,
    performed_period: Option<Period>,
    performed_string: Option<String>,
    pub reason_code: Vec<CodeableConcept>,
}

from_json!(Procedure {
    id: "id",
    meta: "meta",
    status: "status",
    status_reason: "statusReason",
    code: "code",
    performer: "performer",
    performed_date_time: "performedDateTime",
    performed_period: "performedPeriod",
    performed_string: "performedString",
    reason_code: "reasonCode"
});

impl Procedure {
    pub fn performed(&self) -> Option<When<'_>> {
        first_when([
            self.performed_date_time.as_ref().map(When::DateTime),
            self.performed_period.as_ref().map(When::Period),
            self.performed_string.as_deref().map(When::Text),
        ])
    }
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct DiagnosticReport {
    pub id: Option<String>,
    pub meta: Option<Meta>,
    pub status: Option<String>,
    pub category: Vec<CodeableConcept>,
    pub code: Option<CodeableConcept>,
    effective_date_time: Option<DateTime>,
    effective_period: Option<Period>,
    pub issued: Option<DateTime>,
    pub result: Vec<Reference>,
    pub performer: Vec<Reference>,
    pub results_interpreter: Vec<Reference>,
    pub conclusion: Option<String>,
    /// The report as the lab or clinician wrote it (a PDF, XHTML, text).
    pub presented_form: Vec<Attachment>,
}

from_json!(DiagnosticReport {
    id: "id",
    meta: "meta",
    status: "status",
    category: "category",
    code: "code",
    effective_date_time: "effectiveDateTime",
    effective_period: "effectivePeriod",
    issued: "issued",
    result: "result",
    performer: "performer",
    results_interpreter: "resultsInterpreter",
    conclusion: "conclusion",
    presented_form: "presentedForm"
});

impl DiagnosticReport {
    pub fn effective(&self) -> Option<When<'_>> {
        first_when([
            self.effective_date_time.as_ref().map(When::DateTime),
            self.effective_period.as_ref().map(When::Period),
            self.issued.as_ref().map(When::DateTime),
        ])
    }
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct DocumentContent {
    pub attachment: Attachment,
}

from_json!(DocumentContent { attachment: "attachment" });

#[derive(Debug, Clone, Default, PartialEq)]
pub struct DocumentReference {
    pub id: Option<String>,
    pub meta: Option<Meta>,
    pub status: Option<String>,
    pub type_: Option<CodeableConcept>,
    pub category: Vec<CodeableConcept>,
    pub date: Option<DateTime>,
    pub description: Option<String>,
    pub content: Vec<DocumentContent>,
}

from_json!(DocumentReference {
    id: "id",
    meta: "meta",
    status: "status",
    type_: "type",
    category: "category",
    date: "date",
    description: "description",
    content: "content"
});

#[derive(Debug, Clone, Default, PartialEq)]
pub struct CarePlanDetail {
    pub code: Option<CodeableConcept>,
    pub do_not_perform: Option<bool>,
    pub status: Option<String>,
    pub description: Option<String>,
}

from_json!(CarePlanDetail { code: "code", do_not_perform: "doNotPerform", status: "status", description: "description" });

#[derive(Debug, Clone, Default, PartialEq)]
pub struct CarePlanActivity {
    pub detail: Option<CarePlanDetail>,
}

from_json!(CarePlanActivity { detail: "detail" });

#[derive(Debug, Clone, Default, PartialEq)]
pub struct CarePlan {
    pub id: Option<String>,
    pub meta: Option<Meta>,
    pub status: Option<String>,
    pub category: Vec<CodeableConcept>,
    pub title: Option<String>,
    pub description: Option<String>,
    pub period: Option<Period>,
    pub created: Option<DateTime>,
    pub activity: Vec<CarePlanActivity>,
    pub addresses: Vec<Reference>,
}

from_json!(CarePlan {
    id: "id",
    meta: "meta",
    status: "status",
    category: "category",
    title: "title",
    description: "description",
    period: "period",
    created: "created",
    activity: "activity",
    addresses: "addresses"
});
