//! Render: the chart of real records, and hostile strings in every field
//! that reaches the HTML.

#![cfg(not(target_arch = "wasm32"))]

mod common;

use common::*;
use patient_portal_sdk::fhir::parse_record;
use patient_portal_sdk::fhir::Date;
use patient_portal_sdk::render::{build_chart, escape, to_html, RenderOptions};

fn options() -> RenderOptions {
    RenderOptions::new(Date::from_ymd(2026, 11, 22).unwrap())
}

/// Resources listed in a section (for results: every result and report).
fn section_rows(chart: &patient_portal_sdk::render::Chart, id: &str) -> usize {
    chart.section(id).unwrap().len()
}

/// The rows of the results, group by group, in display order.
fn result_rows(chart: &patient_portal_sdk::render::Chart) -> Vec<&patient_portal_sdk::render::Row> {
    chart.section("results").unwrap().groups.iter().flat_map(|g| &g.rows).collect()
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
        assert_eq!(section_rows(&chart, "results") + section_rows(&chart, "vitals"), count("Observation") + count("DiagnosticReport"));
        assert_eq!(section_rows(&chart, "care-plans"), count("CarePlan"));
        assert_eq!(section_rows(&chart, "problems"), count("Condition"));
        assert_eq!(section_rows(&chart, "allergies"), count("AllergyIntolerance"));
        assert_eq!(section_rows(&chart, "medications"), count("MedicationRequest") + count("MedicationStatement"));
        let other: usize = chart.other.iter().map(|g| g.items.len()).sum();
        assert_eq!(
            other,
            count("Claim")
                + count("ExplanationOfBenefit")
                + count("Organization")
                + count("Practitioner")
                + count("ImagingStudy")
                + count("Goal")
                + count("CareTeam")
                + count("MedicationAdministration")
        );
        // Newest first.
        for s in &chart.sections {
            assert!(s.rows.windows(2).all(|w| w[0].sort_key >= w[1].sort_key), "{} not sorted", s.id);
            assert!(s.groups.windows(2).all(|w| w[0].sort_key >= w[1].sort_key), "{} groups not sorted", s.id);
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
    let birth = Date::parse(raw["birthDate"].as_str().unwrap()).unwrap();
    assert_eq!(banner.age, patient_portal_sdk::fhir::age_in_years(birth, options().today));
    // The SSN is masked to its last four digits; other identifiers are shown.
    let ssn = raw["identifier"].as_array().unwrap().iter().find(|i| i["system"] == "http://hl7.org/fhir/sid/us-ssn").unwrap()["value"].as_str().unwrap();
    let html = to_html(&chart);
    assert!(!html.contains(ssn), "full SSN shown");
    assert!(html.contains(&ssn[ssn.len() - 4..]));
    // Blood pressure from its components: "123/87 mm[Hg]" style, the
    // digits as recorded (Synthea writes machine-long decimals: rounded).
    let vitals = chart.sections.iter().find(|s| s.id == "vitals").unwrap();
    let bp = vitals.rows.iter().find(|r| r.cells[0].text == "Blood Pressure").expect("a blood pressure row");
    let (sys, dia) = bp.cells[1].text.split_once('/').unwrap();
    let dia = dia.split_once(' ').unwrap().0;
    assert!(sys.parse::<f64>().unwrap() > dia.parse::<f64>().unwrap());
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
        "style", "/style", "article", "/article", "header", "/header", "h2", "/h2", "p", "/p", "dl", "/dl", "div", "/div", "dt", "/dt", "dd", "/dd", "nav",
        "/nav", "ul", "/ul", "li", "/li", "a", "/a", "span", "/span", "section", "/section", "table", "/table", "caption", "/caption", "thead", "/thead",
        "tbody", "/tbody", "tr", "/tr", "th", "/th", "td", "/td", "details", "/details", "summary", "/summary", "strong", "/strong", "aside", "/aside", "q",
        "/q",
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
    let results = result_rows(&chart);
    let k = &results[0].cells;
    assert_eq!(k[0].text, "Potassium");
    assert_eq!(k[1].text, "5.90 mmol/L");
    assert_eq!(k[2].text, "3.5 mmol/L – 5.1 mmol/L");
    assert_eq!(k[3].text, "High");
    assert_eq!(k[4].text, "Jan 2, 2020");
    let c = &results[1].cells;
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

#[test]
fn results_are_grouped_under_their_report_or_panel() {
    for file in files_in("fhir/synthea") {
        let record = parse_record(&std::fs::read(&file).unwrap()).unwrap();
        let chart = build_chart(&record, &options());
        let results = chart.section("results").unwrap();
        assert!(results.rows.is_empty());
        for (from, report) in record.entries.iter().enumerate().filter(|(_, e)| e.resource_type == "DiagnosticReport") {
            let title = report.raw["code"]["text"].as_str().or(report.raw["code"]["coding"][0]["display"].as_str()).unwrap();
            let members: Vec<String> = report.raw["result"]
                .as_array()
                .unwrap()
                .iter()
                .map(|r| {
                    use patient_portal_sdk::fhir::{FromJson, Json, Reference};
                    record.resolve(from, &Reference::from_json(Json::Text(&r.to_string())).unwrap()).unwrap()
                })
                .map(|o| o.raw["code"]["text"].as_str().unwrap().to_string())
                .collect();
            // Some group with this title lists exactly these results, in order.
            let found = results
                .groups
                .iter()
                .any(|g| g.title == title && g.is_resource && g.rows.iter().map(|r| r.cells[0].text.clone()).collect::<Vec<_>>() == members);
            assert!(found, "{}: report {title} with {members:?}", file.display());
        }
    }
}

#[test]
fn labels_dates_and_numbers_follow_the_locale() {
    use patient_portal_sdk::render::Locale;
    let record = parse_record(&read("fhir/synthea/Dusty_Stracke_9fe3de76-2cd4-4c02-936a-8de0b18497dd.json")).unwrap();
    let expect = [
        (Locale::EnUs, "Allergies and intolerances", "Immunizations", "Born"),
        (Locale::EsEs, "Alergias e intolerancias", "Vacunas", "Nacimiento"),
        (Locale::FrFr, "Allergies et intolérances", "Vaccinations", "Naissance"),
        (Locale::DeDe, "Allergien und Unverträglichkeiten", "Impfungen", "Geboren"),
    ];
    for (locale, allergies, immunizations, born) in expect {
        let mut o = options();
        o.locale = locale;
        let chart = build_chart(&record, &o);
        let html = to_html(&chart);
        assert!(html.contains(&format!("lang=\"{}\"", locale.tag())));
        for label in [allergies, immunizations, born] {
            assert!(html.contains(&escape(label)), "{locale}: {label}");
        }
        let bmi = chart.section("vitals").unwrap().rows.iter().find(|r| r.cells[0].text == "Body Mass Index").unwrap();
        let separator = if locale == Locale::EnUs { '.' } else { ',' };
        assert!(
            bmi.cells[1].text.contains(separator) && !bmi.cells[1].text.contains(if separator == '.' { ',' } else { '.' }),
            "{locale}: {}",
            bmi.cells[1].text
        );
        if locale != Locale::EnUs {
            for english in ["Allergies and intolerances", "Vital signs", "Immunizations", "Show 1", "Reference range"] {
                assert!(!html.contains(english), "{locale}: {english} left in English");
            }
        }
    }
}

#[test]
fn the_viewer_time_zone_decides_the_day() {
    use patient_portal_sdk::render::TimeZone;
    let json = br#"{"resourceType":"Bundle","type":"collection","entry":[
        {"resource":{"resourceType":"Observation","status":"final","code":{"text":"Glucose"},"effectiveDateTime":"2019-07-04T23:30:00-05:00",
          "valueQuantity":{"value":95,"unit":"mg/dL"}}}]}"#;
    let record = parse_record(json).unwrap();
    let cases = [
        (TimeZone::fixed("America/Chicago", -5 * 3600), "Jul 4, 2019, 11:30\u{202f}PM", "Times are shown in the America/Chicago time zone."),
        (TimeZone::fixed("Europe/Berlin", 2 * 3600), "Jul 5, 2019, 6:30\u{202f}AM", "Times are shown in the Europe/Berlin time zone."),
        (TimeZone::recorded(), "Jul 4, 2019, 11:30\u{202f}PM", "Times are shown as recorded."),
    ];
    for (zone, shown, note) in cases {
        let mut o = options();
        o.time_zone = zone;
        let chart = build_chart(&record, &o);
        assert_eq!(result_rows(&chart)[0].cells[4].text, shown);
        assert!(to_html(&chart).contains(note));
    }
}

