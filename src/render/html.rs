//! The view model as one HTML string. Record text is always escaped (FHIR
//! narrative is re-serialised by [`super::narrative`]); the only unescaped
//! text is this file's own static markup and the SDK's translated labels.

use crate::util::lowercase;
use std::fmt::Write as _;

use super::i18n::{Locale, T};
use super::trend::{trend_svg, TrendChart};
use super::view::{Banner, Cell, Chart, Group, OtherGroup, Row, Section, SourceSummary, Trend};
use super::STYLESHEET;

/// Escapes text for HTML element content and double- or single-quoted
/// attribute values; control characters other than tab, newline and
/// carriage return become U+FFFD.
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
            // Control characters other than tab and line ends have no place in a chart.
            c if c.is_control() && !matches!(c, '\t' | '\n' | '\r') => out.push('\u{FFFD}'),
            c => out.push(c),
        }
    }
}

/// Prefix of every id in the chart (ids must not collide with the page's
/// when a host places `toHtml()` output in its own document).
const ID: &str = "ppsdk-";

struct Html {
    out: String,
    locale: Locale,
    /// Rendered into a live shadow root by the SDK: disclosures are filled
    /// when opened, sections collapse, results can be filtered.
    live: bool,
}

impl Html {
    fn raw(&mut self, markup: &str) -> &mut Self {
        self.out.push_str(markup);
        self
    }
    fn text(&mut self, text: &str) -> &mut Self {
        escape_into(&mut self.out, text);
        self
    }
    fn t(&mut self, key: T) -> &mut Self {
        let text = self.locale.t(key);
        self.text(text)
    }
    /// Text, or a dash that screen readers announce as "not recorded".
    fn text_or_dash(&mut self, text: &str) -> &mut Self {
        if text.trim().is_empty() {
            self.raw("<span aria-hidden=\"true\">—</span><span class=\"sr\">").t(T::NotRecorded).raw("</span>")
        } else {
            self.text(text)
        }
    }
}

/// The class of the element [`to_html`] wraps the chart in: the scope root
/// of its stylesheet.
pub const SCOPE_CLASS: &str = "ppsdk-root";

/// The chart's stylesheet for markup outside a shadow root: every rule
/// scoped (CSS `@scope`) to the [`SCOPE_CLASS`] element, so that it styles
/// the chart and nothing of the page around it.
pub fn scoped_stylesheet() -> String {
    format!("@scope (.{SCOPE_CLASS}) {{\n{}}}\n", STYLESHEET.replace(":host", ":scope"))
}

/// Renders the chart as one HTML fragment that works without script (every
/// row and list is present) and is safe to place anywhere in a page: a
/// `<div class="ppsdk-root">` holding the chart and its stylesheet, scoped
/// to that element (see [`scoped_stylesheet`]); inline styles need the
/// page's CSP to allow them (`style-src` with a hash, or `'unsafe-inline'`).
pub fn to_html(chart: &Chart) -> String {
    to_html_styled(chart, true)
}

/// [`to_html`] without its `<style>` element, for pages that link the
/// scoped stylesheet (`chart.css` of the npm package) instead.
pub fn to_html_styled(chart: &Chart, inline_style: bool) -> String {
    let mut out = String::with_capacity(chart.shown() * 200 + 16384);
    let _ = write!(out, "<div class=\"{SCOPE_CLASS}\">");
    if inline_style {
        out.push_str("<style>");
        out.push_str(&scoped_stylesheet());
        out.push_str("</style>");
    }
    out.push_str(&to_html_with(chart, false));
    out.push_str("</div>");
    out
}

/// The chart for the SDK's live rendering into a shadow root (the
/// stylesheet, [`STYLESHEET`], is adopted by the shadow root apart from
/// the markup): the older rows of long sections, the closed trends and the
/// lists of "Other records" are left empty (their disclosures carry
/// `data-fill`) and filled by [`fill_html`] when opened; sections have
/// collapse buttons and results a filter.
pub fn to_html_lazy(chart: &Chart) -> String {
    to_html_with(chart, true)
}

