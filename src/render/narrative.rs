//! FHIR narrative (`text.div`, XHTML) sanitised to the subset FHIR permits.
//!
//! The narrative is untrusted markup that ends up in `innerHTML`, so no input
//! byte is passed through as markup: a tolerant tokenizer turns it into tags
//! and text, an allow-list filters them, and the output is re-serialised from
//! the tokens (always well-formed, every text and attribute value escaped).

use super::escape;

/// Larger narratives are refused rather than sanitised.
const MAX_INPUT: usize = 512 * 1024;
/// Deeper allowed elements are dropped (their text is kept).
const MAX_DEPTH: usize = 32;
/// Elements dropped past [`MAX_DEPTH`] whose end tags are still told apart
/// from the kept ones'; a narrative nested deeper still is shown as text.
const MAX_DROPPED: usize = 256;
/// A narrative of more elements is shown as its text: a browser lays out a
/// table of tens of thousands of cells for seconds.
const MAX_ELEMENTS: usize = 2000;

/// FHIR's narrative element subset (headings and `img` are handled apart).
const ALLOWED: &[&str] = &[
    "a",
    "abbr",
    "acronym",
    "b",
    "big",
    "blockquote",
    "br",
    "caption",
    "cite",
    "code",
    "col",
    "colgroup",
    "dd",
    "dfn",
    "div",
    "dl",
    "dt",
    "em",
    "hr",
    "i",
    "kbd",
    "li",
    "ol",
    "p",
    "pre",
    "q",
    "samp",
    "small",
    "span",
    "strong",
    "sub",
    "sup",
    "table",
    "tbody",
    "td",
    "tfoot",
    "th",
    "thead",
    "tr",
    "tt",
    "ul",
    "var",
];
/// Elements dropped with everything up to their end tag. The void ones
/// (`embed`, `input`, `base`, `link`, `meta`, `source`, `track`, `param`)
/// have no content: like any unknown tag they are simply dropped.
const DROP_CONTENT: &[&str] = &[
    "script",
    "style",
    "iframe",
    "frame",
    "frameset",
    "object",
    "applet",
    "template",
    "noscript",
    "noembed",
    "noframes",
    "textarea",
    "title",
    "xmp",
    "plaintext",
    "svg",
    "math",
    "select",
    "option",
    "button",
    "form",
    "head",
    "audio",
    "video",
    "canvas",
];

/// [`sanitize`], for a place inside a table cell: narrative whose markup
/// would leave the cell when a browser parses it is shown as its text.
pub fn sanitize_in_cell(xhtml: &str) -> Option<String> {
    let html = sanitize(xhtml)?;
    Some(if fit::fits(&html) { html } else { fit::text_only(&html) })
}

/// Sanitises a narrative `div`; `None` when nothing readable remains.
///
/// Returns the sanitised children of the outer `<div xmlns="…">` (or of the
/// whole input when it does not start with a div); `None` also for empty
/// input and input over 512 KiB. A narrative of more than 2,000 elements,
/// or nested hundreds of levels deep, is returned as its text alone.
pub fn sanitize(xhtml: &str) -> Option<String> {
    if xhtml.is_empty() || xhtml.len() > MAX_INPUT {
        return None;
    }
    let mut tokens = Lexer { src: xhtml, pos: 0 }.peekable();
    while matches!(tokens.peek(), Some(Token::Text(t)) if t.trim().is_empty()) {
        tokens.next();
    }
    let wrapped = matches!(tokens.peek(), Some(Token::Start { name, self_closing: false, .. }) if name == "div");
    if wrapped {
        tokens.next();
    }
    let mut s = Sanitizer::default();
    for token in tokens {
        if !s.feed(token, wrapped) {
            break;
        }
    }
    s.close_from(0);
    if !s.has_text {
        return None;
    }
    Some(if s.elements > MAX_ELEMENTS || s.too_deep { fit::text_only(&s.out) } else { s.out })
}

/// A lexical token; names are normalised and entities decoded.
enum Token {
    Text(String),
    Start { name: String, attrs: Vec<(String, String)>, self_closing: bool },
    End(String),
}