#[test]
fn documents_offer_downloads_and_only_web_links() {
    let json = br#"{"resourceType":"Bundle","type":"collection","entry":[
        {"resource":{"resourceType":"DocumentReference","status":"current","type":{"text":"Discharge summary"},"date":"2020-03-01T10:00:00Z",
          "content":[{"attachment":{"contentType":"text/plain","data":"SGVs bG8=","title":"Discharge / summary"}}]}},
        {"resource":{"resourceType":"DocumentReference","status":"superseded","description":"Imaging report","date":"2020-02-01",
          "content":[{"attachment":{"contentType":"application/pdf","url":"https://example.org/r.pdf"}}]}},
        {"resource":{"resourceType":"DocumentReference","description":"Hostile","date":"2020-01-01",
          "content":[{"attachment":{"url":"javascript:alert(1)"}},{"attachment":{"url":"Binary/1"}},{"attachment":{"data":"\"><script>"}},
            {"attachment":{"url":"https://x.org/\"onmouseover=alert(1)"}}]}}]}"#;
    let chart = build_chart(&parse_record(json).unwrap(), &options());
    let docs = chart.section("documents").unwrap();
    assert_eq!(docs.rows.len(), 3);
    let d = &docs.rows[0].cells;
    assert_eq!(
        (d[0].text.as_str(), d[1].text.as_str(), d[2].text.as_str(), d[3].text.as_str()),
        ("Discharge / summary", "Discharge summary", "Mar 1, 2020", "Current")
    );
    assert_eq!(d[4].links[0].href, "data:application/octet-stream;base64,SGVsbG8=");
    assert_eq!(d[4].links[0].download.as_deref(), Some("Discharge _ summary.txt"));
    assert_eq!(d[4].links[0].label, "Download (text/plain, 5 B)");
    let i = &docs.rows[1].cells;
    assert_eq!((i[3].text.as_str(), i[4].links[0].href.as_str()), ("Superseded", "https://example.org/r.pdf"));
    let hostile = &docs.rows[2].cells[4];
    assert!(hostile.links.is_empty(), "{:?}", hostile.links);
    assert_eq!(hostile.text, "Kept at the source");
    let html = to_html(&chart);
    assert!(html.contains("<a class=\"file\" href=\"https://example.org/r.pdf\" target=\"_blank\" rel=\"noopener noreferrer\">Open<span class=\"sr\"> (opens in a new tab)</span></a>"));
    assert!(!html.contains("javascript:") && !html.contains("<script"));
}

