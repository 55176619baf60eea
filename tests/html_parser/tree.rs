//! The parser's side of `tests/html_parser.rs`: a fragment parsed as the
//! browser parses it (html5ever), and its tree summarised for comparison
//! with the view model. The allow-lists are written out here on purpose:
//! they are the test's own statement of what the chart may contain, not a
//! copy the sanitiser could change along with.

use html5ever::tendril::TendrilSink;
use html5ever::{ns, parse_fragment, LocalName, ParseOpts, QualName};
use markup5ever_rcdom::{Handle, NodeData, RcDom};
use patient_portal_sdk::render::{fill_html, to_html_lazy, Chart, STYLESHEET};

/// A parsed fragment, and the fragments spliced into it (a dropped `RcDom`
/// empties its nodes).
pub struct Parsed {
    pub doms: Vec<RcDom>,
}

impl Parsed {
    /// The fragment's root, whose children are the parsed nodes.
    pub fn root(&self) -> Handle {
        self.doms[0].document.children.borrow()[0].clone()
    }
}

/// `html` parsed as the content of a `context` element (innerHTML,
/// insertAdjacentHTML).
pub fn parse(html: &str, context: &str) -> Parsed {
    // The stylesheet is the SDK's constant (raw text to the parser): left out.
    let sheet = format!("<style>{STYLESHEET}</style>");
    let html = html.strip_prefix(sheet.as_str()).map_or(html.to_owned(), |rest| format!("<style></style>{rest}"));
    assert!(!html.starts_with("<style>") || html.starts_with("<style></style>"), "the chart's stylesheet is its own");
    let context = QualName::new(None, ns!(html), LocalName::from(context));
    Parsed { doms: vec![parse_fragment(RcDom::default(), ParseOpts::default(), context, vec![], true).one(html)] }
}

pub fn local(node: &Handle) -> Option<String> {
    match &node.data {
        NodeData::Element { name, .. } => Some(name.local.to_string()),
        _ => None,
    }
}

pub fn attr(node: &Handle, key: &str) -> Option<String> {
    match &node.data {
        NodeData::Element { attrs, .. } => attrs.borrow().iter().find(|a| &*a.name.local == key).map(|a| a.value.to_string()),
        _ => None,
    }
}

pub fn descendants(node: &Handle, out: &mut Vec<Handle>) {
    for child in node.children.borrow().iter() {
        out.push(child.clone());
        descendants(child, out);
    }
}

/// The live chart: the lazy chart with every disclosure filled as the SDK
/// fills it when opened (`fill_html` inserted at the end of the element
/// marked `data-fill-here`, parsed in that element's context).
pub fn parse_live(chart: &Chart) -> Parsed {
    let mut parsed = parse(&to_html_lazy(chart), "div");
    let mut all = Vec::new();
    descendants(&parsed.root(), &mut all);
    for details in all.iter().filter(|n| local(n).as_deref() == Some("details")) {
        let Some(key) = attr(details, "data-fill") else { continue };
        let mut inner = Vec::new();
        descendants(details, &mut inner);
        let target = inner.into_iter().find(|n| attr(n, "data-fill-here").is_some()).expect("a data-fill-here element");
        let html = fill_html(chart, &key).unwrap_or_else(|| panic!("no fill for {key}"));
        let fragment = parse(&html, &local(&target).unwrap());
        let nodes: Vec<Handle> = fragment.root().children.borrow().clone();
        target.children.borrow_mut().extend(nodes);
        parsed.doms.extend(fragment.doms);
    }
    parsed
}

// ---------------------------------------------------------------------------
// What the parsed tree must be.