/// A tolerant XHTML/HTML tokenizer. It slices only at ASCII delimiters, so
/// never splits a character; a truncated tag ends the input.
struct Lexer<'a> {
    src: &'a str,
    pos: usize,
}

impl Iterator for Lexer<'_> {
    type Item = Token;

    fn next(&mut self) -> Option<Token> {
        loop {
            // Positions are only ever at ASCII delimiters, so `get` always
            // succeeds; it is written so no input can make this panic.
            let rest = self.src.get(self.pos..).unwrap_or_default();
            let b = rest.as_bytes();
            let next = *b.get(1).unwrap_or(&0);
            let markup = b.first() == Some(&b'<')
                && match next {
                    b'!' | b'?' => true,
                    b'/' => b.get(2).is_some_and(u8::is_ascii_alphabetic),
                    c => c.is_ascii_alphabetic(),
                };
            if !markup {
                let len = b.iter().skip(1).position(|&c| c == b'<').map_or(b.len(), |i| i + 1);
                self.pos += len;
                return (len > 0).then(|| Token::Text(decode(rest.get(..len).unwrap_or_default())));
            }
            if let Some(body) = rest.strip_prefix("<!--") {
                self.pos += match body.as_bytes() {
                    [b'>', ..] => 5,
                    [b'-', b'>', ..] => 6,
                    _ => body.find("-->").map_or(rest.len(), |i| i + 7),
                };
                continue;
            }
            if let Some(body) = rest.strip_prefix("<![CDATA[") {
                let (text, len) = body.find("]]>").map_or((body, rest.len()), |i| (body.get(..i).unwrap_or_default(), i + 12));
                self.pos += len;
                return Some(Token::Text(text.to_owned()));
            }
            if matches!(next, b'!' | b'?') {
                self.pos += rest.find('>').map_or(rest.len(), |i| i + 1);
                continue;
            }
            let start = if next == b'/' { 2 } else { 1 };
            let end = start + name_len(b.get(start..).unwrap_or_default());
            let name = normalize(rest.get(start..end).unwrap_or_default());
            let parsed = if next == b'/' {
                b.get(end..).unwrap_or_default().iter().position(|&c| c == b'>').map(|i| (Token::End(name), end + i + 1))
            } else {
                attributes(rest, end).map(|(attrs, self_closing, len)| (Token::Start { name, attrs, self_closing }, len))
            };
            let Some((token, len)) = parsed else {
                self.pos = self.src.len();
                return None;
            };
            self.pos += len;
            return Some(token);
        }
    }
}

/// Length of a tag or attribute name: up to whitespace, `/`, `>` or `=`.
fn name_len(b: &[u8]) -> usize {
    b.iter().position(|&c| c.is_ascii_whitespace() || matches!(c, b'/' | b'>' | b'=')).unwrap_or(b.len())
}

/// Parses a start tag's attributes from byte `p` of `s` to its `>`: the
/// attributes, whether it self-closes, and the tag's length (`None` when the
/// tag is truncated).
#[allow(clippy::type_complexity)]
fn attributes(s: &str, mut p: usize) -> Option<(Vec<(String, String)>, bool, usize)> {
    let b = s.as_bytes();
    let skip_ws = |p: &mut usize| {
        while b.get(*p).is_some_and(u8::is_ascii_whitespace) {
            *p += 1;
        }
    };
    let mut attrs = Vec::new();
    loop {
        skip_ws(&mut p);
        match *b.get(p)? {
            b'>' => return Some((attrs, false, p + 1)),
            b'/' if b.get(p + 1) == Some(&b'>') => return Some((attrs, true, p + 2)),
            b'/' => {
                p += 1;
                continue;
            }
            _ => {}
        }
        let start = p;
        p += usize::from(b.get(p) == Some(&b'='));
        p += name_len(b.get(p..).unwrap_or_default());
        let name = normalize(s.get(start..p).unwrap_or_default());
        skip_ws(&mut p);
        let mut value = String::new();
        if b.get(p) == Some(&b'=') {
            p += 1;
            skip_ws(&mut p);
            let (from, len, quote) = match *b.get(p)? {
                q @ (b'"' | b'\'') => (p + 1, b.get(p + 1..)?.iter().position(|&c| c == q)?, 1),
                _ => (p, b.get(p..)?.iter().position(|&c| c.is_ascii_whitespace() || c == b'>').unwrap_or(b.len() - p), 0),
            };
            value = decode(s.get(from..from + len).unwrap_or_default());
            p = from + len + quote;
        }
        attrs.push((name, value));
    }
}