#[test]
fn care_plans_list_their_activities() {
    let record = parse_record(&read("fhir/synthea/Dusty_Stracke_9fe3de76-2cd4-4c02-936a-8de0b18497dd.json")).unwrap();
    let chart = build_chart(&record, &options());
    let plans = chart.section("care-plans").unwrap();
    assert_eq!(plans.rows.len(), 4);
    let self_care = plans.rows.iter().find(|r| r.cells[0].text == "Self care").unwrap();
    assert_eq!(self_care.cells[1].text, "Food allergy diet; Allergy education");
    assert_eq!(self_care.cells[2].text, "Active");
    assert!(self_care.cells[3].text.starts_with("since May 1, 2002"), "{}", self_care.cells[3].text);
    // Synthea's generated narrative repeats the row: not shown again.
    assert!(self_care.narrative.is_none());
}

#[test]
fn trends_chart_repeated_numeric_results_with_a_table() {
    let record = parse_record(&read("fhir/synthea/Vito_Feeney_63dd4423-56ec-4f40-9dd6-82bc133aaddc.json")).unwrap();
    let chart = build_chart(&record, &options());
    assert!(chart.trends.len() >= 10, "{} trends", chart.trends.len());
    for t in &chart.trends {
        assert!(t.rows.len() >= 2);
        assert!(t.rows.windows(2).all(|w| w[0].point.at >= w[1].point.at), "{} newest first", t.title);
        assert!(t.rows.iter().all(|r| r.value.ends_with(&t.unit)), "{}: one unit", t.title);
    }
    // Every numeric result of one test is in its trend.
    let glucose = chart.trends.iter().find(|t| t.title == "Glucose").unwrap();
    let expected = record.of_type("Observation").filter(|o| o.raw["code"]["text"] == "Glucose" && o.raw["valueQuantity"].is_object()).count();
    assert_eq!(glucose.rows.len(), expected);
    let html = to_html(&chart);
    assert_eq!(html.matches("<svg class=\"trend\"").count(), chart.trends.len());
    assert!(html.contains("Glucose: results over time, newest first"));
    // A reference range becomes the band, in the chart and in words.
    let json = br#"{"resourceType":"Bundle","type":"collection","entry":[
        {"resource":{"resourceType":"Observation","status":"final","code":{"coding":[{"system":"http://loinc.org","code":"2823-3"}],"text":"Potassium"},
          "effectiveDateTime":"2020-01-02","valueQuantity":{"value":5.9,"unit":"mmol/L"},"interpretation":[{"coding":[{"code":"H"}]}],
          "referenceRange":[{"low":{"value":3.5,"unit":"mmol/L"},"high":{"value":5.1,"unit":"mmol/L"}}]}},
        {"resource":{"resourceType":"Observation","status":"final","code":{"coding":[{"system":"http://loinc.org","code":"2823-3"}],"text":"K"},
          "effectiveDateTime":"2019-01-02","valueQuantity":{"value":4.2,"unit":"mmol/L"}}}]}"#;
    let chart = build_chart(&parse_record(json).unwrap(), &options());
    let k = &chart.trends[0];
    assert_eq!((k.rows.len(), k.band.unwrap().low, k.band.unwrap().high), (2, Some(3.5), Some(5.1)));
    assert!(k.rows[0].point.flagged && !k.rows[1].point.flagged);
    let html = to_html(&chart);
    assert!(html.contains("Shaded band: reference range 3.5 mmol/L – 5.1 mmol/L"));
    assert!(html.contains("class=\"band\""));
}

