//! Each resource's own row in the chart HTML, and whether it shows a fact.

use std::collections::HashMap;

use super::source::Expect;

/// One resource's row: its markup (without the source's narrative) and its
/// visible text, normalised for comparison.
#[derive(Debug, Default, Clone)]
pub struct Row {
    pub markup: String,
    pub text: String,
}

/// Rows by entry index, and the patient banner(s).
pub struct Rows {
    pub by_entry: HashMap<usize, Row>,
    pub banner: Option<Row>,
}

/// Cuts every row marked `data-entry` out of the chart.
pub fn rows(html: &str) -> Rows {
    let mut parts: HashMap<usize, Vec<String>> = HashMap::new();
    for (open, end) in [("<tr data-entry=\"", "</tr>"), ("<tr class=\"group\" data-entry=\"", "</tr>"), ("<li data-entry=\"", "</li>")] {
        let mut from = 0;
        while let Some(at) = html[from..].find(open) {
            let start = from + at;
            let after = start + open.len();
            let quote = html[after..].find('"').expect("closing quote") + after;
            let index: usize = html[after..quote].parse().expect("entry index");
            let mut stop = html[quote..].find(end).map_or(html.len(), |e| quote + e);
            if end == "</li>" {
                // What follows the first <details> is the source's narrative.
                if let Some(d) = html[quote..stop].find("<details") {
                    stop = quote + d;
                }
            }
            parts.entry(index).or_default().push(drop_details(&html[start..stop]));
            from = stop;
        }
    }
    let by_entry = parts.into_iter().map(|(i, p)| (i, row_of(p.concat()))).collect();
    let mut banners = Vec::new();
    let mut from = 0;
    while let Some(at) = html[from..].find("<header class=\"banner\"") {
        let start = from + at;
        let stop = html[start..].find("</header>").map_or(html.len(), |e| start + e);
        banners.push(html[start..stop].to_string());
        from = stop;
    }
    Rows { by_entry, banner: (!banners.is_empty()).then(|| row_of(banners.concat())) }
}

fn row_of(markup: String) -> Row {
    let text = normalise(&visible_text(&markup));
    Row { markup, text }
}

/// The markup without any `<details>…</details>` (nested ones included).
fn drop_details(markup: &str) -> String {
    let mut out = String::new();
    let mut rest = markup;
    while let Some(open) = rest.find("<details") {
        out.push_str(&rest[..open]);
        let mut depth = 0usize;
        let mut i = open;
        loop {
            let next_open = rest[i + 1..].find("<details").map(|x| x + i + 1);
            let next_close = rest[i..].find("</details>").map(|x| x + i);
            match (next_open, next_close) {
                (Some(o), Some(c)) if o < c => {
                    depth += 1;
                    i = o;
                }
                (_, Some(c)) if depth > 0 => {
                    depth -= 1;
                    i = c + 1;
                }
                (_, Some(c)) => {
                    rest = &rest[c + "</details>".len()..];
                    break;
                }
                (_, None) => {
                    rest = "";
                    break;
                }
            }
        }
    }
    out.push_str(rest);
    out
}

/// Tags stripped (each a space), entities decoded.
pub fn visible_text(markup: &str) -> String {
    let mut out = String::with_capacity(markup.len());
    let mut in_tag = false;
    for c in markup.chars() {
        match (c, in_tag) {
            ('<', false) => in_tag = true,
            ('>', true) => {
                in_tag = false;
                out.push(' ');
            }
            (_, true) => {}
            (c, false) => out.push(c),
        }
    }
    decode(&out)
}

fn decode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(amp) = rest.find('&') {
        out.push_str(&rest[..amp]);
        rest = &rest[amp..];
        let semi = rest.find(';').filter(|&i| i <= 10);
        let decoded = semi.and_then(|i| {
            let name = &rest[1..i];
            let c = match name {
                "amp" => Some('&'),
                "lt" => Some('<'),
                "gt" => Some('>'),
                "quot" => Some('"'),
                "apos" | "#39" => Some('\''),
                "nbsp" => Some('\u{a0}'),
                _ => match name.strip_prefix("#x").or_else(|| name.strip_prefix("#X")) {
                    Some(hex) => u32::from_str_radix(hex, 16).ok().and_then(char::from_u32),
                    None => name.strip_prefix('#').and_then(|d| d.parse().ok()).and_then(char::from_u32),
                },
            };
            c.map(|c| (c, i + 1))
        });
        match decoded {
            Some((c, len)) => {
                out.push(c);
                rest = &rest[len..];
            }
            None => {
                out.push('&');
                rest = &rest[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

/// Lower case, U+202F and U+00A0 as spaces, runs of whitespace as one.
pub fn normalise(s: &str) -> String {
    s.to_lowercase().replace(['\u{202f}', '\u{a0}'], " ").split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Words that name an identifier type given only as a v2-0203 code.
fn identifier_words(code: &str) -> Option<&'static [&'static str]> {
    Some(match code {
        "MR" => &["medical record"],
        "SS" => &["social security"],
        "DL" => &["driver"],
        "PPN" => &["passport"],
        "MB" => &["member"],
        "TAX" => &["tax"],
        "NI" | "NIIP" => &["national", "insurance"],
        "PRN" => &["provider"],
        "AN" => &["account"],
        "PI" => &["patient"],
        _ => return None,
    })
}

/// The banner's identifier lines: (label, value).
fn dt_dd(markup: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut rest = markup;
    while let Some(dt) = rest.find("<dt>") {
        rest = &rest[dt + 4..];
        let Some(end) = rest.find("</dt>") else { break };
        let label = normalise(&visible_text(&rest[..end]));
        let Some(dd) = rest.find("<dd>") else { break };
        let Some(dd_end) = rest.find("</dd>") else {
            break;
        };
        out.push((label, normalise(&visible_text(&rest[dd + 4..dd_end]))));
        rest = &rest[dd_end..];
    }
    out
}

/// Whether the row shows what is expected.
pub fn shows(row: &Row, expect: &Expect) -> bool {
    match expect {
        Expect::Text(t) => row.text.contains(&normalise(t)),
        Expect::Any(v) => v.iter().any(|t| row.text.contains(&normalise(t))),
        Expect::All(v) => v.iter().all(|e| shows(row, e)),
        Expect::Link => row.markup.contains("<a "),
        Expect::Ident { value, label, code } => {
            let value = normalise(value);
            dt_dd(&row.markup).iter().any(|(dt, dd)| {
                dd.contains(&value)
                    && match (label, code) {
                        (Some(l), _) => dt.contains(&normalise(l)),
                        (None, Some(c)) => match identifier_words(c) {
                            Some(words) => words.iter().any(|w| dt.contains(w)),
                            None => !dt.is_empty() && *dt != normalise(c) && dt != "identifier" && dt != "kennung",
                        },
                        (None, None) => true,
                    }
            })
        }
    }
}
