//! Every HTML the chart emits, parsed by a real HTML5 parser (html5ever, the
//! tree builder of the HTML standard) the way the browser parses it: the
//! chart as the innerHTML of a shadow root (a fragment in a `<div>`), the
//! disclosures' fills inserted into their `data-fill-here` element, the
//! results filter's markup into its list. For hostile narrative and hostile
//! record text (two XSS corpora) the parsed tree must be the chart's own:
//! - with each narrative container's content taken out, the tree equals the
//!   tree of the same chart rendered with empty narratives (nothing of a
//!   narrative lands outside its `div.narrative`, and no narrative swallows
//!   the chart's markup around it);
//! - its sections, rows (`data-entry`, in order), cells and "Other records"
//!   items are exactly the view model's;
//! - it has no element outside the SDK's markup and the narrative allow-list,
//!   no `on*` attribute and no script URL.

#![cfg(not(target_arch = "wasm32"))]

mod common;

use std::time::Instant;

use base64::Engine as _;
use common::*;
use patient_portal_sdk::fhir::parse_record;
use patient_portal_sdk::fhir::Date;
use patient_portal_sdk::render::narrative::sanitize_in_cell;
use patient_portal_sdk::render::{build_chart, results_html, to_html, to_html_lazy, Chart, RenderOptions};
use serde_json::{json, Value};
use tree::*;

#[path = "html_parser/tree.rs"]
mod tree;

fn options() -> RenderOptions {
    RenderOptions::new(Date::from_ymd(2026, 11, 22).unwrap())
}

// ---------------------------------------------------------------------------
// The corpora.

/// `tests/js/xss-payloads.txt`: `⟪U+XXXX⟫` is that character, `⟪REPEAT n text⟫`
/// the text repeated n times; `#` lines are comments.
fn own_corpus() -> Vec<String> {
    let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/js/xss-payloads.txt")).unwrap();
    text.lines().filter(|l| !l.is_empty() && !l.starts_with('#')).map(expand).collect()
}

fn expand(raw: &str) -> String {
    let mut out = String::new();
    let mut rest = raw;
    while let Some(i) = rest.find('⟪') {
        out += &rest[..i];
        let body = &rest[i + '⟪'.len_utf8()..];
        let Some(end) = body.find('⟫') else { break };
        let (inner, after) = (&body[..end], &body[end + '⟫'.len_utf8()..]);
        if let Some(hex) = inner.strip_prefix("U+") {
            out.push(char::from_u32(u32::from_str_radix(hex, 16).unwrap()).unwrap());
        } else if let Some(rep) = inner.strip_prefix("REPEAT ") {
            let (n, text) = rep.split_once(' ').unwrap();
            out += &text.repeat(n.parse().unwrap());
        } else {
            panic!("unknown expansion {inner}");
        }
        rest = after;
    }
    out + rest
}

/// `../shared/data/xss/corpus.json`.
fn shared_corpus() -> Vec<String> {
    read_json("xss/corpus.json")["payloads"].as_array().unwrap().iter().map(|p| p["payload"].as_str().unwrap().to_owned()).collect()
}

fn corpora() -> Vec<(&'static str, Vec<String>)> {
    let own = own_corpus();
    let shared = shared_corpus();
    assert!(own.len() >= 300, "xss-payloads.txt: {}", own.len());
    assert_eq!(shared.len(), 3077, "xss/corpus.json");
    vec![("xss-payloads.txt", own), ("xss/corpus.json", shared)]
}

// ---------------------------------------------------------------------------
// Parsing as the browser does.

/// The rows the view model has, section by section, and its "Other records" items.
#[allow(clippy::type_complexity)]
fn expected(chart: &Chart) -> (Vec<(String, Vec<(usize, usize)>)>, Vec<usize>) {
    let mut rows = Vec::new();
    for s in chart.sections.iter().filter(|s| !s.is_empty()) {
        let mut entries = Vec::new();
        if s.groups.is_empty() {
            entries.extend(s.rows.iter().map(|r| (r.entry, r.cells.len())));
        }
        for g in &s.groups {
            if let Some(entry) = g.entry.filter(|_| g.is_resource || !g.title.is_empty()) {
                entries.push((entry, 1));
            }
            entries.extend(g.rows.iter().map(|r| (r.entry, r.cells.len())));
        }
        rows.push((format!("ppsdk-{}", s.id), entries));
        if s.id == "results" && !chart.trends.is_empty() {
            rows.push(("ppsdk-trends".into(), Vec::new()));
        }
    }
    if !chart.other.is_empty() {
        rows.push(("ppsdk-other".into(), Vec::new()));
    }
    let other = chart.other.iter().flat_map(|g| g.items.iter().map(|i| i.entry)).collect();
    (rows, other)
}

