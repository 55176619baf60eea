//! FHIR narrative (`text.div`, XHTML) sanitised to the subset FHIR permits.
//!
//! The narrative is untrusted markup that ends up in `innerHTML`, so no input
//! byte is passed through as markup: a tolerant tokenizer turns it into tags
//! and text, an allow-list filters them, and the output is re-serialised from
//! the tokens (always well-formed, every text and attribute value escaped).

/// Larger narratives are refused rather than sanitised.
const MAX_INPUT: usize = 512 * 1024;
/// Deeper allowed elements are dropped (their text is kept).
const MAX_DEPTH: usize = 32;

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

/// Sanitises a narrative `div`; `None` when nothing readable remains.
///
/// Returns the sanitised children of the outer `<div xmlns="…">` (or of the
/// whole input when it does not start with a div); `None` also for empty
/// input and input over 512 KiB.
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
    s.has_text.then_some(s.out)
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
            let rest = &self.src[self.pos..];
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
                return (len > 0).then(|| Token::Text(decode(&rest[..len])));
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
                let (text, len) = body.find("]]>").map_or((body, rest.len()), |i| (&body[..i], i + 12));
                self.pos += len;
                return Some(Token::Text(text.to_owned()));
            }
            if matches!(next, b'!' | b'?') {
                self.pos += rest.find('>').map_or(rest.len(), |i| i + 1);
                continue;
            }
            let start = if next == b'/' { 2 } else { 1 };
            let end = start + name_len(&b[start..]);
            let name = normalize(&rest[start..end]);
            let parsed = if next == b'/' {
                b[end..].iter().position(|&c| c == b'>').map(|i| (Token::End(name), end + i + 1))
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
        p += usize::from(b[p] == b'=');
        p += name_len(&b[p..]);
        let name = normalize(&s[start..p]);
        skip_ws(&mut p);
        let mut value = String::new();
        if b.get(p) == Some(&b'=') {
            p += 1;
            skip_ws(&mut p);
            let (from, len, quote) = match *b.get(p)? {
                q @ (b'"' | b'\'') => (p + 1, b[p + 1..].iter().position(|&c| c == q)?, 1),
                _ => (p, b[p..].iter().position(|&c| c.is_ascii_whitespace() || c == b'>').unwrap_or(b.len() - p), 0),
            };
            value = decode(&s[from..from + len]);
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
        let body = &s[1..semi];
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
        out.push_str(&rest[..i]);
        let (c, len) = entity(&rest[i..]).unwrap_or(('&', 1));
        out.push(c);
        rest = &rest[i + len..];
    }
    out + rest
}

/// Escapes text or an attribute value; control characters other than tab,
/// newline and carriage return become U+FFFD.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c if c.is_control() && !matches!(c, '\t' | '\n' | '\r') => out.push('\u{FFFD}'),
            c => out.push(c),
        }
    }
    out
}

