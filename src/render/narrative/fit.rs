//! Whether sanitised narrative stays inside the chart's cell when a
//! browser parses it. The chart puts narrative in `<td><details><div>`;
//! the HTML tree builder (not an XML parser) lets a stray `</td>`, a `<tr>`
//! outside a table of the narrative's own, or a `<td>` outside a row close
//! the chart's cell and table and forge rows of its own. Narrative that is
//! not balanced, or whose table parts are not where HTML puts them, is
//! shown as text instead.

const VOID: &[&str] = &["br", "hr", "col"];

/// The elements a table part may sit directly inside.
fn parents(name: &str) -> Option<&'static [&'static str]> {
    Some(match name {
        "caption" | "colgroup" | "thead" | "tbody" | "tfoot" => &["table"],
        "tr" => &["table", "thead", "tbody", "tfoot"],
        "td" | "th" => &["tr"],
        "col" => &["table", "colgroup"],
        _ => return None,
    })
}

/// Tags of `html` as (name, is_end), assuming the sanitiser's output:
/// `<name attr="…">`, `</name>`, with `<` never in text or values.
fn tags(html: &str) -> impl Iterator<Item = (&str, bool)> {
    html.split('<').skip(1).filter_map(|t| {
        let t = t.split('>').next()?;
        let (end, t) = match t.strip_prefix('/') {
            Some(rest) => (true, rest),
            None => (false, t),
        };
        let name = t.split(|c: char| c.is_whitespace() || c == '/').next()?;
        (!name.is_empty()).then_some((name, end))
    })
}

/// Whether every element is closed in order and every table part sits
/// where the HTML tree builder keeps it (`tr` in a table section, cells in
/// a row, …, with the narrative's own `table` around them), and nothing
/// that could reach out of a table cell (`table` content outside a cell)
/// is foster-parented past the narrative.
pub fn fits(html: &str) -> bool {
    let mut open: Vec<&str> = Vec::new();
    for (name, end) in tags(html) {
        if end {
            if open.pop() != Some(name) {
                return false;
            }
            continue;
        }
        if let Some(allowed) = parents(name) {
            if !open.last().is_some_and(|p| allowed.contains(p)) {
                return false;
            }
        } else if matches!(open.last(), Some(&("table" | "thead" | "tbody" | "tfoot" | "tr" | "colgroup"))) {
            // Anything else directly in a table is moved before the table
            // by the browser: still inside the narrative, but only when the
            // table is the narrative's own, which it is here. Text-level
            // content there is unusual enough to show as text instead.
            return false;
        }
        if !VOID.contains(&name) {
            open.push(name);
        }
    }
    open.is_empty()
}

/// The narrative's text alone (its markup dropped), for narrative that
/// does not fit. The input is the sanitiser's escaped output, so the text
/// stays escaped.
pub fn text_only(html: &str) -> String {
    let mut out = String::with_capacity(html.len());
    let mut in_tag = false;
    for c in html.chars() {
        match c {
            '<' => {
                in_tag = true;
                out.push(' ');
            }
            '>' if in_tag => in_tag = false,
            c if !in_tag => out.push(c),
            _ => {}
        }
    }
    out.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::{fits, text_only};

    #[test]
    fn table_parts_must_be_where_html_keeps_them() {
        assert!(fits("<p>x</p><table><tbody><tr><td>a</td></tr></tbody></table>"));
        assert!(fits("<table><tr><th>a</th><td>b<br/></td></tr></table>"));
        assert!(fits("<ul><li>a</li></ul><hr/>"));
        // The forged row of a hostile narrative: a <tr> with no table of its own.
        let forged = "x<tr><th>Potassium</th><td>4.1 mmol/L</td><td>3.5 - 5.1</td><td>Normal</td><td>Jan 2, 2024</td></tr><table></table>";
        assert!(!fits(forged));
        assert_eq!(text_only(forged), "x Potassium 4.1 mmol/L 3.5 - 5.1 Normal Jan 2, 2024");
        assert!(!fits("<td>test</td>"));
        assert!(!fits("<caption>x</caption>"));
        assert!(!fits("a</td>b"));
        assert!(!fits("<div>a"));
        assert!(!fits("<table><p>a</p></table>"));
        assert!(!fits("<table><tr><td>a</tr></td></table>"));
    }
}