/// The chart with every narrative emptied (its container kept).
fn blank(chart: &Chart) -> Chart {
    let mut chart = chart.clone();
    let empty = |n: &mut Option<String>| {
        if n.is_some() {
            *n = Some(String::new());
        }
    };
    for s in &mut chart.sections {
        s.rows.iter_mut().for_each(|r| empty(&mut r.narrative));
        for g in &mut s.groups {
            empty(&mut g.report_text);
            g.rows.iter_mut().for_each(|r| empty(&mut r.narrative));
        }
    }
    chart.other.iter_mut().flat_map(|g| &mut g.items).for_each(|i| empty(&mut i.narrative));
    chart
}

fn narratives(chart: &Chart) -> usize {
    let rows = |rows: &[patient_portal_sdk::render::Row]| rows.iter().filter(|r| r.narrative.is_some()).count();
    chart.sections.iter().map(|s| rows(&s.rows) + s.groups.iter().map(|g| rows(&g.rows) + usize::from(g.report_text.is_some())).sum::<usize>()).sum::<usize>()
        + chart.other.iter().flat_map(|g| &g.items).filter(|i| i.narrative.is_some()).count()
}

thread_local! {
    /// The parsed charts with empty narratives, by their markup (the same for
    /// every payload placed in the same narratives).
    static OWN: std::cell::RefCell<std::collections::HashMap<String, Summary>> = Default::default();
}

/// The summary of the chart's own markup `html`, parsed by `parse` once.
fn own(html: String, parse: impl FnOnce() -> Parsed) -> Summary {
    if let Some(s) = OWN.with(|own| own.borrow().get(&html).cloned()) {
        return s;
    }
    let s = summarise(&parse());
    OWN.with(|own| {
        let mut own = own.borrow_mut();
        if own.len() > 64 {
            own.clear();
        }
        own.insert(html, s.clone());
    });
    s
}

/// Every way `chart`'s HTML is parsed (static chart, live chart with its
/// fills, results filter), checked; the failures, described.
fn check(chart: &Chart) -> Vec<String> {
    let reference = blank(chart);
    let (rows, other) = expected(chart);
    let results = chart
        .section("results")
        .filter(|s| !s.is_empty())
        .map(|s| expected(&Chart { sections: vec![s.clone()], other: vec![], trends: vec![], ..chart.clone() }).0);
    let mut failures = Vec::new();
    let mut compare = |what: &str, got: Summary, want: Summary, rows: &[(String, Vec<(usize, usize)>)], other: &[usize], narratives: usize| {
        if !got.problems.is_empty() {
            failures.push(format!("{what}: {}", got.problems.join("; ")));
        }
        if got.narratives != narratives {
            failures.push(format!("{what}: {} narrative containers, the view model has {narratives}", got.narratives));
        }
        if got.rows != rows || got.other != other {
            failures.push(format!("{what}: rows {:?} other {:?}, the view model has {rows:?} {other:?}", got.rows, got.other));
        }
        if got.outline != want.outline {
            let at = got.outline.iter().zip(&want.outline).position(|(a, b)| a != b).unwrap_or(got.outline.len().min(want.outline.len()));
            failures.push(format!(
                "{what}: the tree differs from the chart's own at node {at}: {:?} where the chart has {:?}",
                &got.outline[at.saturating_sub(3)..(at + 3).min(got.outline.len())],
                &want.outline[at.saturating_sub(3)..(at + 3).min(want.outline.len())]
            ));
        }
    };
    let n = narratives(chart);
    compare("to_html", summarise(&parse(&to_html(chart), "div")), own(to_html(&reference), || parse(&to_html(&reference), "div")), &rows, &other, n);
    compare("live chart", summarise(&parse_live(chart)), own(to_html_lazy(&reference), || parse_live(&reference)), &rows, &other, n);
    if let Some(results) = results {
        let got = summarise(&parse(&results_html(chart, "").0, "div"));
        let html = results_html(&reference, "").0;
        let want = own(html.clone(), || parse(&html, "div"));
        let rows: Vec<_> = results[0].1.clone();
        let in_results = chart.section("results").unwrap();
        let n = in_results.groups.iter().map(|g| usize::from(g.report_text.is_some()) + g.rows.iter().filter(|r| r.narrative.is_some()).count()).sum();
        // The filter's markup has no section element: its rows are listed apart.
        compare("results filter", got, want, &[(String::new(), rows)], &[], n);
    }
    failures
}

