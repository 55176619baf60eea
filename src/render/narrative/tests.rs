//! The sanitiser against XSS payloads, real narratives and generated input.

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
    // The end tags of elements dropped past the depth limit close nothing
    // that was kept: the outer table stays whole, the text after it stays.
    let (divs, end_divs) = ("<div>".repeat(MAX_DEPTH - 3), "</div>".repeat(MAX_DEPTH - 3));
    let out = ok(&format!("<table><tr><td>{divs}<table><tr><td>deep</td></tr></table>{end_divs}</td><td>after</td></tr></table><p>tail</p>"));
    assert_eq!(out, format!("<table><tr><td>{divs}deep{end_divs}</td><td>after</td></tr></table><p>tail</p>"));
    let spans = "<span>".repeat(MAX_DEPTH);
    assert_eq!(ok(&format!("{spans}<b><i>x</i></b>y</span>z")), format!("{spans}xy</span>z{}", "</span>".repeat(MAX_DEPTH - 1)));
    // Nested far past it: shown as text.
    let deeper = "<b>".repeat(MAX_DEPTH + MAX_DROPPED + 1) + "x" + &"</b>".repeat(MAX_DEPTH + MAX_DROPPED + 1) + "<p>y</p>";
    assert_eq!(ok(&deeper), "x y");
}

#[test]
fn too_many_elements_are_shown_as_text() {
    let cells = |n: usize| format!("<table><tr>{}</tr></table>", "<td>x</td>".repeat(n));
    let out = ok(&cells(MAX_ELEMENTS - 2));
    assert_eq!(out.matches("<td>").count(), MAX_ELEMENTS - 2);
    let out = ok(&cells(MAX_ELEMENTS - 1));
    assert!(!out.contains('<') && out.starts_with("x x x"), "{}", &out[..40]);
    // 30,000 cells (300 KB, under the size limit) are text, at once.
    let big = format!("<div xmlns=\"http://www.w3.org/1999/xhtml\">{}</div>", "<td>x</td>".repeat(30_000));
    assert!(big.len() < MAX_INPUT);
    let started = std::time::Instant::now();
    let out = sanitize_in_cell(&big).unwrap();
    let took = started.elapsed();
    assert_eq!(out, vec!["x"; 30_000].join(" "));
    // Quadratic work would take minutes; a loaded debug build takes about a second.
    assert!(took.as_secs_f64() < 10.0, "{took:?}");
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

/// Every `text.div` in a FHIR JSON document, nested ones included.
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

#[test]
fn real_narratives() {
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

/// Every narrative of the reference data that sanitises keeps its markup
/// inside a table cell: the text-only fallback is for hostile structure,
/// not for what EHRs write.
#[test]
fn real_narratives_fit_in_a_cell() {
    let files = crate::util::reference_json_files();
    let (mut checked, mut misfits) = (0, Vec::new());
    for file in &files {
        let Ok(json) = serde_json::from_str::<serde_json::Value>(&std::fs::read_to_string(file).unwrap()) else { continue };
        let mut divs = Vec::new();
        walk(&json, &mut divs);
        for div in divs {
            if let Some(out) = super::sanitize(&div) {
                checked += 1;
                if !super::fit::fits(&out) {
                    misfits.push(format!("{}: {}", file.display(), out.chars().take(300).collect::<String>()));
                }
            }
        }
    }
    assert!(checked >= 40, "{checked}");
    assert!(misfits.is_empty(), "{} of {checked} do not fit:\n{}", misfits.len(), misfits.join("\n"));
}

/// The independent corpus (DOMPurify, H5SC, PortSwigger, PayloadsAllTheThings,
/// OWASP, sanitize-html) as narrative placed in a table cell: whatever
/// survives is allow-listed markup that stays in the cell (balanced, table
/// parts only inside the narrative's own table), or plain text.
#[test]
fn corpus_in_a_cell() {
    let corpus: serde_json::Value = serde_json::from_str(&std::fs::read_to_string("../shared/data/xss/corpus.json").unwrap()).unwrap();
    let payloads = corpus["payloads"].as_array().unwrap();
    assert!(payloads.len() > 3000);
    let (mut as_markup, mut as_text) = (0, 0);
    for p in payloads {
        let payload = p["payload"].as_str().unwrap();
        let div = format!("<div xmlns=\"http://www.w3.org/1999/xhtml\">{payload}</div>");
        let Some(out) = super::sanitize_in_cell(&div) else { continue };
        assert_safe(&div, &out);
        if out.contains('<') {
            assert!(super::fit::fits(&out), "{div:?} -> {out:?}");
            as_markup += 1;
        } else {
            as_text += 1;
        }
    }
    assert!(as_markup > 100 && as_text > 100, "{as_markup} kept as markup, {as_text} as text");
}