#[test]
fn narrative_is_sanitised_and_shown_only_where_it_adds() {
    let json = br#"{"resourceType":"Bundle","type":"collection","entry":[
        {"resource":{"resourceType":"Condition","code":{"text":"Asthma"},"text":{"status":"additional",
          "div":"<div xmlns=\"http://www.w3.org/1999/xhtml\"><p>Uses <b>inhaler</b> daily<script>alert(1)</script></p><a href=\"javascript:alert(1)\">x</a><img src=x onerror=alert(1)></div>"}}},
        {"resource":{"resourceType":"Condition","code":{"text":"Eczema"},"text":{"status":"generated","div":"<div xmlns=\"http://www.w3.org/1999/xhtml\">Eczema</div>"}}},
        {"resource":{"resourceType":"Goal","description":{"text":"Walk"},"text":{"status":"generated","div":"<div xmlns=\"http://www.w3.org/1999/xhtml\"><p style=\"position:fixed\" onclick=\"x()\">Walk 30 minutes</p></div>"}}}]}"#;
    let chart = build_chart(&parse_record(json).unwrap(), &options());
    let problems = chart.section("problems").unwrap();
    let asthma = problems.rows.iter().find(|r| r.cells[0].text == "Asthma").unwrap();
    let narrative = asthma.narrative.as_deref().unwrap();
    assert!(narrative.contains("<p>Uses <b>inhaler</b> daily</p>"), "{narrative}");
    for bad in ["script", "javascript", "onerror", "<img"] {
        assert!(!narrative.contains(bad), "{bad} in {narrative}");
    }
    assert!(problems.rows.iter().find(|r| r.cells[0].text == "Eczema").unwrap().narrative.is_none());
    let goal = &chart.other[0].items[0];
    assert_eq!(goal.narrative.as_deref(), Some("<p>Walk 30 minutes</p>"));
    let html = to_html(&chart);
    assert!(html.contains("Details as written by the source"));
    assert!(!html.contains("position:fixed") && !html.contains("onclick"));
}