// ---------------------------------------------------------------------------
// Placements.

/// A record with `payload` as narrative of: the newest and the oldest of
/// twelve problems (a row shown at first, one filled when "older" opens),
/// a result in the newest and in the oldest of twelve reports, those
/// reports' inline HTML and XHTML forms, and a goal (an "Other records" item).
fn narrative_record(payload: &str) -> Value {
    let text = json!({"status": "additional", "div": format!("<div xmlns=\"http://www.w3.org/1999/xhtml\">{payload}</div>")});
    let mut entries = vec![
        json!({"fullUrl": "urn:uuid:p", "resource": {"resourceType": "Patient", "id": "p", "name": [{"given": ["Alex"], "family": "Rivera"}], "birthDate": "1980-05-01"}}),
    ];
    for i in 0..12 {
        let mut condition = json!({"resourceType": "Condition", "id": format!("c{i}"), "subject": {"reference": "Patient/p"},
            "code": {"text": format!("Problem {i}")}, "clinicalStatus": {"coding": [{"code": "active"}]}, "onsetDateTime": format!("20{:02}-01-01", 24 - i)});
        if i == 0 || i == 11 {
            condition["text"] = text.clone();
        }
        entries.push(json!({"fullUrl": format!("urn:uuid:c{i}"), "resource": condition}));
    }
    entries.push(json!({"fullUrl": "urn:uuid:o1", "resource": {"resourceType": "Observation", "id": "o1", "status": "final", "text": text,
        "code": {"text": "Potassium"}, "subject": {"reference": "Patient/p"}, "effectiveDateTime": "2024-01-02",
        "valueQuantity": {"value": 4.1, "unit": "mmol/L"}}}));
    entries.push(json!({"fullUrl": "urn:uuid:o2", "resource": {"resourceType": "Observation", "id": "o2", "status": "final",
        "code": {"text": "Sodium"}, "subject": {"reference": "Patient/p"}, "effectiveDateTime": "2024-01-02",
        "valueQuantity": {"value": 140, "unit": "mmol/L"}}}));
    let form = base64::engine::general_purpose::STANDARD.encode(payload);
    entries.push(json!({"fullUrl": "urn:uuid:r1", "resource": {"resourceType": "DiagnosticReport", "id": "r1", "status": "final",
        "code": {"text": "Basic metabolic panel"}, "subject": {"reference": "Patient/p"}, "effectiveDateTime": "2024-01-02",
        "result": [{"reference": "Observation/o1"}, {"reference": "Observation/o2"}],
        "presentedForm": [{"contentType": "text/html", "data": form}]}}));
    // Ten reports after it, and one more hostile one before them: the older
    // groups are filled into their table when opened.
    for i in 0..10 {
        entries.push(json!({"fullUrl": format!("urn:uuid:r{}", i + 10), "resource": {"resourceType": "DiagnosticReport", "id": format!("r{}", i + 10),
            "status": "final", "code": {"text": format!("Panel {i}")}, "subject": {"reference": "Patient/p"}, "effectiveDateTime": format!("20{:02}-01-01", 23 - i)}}));
    }
    entries.push(json!({"fullUrl": "urn:uuid:o3", "resource": {"resourceType": "Observation", "id": "o3", "status": "final", "text": text,
        "code": {"text": "Glucose"}, "subject": {"reference": "Patient/p"}, "effectiveDateTime": "2010-01-02",
        "valueQuantity": {"value": 5.1, "unit": "mmol/L"}}}));
    entries.push(json!({"fullUrl": "urn:uuid:r2", "resource": {"resourceType": "DiagnosticReport", "id": "r2", "status": "final",
        "code": {"text": "Glucose panel"}, "subject": {"reference": "Patient/p"}, "effectiveDateTime": "2010-01-02",
        "result": [{"reference": "Observation/o3"}], "presentedForm": [{"contentType": "application/xhtml+xml", "data": form}]}}));
    entries.push(json!({"fullUrl": "urn:uuid:g1", "resource": {"resourceType": "Goal", "id": "g1", "lifecycleStatus": "active", "text": text,
        "description": {"text": "Lower blood pressure"}, "subject": {"reference": "Patient/p"}}}));
    json!({"resourceType": "Bundle", "type": "collection", "entry": entries})
}