/// The markup that fills the disclosure whose `data-fill` is `key`:
/// `s<i>` the older rows of section `i`, `o<i>` the items of other group
/// `i`, `t<i>` trend `i`.
pub fn fill_html(chart: &Chart, key: &str) -> Option<String> {
    let (kind, index) = key.split_at_checked(1)?;
    let index: usize = index.parse().ok()?;
    let mut h = Html { out: String::new(), locale: chart.locale, live: true };
    match kind {
        "s" => {
            let section = chart.sections.get(index)?;
            if section.groups.is_empty() {
                rows_html(&mut h, section, section.rows.get(SECTION_ROWS..)?);
            } else {
                groups_html(&mut h, section, section.groups.get(recent_groups(&section.groups)..)?);
            }
        }
        "o" => items_html(&mut h, &chart.other.get(index)?.items),
        "t" => trend_body(&mut h, chart.trends.get(index)?),
        _ => return None,
    }
    Some(h.out)
}

/// The results whose test (or report) name contains `filter`, all of them,
/// as the markup of the results list; and how many results match.
pub fn results_html(chart: &Chart, filter: &str) -> (String, usize) {
    let mut h = Html { out: String::new(), locale: chart.locale, live: true };
    let Some(section) = chart.sections.iter().find(|s| s.id == "results") else {
        return (String::new(), 0);
    };
    let filter = lowercase(filter.trim());
    let groups: Vec<Group> = section
        .groups
        .iter()
        .filter(|g| g.matches(&filter))
        .map(|g| {
            let mut g = g.clone();
            if !lowercase(&g.title).contains(&filter) {
                g.rows.retain(|r| r.cells.first().is_some_and(|c| lowercase(&c.text).contains(&filter)));
            }
            g
        })
        .collect();
    let count = groups.iter().map(|g| g.rows.len()).sum();
    if !groups.is_empty() {
        let caption = h.locale.t_with(T::NewestFirst, section.title);
        table_html(&mut h, section, &caption, &format!("{ID}results-h"), |h| groups_html(h, section, &groups));
    }
    (h.out, count)
}

/// The "N results match" line for a filter.
pub fn filter_status(chart: &Chart, count: usize) -> String {
    match count {
        0 => chart.locale.t(T::FilterNone).to_string(),
        1 => chart.locale.t(T::FilterOne).to_string(),
        n => chart.locale.t_with(T::FilterMany, &chart.locale.integer(n)),
    }
}

fn to_html_with(chart: &Chart, live: bool) -> String {
    let mut h = Html { out: String::with_capacity(8192 + if live { SECTION_ROWS * 10 * 200 } else { chart.shown() * 200 }), locale: chart.locale, live };
    let _ = write!(h.out, "<article class=\"chart\" lang=\"{}\" data-theme=\"{}\" aria-label=\"", chart.locale.tag(), chart.theme.name());
    h.t(T::HealthRecord).raw("\">");
    if let Some(source) = &chart.source {
        render_source(&mut h, source);
    }
    if let Some(notice) = chart.withheld {
        let text = match notice.count {
            Some(1) => h.locale.t(T::WithheldOne).to_string(),
            Some(n) => h.locale.t_with(T::WithheldMany, &h.locale.integer(n)),
            None => h.locale.t(T::WithheldSome).to_string(),
        };
        h.raw("<p class=\"withheld\" role=\"note\">").text(&text).raw("</p>");
    }
    if chart.banners.is_empty() {
        h.raw("<header class=\"banner\"><h2>").t(T::HealthRecord).raw("</h2><p>").t(T::NoPatient).raw("</p></header>");
    }
    for banner in &chart.banners {
        render_banner(&mut h, banner);
    }
    h.raw("<nav class=\"toc\" aria-label=\"").t(T::SectionsNav).raw("\"><ul>");
    for s in chart.sections.iter().filter(|s| !s.is_empty()) {
        toc_item(&mut h, s.id, s.title, s.len());
        if s.id == "results" && !chart.trends.is_empty() {
            toc_item(&mut h, "trends", chart.locale.t(T::Trends), chart.trends.len());
        }
    }
    if !chart.other.is_empty() {
        let n = chart.other.iter().map(|g| g.items.len()).sum();
        toc_item(&mut h, "other", chart.locale.t(T::OtherRecords), n);
    }
    h.raw("</ul></nav>");
    let zone = match &chart.time_zone {
        Some(name) => h.locale.t_with(T::TimesIn, name),
        None => h.locale.t(T::TimesAsRecorded).to_string(),
    };
    h.raw("<p class=\"zone\">").text(&zone).raw("</p>");
    for (i, section) in chart.sections.iter().enumerate() {
        render_section(&mut h, section, i);
        if section.id == "results" {
            render_trends(&mut h, &chart.trends);
        }
    }
    render_other(&mut h, &chart.other);
    h.raw("</article>");
    h.out
}

