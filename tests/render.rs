//! Render: the chart of real records, and hostile strings in every field
//! that reaches the HTML.

#![cfg(not(target_arch = "wasm32"))]

mod common;

use chrono::NaiveDate;
use common::*;
use patient_portal_sdk::fhir::parse_record;
use patient_portal_sdk::render::{build_chart, escape, to_html, RenderOptions};

fn options() -> RenderOptions {
    RenderOptions::new(NaiveDate::from_ymd_opt(2026, 11, 22).unwrap())
}

fn section_rows(chart: &patient_portal_sdk::render::Chart, id: &str) -> usize {
    chart.sections.iter().find(|s| s.id == id).unwrap().rows.len()
}

#[test]
fn every_resource_of_every_synthea_record_is_shown_once() {
    for file in files_in("fhir/synthea") {
        let record = parse_record(&std::fs::read(&file).unwrap()).unwrap();
        let chart = build_chart(&record, &options());
        assert_eq!(chart.shown(), record.entries.len(), "{}", file.display());
        let count = |t: &str| record.of_type(t).count();
        assert_eq!(section_rows(&chart, "immunizations"), count("Immunization"));
        assert_eq!(section_rows(&chart, "encounters"), count("Encounter"));
        assert_eq!(section_rows(&chart, "results") + section_rows(&chart, "vitals"), count("Observation"));
        assert_eq!(section_rows(&chart, "problems"), count("Condition"));
        assert_eq!(section_rows(&chart, "allergies"), count("AllergyIntolerance"));
        assert_eq!(section_rows(&chart, "medications"), count("MedicationRequest") + count("MedicationStatement"));
        let other: usize = chart.other.iter().map(|g| g.items.len()).sum();
        assert_eq!(other, count("Claim") + count("ExplanationOfBenefit") + count("Organization") + count("Practitioner") + count("CarePlan")
            + count("DiagnosticReport") + count("ImagingStudy") + count("Goal") + count("CareTeam") + count("MedicationAdministration"));
        // Newest first.
        for s in &chart.sections {
            assert!(s.rows.windows(2).all(|w| w[0].sort_key >= w[1].sort_key), "{} not sorted", s.id);
        }
    }
}

#[test]
fn dusty_stracke_chart_content() {
    let record = parse_record(&read("fhir/synthea/Dusty_Stracke_9fe3de76-2cd4-4c02-936a-8de0b18497dd.json")).unwrap();
    let chart = build_chart(&record, &options());
    let banner = &chart.banners[0];
    assert!(banner.name.contains("Dusty") && banner.name.contains("Stracke"), "{}", banner.name);
    let raw = &record.of_type("Patient").next().unwrap().raw;
    let birth = NaiveDate::parse_from_str(raw["birthDate"].as_str().unwrap(), "%Y-%m-%d").unwrap();
    assert_eq!(banner.age, patient_portal_sdk::fhir::age_in_years(birth, options().today));
    // The SSN is masked to its last four digits; other identifiers are shown.
    let ssn = raw["identifier"].as_array().unwrap().iter().find(|i| i["system"] == "http://hl7.org/fhir/sid/us-ssn").unwrap()["value"].as_str().unwrap();
    let html = to_html(&chart);
    assert!(!html.contains(ssn), "full SSN shown");
    assert!(html.contains(&ssn[ssn.len() - 4..]));
    // Blood pressure from its components: "123/87 mm[Hg]" style.
    let vitals = chart.sections.iter().find(|s| s.id == "vitals").unwrap();
    let bp = vitals.rows.iter().find(|r| r.cells[0].text == "Blood Pressure").expect("a blood pressure row");
    let (sys, dia) = bp.cells[1].text.split_once('/').unwrap();
    let dia = dia.split_once(' ').unwrap().0;
    assert!(sys.parse::<u32>().unwrap() > dia.parse::<u32>().unwrap());
    assert!(bp.cells[1].text.ends_with(" mm[Hg]"));
    // Encounter class (a Coding in R4) is named.
    assert!(html.contains("Ambulatory"));
}

#[test]
fn ips_document_shows_flags_ranges_and_resolved_medications() {
    let record = parse_record(&read("shl/hl7-ig/IPS_IG-bundle-01.json")).unwrap();
    let chart = build_chart(&record, &options());
    assert_eq!(chart.shown(), record.entries.len());
    let meds = chart.sections.iter().find(|s| s.id == "medications").unwrap();
    assert_eq!(meds.rows.len(), 2);
    // medicationReference resolved to the Medication's code, never empty.
    assert!(meds.rows.iter().all(|r| !r.cells[0].text.is_empty()));
}

const HOSTILE: &[&str] = &[
    "<script>alert(1)</script>",
    "\"><img src=x onerror=alert(1)>",
    "'><svg/onload=alert(1)>",
    "</style><script>alert(1)</script>",
    "javascript:alert(1)",
    "<a href=\"javascript:alert(1)\">x</a>",
    "&lt;script&gt;",
    "<!--",
    "]]><iframe srcdoc='<script>alert(1)</script>'>",
];