fn chart_of(bundle: &Value) -> Option<Chart> {
    let record = parse_record(&serde_json::to_vec(bundle).unwrap()).ok()?;
    Some(build_chart(&record, &options()))
}

/// Paths of every string leaf of `v` but the resource types (changing those
/// changes what the resource is, not what it says).
fn string_paths(v: &Value, path: &mut Vec<PathStep>, out: &mut Vec<Vec<PathStep>>) {
    match v {
        Value::String(_) if !matches!(path.last(), Some(PathStep::Key(k)) if k == "resourceType") => out.push(path.clone()),
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                path.push(PathStep::Index(i));
                string_paths(item, path, out);
                path.pop();
            }
        }
        Value::Object(map) => {
            for (k, item) in map {
                path.push(PathStep::Key(k.clone()));
                string_paths(item, path, out);
                path.pop();
            }
        }
        _ => {}
    }
}

#[derive(Clone, Debug)]
enum PathStep {
    Key(String),
    Index(usize),
}

fn at_mut<'a>(v: &'a mut Value, path: &[PathStep]) -> &'a mut Value {
    path.iter().fold(v, |v, step| match step {
        PathStep::Key(k) => &mut v[k.as_str()],
        PathStep::Index(i) => &mut v[*i],
    })
}

// ---------------------------------------------------------------------------
// The tests.

#[test]
fn the_parser_sees_what_the_checks_look_for() {
    // A forged row outside the narrative container is seen, and so is
    // a narrative that swallows the chart's markup after it.
    let chart = chart_of(&narrative_record("<p>fine</p>")).unwrap();
    assert_eq!(narratives(&chart), 7);
    // Older problems fill a tbody, older reports a table, goals a list.
    let lazy = to_html_lazy(&chart);
    assert!(["<tbody data-fill-here>", "<table data-fill-here>", "<ul data-fill-here>"].iter().all(|m| lazy.contains(m)));
    assert_eq!(check(&chart), Vec::<String>::new());
    let mut forged = chart.clone();
    forged.sections.iter_mut().find(|s| s.id == "problems").unwrap().rows[0].narrative = Some("x</td></tr><tr data-entry=\"7\"><th>Forged</th><td>".into());
    let failures = check(&forged);
    assert!(failures.iter().any(|f| f.starts_with("to_html: rows")), "{failures:#?}");
    assert!(failures.iter().any(|f| f.starts_with("to_html: the tree differs")), "{failures:#?}");
    let mut swallowing = chart.clone();
    swallowing.sections.iter_mut().find(|s| s.id == "problems").unwrap().rows[0].narrative = Some("<table><tr><td>open".into());
    let failures = check(&swallowing);
    assert!(failures.iter().any(|f| f.starts_with("to_html: the tree differs")), "{failures:#?}");
    let mut handler = chart.clone();
    handler.other[0].items[0].narrative = Some("<img src=x onerror=alert(1)><a href=\" java\tscript:alert(1)\">x</a>".into());
    let failures = check(&handler).join("\n");
    assert!(failures.contains("element") && failures.contains("onerror") && failures.contains("URL href"), "{failures}");
}

#[test]
fn hostile_narrative_stays_in_its_container() {
    let started = Instant::now();
    let mut placements = 0;
    let mut escapes = Vec::new();
    for (name, payloads) in corpora() {
        let corpus_started = Instant::now();
        for payload in &payloads {
            let chart = chart_of(&narrative_record(payload)).expect("the record parses");
            placements += narratives(&chart);
            for failure in check(&chart) {
                escapes.push(format!("{name}: {payload:?}: {failure}"));
            }
        }
        eprintln!("html_parser: {name}: {} payloads as narrative in 7 places, {:.1} s", payloads.len(), corpus_started.elapsed().as_secs_f64());
    }
    eprintln!("html_parser: {placements} narratives shown, {} escapes, {:.1} s", escapes.len(), started.elapsed().as_secs_f64());
    assert!(escapes.is_empty(), "{} escapes:\n{}", escapes.len(), escapes.iter().take(20).map(|e| &e[..e.len().min(1500)]).collect::<Vec<_>>().join("\n"));
}

