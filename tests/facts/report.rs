//! Checking a record's facts against its chart, and the table of misses.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

use patient_portal_sdk::fhir::Record;
use patient_portal_sdk::render::{build_chart, to_html, Locale, RenderOptions};

use super::row::{rows, shows, Row};
use super::source::{Ctx, Fact};
use super::table::facts;

pub const LOCALES: [Locale; 2] = [Locale::EnUs, Locale::DeDe];

#[derive(Default)]
pub struct Cell {
    /// Per locale (en-US, de-DE): checked, missed.
    pub checked: [usize; 2],
    pub missed: [usize; 2],
    pub examples: Vec<String>,
}

#[derive(Default)]
pub struct Tally {
    pub cells: BTreeMap<(String, String), Cell>,
    /// Types with no fact defined (only "shown" is checked).
    pub no_fact: BTreeSet<String>,
    pub files: usize,
    pub resources: usize,
}

impl Tally {
    pub fn misses(&self) -> usize {
        self.cells.values().map(|c| c.missed.iter().sum::<usize>()).sum()
    }
    pub fn checked(&self) -> usize {
        self.cells.values().map(|c| c.checked.iter().sum::<usize>()).sum()
    }
    pub fn missed(&self, ty: &str, fact: &str) -> usize {
        self.cells.get(&(ty.to_string(), fact.to_string())).map_or(0, |c| c.missed.iter().sum())
    }
    pub fn checked_of(&self, ty: &str, fact: &str, locale: usize) -> usize {
        self.cells.get(&(ty.to_string(), fact.to_string())).map_or(0, |c| c.checked[locale])
    }
}

fn options(locale: Locale) -> RenderOptions {
    let mut opts = RenderOptions::new(patient_portal_sdk::fhir::Date::from_ymd(2026, 11, 22).unwrap());
    opts.locale = locale;
    opts
}

fn truncate(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        s.to_string()
    } else {
        format!("{}…", s.chars().take(n).collect::<String>())
    }
}

/// Checks every fact of every resource of `record` in both locales.
pub fn check(file: &str, record: &Record, tally: &mut Tally) {
    tally.files += 1;
    tally.resources += record.entries.len();
    let ctx = Ctx { entries: &record.entries };
    for (l, &locale) in LOCALES.iter().enumerate() {
        let html = to_html(&build_chart(record, &options(locale)));
        let rows = rows(&html);
        for (i, entry) in record.entries.iter().enumerate() {
            let row: Option<&Row> = if entry.resource_type == "Patient" { rows.banner.as_ref() } else { rows.by_entry.get(&i) };
            // "shown": the resource has a row at all (the empty text is in any row).
            let mut list = vec![Fact { name: "shown", expect: super::source::Expect::Text(String::new()) }];
            match facts(&ctx, &entry.raw, locale) {
                Some(f) => list.extend(f),
                None => {
                    tally.no_fact.insert(entry.resource_type.clone());
                }
            }
            for fact in &list {
                let ok = row.is_some_and(|row| shows(row, &fact.expect));
                let cell = tally.cells.entry((entry.resource_type.clone(), fact.name.to_string())).or_default();
                cell.checked[l] += 1;
                if !ok {
                    cell.missed[l] += 1;
                    if cell.examples.len() < 3 {
                        let expected = if fact.name == "shown" { "a row".to_string() } else { fact.expect.to_string() };
                        let shown = row.map_or("(not shown)".to_string(), |r| truncate(&r.text, 200));
                        cell.examples.push(format!("{file} #{i} [{}]: expected {} — row: {shown}", locale.tag(), truncate(&expected, 200)));
                    }
                }
            }
        }
    }
}

/// The table as markdown.
pub fn markdown(tally: &Tally, title: &str) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "# {title}\n");
    let _ = writeln!(
        out,
        "{} files, {} resources, {} facts checked (en-US and de-DE), {} missed.\n",
        tally.files,
        tally.resources,
        tally.checked(),
        tally.misses()
    );
    let _ = writeln!(out, "| type | fact | en-US checked | en-US missed | de-DE checked | de-DE missed |");
    let _ = writeln!(out, "|---|---|---:|---:|---:|---:|");
    for ((ty, fact), c) in &tally.cells {
        let _ = writeln!(out, "| {ty} | {fact} | {} | {} | {} | {} |", c.checked[0], c.missed[0], c.checked[1], c.missed[1]);
    }
    let _ = writeln!(out, "\n## Example misses\n");
    for ((ty, fact), c) in tally.cells.iter().filter(|(_, c)| !c.examples.is_empty()) {
        let _ = writeln!(out, "### {ty} · {fact}\n");
        for e in &c.examples {
            let _ = writeln!(out, "- {}", e.replace('|', "\\|"));
        }
        let _ = writeln!(out);
    }
    if !tally.no_fact.is_empty() {
        let _ = writeln!(out, "## No fact defined (only \"shown\" checked)\n\n{}", tally.no_fact.iter().cloned().collect::<Vec<_>>().join(", "));
    }
    out
}