fn hostile_bundle(s: &str) -> Vec<u8> {
    let j = serde_json::to_string(s).unwrap();
    format!(
        r#"{{"resourceType":"Bundle","type":"collection","entry":[
        {{"resource":{{"resourceType":"Patient","name":[{{"given":[{j}],"family":{j},"prefix":[{j}]}}],"gender":{j},"birthDate":{j},
            "identifier":[{{"type":{{"text":{j}}},"value":{j}}}]}}}},
        {{"resource":{{"resourceType":"AllergyIntolerance","code":{{"text":{j}}},"criticality":{j},"clinicalStatus":{{"coding":[{{"code":{j}}}]}},
            "reaction":[{{"manifestation":[{{"text":{j}}}],"severity":{j},"description":{j}}}],"recordedDate":{j}}}}},
        {{"resource":{{"resourceType":"Condition","code":{{"coding":[{{"display":{j},"code":{j}}}]}},"onsetString":{j},"abatementString":{j}}}}},
        {{"resource":{{"resourceType":"MedicationRequest","status":{j},"medicationCodeableConcept":{{"text":{j}}},"dosageInstruction":[{{"text":{j}}}],
            "requester":{{"display":{j}}},"authoredOn":{j}}}}},
        {{"resource":{{"resourceType":"Observation","status":{j},"code":{{"text":{j}}},"valueQuantity":{{"value":1.5,"unit":{j},"comparator":{j}}},
            "interpretation":[{{"text":{j}}}],"referenceRange":[{{"text":{j}}}],"effectiveDateTime":{j},"note":[{{"text":{j}}}]}}}},
        {{"resource":{{"resourceType":"Observation","category":[{{"coding":[{{"code":"vital-signs"}}]}}],"code":{{"text":{j}}},"valueString":{j}}}}},
        {{"resource":{{"resourceType":"Observation","code":{{"text":{j}}},"component":[{{"code":{{"text":{j}}},"valueCodeableConcept":{{"text":{j}}}}}]}}}},
        {{"resource":{{"resourceType":"Immunization","status":"not-done","statusReason":{{"text":{j}}},"vaccineCode":{{"text":{j}}},"occurrenceString":{j}}}}},
        {{"resource":{{"resourceType":"Procedure","status":{j},"code":{{"text":{j}}},"performedString":{j}}}}},
        {{"resource":{{"resourceType":"Encounter","class":{{"code":{j},"display":{j}}},"type":[{{"text":{j}}}],"reasonCode":[{{"text":{j}}}],
            "serviceProvider":{{"display":{j}}},"period":{{"start":{j}}}}}}},
        {{"resource":{{"resourceType":"DocumentReference","description":{j},"date":{j}}}}},
        {{"resource":{{"resourceType":"DiagnosticReport","code":{{"text":{j}}},"effectiveDateTime":{j},"result":[{{"reference":{j}}}]}}}},
        {{"resource":{{"resourceType":{j},"title":{j},"date":{j}}}}},
        {{"resource":{{"resourceType":"Claim","type":{{"text":{j}}},"created":{j}}}}},
        {{"resource":{{"resourceType":"Patient","name":"not an array","title":{j}}}}}
        ]}}"#
    )
    .into_bytes()
}

/// Every `<` in the output is one of the renderer's own tags.
fn assert_only_own_markup(html: &str, hostile: &str) {
    let own_tags = [
        "style", "/style", "article", "/article", "header", "/header", "h2", "/h2", "p", "/p", "dl", "/dl", "div", "/div", "dt", "/dt", "dd",
        "/dd", "nav", "/nav", "ul", "/ul", "li", "/li", "a", "/a", "span", "/span", "section", "/section", "table", "/table", "caption",
        "/caption", "thead", "/thead", "tbody", "/tbody", "tr", "/tr", "th", "/th", "td", "/td", "details", "/details", "summary",
        "/summary", "strong", "/strong",
    ];
    let body = &html[html.find("</style>").unwrap()..];
    for (i, _) in body.match_indices('<') {
        let name: String = body[i + 1..].chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '/').collect();
        assert!(own_tags.contains(&name.as_str()), "foreign tag <{name}> for input {hostile:?}");
    }
    assert!(!body.contains(hostile) || !hostile.contains(['<', '>', '"', '\'']), "raw hostile text for {hostile:?}");
    assert!(!body.to_ascii_lowercase().contains("<script"));
}

#[test]
fn hostile_strings_in_every_field_are_escaped() {
    for hostile in HOSTILE {
        let record = parse_record(&hostile_bundle(hostile)).unwrap();
        let chart = build_chart(&record, &options());
        assert_eq!(chart.shown(), record.entries.len());
        let html = to_html(&chart);
        assert_only_own_markup(&html, hostile);
        // The text is present, escaped, so nothing is silently dropped.
        assert!(html.contains(&escape(hostile)), "{hostile:?} missing");
    }
}