#[test]
fn hostile_record_text_stays_text() {
    let sample: Value =
        serde_json::from_str(&std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/examples/data/alex-rivera.json")).unwrap()).unwrap();
    let mut paths = Vec::new();
    string_paths(&sample, &mut Vec::new(), &mut paths);
    assert!(paths.len() > 250, "{} string fields", paths.len());
    let started = Instant::now();
    let (mut placements, mut rendered) = (0, 0);
    let mut escapes = Vec::new();
    for (name, payloads) in corpora() {
        // Every payload in one field, fields in turn, so that each field
        // gets a spread of the corpus and each payload a field.
        for (i, payload) in payloads.iter().enumerate() {
            let path = &paths[(i * 7) % paths.len()];
            let mut record = sample.clone();
            *at_mut(&mut record, path) = Value::String(payload.clone());
            placements += 1;
            let Some(chart) = chart_of(&record) else { continue };
            rendered += 1;
            for failure in check(&chart) {
                escapes.push(format!("{name}: {payload:?} at {path:?}: {failure}"));
            }
        }
    }
    eprintln!(
        "html_parser: {placements} payloads placed one per field over {} string fields ({rendered} records rendered), {} escapes, {:.1} s",
        paths.len(),
        escapes.len(),
        started.elapsed().as_secs_f64()
    );
    assert!(rendered * 10 >= placements * 9, "only {rendered} of {placements} records rendered");
    assert!(escapes.is_empty(), "{} escapes:\n{}", escapes.len(), escapes.iter().take(20).map(|e| &e[..e.len().min(1500)]).collect::<Vec<_>>().join("\n"));
}

/// Narrative nested past the sanitiser's depth limit, with end tags of the
/// dropped elements that match open ones of the narrative or the chart.
fn deep_payloads() -> Vec<String> {
    let divs = |n: usize| ("<div>".repeat(n), "</div>".repeat(n));
    let (open, close) = divs(30);
    vec![
        format!("<table><tr><td>{open}<table><tr><td>deep</td></tr></table>{close}</td><td>after</td></tr></table><p>tail</p>"),
        format!("<table><tbody><tr><td>{}<td>dropped</td><tr>dropped</tr></tbody></table><tr><td>forged</td></tr>", "<span>".repeat(40)),
        format!("{}x</td></tr></tbody></table><table><tr data-entry=\"9\"><td>forged</td></tr></table>", "<b>".repeat(40)),
        format!("{open}{open}<table><tr><td>x</td></tr></table>{close}</div></div></td></tr><tr><td>forged</td></tr>{close}"),
        format!("<ul>{}<li>x</li></ul></li></ul><tr><th>Forged</th></tr>", "<li><ul>".repeat(20)),
    ]
}

#[test]
fn narrative_past_the_depth_limit_stays_in_its_container() {
    for payload in deep_payloads() {
        let chart = chart_of(&narrative_record(&payload)).unwrap();
        assert_eq!(narratives(&chart), 7, "{payload}");
        assert_eq!(check(&chart), Vec::<String>::new(), "{payload}");
    }
}

#[test]
fn a_narrative_of_thousands_of_cells_is_text() {
    // 30,000 cells (300 KB, under the 512 KiB limit): the browser would take
    // seconds to lay out the table; over 2,000 elements it is shown as text.
    let payload = "<td>x</td>".repeat(30_000);
    let wrapped = format!("<div xmlns=\"http://www.w3.org/1999/xhtml\">{payload}</div>");
    let started = Instant::now();
    let html = sanitize_in_cell(&wrapped).unwrap();
    let took = started.elapsed();
    eprintln!("html_parser: 30,000 cells ({} bytes) sanitised in {:.1} ms", wrapped.len(), took.as_secs_f64() * 1000.0);
    assert!(!html.contains('<'), "{}", &html[..100]);
    let chart = chart_of(&narrative_record(&payload)).unwrap();
    assert_eq!(check(&chart), Vec::<String>::new());
    let parsed = parse(&to_html(&chart), "div");
    let mut all = Vec::new();
    descendants(&parsed.root(), &mut all);
    let elements = all.iter().filter(|n| local(n).is_some()).count();
    assert!(elements < 1000, "{elements} elements in the chart");
}