#[test]
fn sections_say_how_many_rows_have_each_status() {
    let record = parse_record(&read("fhir/synthea/Dusty_Stracke_9fe3de76-2cd4-4c02-936a-8de0b18497dd.json")).unwrap();
    let html = to_html(&build_chart(&record, &options()));
    let count = |status: &str| record.of_type("MedicationRequest").filter(|m| m.raw["status"] == status).count();
    let (stopped, active) = (count("stopped"), count("active"));
    assert!(stopped > 0 && active > 0 && stopped + active == record.of_type("MedicationRequest").count());
    let (first, second) = if stopped > active { (("Stopped", stopped), ("Active", active)) } else { (("Active", active), ("Stopped", stopped)) };
    let summary = format!("<p class=\"summary\">{} <strong>{}</strong> · {} <strong>{}</strong></p>", first.0, first.1, second.0, second.1);
    assert!(html.contains(&summary), "{summary}");
}

/// Two health cards in one link both number their resources `resource:0`,
/// `resource:1`, …: each card's references stay within that card, and the
/// same patient in both is one banner.
#[test]
fn full_urls_are_per_card() {
    let card = |result: &str, value: u32| {
        serde_json::json!({
            "resourceType": "Bundle", "type": "collection",
            "entry": [
                {"fullUrl": "resource:0", "resource": {"resourceType": "Patient", "name": [{"family": "Anyperson", "given": ["John", "B."]}], "birthDate": "1951-01-20"}},
                {"fullUrl": "resource:1", "resource": {"resourceType": "DiagnosticReport", "status": "final", "code": {"text": format!("{result} report")}, "subject": {"reference": "resource:0"}, "result": [{"reference": "resource:2"}]}},
                {"fullUrl": "resource:2", "resource": {"resourceType": "Observation", "status": "final", "code": {"text": result}, "subject": {"reference": "resource:0"}, "effectiveDateTime": "2021-01-01", "valueQuantity": {"value": value, "unit": "mg/dL"}}}
            ]
        })
    };
    let mut record = patient_portal_sdk::fhir::Record::default();
    record.merge_json(card("Glucose", 95)).unwrap();
    record.merge_json(card("Cholesterol", 180)).unwrap();
    let chart = build_chart(&record, &options());
    assert_eq!(chart.banners.len(), 1, "the same patient in both cards is shown once");
    let results = chart.section("results").unwrap();
    for name in ["Glucose", "Cholesterol"] {
        let group = results.groups.iter().find(|g| g.title == format!("{name} report")).unwrap();
        assert_eq!(group.rows.len(), 1);
        assert_eq!(group.rows[0].cells[0].text, name, "{name} report lists another card's result");
    }
}