fn toc_item(h: &mut Html, id: &str, title: &str, count: usize) {
    let _ = write!(h.out, "<li><a href=\"#{ID}{id}\">");
    h.text(title);
    let _ = write!(h.out, " <span class=\"count\">({})</span></a></li>", h.locale.integer(count));
}

fn render_source(h: &mut Html, source: &SourceSummary) {
    h.raw("<aside class=\"source\" aria-label=\"").t(T::SourceAria).raw("\">");
    if let Some(label) = source.label.as_deref().filter(|l| !l.trim().is_empty()) {
        h.raw("<p class=\"source-label\">").t(T::SharedLink).raw(" <q>").text(label).raw("</q></p>");
    }
    if !source.notes.is_empty() {
        h.raw("<ul>");
        for note in &source.notes {
            let _ = write!(h.out, "<li class=\"trust trust-{}\">", note.trust.class());
            let text = note.text(h.locale);
            h.text(&text).raw("</li>");
        }
        h.raw("</ul>");
    }
    h.raw("</aside>");
}

fn render_banner(h: &mut Html, b: &Banner) {
    h.raw("<header class=\"banner\"><h2 class=\"patient-name\">").text(&b.name).raw("</h2><dl>");
    let age = b.age.map(|a| format!(" ({})", h.locale.t_with(T::Age, &a.to_string())));
    if let Some(birth) = &b.birth_date {
        h.raw("<div><dt>").t(T::Born).raw("</dt><dd>").text(birth);
        if b.deceased.is_none() {
            h.text(age.as_deref().unwrap_or_default());
        }
        h.raw("</dd></div>");
    }
    if let Some(died) = &b.deceased {
        h.raw("<div><dt>").t(T::Died).raw("</dt><dd>").text(died).text(age.as_deref().unwrap_or_default()).raw("</dd></div>");
    }
    if let Some(sex) = &b.sex {
        h.raw("<div><dt>").t(T::Sex).raw("</dt><dd>").text(sex).raw("</dd></div>");
    }
    for (label, value) in &b.identifiers {
        // Identifiers read left to right even on a right-to-left page.
        h.raw("<div><dt>").text(label).raw("</dt><dd><span class=\"ltr\">").text(value).raw("</span></dd></div>");
    }
    h.raw("</dl></header>");
}

/// A file: a download of inline data, or a web address opening in a new tab.
fn link_html(h: &mut Html, link: &crate::render::Link) {
    h.raw("<a class=\"file\" href=\"").text(&link.href).raw("\"");
    match &link.download {
        Some(name) => {
            h.raw(" download=\"").text(name).raw("\">").text(&link.label);
        }
        None => {
            h.raw(" target=\"_blank\" rel=\"noopener noreferrer\">").text(&link.label).raw("<span class=\"sr\"> ").t(T::NewTab).raw("</span>");
        }
    }
    h.raw("</a>");
}

/// The marker of a negated statement ("Do not give", "Not done"), read
/// first by screen readers as part of the row's name.
fn negation_html(h: &mut Html, negation: Option<crate::render::Negation>) {
    if let Some(n) = negation {
        let locale = h.locale;
        h.raw("<strong class=\"negation\">").text(n.label(locale)).raw("</strong> ");
    }
}

fn render_cell(h: &mut Html, cell: &Cell, column: &str) {
    h.raw("<td data-label=\"").text(column).raw("\">");
    if let Some(flag) = &cell.flag {
        let locale = h.locale;
        h.raw("<span class=\"flag flag-").raw(flag.class()).raw("\">").text(flag.label(locale)).raw("</span>");
    } else if !cell.links.is_empty() {
        for link in &cell.links {
            link_html(h, link);
            h.raw(" ");
        }
        h.text(&cell.text);
    } else {
        h.text_or_dash(&cell.text);
    }
    h.raw("</td>");
}

/// Rows shown at first in each section (newest first); older ones are in a
/// closed `<details>` below the table. The browser parses them but does not
/// lay them out until the viewer opens it, so a record of thousands of
/// entries appears as fast as a small one, and nothing is left out.
pub const SECTION_ROWS: usize = 10;

/// How many groups of results are shown at first: whole groups, until
/// about [`SECTION_ROWS`] results are shown.
fn recent_groups(groups: &[Group]) -> usize {
    let mut rows = 0;
    for (i, g) in groups.iter().enumerate() {
        if rows >= SECTION_ROWS {
            return i;
        }
        rows += g.rows.len().max(1);
    }
    groups.len()
}

