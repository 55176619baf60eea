use super::parse;
use serde_json::Value;

/// Both readers on `text`: the same value, or both refuse it.
fn same(text: &[u8]) {
    let theirs = serde_json::from_slice::<Value>(text);
    // serde_json reads an object keyed by its private tokens as a number or raw value.
    if String::from_utf8_lossy(text).contains("$serde_json::private::") {
        return;
    }
    // `check` accepts what `parse` reads, and, on repaired text, what
    // serde's `IgnoredAny` accepts (which has no nesting limit: the Bundle
    // scanner hands `check` nothing nested as deep as serde_json's limit).
    assert_eq!(super::check(text), parse(text).is_ok(), "{}", String::from_utf8_lossy(text));
    let repaired = crate::fhir::repair_unicode(text);
    let too_deep = parse(&repaired).is_err_and(|e| e.to_string().starts_with(super::DEEP));
    let ignored = serde_json::from_slice::<serde::de::IgnoredAny>(&repaired).is_ok();
    assert_eq!(super::check(&repaired), ignored && !too_deep, "{}", String::from_utf8_lossy(&repaired));
    match (parse(text), theirs) {
        (Ok(ours), Ok(theirs)) => {
            assert_eq!(ours, theirs, "{}", String::from_utf8_lossy(text));
            assert_eq!(serde_json::to_string(&ours).unwrap(), serde_json::to_string(&theirs).unwrap());
            // And our writer writes what serde_json writes.
            assert_eq!(super::write(&ours), serde_json::to_string(&theirs).unwrap(), "{}", String::from_utf8_lossy(text));
        }
        (Err(ours), Err(theirs)) => assert_eq!(ours.to_string(), theirs.to_string()),
        (ours, theirs) => panic!("{}: ours {ours:?}, serde_json {theirs:?}", String::from_utf8_lossy(text)),
    }
}

/// The word-at-a-time scan against a byte-at-a-time one, over every
/// stop position and a mix of plain, special and non-ASCII bytes.
#[test]
fn string_runs_stop_where_a_byte_loop_stops() {
    let palette = [b'a', b'"', b'\\', 0x1f, 0x00, 0x20, 0x7f, 0x80, 0xc3, 0xa9, 0xff, b'~'];
    for seed in 0..20_000u64 {
        let len = (seed % 40) as usize;
        let bytes: Vec<u8> =
            crate::util::test_bytes(seed, len).iter().map(|b| if b % 3 == 0 { palette[usize::from(b / 3) % palette.len()] } else { b'x' }).collect();
        let expected = bytes.iter().position(|&c| c < 0x20 || c == b'"' || c == b'\\');
        assert_eq!(crate::fhir::compact::run_len(&bytes), expected, "{bytes:02x?}");
    }
}

#[test]
fn writes_every_character_as_serde_json_does() {
    let every: String = (0..0x800u32).chain([0xFFFD, 0x1F600, 0x10FFFF]).filter_map(char::from_u32).collect();
    for text in [every.as_str(), "", "plain", "\"\\/\u{7f}", "a\u{0}b\u{1f}c\u{8}\u{c}"] {
        assert_eq!(super::quoted(text), serde_json::to_string(text).unwrap());
        let value = serde_json::json!({ "k\n": [text, 1, null, true, { "": text }], "a": "1.50e2".parse::<Value>().unwrap() });
        assert_eq!(super::write(&value), serde_json::to_string(&value).unwrap());
    }
}