/// An `href` that is `http(s):` or `mailto:` once trimmed, else `None`.
fn safe_href(href: &str) -> Option<String> {
    let href = href.trim_matches(|c: char| c.is_whitespace() || c.is_control());
    ["https://", "http://", "mailto:"]
        .iter()
        .any(|p| href.len() >= p.len() && href.as_bytes()[..p.len()].eq_ignore_ascii_case(p.as_bytes()))
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
            Token::End(name) => match self.open.iter().rposition(|(open, _)| *open == name) {
                Some(i) => self.close_from(i),
                None if wrapped && name == "div" => return false,
                None => {}
            },
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
        if !(heading || ALLOWED.contains(&n)) || (!void && self.open.len() >= MAX_DEPTH) {
            return;
        }
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

    /// Closes the open elements from index `i` up.
    fn close_from(&mut self, i: usize) {
        for (_, close) in self.open.drain(i..).rev() {
            self.out += &close;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Parses the output strictly: every `<` opens an allowed tag whose
    /// attributes are allowed and double-quoted, and no href is a script.
    fn assert_safe(input: &str, out: &str) {
        let ctx = || format!("{input:?} -> {out:?}");
        let mut rest = out;
        while let Some(i) = rest.find('<') {
            let end = i + rest[i..].find('>').unwrap_or_else(|| panic!("open tag: {}", ctx()));
            let tag = rest[i + 1..end].trim_start_matches('/');
            let (name, mut attrs) = tag.split_once(' ').unwrap_or((tag, ""));
            assert!(ALLOWED.contains(&name), "tag {name}: {}", ctx());
            while !attrs.is_empty() {
                let (k, v) = attrs.split_once("=\"").unwrap_or_else(|| panic!("attr: {}", ctx()));
                let (v, more) = v.split_once('"').unwrap_or_else(|| panic!("value: {}", ctx()));
                let ok = ["title", "lang", "dir", "colspan", "rowspan", "scope", "href", "rel", "target", "class"];
                assert!(ok.contains(&k) && !k.starts_with("on"), "attr {k}: {}", ctx());
                assert!(k != "href" || safe_href(v).is_some(), "href {v}: {}", ctx());
                assert!(!v.contains(['<', '>', '"']), "value {v}: {}", ctx());
                attrs = more.strip_prefix(' ').unwrap_or(more);
            }
            assert!(!rest[i..end].to_ascii_lowercase().contains("javascript:"), "{}", ctx());
            rest = &rest[end + 1..];
        }
        assert!(!rest.contains('>'), "stray '>': {}", ctx());
    }

    fn ok(input: &str) -> String {
        let out = sanitize(input).unwrap_or_else(|| panic!("None for {input:?}"));
        assert_safe(input, &out);
        out
    }

    #[test]
    fn synthea_care_plan() {
        let div = r#"<div xmlns="http://www.w3.org/1999/xhtml">Care Plan for Self care.<br/>Activities: <ul><li>Self care</li><li>Self care</li></ul></div>"#;
        assert_eq!(ok(div), "Care Plan for Self care.<br>Activities: <ul><li>Self care</li><li>Self care</li></ul>");
    }

    #[test]
    fn tables_links_and_headings() {
        let div = r#"<div xmlns="http://www.w3.org/1999/xhtml"><table class="grid"><tr><th scope="COL" colspan="2" style="x">Drug</th><td rowspan="1001" colspan="0">x</td></tr></table></div>"#;
        assert_eq!(ok(div), r#"<table><tr><th scope="col" colspan="2">Drug</th><td>x</td></tr></table>"#);
        assert_eq!(
            ok(r#"<h2 title="T" dir="RTL" id="x">Meds</h2><a href=" https://x.org/?a=1&amp;b='2'">l</a><a name="n">m</a>"#),
            r#"<p class="narrative-heading" title="T" dir="rtl"><strong>Meds</strong></p><a href="https://x.org/?a=1&amp;b=&#39;2&#39;" rel="noopener noreferrer nofollow" target="_blank">l</a><span>m</span>"#
        );
        assert_eq!(ok("<p title='a' title='b' lang=en hidden>x</p>"), r#"<p title="a" lang="en">x</p>"#);
        assert_eq!(ok("<xhtml:P>x<IMG alt=' chart '/><img alt='' src=x></xhtml:P>"), "<p>x[chart]</p>");
    }

    #[test]
    fn structure_is_repaired() {
        assert_eq!(ok("x<div><b>a<i>b</b>c</i></p>d"), "x<div><b>a<i>b</i></b>cd</div>");
        assert_eq!(ok("x<div>a</div>b"), "x<div>a</div>b");
        assert_eq!(ok("<div xmlns='x'>a</div>b"), "a");
        assert_eq!(ok("<p/>a<blink>b</blink><custom-el>c</custom-el>"), "<p></p>abc");
        let deep = "<span>".repeat(40) + "x";
        let out = ok(&deep);
        assert_eq!(out.matches("<span>").count(), MAX_DEPTH);
        assert_eq!(out.matches("</span>").count(), MAX_DEPTH);
        assert_eq!(ok("<hr><br></br><col span=2>x"), "<hr><br><col>x");
    }

    #[test]
    fn entities_and_characters() {
        assert_eq!(
            ok("&lt;b&gt; &amp;&quot;&apos;&nbsp;&#65;&#x42;&#0;&#xD800;&#99999999999;&copy;&#x;&#1a;"),
            "&lt;b&gt; &amp;&quot;&#39;\u{a0}AB\u{FFFD}\u{FFFD}\u{FFFD}&amp;copy;&amp;#x;&amp;#1a;"
        );
        assert_eq!(ok("a\u{1}\t\r\n\u{7f}<![CDATA[<b>&amp;]]>"), "a\u{FFFD}\t\r\n\u{FFFD}&lt;b&gt;&amp;amp;");
        assert_eq!(ok("é<p title=\"ü\">€</p>"), "é<p title=\"ü\">€</p>");
        assert_eq!(ok("a < b <1 </ x>"), "a &lt; b &lt;1 &lt;/ x&gt;");
    }

    #[test]
    fn nothing_readable() {
        for input in [
            "",
            " ",
            "<div xmlns=\"http://www.w3.org/1999/xhtml\"> \n</div>",
            "<div/>",
            "<p>&nbsp;</p>",
            "<script>x</script>",
            "<!-- x -->",
            "<a href=\"",
            "<!--",
            "<?xml",
            "<plaintext>x",
        ] {
            assert_eq!(sanitize(input), None, "{input:?}");
        }
        assert_eq!((ok("<"), ok("</")), ("&lt;".into(), "&lt;/".into()));
        assert_eq!(sanitize(&"a".repeat(MAX_INPUT + 1)), None);
        assert!(sanitize(&"a".repeat(MAX_INPUT)).is_some());
    }

    #[test]
    fn xss_payloads() {
        let payloads = [
            "<script>alert(1)</script>ok",
            "<SCRIPT SRC=//evil.js></SCRIPT>ok",
            "<img src=x onerror=alert(1)>ok",
            r#"<img src="x" alt="pic" onerror="alert(1)">"#,
            "<svg onload=alert(1)>x</svg>ok",
            "<svg><script>alert(1)</script></svg>ok",
            r#"<a href="javascript:alert(1)">x</a>"#,
            r#"<a href="JaVaScRiPt:alert(1)">x</a>"#,
            r#"<a href="&#106;avascript:alert(1)">x</a>"#,
            r#"<a href="&#x6A;avascript:alert(1)">x</a>"#,
            "<a href=\"java\tscript:alert(1)\">x</a>",
            r#"<a href="java&#9;script:alert(1)">x</a>"#,
            "<a href=\" \u{1}javascript:alert(1)\">x</a>",
            r#"<a href="&#x1;javascript:alert(1)">x</a>"#,
            r#"<a href="data:text/html;base64,PHNjcmlwdD4=">x</a>"#,
            r#"<a href="javascript&colon;alert(1)">x</a>"#,
            r#"<a href="vbscript:msgbox(1)">x</a>"#,
            r#"<a href="&#0000106&#0000097vascript:alert(1)">x</a>"#,
            r#"<a xlink:href="javascript:alert(1)">x</a>"#,
            r#"<p style="width: expression(alert(1))">x</p>"#,
            r#"<p style="background:url(javascript:alert(1))">x</p>"#,
            r#"<iframe srcdoc="<script>alert(1)</script>"></iframe>ok"#,
            r#"ok<iframe src="javascript:alert(1)">"#,
            "<math><mtext><table><mglyph><style><img src onerror=alert(1)>ok",
            r#"<math><mtext><table><mglyph><style><!--</style><img title="--&gt;&lt;img src=1 onerror=alert(1)&gt;">"#,
            "<!--><script>alert(1)</script>ok",
            "<!-- --!><script>alert(1)</script>-->ok",
            "<![CDATA[<script>alert(1)</script>]]>",
            r#"<div xmlns="http://www.w3.org/1999/xhtml">ok</div><script>alert(1)</script>"#,
            "ok</div><script>alert(1)</script>",
            "<scr<script>ipt>alert(1)</script>",
            "<<script>alert(1);//<</script>",
            r#"ok<a href="javascript:alert(1)"#,
            "<a href=javascript:alert(1)>x</a>",
            "<p title=a>b onmouseover=alert(1)>x</p>",
            r#"<p title="&quot; onmouseover=&quot;alert(1)">x</p>"#,
            "&lt;script&gt;alert(1)&lt;/script&gt;",
            "&#60;script&#62;alert(1)&#60;/script&#62;",
            r#"<p onclick="alert(1)" ONMOUSEOVER='x' on=1>x</p>"#,
            r#"<a href="https://ok" onclick="alert(1)" target=_self rel=opener>x</a>"#,
            r#"<object data="javascript:alert(1)">x</object>ok"#,
            r#"<embed src="javascript:alert(1)">ok"#,
            r#"<form action="javascript:alert(1)"><button>x</button></form>ok"#,
            "<style>*{background:url(javascript:alert(1))}</style>ok",
            "<xhtml:script>alert(1)</xhtml:script>ok",
            r#"<svg:svg onload="alert(1)"><svg:script>alert(1)</svg:script></svg:svg>ok"#,
            r#"<noscript><p title="</noscript><img src=x onerror=alert(1)>">"#,
            "<textarea><script>alert(1)</script></textarea>ok",
            "<template><script>alert(1)</script></template>ok",
            r#"<base href="javascript:alert(1)//">ok"#,
            r#"<meta http-equiv="refresh" content="0;url=javascript:alert(1)">ok"#,
            r#"<link rel=stylesheet href="javascript:alert(1)">ok"#,
            r#"<table background="javascript:alert(1)"><tr><td>ok</td></tr></table>"#,
            r#"<div style="x" class="y" id="z" data-x="1">ok</div>"#,
            "<plaintext><script>alert(1)",
            "<xmp><script>alert(1)</script></xmp>ok",
            r#"<IMG """><SCRIPT>alert(1)</SCRIPT>">"#,
            "<select><option><script>alert(1)</script></option></select>ok",
            "<p>\0<script>\0</script>ok</p>",
            r#"<a href="https://x" style="color:red" onmouseover="x">x</a>"#,
            "<a href=\"https://x\"\tonfocus=alert(1) autofocus>x</a>",
            "<video><source onerror=alert(1)></video>ok",
            "<img src=x onerror=&#97;lert(1)//>ok",
            "<a/href=javascript:alert(1)>x</a>",
        ];
        assert!(payloads.len() >= 40);
        for input in payloads {
            let Some(out) = sanitize(input) else { continue };
            assert_safe(input, &out);
            let lower = out.to_ascii_lowercase();
            for bad in ["<script", "javascript:", "style=", "<iframe", "<svg", "<img", "<math", "<style"] {
                assert!(!lower.contains(bad), "{bad} in {input:?} -> {out:?}");
            }
        }
        assert_eq!(ok(r#"<img src="x" alt="pic" onerror="alert(1)">"#), "[pic]");
        assert_eq!(ok("<![CDATA[<script>]]>"), "&lt;script&gt;");
    }

    #[test]
    fn every_prefix_of_a_tricky_input() {
        let input =
            r#"<div xmlns="http://www.w3.org/1999/xhtml"><!-- c --><p title='é'>a&#106;<a href="https://ü.x">l</a><![CDATA[x]]><script>y</script>z</p></div>"#;
        for (i, _) in input.char_indices() {
            if let Some(out) = sanitize(&input[..i]) {
                assert_safe(&input[..i], &out);
            }
        }
    }

    #[test]
    fn real_narratives() {
        fn walk(v: &serde_json::Value, divs: &mut Vec<String>) {
            match v {
                serde_json::Value::Object(map) => {
                    if let Some(div) = map.get("text").and_then(|t| t.get("div")).and_then(|d| d.as_str()) {
                        divs.push(div.to_owned());
                    }
                    map.values().for_each(|v| walk(v, divs));
                }
                serde_json::Value::Array(items) => items.iter().for_each(|v| walk(v, divs)),
                _ => {}
            }
        }
        let files = ["../shared/data/shl/hl7-ig/IPS_IG-bundle-01.json", "../shared/data/fhir/synthea/Dusty_Stracke_9fe3de76-2cd4-4c02-936a-8de0b18497dd.json"];
        for file in files {
            let json: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(file).unwrap()).unwrap();
            let mut divs = Vec::new();
            walk(&json, &mut divs);
            assert!(!divs.is_empty(), "{file}");
            for div in &divs {
                let out = ok(div);
                // The first visible text run (up to any entity), first 10 characters.
                let text = div.split('<').filter_map(|s| s.split_once('>')).map(|(_, t)| t.trim_start()).find(|t| !t.is_empty()).unwrap();
                let head: String = text.chars().take_while(|&c| c != '&').take(10).collect();
                let want = escape(&head);
                assert!(out.contains(&want), "{want:?} missing in {out:?}");
            }
        }
    }

    #[test]
    fn fuzz() {
        const FRAGMENTS: &[&str] = &[
            "<",
            ">",
            "/",
            "\"",
            "'",
            "=",
            "a",
            "script",
            "href",
            "javascript:",
            "&#",
            ";",
            "<!--",
            "-->",
            " ",
            "onerror",
            "img",
            "svg",
            "x",
            "é",
            "\u{1}",
            "div",
            "![CDATA[",
        ];
        let mut state = 0x2545_F491_4F6C_DD1Du64;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        for _ in 0..20_000 {
            let len = next() % 40;
            let input: String = (0..len).map(|_| FRAGMENTS[(next() % FRAGMENTS.len() as u64) as usize]).collect();
            if let Some(out) = sanitize(&input) {
                assert_safe(&input, &out);
            }
        }
    }
}