fn table_html(h: &mut Html, s: &Section, caption: &str, labelled_by: &str, body: impl FnOnce(&mut Html)) {
    table_html_with(h, s, caption, labelled_by, "", body)
}

/// `table_attributes` marks the table the live chart fills later.
fn table_html_with(h: &mut Html, s: &Section, caption: &str, labelled_by: &str, table_attributes: &str, body: impl FnOnce(&mut Html)) {
    let _ =
        write!(h.out, "<div class=\"scroll\" role=\"region\" tabindex=\"0\" aria-labelledby=\"{labelled_by}\"><table{table_attributes}><caption class=\"sr\">");
    h.text(caption).raw("</caption><thead><tr>");
    for c in &s.columns {
        h.raw("<th scope=\"col\">").text(c).raw("</th>");
    }
    h.raw("</tr></thead>");
    body(h);
    h.raw("</table></div>");
}

fn row_html(h: &mut Html, s: &Section, row: &Row) {
    let _ = write!(h.out, "<tr data-entry=\"{}\">", row.entry);
    for (i, cell) in row.cells.iter().enumerate() {
        if i == 0 {
            h.raw("<th scope=\"row\">");
            negation_html(h, row.negation);
            h.text_or_dash(&cell.text).raw("</th>");
        } else {
            render_cell(h, cell, s.columns.get(i).copied().unwrap_or_default());
        }
    }
    h.raw("</tr>");
    if let Some(narrative) = &row.narrative {
        let _ = write!(h.out, "<tr class=\"narrative-row\"><td colspan=\"{}\"><details><summary>", s.columns.len());
        h.t(T::Narrative).raw("</summary><div class=\"narrative\">").raw(narrative).raw("</div></details></td></tr>");
    }
}

fn rows_html(h: &mut Html, s: &Section, rows: &[Row]) {
    for row in rows {
        row_html(h, s, row);
    }
}

fn groups_html(h: &mut Html, s: &Section, groups: &[Group]) {
    for g in groups {
        h.raw("<tbody>");
        if g.is_resource || !g.title.is_empty() {
            match g.entry {
                Some(entry) => {
                    let _ = write!(h.out, "<tr class=\"group\" data-entry=\"{entry}\">");
                }
                None => {
                    h.raw("<tr class=\"group\">");
                }
            }
            let _ = write!(h.out, "<th scope=\"rowgroup\" colspan=\"{}\">", s.columns.len());
            negation_html(h, g.negation);
            h.raw("<span class=\"group-title\">").text_or_dash(&g.title).raw("</span>");
            if !g.detail.is_empty() {
                h.raw(" <span class=\"detail\">").text(&g.detail).raw("</span>");
            }
            for link in &g.links {
                h.raw(" ");
                link_html(h, link);
            }
            if let Some(text) = &g.report_text {
                h.raw("<details class=\"report-text\"><summary>").t(T::ReportText).raw("</summary><div class=\"narrative\">").raw(text).raw("</div></details>");
            }
            h.raw("</th></tr>");
        }
        rows_html(h, s, &g.rows);
        h.raw("</tbody>");
    }
}

fn section_heading(h: &mut Html, id: &str, title: &str, count: usize) {
    let _ = write!(h.out, "<h2 id=\"{ID}{id}-h\" tabindex=\"-1\">");
    if h.live {
        let _ = write!(h.out, "<button type=\"button\" class=\"toggle\" aria-expanded=\"true\" aria-controls=\"{ID}{id}-body\">");
    }
    h.text(title);
    let _ = write!(h.out, " <span class=\"count\">({})</span>", h.locale.integer(count));
    if h.live {
        h.raw("</button>");
    }
    h.raw("</h2>");
}