/// Lower-cases a name and strips a namespace prefix; elements of the SVG and
/// MathML namespaces all become `svg` / `math` (dropped with their content).
fn normalize(name: &str) -> String {
    let name = name.to_ascii_lowercase();
    match name.split_once(':') {
        Some(("svg", _)) => "svg".into(),
        Some(("math" | "mathml", _)) => "math".into(),
        Some((_, local)) => local.into(),
        None => name,
    }
}

/// Decodes the XML entities, `&nbsp;` and numeric references (invalid ones
/// and NUL become U+FFFD); anything else stays literal text.
fn decode(s: &str) -> String {
    const NAMED: [(&str, char); 6] = [("amp", '&'), ("lt", '<'), ("gt", '>'), ("quot", '"'), ("apos", '\''), ("nbsp", '\u{a0}')];
    let entity = |s: &str| -> Option<(char, usize)> {
        let semi = s.bytes().take(32).position(|c| c == b';')?;
        let body = s.get(1..semi)?;
        if let Some(&(_, c)) = NAMED.iter().find(|(name, _)| *name == body) {
            return Some((c, semi + 1));
        }
        let num = body.strip_prefix('#')?;
        let (digits, radix) = num.strip_prefix(['x', 'X']).map_or((num, 10), |hex| (hex, 16));
        if digits.is_empty() || !digits.chars().all(|c| c.is_digit(radix)) {
            return None;
        }
        let c = u32::from_str_radix(digits, radix).ok().and_then(char::from_u32).filter(|&c| c != '\0');
        Some((c.unwrap_or('\u{FFFD}'), semi + 1))
    };
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(i) = rest.find('&') {
        let (before, from_amp) = rest.split_at(i);
        out.push_str(before);
        let (c, len) = entity(from_amp).unwrap_or(('&', 1));
        out.push(c);
        rest = from_amp.get(len..).unwrap_or_default();
    }
    out + rest
}

/// An `href` that is `http(s):` or `mailto:` once trimmed, else `None`.
fn safe_href(href: &str) -> Option<String> {
    let href = href.trim_matches(|c: char| c.is_whitespace() || c.is_control());
    ["https://", "http://", "mailto:"]
        .iter()
        .any(|p| href.as_bytes().get(..p.len()).is_some_and(|head| head.eq_ignore_ascii_case(p.as_bytes())))
        .then(|| href.to_owned())
}

/// The value kept for attribute `key` of the allowed element `el`, if any
/// (`href` is handled by [`safe_href`]).
fn attr_value(el: &str, key: &str, value: &str) -> Option<String> {
    let v = value.trim().to_ascii_lowercase();
    let keep = match key {
        "title" | "lang" => return Some(value.to_owned()),
        "dir" => matches!(v.as_str(), "ltr" | "rtl" | "auto"),
        "scope" => el == "th" && matches!(v.as_str(), "row" | "col" | "rowgroup" | "colgroup"),
        "colspan" | "rowspan" => {
            matches!(el, "td" | "th") && v.len() <= 4 && v.bytes().all(|c| c.is_ascii_digit()) && (1..=1000).contains(&v.parse::<u16>().unwrap_or(0))
        }
        _ => false,
    };
    keep.then_some(v)
}

