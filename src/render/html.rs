//! The view model as one HTML string. Record text is always escaped; the
//! only unescaped text is this file's own static markup.

use std::fmt::Write as _;

use super::view::{Banner, Cell, Chart, OtherGroup, Section, SourceSummary};
use super::STYLESHEET;

/// Escapes text for HTML element content and double- or single-quoted
/// attribute values.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    escape_into(&mut out, text);
    out
}

fn escape_into(out: &mut String, text: &str) {
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            // Control characters other than tab/newline have no place in a chart.
            c if c.is_control() && c != '\t' && c != '\n' => out.push('\u{FFFD}'),
            c => out.push(c),
        }
    }
}

struct Html(String);

impl Html {
    fn raw(&mut self, markup: &str) -> &mut Self {
        self.0.push_str(markup);
        self
    }
    fn text(&mut self, text: &str) -> &mut Self {
        escape_into(&mut self.0, text);
        self
    }
    /// Text, or a dash that screen readers announce as "not recorded".
    fn text_or_dash(&mut self, text: &str) -> &mut Self {
        if text.trim().is_empty() {
            self.raw("<span aria-hidden=\"true\">—</span><span class=\"sr\">Not recorded</span>")
        } else {
            self.text(text)
        }
    }
}

/// Renders the chart, its stylesheet included, as one HTML fragment.
pub fn to_html(chart: &Chart) -> String {
    to_html_with(chart, false)
}

/// The chart with the older rows of long sections and the lists of "Other
/// records" left empty (their disclosures carry `data-fill`): a host that
/// fills them when opened ([`fill_html`]) commits far less markup at first.
pub fn to_html_lazy(chart: &Chart) -> String {
    to_html_with(chart, true)
}

/// The markup that fills the disclosure whose `data-fill` is `key`:
/// `s<i>` the older rows of section `i`, `o<i>` the items of other group `i`.
pub fn fill_html(chart: &Chart, key: &str) -> Option<String> {
    let (kind, index) = key.split_at(1);
    let index: usize = index.parse().ok()?;
    let mut h = Html(String::new());
    match kind {
        "s" => {
            let section = chart.sections.get(index)?;
            rows_html(&mut h, section.rows.get(SECTION_ROWS..)?);
        }
        "o" => items_html(&mut h, &chart.other.get(index)?.items),
        _ => return None,
    }
    Some(h.0)
}

fn to_html_with(chart: &Chart, lazy: bool) -> String {
    let mut h = Html(String::with_capacity(4096 + if lazy { SECTION_ROWS * 8 * 200 } else { chart.shown() * 200 }));
    h.raw("<style>").raw(STYLESHEET).raw("</style>");
    h.raw("<article class=\"chart\" aria-label=\"Health record\">");
    if let Some(source) = &chart.source {
        render_source(&mut h, source);
    }
    if let Some(notice) = chart.withheld {
        let text = match notice.count {
            Some(1) => "1 item in this record is not shown to you.".to_string(),
            Some(n) => format!("{n} items in this record are not shown to you."),
            None => "Some items in this record are not shown to you.".to_string(),
        };
        h.raw("<p class=\"withheld\" role=\"note\">").text(&text).raw("</p>");
    }
    if chart.banners.is_empty() {
        h.raw("<header class=\"banner\"><h2>Health record</h2><p>This record does not name a patient.</p></header>");
    }
    for banner in &chart.banners {
        render_banner(&mut h, banner);
    }
    h.raw("<nav class=\"toc\" aria-label=\"Sections\"><ul>");
    for s in chart.sections.iter().filter(|s| !s.rows.is_empty()) {
        let _ = write!(h.0, "<li><a href=\"#{}\">{} <span class=\"count\">({})</span></a></li>", s.id, s.title, s.rows.len());
    }
    if !chart.other.is_empty() {
        h.raw("<li><a href=\"#other\">Other records</a></li>");
    }
    h.raw("</ul></nav>");
    for (i, section) in chart.sections.iter().enumerate() {
        render_section(&mut h, section, lazy.then_some(i));
    }
    render_other(&mut h, &chart.other, lazy);
    h.raw("</article>");
    h.0
}

fn render_source(h: &mut Html, source: &SourceSummary) {
    h.raw("<aside class=\"source\" aria-label=\"Where this record comes from\">");
    if let Some(label) = source.label.as_deref().filter(|l| !l.trim().is_empty()) {
        h.raw("<p class=\"source-label\">Shared link: <q>").text(label).raw("</q></p>");
    }
    if !source.notes.is_empty() {
        h.raw("<ul>");
        for note in &source.notes {
            let _ = write!(h.0, "<li class=\"trust trust-{}\">", note.trust.class());
            h.text(&note.text).raw("</li>");
        }
        h.raw("</ul>");
    }
    h.raw("</aside>");
}