fn render_section(h: &mut Html, s: &Section, index: usize) {
    if s.is_empty() {
        return;
    }
    let id = s.id;
    let _ = write!(h.out, "<section id=\"{ID}{id}\" aria-labelledby=\"{ID}{id}-h\">");
    section_heading(h, id, s.title, s.len());
    let _ = write!(h.out, "<div class=\"body\" id=\"{ID}{id}-body\">");
    status_summary(h, s);
    let grouped = !s.groups.is_empty();
    if grouped && h.live {
        let _ = write!(h.out, "<div class=\"filter\"><label for=\"{ID}results-filter\">");
        h.t(T::FilterLabel);
        let _ = write!(h.out, "</label><input id=\"{ID}results-filter\" type=\"search\" autocomplete=\"off\" spellcheck=\"false\"><p class=\"filter-status\" role=\"status\"></p></div><div class=\"results-list\">");
    }
    let split = if grouped { recent_groups(&s.groups) } else { s.rows.len().min(SECTION_ROWS) };
    let (shown_groups, older_groups) = s.groups.split_at(split.min(s.groups.len()));
    let (recent_rows, older_rows) = s.rows.split_at(split.min(s.rows.len()));
    let total = if grouped { s.groups.len() } else { s.rows.len() };
    let caption = h.locale.t_with(T::NewestFirst, s.title);
    let heading = format!("{ID}{id}-h");
    table_html(h, s, &caption, &heading, |h| {
        if grouped {
            groups_html(h, s, shown_groups)
        } else {
            h.raw("<tbody>");
            rows_html(h, s, recent_rows);
            h.raw("</tbody>");
        }
    });
    if split < total {
        let older = if grouped { older_groups.iter().map(|g| g.rows.len() + usize::from(g.is_resource)).sum() } else { total - split };
        if h.live {
            let _ = write!(h.out, "<details class=\"older\" data-fill=\"s{index}\">");
        } else {
            h.raw("<details class=\"older\">");
        }
        let _ = write!(h.out, "<summary id=\"{ID}{id}-older\">");
        let show = h.locale.t_with(T::ShowOlder, &h.locale.integer(older));
        h.text(&show).raw("</summary>");
        let caption = h.locale.t_with(T::OlderNewestFirst, s.title);
        let live = h.live;
        let marker = if live && grouped { " data-fill-here" } else { "" };
        table_html_with(h, s, &caption, &format!("{ID}{id}-older"), marker, |h| {
            if grouped {
                if !live {
                    groups_html(h, s, older_groups);
                }
            } else {
                h.raw(if live { "<tbody data-fill-here>" } else { "<tbody>" });
                if !live {
                    rows_html(h, s, older_rows);
                }
                h.raw("</tbody>");
            }
        });
        h.raw("</details>");
    }
    if grouped && h.live {
        h.raw("</div>");
    }
    h.raw("</div></section>");
}