#[test]
fn reads_as_serde_json_does() {
    let cases: &[&str] = &[
        "null",
        "true",
        "false",
        " 0 ",
        "-0",
        "01",
        "-",
        "1.",
        ".5",
        "1.5",
        "-1.50e2",
        "1E5",
        "1e+05",
        "1e-5",
        "1e",
        "1e+",
        "2.e3",
        "123456789012345678901234567890",
        "\"\"",
        "\"a\\\"b\\\\c\\/d\\b\\f\\n\\r\\t\"",
        "\"\\u00e9\\u0000\\u001f\"",
        "\"\\ud83d\\ude00\"",
        "\"\\ud83d\"",
        "\"\\ude00\"",
        "\"\\ud83d\\u0041\"",
        "\"\\ud83dx\"",
        "\"\\x\"",
        "\"\\u12\"",
        "\"\\u12G4\"",
        "\"tab\there\"",
        "\"é😀\"",
        "\"unterminated",
        "[]",
        "[ ]",
        "[1,]",
        "[,1]",
        "[1 2]",
        "{}",
        "{ }",
        "{\"a\":1,}",
        "{\"a\" 1}",
        "{a:1}",
        "{\"a\":1,\"a\":2}",
        "{\"b\":1,\"a\":[true,{\"c\":null}]}",
        "[1] x",
        "",
        "   ",
        "nul",
        "nulls",
        "truex",
        "[\"a\",\n\"b\"]\r\n",
        "{\"$serde_json::private::Number\":\"1\"}",
        "\u{feff}1",
        "[1e999]",
        "-1e-999",
        "{\"\":\"\"}",
    ];
    for case in cases {
        same(case.as_bytes());
    }
    same(b"\"\xff\"");
    same(b"[\"\xe9\"]");
    same(b"\xff");
    for depth in [1, 100, 126, 127, 128, 129, 200] {
        same(format!("{}{}", "[".repeat(depth), "]".repeat(depth)).as_bytes());
        same(format!("{}1{}", "{\"a\":".repeat(depth), "}".repeat(depth)).as_bytes());
        same("[".repeat(depth).as_bytes());
    }
}

/// A xorshift generator: the same sequence on every run.
fn numbers(mut state: u64) -> impl FnMut() -> u64 {
    move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    }
}

/// Documents strung together from JSON's pieces, most of them broken.
#[test]
fn reads_generated_documents_as_serde_json_does() {
    let pieces: &[&str] = &[
        "{", "}", "[", "]", ",", ":", " ", "\n", "\"a\"", "\"", "\\", "\\u", "\\ud83d", "\\ude00", "\\u00e9", "\\n", "\\x", "0", "-", "1", ".", "e", "E", "+",
        "12", "true", "fals", "null", "n", "\u{1}", "\u{e9}", "\t", "x", "\"k\":", "1.5e-3",
    ];
    let mut next = numbers(0x9e37_79b9_7f4a_7c15u64);
    let mut read = 0;
    for _ in 0..60_000 {
        let n = 1 + (next() % 14) as usize;
        let doc: String = (0..n).map(|_| pieces[(next() % pieces.len() as u64) as usize]).collect();
        same(doc.as_bytes());
        read += usize::from(parse(doc.as_bytes()).is_ok());
    }
    assert!(read > 1000, "some generated documents are JSON ({read})");
}

/// Every reference record, every prefix cut at a structural byte, and
/// one byte replaced at positions across each file.
#[test]
fn reads_the_reference_records_and_their_variants_as_serde_json_does() {
    let mut files: Vec<_> = ["../shared/data/fhir", "../shared/data/fhir/synthea", "../shared/data/fhir/us-core", "../shared/data/fhir/ips"]
        .iter()
        .filter_map(|d| std::fs::read_dir(d).ok())
        .flatten()
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    files.sort();
    assert!(files.len() >= 10, "the reference records are at ../shared/data/fhir");
    let mut next = numbers(0x2545_f491_4f6c_dd1du64);
    for file in &files {
        let bytes = std::fs::read(file).unwrap();
        same(&bytes);
        if bytes.len() > 2_000_000 {
            continue;
        }
        let text = &bytes[..bytes.len().min(60_000)];
        for _ in 0..60 {
            let at = (next() as usize) % text.len();
            same(&text[..at]);
            let mut changed = text.to_vec();
            let with = b" \"\\{}[],:0-eE.u/x\x01\xc3";
            changed[at] = with[(next() % with.len() as u64) as usize];
            same(&changed);
        }
    }
}