/// The SDK's own elements (HTML namespace).
pub const SDK: &[&str] = &[
    "style",
    "article",
    "aside",
    "header",
    "nav",
    "section",
    "h2",
    "p",
    "q",
    "ul",
    "li",
    "dl",
    "dt",
    "dd",
    "div",
    "span",
    "strong",
    "a",
    "button",
    "label",
    "input",
    "table",
    "caption",
    "thead",
    "tbody",
    "tr",
    "th",
    "td",
    "details",
    "summary",
    "figure",
    "figcaption",
];
/// The trend charts' SVG elements.
pub const SVG: &[&str] = &["svg", "title", "desc", "g", "circle", "line", "polyline", "rect", "text", "path"];
/// What the narrative sanitiser keeps.
pub const NARRATIVE: &[&str] = &[
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
pub const NARRATIVE_ATTRS: &[&str] = &["href", "rel", "target", "title", "lang", "dir", "scope", "colspan", "rowspan", "class"];

/// The parsed tree, summarised.
#[derive(Default, Debug, Clone, PartialEq)]
pub struct Summary {
    /// The tree with each narrative container's content left out.
    pub outline: Vec<String>,
    /// Per section (`section` id): each `tr[data-entry]` and its cells.
    pub rows: Vec<(String, Vec<(usize, usize)>)>,
    /// `li[data-entry]` of "Other records".
    pub other: Vec<usize>,
    pub narratives: usize,
    /// Elements, attributes or URLs that must not be there.
    pub problems: Vec<String>,
}

pub fn summarise(parsed: &Parsed) -> Summary {
    let mut s = Summary::default();
    for child in parsed.root().children.borrow().iter() {
        walk(child, false, &mut s);
    }
    s
}

pub fn walk(node: &Handle, in_narrative: bool, s: &mut Summary) {
    match &node.data {
        NodeData::Text { contents } => {
            if !in_narrative {
                s.outline.push(format!("#{}", contents.borrow()));
            }
        }
        NodeData::Comment { contents } => {
            s.problems.push(format!("comment <!--{contents}-->"));
        }
        NodeData::Element { name, attrs, .. } => {
            let el = name.local.to_string();
            let attrs: Vec<(String, String)> = attrs.borrow().iter().map(|a| (a.name.local.to_string(), a.value.to_string())).collect();
            let html = name.ns == ns!(html);
            let known = if in_narrative {
                html && NARRATIVE.contains(&el.as_str())
            } else {
                (html && SDK.contains(&el.as_str())) || (name.ns == ns!(svg) && SVG.contains(&el.as_str()))
            };
            if !known {
                s.problems.push(format!("element {:?}:{el}{}", name.ns, if in_narrative { " in a narrative" } else { "" }));
            }
            for (k, v) in &attrs {
                if k.starts_with("on") {
                    s.problems.push(format!("attribute {k}={v:?} on {el}"));
                }
                if in_narrative && !NARRATIVE_ATTRS.contains(&k.as_str()) {
                    s.problems.push(format!("attribute {k} on narrative {el}"));
                }
                if in_narrative && k == "class" && v != "narrative-heading" {
                    s.problems.push(format!("class {v:?} on narrative {el}"));
                }
                let url: String = v.chars().filter(|c| !c.is_whitespace() && !c.is_control()).collect::<String>().to_ascii_lowercase();
                let download = el == "a" && attrs.iter().any(|(k, _)| k == "download");
                if url.starts_with("javascript:") || url.starts_with("vbscript:") || (url.starts_with("data:") && !(k == "href" && download)) {
                    s.problems.push(format!("URL {k}={v:?} on {el}"));
                }
            }
            let container = !in_narrative && el == "div" && attrs.iter().any(|(k, v)| k == "class" && v == "narrative");
            if !in_narrative {
                let shown: Vec<String> = attrs.iter().map(|(k, v)| format!("{k}={v:?}")).collect();
                s.outline.push(format!("<{el} {}>", shown.join(" ")));
                match el.as_str() {
                    "section" => s.rows.push((attr(node, "id").unwrap_or_default(), Vec::new())),
                    "tr" => {
                        if let Some(entry) = attr(node, "data-entry") {
                            let cells = node.children.borrow().iter().filter(|c| matches!(local(c).as_deref(), Some("th" | "td"))).count();
                            let entry = entry.parse().unwrap_or(usize::MAX);
                            match s.rows.last_mut() {
                                Some((_, rows)) => rows.push((entry, cells)),
                                None => s.rows.push((String::new(), vec![(entry, cells)])),
                            }
                        }
                    }
                    "li" => {
                        if let Some(entry) = attr(node, "data-entry") {
                            s.other.push(entry.parse().unwrap_or(usize::MAX));
                        }
                    }
                    _ => {}
                }
            }
            if container {
                s.narratives += 1;
            }
            for child in node.children.borrow().iter() {
                walk(child, in_narrative || container, s);
            }
            if !in_narrative {
                s.outline.push(format!("</{el}>"));
            }
        }
        _ => s.problems.push("unexpected node".into()),
    }
}
