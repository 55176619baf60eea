//! Render: the permitted resources become a view model ([`Chart`]), then one
//! escaped HTML string. Every string that comes from the record passes
//! through [`html::escape`]; the markup around it is static.

mod html;
mod sections;
mod view;

pub use html::{escape, fill_html, to_html, to_html_lazy, SECTION_ROWS};
pub use view::{build_chart, build_chart_paced, Banner, Cell, Chart, Flag, OtherGroup, OtherItem, RenderOptions, Row, Section, SourceNote, SourceSummary, Trust, WithheldNotice};

/// The SDK's stylesheet (scoped by the shadow root it is rendered into).
pub const STYLESHEET: &str = include_str!("chart.css");
