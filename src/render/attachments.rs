//! A document's attachments as links in its row: a download for inline
//! data, a link for a web address, nothing clickable for anything else.

use crate::fhir::Attachment;

use super::i18n::{Fmt, T};
use super::view::{Cell, Link};

/// Base64 as FHIR writes it (whitespace allowed between groups).
fn clean_base64(data: &str) -> Option<String> {
    let clean: String = data.chars().filter(|c| !c.is_ascii_whitespace()).collect();
    let valid = !clean.is_empty() && clean.len() % 4 == 0 && clean.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'+' || b == b'/' || b == b'=');
    valid.then_some(clean)
}

/// A file name safe on every system: letters, digits, spaces and `-_.`.
fn file_name(title: &str, content_type: Option<&str>) -> String {
    let stem: String = title.chars().map(|c| if c.is_alphanumeric() || matches!(c, ' ' | '-' | '_') { c } else { '_' }).take(60).collect();
    let stem = stem.trim();
    let extension = match content_type.and_then(|t| t.split(';').next()).map(|t| t.trim().to_ascii_lowercase()).as_deref() {
        Some("application/pdf") => "pdf",
        Some("image/png") => "png",
        Some("image/jpeg") => "jpg",
        Some("application/json" | "application/fhir+json") => "json",
        Some("application/xml" | "text/xml" | "application/fhir+xml") => "xml",
        Some("text/rtf" | "application/rtf") => "rtf",
        // HTML and anything else that could run is saved as text.
        Some(t) if t.starts_with("text/") || t.starts_with("application/xhtml") => "txt",
        _ => "bin",
    };
    format!("{}.{extension}", if stem.is_empty() { "document" } else { stem })
}

fn size_text(fmt: Fmt<'_>, bytes: usize) -> String {
    match bytes {
        0..=1023 => format!("{bytes} B"),
        1024..=1_048_575 => format!("{} KB", bytes.div_ceil(1024)),
        _ => format!("{} MB", fmt.number(bytes as f64 / 1_048_576.0, 1)),
    }
}

/// Each attachment: a download for inline data, a link for an http(s) URL,
/// otherwise a note that the file is kept where the document came from.
pub fn file_cell(fmt: Fmt<'_>, title: &str, attachments: &[&Attachment]) -> Cell {
    let mut cell = Cell::default();
    let mut kept = false;
    for a in attachments {
        let kind = a.content_type.as_deref().and_then(|t| t.split(';').next()).map(str::trim).unwrap_or_default();
        if let Some(data) = a.data.as_deref().and_then(clean_base64) {
            let size = data.len() / 4 * 3 - data.bytes().rev().take_while(|&b| b == b'=').count();
            let details = [kind.to_string(), size_text(fmt, size)].into_iter().filter(|s| !s.is_empty()).collect::<Vec<_>>().join(", ");
            cell.links.push(Link {
                href: format!("data:application/octet-stream;base64,{data}"),
                label: format!("{} ({details})", fmt.t(T::Download)),
                download: Some(file_name(a.title.as_deref().unwrap_or(title), a.content_type.as_deref())),
            });
        } else if let Some(url) = a.url.as_deref().map(str::trim).filter(|u| is_web_url(u)) {
            cell.links.push(Link { href: url.to_string(), label: fmt.t(T::OpenLink).to_string(), download: None });
        } else if a.url.is_some() || a.data.is_some() {
            kept = true;
        }
    }
    cell.text = match (cell.links.is_empty(), kept) {
        (_, true) => fmt.t(T::StoredAtSource).to_string(),
        (true, false) => fmt.t(T::NoFile).to_string(),
        (false, false) => String::new(),
    };
    cell
}

/// An absolute http(s) URL with nothing that could change its meaning.
fn is_web_url(url: &str) -> bool {
    let lower = url.get(..8).unwrap_or(url).to_ascii_lowercase();
    (lower.starts_with("https://") || lower.starts_with("http://"))
        && url.len() < 4096
        && !url.chars().any(|c| c.is_whitespace() || c.is_control() || matches!(c, '"' | '\'' | '<' | '>' | '`' | '\\'))
}

/// A report's `presentedForm`: each file as a link labelled with its title,
/// and the first text or XHTML form as safe HTML to show inline (text
/// escaped, XHTML through the narrative sanitiser; never raw).
pub fn report_form(fmt: Fmt<'_>, title: &str, forms: &[Attachment]) -> (Vec<Link>, Option<String>) {
    let mut links = Vec::new();
    let mut inline = None;
    for a in forms {
        let own = a.title.as_deref().map(str::trim).filter(|t| !t.is_empty());
        let cell = file_cell(fmt, own.unwrap_or(title), &[a]);
        for mut link in cell.links {
            // The attachment's own title, else "Report as written" (the
            // report's name is the heading the link sits in).
            link.label = format!("{}: {}", own.unwrap_or(fmt.t(T::ReportText)), link.label);
            links.push(link);
        }
        if inline.is_none() {
            inline = inline_text(a);
        }
    }
    (links, inline)
}

/// An attachment's inline text as safe HTML: `text/plain` escaped (line
/// breaks kept by the stylesheet), `text/html` and XHTML sanitised.
fn inline_text(a: &Attachment) -> Option<String> {
    let kind = a.content_type.as_deref()?.split(';').next()?.trim().to_ascii_lowercase();
    let data = clean_base64(a.data.as_deref()?)?;
    let bytes = crate::b64::decode_standard(data.as_bytes())?;
    let text = String::from_utf8(bytes).ok()?;
    match kind.as_str() {
        "text/plain" => Some(super::html::escape(text.trim())),
        "text/html" | "application/xhtml+xml" | "application/xhtml" => super::narrative::sanitize_in_cell(&text),
        _ => None,
    }
}
