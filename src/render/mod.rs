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
mod sections;
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