/// Re-serialises the allowed tokens.
#[derive(Default)]
struct Sanitizer {
    out: String,
    /// Open elements: the input name and the markup that closes it.
    open: Vec<(String, String)>,
    /// The dropped element whose content is being skipped, and its nesting.
    skip: Option<(String, usize)>,
    /// Open elements dropped past [`MAX_DEPTH`] (all inside the innermost
    /// kept one), so that their end tags close nothing that was kept; more
    /// than [`MAX_DROPPED`] are not tracked, and the narrative is shown as text.
    dropped: Vec<String>,
    too_deep: bool,
    /// Elements written.
    elements: usize,
    has_text: bool,
}

impl Sanitizer {
    /// Handles one token; `false` once the outer div (if `wrapped`) closes.
    fn feed(&mut self, token: Token, wrapped: bool) -> bool {
        if let Some((skipped, depth)) = &mut self.skip {
            match &token {
                Token::Start { name, self_closing: false, .. } if name == skipped => *depth += 1,
                Token::End(name) if name == skipped => *depth -= 1,
                _ => {}
            }
            if *depth == 0 {
                self.skip = None;
            }
            return true;
        }
        match token {
            Token::Text(text) => self.text(&text),
            Token::Start { name, attrs, self_closing } => self.start(name, &attrs, self_closing),
            Token::End(name) => {
                if let Some(i) = self.dropped.iter().rposition(|dropped| *dropped == name) {
                    self.dropped.truncate(i);
                    return true;
                }
                match self.open.iter().rposition(|(open, _)| *open == name) {
                    Some(i) => self.close_from(i),
                    None if wrapped && name == "div" => return false,
                    None => {}
                }
            }
        }
        true
    }

    fn text(&mut self, text: &str) {
        self.has_text |= !text.trim().is_empty();
        self.out += &escape(text);
    }

    fn start(&mut self, name: String, attrs: &[(String, String)], self_closing: bool) {
        let n = name.as_str();
        let attr = |key: &str| attrs.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str());
        if DROP_CONTENT.contains(&n) {
            if !self_closing {
                self.skip = Some((name, 1));
            }
            return;
        }
        if n == "img" {
            let alt = attr("alt").unwrap_or("").trim();
            if !alt.is_empty() {
                self.text(&format!("[{alt}]"));
            }
            return;
        }
        let void = matches!(n, "br" | "hr" | "col");
        let heading = matches!(n, "h1" | "h2" | "h3" | "h4" | "h5" | "h6");
        if !(heading || ALLOWED.contains(&n)) {
            return;
        }
        if !void && self.open.len() >= MAX_DEPTH {
            if !self_closing {
                self.too_deep |= self.dropped.len() >= MAX_DROPPED;
                if !self.too_deep {
                    self.dropped.push(name);
                }
            }
            return;
        }
        self.elements += 1;
        let href = attr("href").filter(|_| n == "a").and_then(safe_href);
        let tag = match n {
            _ if heading => "p",
            "a" if href.is_none() => "span",
            _ => n,
        };
        self.out += &format!("<{tag}{}", if heading { " class=\"narrative-heading\"" } else { "" });
        let kept = attrs.iter().filter_map(|(k, v)| Some((k.as_str(), attr_value(n, k, v)?)));
        let mut seen = Vec::new();
        for (k, v) in href.iter().map(|h| ("href", h.clone())).chain(kept) {
            if !seen.contains(&k) {
                seen.push(k);
                self.out += &format!(" {k}=\"{}\"", escape(&v));
            }
        }
        if href.is_some() {
            self.out += " rel=\"noopener noreferrer nofollow\" target=\"_blank\"";
        }
        self.out += if heading { "><strong>" } else { ">" };
        if void {
            return;
        }
        let close = if heading { "</strong></p>".to_owned() } else { format!("</{tag}>") };
        if self_closing {
            self.out += &close;
        } else {
            self.open.push((name, close));
        }
    }

    /// Closes the open elements from index `i` up (and the dropped ones
    /// inside them).
    fn close_from(&mut self, i: usize) {
        self.dropped.clear();
        for (_, close) in self.open.drain(i..).rev() {
            self.out += &close;
        }
    }
}

mod fit;

#[cfg(test)]
mod tests;