fn render_banner(h: &mut Html, b: &Banner) {
    h.raw("<header class=\"banner\"><h2 class=\"patient-name\">").text(&b.name).raw("</h2><dl>");
    if let Some(birth) = &b.birth_date {
        h.raw("<div><dt>Born</dt><dd>").text(birth);
        if let (Some(age), None) = (b.age, &b.deceased) {
            let _ = write!(h.0, " (age {age})");
        }
        h.raw("</dd></div>");
    }
    if let Some(died) = &b.deceased {
        h.raw("<div><dt>Died</dt><dd>").text(died);
        if let Some(age) = b.age {
            let _ = write!(h.0, " (age {age})");
        }
        h.raw("</dd></div>");
    }
    if let Some(sex) = &b.sex {
        h.raw("<div><dt>Sex</dt><dd>").text(sex).raw("</dd></div>");
    }
    for (label, value) in &b.identifiers {
        h.raw("<div><dt>").text(label).raw("</dt><dd>").text(value).raw("</dd></div>");
    }
    h.raw("</dl></header>");
}

fn render_cell(h: &mut Html, cell: &Cell) {
    match &cell.flag {
        Some(flag) => {
            h.raw("<td><span class=\"flag flag-").raw(flag.class()).raw("\">").text(flag.label()).raw("</span></td>");
        }
        None => {
            h.raw("<td>").text_or_dash(&cell.text).raw("</td>");
        }
    }
}

/// Rows shown at first in each section (newest first); older ones are in a
/// closed `<details>` below the table. The browser parses them but does not
/// lay them out until the viewer opens it, so a record of thousands of
/// entries appears as fast as a small one, and nothing is left out.
pub const SECTION_ROWS: usize = 10;

fn render_table(h: &mut Html, s: &Section, rows: &[crate::render::Row], caption: &str, labelled_by: &str) {
    let _ = write!(h.0, "<div class=\"scroll\" role=\"region\" tabindex=\"0\" aria-labelledby=\"{labelled_by}\"><table><caption class=\"sr\">{caption}</caption><thead><tr>");
    for c in s.columns {
        let _ = write!(h.0, "<th scope=\"col\">{c}</th>");
    }
    h.raw("</tr></thead><tbody>");
    rows_html(h, rows);
    h.raw("</tbody></table></div>");
}

fn rows_html(h: &mut Html, rows: &[crate::render::Row]) {
    for row in rows {
        h.raw("<tr>");
        for (i, cell) in row.cells.iter().enumerate() {
            if i == 0 {
                h.raw("<th scope=\"row\">").text_or_dash(&cell.text).raw("</th>");
            } else {
                render_cell(h, cell);
            }
        }
        h.raw("</tr>");
    }
}

fn render_section(h: &mut Html, s: &Section, lazy: Option<usize>) {
    if s.rows.is_empty() {
        return;
    }
    let _ = write!(h.0, "<section id=\"{}\" aria-labelledby=\"{}-h\"><h2 id=\"{}-h\">{}</h2>", s.id, s.id, s.id, s.title);
    let (recent, older) = s.rows.split_at(s.rows.len().min(SECTION_ROWS));
    render_table(h, s, recent, &format!("{}, newest first", s.title), &format!("{}-h", s.id));
    if !older.is_empty() {
        match lazy {
            Some(i) => {
                let _ = write!(h.0, "<details class=\"older\" data-fill=\"s{i}\">");
            }
            None => {
                h.raw("<details class=\"older\">");
            }
        }
        let _ = write!(h.0, "<summary id=\"{}-older\">Show {} older</summary>", s.id, older.len());
        render_table(h, s, if lazy.is_some() { &[] } else { older }, &format!("{}, older, newest first", s.title), &format!("{}-older", s.id));
        h.raw("</details>");
    }
    h.raw("</section>");
}

fn items_html(h: &mut Html, items: &[crate::render::OtherItem]) {
    for item in items {
        h.raw("<li>").text_or_dash(&item.description);
        if let Some(date) = &item.date {
            h.raw(" <span class=\"date\">").text(date).raw("</span>");
        }
        if let Some(note) = item.note {
            h.raw(" <strong class=\"note\">").text(note).raw("</strong>");
        }
        h.raw("</li>");
    }
}

fn render_other(h: &mut Html, groups: &[OtherGroup], lazy: bool) {
    if groups.is_empty() {
        return;
    }
    h.raw("<section id=\"other\" aria-labelledby=\"other-h\"><h2 id=\"other-h\">Other records</h2>");
    h.raw("<p class=\"hint\">Records this chart has no section for, listed so that nothing is left out.</p>");
    for (i, g) in groups.iter().enumerate() {
        if lazy {
            let _ = write!(h.0, "<details data-fill=\"o{i}\"><summary>");
        } else {
            h.raw("<details><summary>");
        }
        h.text(&g.resource_type);
        let _ = write!(h.0, " <span class=\"count\">({})</span></summary><ul>", g.items.len());
        if !lazy {
            items_html(h, &g.items);
        }
        h.raw("</ul></details>");
    }
    h.raw("</section>");
}