#[test]
fn escape_covers_the_five_characters_and_controls() {
    assert_eq!(escape(r#"<a href="x" title='y'>&</a>"#), "&lt;a href=&quot;x&quot; title=&#39;y&#39;&gt;&amp;&lt;/a&gt;");
    assert_eq!(escape("a\u{0}b\u{1b}c"), "a\u{FFFD}b\u{FFFD}c");
}

#[test]
fn entered_in_error_and_unreadable_resources_are_never_shown_as_valid() {
    let json = br#"{"resourceType":"Bundle","type":"collection","entry":[
        {"resource":{"resourceType":"Condition","code":{"text":"Diabetes"},"verificationStatus":{"coding":[{"code":"entered-in-error"}]}}},
        {"resource":{"resourceType":"Observation","status":"entered-in-error","code":{"text":"Glucose"},"valueQuantity":{"value":300,"unit":"mg/dL"}}},
        {"resource":{"resourceType":"Immunization","status":"entered-in-error","vaccineCode":{"text":"Flu"}}},
        {"resource":{"resourceType":"Observation","code":"broken","valueQuantity":{"value":5}}}]}"#;
    let record = parse_record(json).unwrap();
    let chart = build_chart(&record, &options());
    assert!(chart.sections.iter().all(|s| s.rows.is_empty()));
    let notes: Vec<_> = chart.other.iter().flat_map(|g| &g.items).filter_map(|i| i.note).collect();
    assert_eq!(notes.iter().filter(|n| **n == "Entered in error").count(), 3);
    assert_eq!(notes.iter().filter(|n| n.starts_with("Could not be read")).count(), 1);
}

#[test]
fn flags_comparators_and_ranges() {
    let json = br#"{"resourceType":"Bundle","type":"collection","entry":[
        {"resource":{"resourceType":"Observation","status":"final","category":[{"coding":[{"code":"laboratory"}]}],"code":{"text":"Potassium"},
          "effectiveDateTime":"2020-01-02","valueQuantity":{"value":5.90,"unit":"mmol/L"},
          "interpretation":[{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation","code":"H"}]}],
          "referenceRange":[{"low":{"value":3.5,"unit":"mmol/L"},"high":{"value":5.1,"unit":"mmol/L"}}]}},
        {"resource":{"resourceType":"Observation","status":"preliminary","code":{"text":"CRP"},"effectiveDateTime":"2020-01-01",
          "valueQuantity":{"value":5,"comparator":"<","unit":"mg/L"},"referenceRange":[{"high":{"value":10,"unit":"mg/L"}}],
          "interpretation":[{"coding":[{"code":"LL"}]}]}}]}"#;
    let record = parse_record(json).unwrap();
    let chart = build_chart(&record, &options());
    let results = chart.sections.iter().find(|s| s.id == "results").unwrap();
    let k = &results.rows[0].cells;
    assert_eq!(k[0].text, "Potassium");
    assert_eq!(k[1].text, "5.90 mmol/L");
    assert_eq!(k[2].text, "3.5 mmol/L – 5.1 mmol/L");
    assert_eq!(k[3].text, "High");
    assert_eq!(k[4].text, "Jan 2, 2020");
    let c = &results.rows[1].cells;
    assert_eq!(c[1].text, "<5 mg/L (preliminary)");
    assert_eq!(c[2].text, "≤ 10 mg/L");
    assert_eq!(c[3].text, "Critically low");
    let html = to_html(&chart);
    assert!(html.contains("<span class=\"flag flag-high\">High</span>"));
    assert!(html.contains("&lt;5 mg/L (preliminary)"));
}

#[test]
fn verification_status_is_shown_unless_confirmed() {
    let json = br#"{"resourceType":"Bundle","type":"collection","entry":[
        {"resource":{"resourceType":"Condition","code":{"text":"Asthma"},"clinicalStatus":{"coding":[{"code":"active","display":"Active"}]},
          "verificationStatus":{"coding":[{"code":"confirmed","display":"Confirmed"}]},"onsetDateTime":"2020-02-01"}},
        {"resource":{"resourceType":"Condition","code":{"text":"Migraine"},"clinicalStatus":{"coding":[{"code":"active"}]},
          "verificationStatus":{"coding":[{"code":"provisional"}]},"onsetDateTime":"2020-01-01"}}]}"#;
    let chart = build_chart(&parse_record(json).unwrap(), &options());
    let problems = chart.sections.iter().find(|s| s.id == "problems").unwrap();
    assert_eq!(problems.rows[0].cells[1].text, "Active");
    assert_eq!(problems.rows[1].cells[1].text, "Active (provisional)");
}