/// "Active 2 · Stopped 70": how many rows have each status, most first, for
/// sections with a status column and more than one row.
fn status_summary(h: &mut Html, s: &Section) {
    let status = h.locale.t(T::Status);
    let Some(column) = s.columns.iter().position(|c| *c == status) else {
        return;
    };
    if s.rows.len() < 2 {
        return;
    }
    let mut counts: Vec<(&str, usize)> = Vec::new();
    for row in &s.rows {
        let text = row.cells.get(column).map(|c| c.text.trim()).unwrap_or_default();
        let text = if text.is_empty() { h.locale.t(T::NotRecorded) } else { text };
        match counts.iter_mut().find(|(t, _)| *t == text) {
            Some((_, n)) => *n += 1,
            None => counts.push((text, 1)),
        }
    }
    crate::util::sort_by(&mut counts, |a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
    h.raw("<p class=\"summary\">");
    for (i, (text, n)) in counts.iter().enumerate() {
        if i > 0 {
            h.raw(" · ");
        }
        h.text(text);
        let _ = write!(h.out, " <strong>{}</strong>", h.locale.integer(*n));
    }
    h.raw("</p>");
}

/// Trends open at first; the others are filled when opened.
const OPEN_TRENDS: usize = 2;

fn render_trends(h: &mut Html, trends: &[Trend]) {
    if trends.is_empty() {
        return;
    }
    let _ = write!(h.out, "<section id=\"{ID}trends\" aria-labelledby=\"{ID}trends-h\">");
    section_heading(h, "trends", h.locale.t(T::Trends), trends.len());
    let _ = write!(h.out, "<div class=\"body\" id=\"{ID}trends-body\">");
    for (i, trend) in trends.iter().enumerate() {
        let open = i < OPEN_TRENDS;
        match (open, h.live) {
            (true, _) => h.raw("<details class=\"trend\" open>"),
            (false, true) => h.raw(&format!("<details class=\"trend\" data-fill=\"t{i}\">")),
            (false, false) => h.raw("<details class=\"trend\">"),
        };
        let latest = trend.rows.first().map(|r| format!("{} ({})", r.value, r.date)).unwrap_or_default();
        h.raw("<summary><span class=\"trend-title\">").text(&trend.title).raw("</span> <span class=\"detail\">");
        let count = h.locale.t_with(T::ResultMany, &h.locale.integer(trend.rows.len()));
        let latest = h.locale.t_with(T::Latest, &latest);
        h.text(&count).raw(" · ").text(&latest).raw("</span></summary>");
        h.raw(if open || !h.live { "<div class=\"trend-body\">" } else { "<div class=\"trend-body\" data-fill-here>" });
        if open || !h.live {
            trend_body(h, trend);
        }
        h.raw("</div></details>");
    }
    h.raw("</div></section>");
}

/// One trend's chart and its data table.
fn trend_body(h: &mut Html, trend: &Trend) {
    let locale = h.locale;
    let fmt_value = |v: f64| {
        let text = crate::numtext::fixed(v, if v.abs() >= 100.0 || v.fract() == 0.0 { 0 } else { 1 });
        if locale == Locale::EnUs {
            text
        } else {
            text.replace('.', ",")
        }
    };
    let dates: Vec<(i64, &str)> = trend.rows.iter().map(|r| (r.point.at, r.date.as_str())).collect();
    let fmt_time = |t: i64| {
        let date = dates.iter().find(|(at, _)| *at == t).map(|(_, d)| *d).unwrap_or_default();
        // The day only (the table has the times).
        date.rsplit_once(", ").filter(|(_, time)| time.contains(':')).map_or(date, |(day, _)| day).to_string()
    };
    let points: Vec<_> = trend.rows.iter().map(|r| r.point.clone()).collect();
    let label = locale.t_with(T::TrendLabel, &format!("{} ({})", trend.title, trend.unit));
    let svg = trend_svg(&TrendChart { points: &points, band: trend.band, format_value: &fmt_value, format_time: &fmt_time, label: &label });
    h.raw("<figure>").raw(&svg);
    if !trend.band_text.is_empty() {
        h.raw("<figcaption>").text(&locale.t_with(T::BandLegend, &trend.band_text)).raw("</figcaption>");
    }
    h.raw("</figure><div class=\"scroll\"><table class=\"trend-table\"><caption>")
        .text(&locale.t_with(T::TrendTable, &trend.title))
        .raw("</caption><thead><tr>");
    for c in [T::Date, T::Result, T::Flag] {
        h.raw("<th scope=\"col\">").t(c).raw("</th>");
    }
    h.raw("</tr></thead><tbody>");
    for r in &trend.rows {
        h.raw("<tr><th scope=\"row\">").text(&r.date).raw("</th>");
        render_cell(h, &Cell { text: r.value.clone(), ..Cell::default() }, locale.t(T::Result));
        let flag = Cell { text: r.flag.as_ref().map(|f| f.label(locale).to_string()).unwrap_or_default(), flag: r.flag.clone(), links: Vec::new() };
        render_cell(h, &flag, locale.t(T::Flag));
        h.raw("</tr>");
    }
    h.raw("</tbody></table></div>");
}

fn items_html(h: &mut Html, items: &[crate::render::OtherItem]) {
    for item in items {
        let _ = write!(h.out, "<li data-entry=\"{}\">", item.entry);
        negation_html(h, item.negation);
        h.text_or_dash(&item.description);
        if let Some(date) = &item.date {
            h.raw(" <span class=\"date\">").text(date).raw("</span>");
        }
        if let Some(note) = item.note {
            h.raw(" <strong class=\"note\">").text(note).raw("</strong>");
        }
        if let Some(narrative) = &item.narrative {
            h.raw("<details><summary>").t(T::Narrative).raw("</summary><div class=\"narrative\">").raw(narrative).raw("</div></details>");
        }
        h.raw("</li>");
    }
}

fn render_other(h: &mut Html, groups: &[OtherGroup]) {
    if groups.is_empty() {
        return;
    }
    let _ = write!(h.out, "<section id=\"{ID}other\" aria-labelledby=\"{ID}other-h\">");
    let n = groups.iter().map(|g| g.items.len()).sum();
    section_heading(h, "other", h.locale.t(T::OtherRecords), n);
    let _ = write!(h.out, "<div class=\"body\" id=\"{ID}other-body\"><p class=\"hint\">");
    h.t(T::OtherHint).raw("</p>");
    for (i, g) in groups.iter().enumerate() {
        if h.live {
            let _ = write!(h.out, "<details data-fill=\"o{i}\"><summary>");
        } else {
            h.raw("<details><summary>");
        }
        h.text(&g.resource_type);
        let _ =
            write!(h.out, " <span class=\"count\">({})</span></summary><ul{}>", h.locale.integer(g.items.len()), if h.live { " data-fill-here" } else { "" });
        if !h.live {
            items_html(h, &g.items);
        }
        h.raw("</ul></details>");
    }
    h.raw("</div></section>");
}
