//! Render: the permitted resources become a view model ([`Chart`]), then one
//! escaped HTML string. Every string that comes from the record passes
//! through [`html::escape`]; the markup around it is static.

mod attachments;
mod describe;
mod dosage;
mod html;
pub mod i18n;
mod names;
pub mod narrative;
mod observation;
pub(crate) mod sections;
pub mod trend;
mod view;

pub use html::{escape, fill_html, filter_status, results_html, scoped_stylesheet, to_html, to_html_lazy, to_html_styled, SCOPE_CLASS, SECTION_ROWS};
pub use i18n::{Locale, TimeZone};
pub use view::{
    build_chart, build_chart_paced, Banner, Cell, Chart, Flag, Group, Link, Negation, OtherGroup, OtherItem, RenderOptions, Row, Section, SkippedWhy,
    SourceNote, SourceNoteKind, SourceSummary, Theme, Trend, TrendRow, Trust, WithheldNotice,
};

/// The SDK's stylesheet (scoped by the shadow root it is rendered into).
pub const STYLESHEET: &str = include_str!("chart.css");

#[cfg(test)]
mod stylesheet_tests {
    use super::{scoped_stylesheet, STYLESHEET};

    /// Depth of `{` nesting after each character, outside comments and strings.
    fn depths(css: &str) -> Vec<i32> {
        let (mut depth, mut out, mut chars) = (0, Vec::new(), css.chars().peekable());
        let (mut comment, mut quote) = (false, None);
        while let Some(c) = chars.next() {
            match (comment, quote, c) {
                (true, _, '*') if chars.peek() == Some(&'/') => {
                    chars.next();
                    comment = false;
                }
                (true, _, _) => {}
                (false, Some(q), c) if c == q => quote = None,
                (false, Some(_), _) => {}
                (false, None, '/') if chars.peek() == Some(&'*') => comment = true,
                (false, None, '"' | '\'') => quote = Some(c),
                (false, None, '{') => depth += 1,
                (false, None, '}') => depth -= 1,
                _ => {}
            }
            out.push(depth);
        }
        out
    }

    #[test]
    fn braces_balance_so_the_scope_holds_every_rule() {
        let plain = depths(STYLESHEET);
        assert!(plain.iter().all(|&d| d >= 0), "a '}}' closes more than was opened");
        assert_eq!(plain.last(), Some(&0), "every block is closed");
        // In the scoped form, nothing returns to the top level before the end.
        let scoped = depths(&scoped_stylesheet());
        let first = scoped.iter().position(|&d| d == 1).unwrap();
        let last = scoped.iter().rposition(|&d| d == 1).unwrap();
        assert!(scoped[first..=last].iter().all(|&d| d >= 1), "a rule escapes @scope");
    }
}