/// Contained resources resolve inside their container only, and versioned
/// and absolute references resolve like relative ones.
#[test]
fn contained_versioned_and_absolute_references() {
    let bundle = serde_json::json!({
        "resourceType": "Bundle", "type": "collection",
        "entry": [
            {"fullUrl": "https://ehr.example/fhir/Practitioner/p1", "resource": {"resourceType": "Practitioner", "id": "p1", "name": [{"given": ["Ronald"], "family": "Bone"}]}},
            {"resource": {"resourceType": "MedicationRequest", "id": "a", "status": "active", "intent": "order",
                "contained": [{"resourceType": "Medication", "id": "med0320", "code": {"text": "Amoxicillin 250 mg capsule"}}],
                "medicationReference": {"reference": "#med0320"}, "requester": {"reference": "Practitioner/p1/_history/2"}}},
            {"resource": {"resourceType": "MedicationRequest", "id": "b", "status": "active", "intent": "order",
                "medicationReference": {"reference": "#med0320"}, "requester": {"reference": "https://ehr.example/fhir/Practitioner/p1"}}}
        ]
    });
    let record = parse_record(bundle.to_string().as_bytes()).unwrap();
    let chart = build_chart(&record, &options());
    let meds = chart.section("medications").unwrap();
    let row = |entry: usize| meds.rows.iter().find(|r| r.entry == entry).unwrap();
    assert_eq!(row(1).cells[0].text, "Amoxicillin 250 mg capsule");
    assert_eq!(row(1).cells[4].text, "Ronald Bone");
    // `#med0320` inside another resource is not the first one's medication.
    assert_eq!(row(2).cells[0].text, "");
    assert_eq!(row(2).cells[4].text, "Ronald Bone");
}

/// Vital signs read like results: flag and range columns, every
/// component, and trends (weight, blood pressure's two parts).
#[test]
fn vitals_have_flags_ranges_components_and_trends() {
    let record = parse_record(&read("fhir/us-core/patient-example.collection.json")).unwrap();
    let chart = build_chart(&record, &options());
    let vitals = chart.section("vitals").unwrap();
    assert_eq!(vitals.columns.len(), 5);
    let html = to_html(&chart);
    // Pulse oximetry with its inhaled-oxygen flow component.
    let ox = record
        .entries
        .iter()
        .position(|e| {
            e.resource_type == "Observation" && e.raw["component"].as_array().is_some_and(|c| c.iter().any(|c| c["code"]["coding"][0]["code"] == "3151-8"))
        })
        .expect("a pulse oximetry reading with oxygen flow");
    let row = vitals.rows.iter().find(|r| r.entry == ox).unwrap();
    assert_eq!(row.cells[1].text, "95 %; Inhaled oxygen flow rate: 6 liters/min");
    assert!(html.contains(&format!("data-entry=\"{ox}\"")));
    let dusty = parse_record(&read("fhir/synthea/Dusty_Stracke_9fe3de76-2cd4-4c02-936a-8de0b18497dd.json")).unwrap();
    let chart = build_chart(&dusty, &options());
    for title in ["Body Weight", "Systolic Blood Pressure", "Diastolic Blood Pressure"] {
        assert!(chart.trends.iter().any(|t| t.title == title && t.rows.len() >= 2), "no {title} trend");
    }
}

/// A report's own document: the PDF as a download, a note-only report
/// says its report is attached, never "no results".
#[test]
fn reports_offer_their_presented_form() {
    let record = parse_record(&read("fhir/us-core/patient-example.collection.json")).unwrap();
    let chart = build_chart(&record, &options());
    let results = chart.section("results").unwrap();
    let with_form: Vec<usize> =
        record.entries.iter().enumerate().filter(|(_, e)| e.raw["presentedForm"].as_array().is_some_and(|f| !f.is_empty())).map(|(i, _)| i).collect();
    assert!(!with_form.is_empty());
    for i in with_form {
        let group = results.groups.iter().find(|g| g.entry == Some(i)).expect("the report is shown");
        let forms = record.entries[i].raw["presentedForm"].as_array().unwrap();
        let offered = forms.iter().filter(|f| f["data"].is_string() || f["url"].as_str().is_some_and(|u| u.starts_with("http"))).count();
        assert!(group.links.len() >= offered.min(1) || group.report_text.is_some(), "report {i} offers none of its {} forms", forms.len());
        assert!(!group.detail.contains("no results"), "{}", group.detail);
    }
}
