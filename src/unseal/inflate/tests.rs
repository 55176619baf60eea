use super::*;
use crate::util::test_bytes;
use miniz_oxide::inflate::{decompress_to_vec_with_limit, TINFLStatus};

/// `miniz_oxide`'s inflater, the reference: its answer in this module's terms.
fn reference(data: &[u8], limit: usize) -> Result<Vec<u8>, UnsealError> {
    decompress_to_vec_with_limit(data, limit).map_err(|e| match e.status {
        TINFLStatus::HasMoreOutput => UnsealError::TooLarge { limit },
        _ => UnsealError::Inflate,
    })
}

fn same(data: &[u8], limit: usize) {
    let ours = inflate(data, limit);
    let theirs = reference(data, limit);
    assert_eq!(ours, theirs, "{} bytes {:02x?}… limit {limit}", data.len(), data.get(..data.len().min(24)));
}

/// Compressed test inputs: every level of `miniz_oxide`'s compressor
/// (stored, fixed and dynamic blocks, long and overlapping matches) and
/// this module's paced compressor, over text, noise, runs and a mix.
fn streams() -> Vec<(Vec<u8>, Vec<u8>)> {
    let text: Vec<u8> = b"{\"resourceType\":\"Observation\",\"status\":\"final\",\"valueQuantity\":{\"value\":7.2,\"unit\":\"mmol/L\"}}".repeat(40);
    let mut mixed = test_bytes(3, 5000);
    mixed.extend_from_slice(&text);
    mixed.extend(std::iter::repeat_n(b'a', 1000));
    mixed.extend(test_bytes(4, 70_000));
    let inputs: Vec<Vec<u8>> = vec![Vec::new(), b"a".to_vec(), b"ab".repeat(200), vec![0; 300], text, test_bytes(1, 3000), mixed];
    let mut out = Vec::new();
    for input in &inputs {
        for level in [0u8, 1, 2, 6, 9, 10] {
            out.push((input.clone(), miniz_oxide::deflate::compress_to_vec(input, level)));
        }
        out.push((input.clone(), crate::source::run_now(deflate_paced(input, &crate::source::Immediate)).unwrap().to_vec()));
    }
    out
}

#[test]
fn it_inflates_what_the_compressors_write_as_the_reference_does() {
    for (plain, packed) in streams() {
        assert_eq!(inflate(&packed, plain.len()).as_deref(), Ok(&plain[..]));
        for limit in [0, plain.len().saturating_sub(1), plain.len(), plain.len() + 1, usize::MAX] {
            same(&packed, limit);
        }
    }
}

/// Every truncation and every single-bit flip of the short streams;
/// 64 truncations and 100 random byte changes of each long one: the
/// same output or the same error.
#[test]
fn damaged_streams_get_the_reference_answer() {
    for (i, (plain, packed)) in streams().into_iter().enumerate() {
        let limit = plain.len() + 64;
        let short = packed.len() <= 600;
        let cuts = if short { packed.len() } else { 64 };
        for k in 0..cuts {
            same(packed.get(..k * packed.len() / cuts).unwrap(), limit);
        }
        if short {
            for bit in 0..packed.len() * 8 {
                let mut bad = packed.clone();
                bad[bit / 8] ^= 1 << (bit % 8);
                same(&bad, limit);
                same(&bad, plain.len());
            }
        } else {
            let noise = test_bytes(i as u64 + 10, 3 * 100);
            for change in noise.chunks_exact(3) {
                let mut bad = packed.clone();
                let at = (usize::from(change[0]) << 8 | usize::from(change[1])) * 7919 % packed.len();
                bad[at] ^= change[2] | 1;
                same(&bad, limit);
            }
        }
    }
}

/// Random bytes as DEFLATE data (most fail in the header, some decode).
#[test]
fn random_input_gets_the_reference_answer() {
    for seed in 0..4000u64 {
        let data = test_bytes(seed, 1 + (seed as usize % 97));
        same(&data, 4096);
        same(&data, 8);
    }
}

/// Hand-made streams for each rule in the module's documentation.
#[test]
fn each_rule_as_the_reference() {
    // Bits written least significant first, as DEFLATE sends them.
    fn pack(fields: &[(u32, u32)]) -> Vec<u8> {
        let (mut out, mut acc, mut n) = (Vec::new(), 0u64, 0);
        for &(value, width) in fields {
            acc |= u64::from(value) << n;
            n += width;
            while n >= 8 {
                out.push(acc as u8);
                acc >>= 8;
                n -= 8;
            }
        }
        if n > 0 {
            out.push(acc as u8);
        }
        out
    }
    // A Huffman code sent most significant bit first.
    let code = |value: u32, len: u32| ((value.reverse_bits() >> (32 - len)), len);
    let old_cases: Vec<(&str, Vec<u8>)> = vec![
        ("stored, good", vec![1, 3, 0, 0xFC, 0xFF, b'a', b'b', b'c']),
        ("stored, bad length check", vec![1, 3, 0, 0xFC, 0xFE, b'a', b'b', b'c']),
        ("stored, short", vec![1, 3, 0, 0xFC, 0xFF, b'a']),
        ("block type 3", pack(&[(1, 1), (3, 2), (0, 8)])),
        // Fixed: literal 'a' (0x61 → code 0x30 + 0x61 = 0x91, 8 bits), end of block (7 zero bits).
        ("fixed, good", pack(&[(1, 1), (1, 2), code(0x91, 8), (0, 7)])),
        // Symbol 286 (code 0xC0 + 6, 8 bits) and 287.
        ("fixed, symbol 286", pack(&[(1, 1), (1, 2), code(0x91, 8), code(0xC6, 8), (0, 16)])),
        ("fixed, symbol 287", pack(&[(1, 1), (1, 2), code(0x91, 8), code(0xC7, 8), (0, 16)])),
        // Length 3 (symbol 257, 7 bits: 1) then distance symbol 30 / 31 / 0 (distance 1) / 1 (distance 2, too far).
        ("fixed, distance 30", pack(&[(1, 1), (1, 2), code(0x91, 8), code(1, 7), code(30, 5), (0, 16)])),
        ("fixed, distance 31", pack(&[(1, 1), (1, 2), code(0x91, 8), code(1, 7), code(31, 5), (0, 16)])),
        ("fixed, distance 1", pack(&[(1, 1), (1, 2), code(0x91, 8), code(1, 7), code(0, 5), (0, 7)])),
        ("fixed, distance before the start", pack(&[(1, 1), (1, 2), code(0x91, 8), code(1, 7), code(1, 5), (0, 7)])),
        ("fixed, no end of block", pack(&[(1, 1), (1, 2), code(0x91, 8)])),
        ("not last, then nothing", pack(&[(0, 1), (1, 2), (0, 7)])),
        ("trailing bytes ignored", {
            let mut v = pack(&[(1, 1), (1, 2), code(0x91, 8), (0, 7)]);
            v.extend_from_slice(b"trailing");
            v
        }),
        // Dynamic headers: HLIT 287 / HDIST 31 are over the limits.
        ("dynamic, 287 lengths", pack(&[(1, 1), (2, 2), (30, 5), (0, 5), (15, 4), (0, 64)])),
        ("dynamic, 31 distances", pack(&[(1, 1), (2, 2), (0, 5), (30, 5), (15, 4), (0, 64)])),
        // Code-length code: only symbol 16 (length 1) and 0 — complete, then 16 first: nothing to repeat.
        ("dynamic, repeat first", pack(&[(1, 1), (2, 2), (0, 5), (0, 5), (0, 4), (1, 3), (0, 3), (0, 3), (1, 3), (0, 1), (0, 2), (0, 32)])),
        // Code-length code of one code (incomplete): refused.
        ("dynamic, incomplete code-length code", pack(&[(1, 1), (2, 2), (0, 5), (0, 5), (0, 4), (0, 3), (0, 3), (0, 3), (1, 3), (0, 32)])),
        // Code-length code over-subscribed: three codes of length 1.
        ("dynamic, over-subscribed code-length code", pack(&[(1, 1), (2, 2), (0, 5), (0, 5), (0, 4), (1, 3), (1, 3), (1, 3), (0, 3), (0, 32)])),
    ];
    // Canonical codes (RFC 1951 3.2.2) of these lengths, by symbol.
    fn canonical(lengths: &[u8]) -> Vec<(u32, u32)> {
        let mut count = [0u32; 16];
        lengths.iter().filter(|&&l| l > 0).for_each(|&l| count[usize::from(l)] += 1);
        let mut next = [0u32; 16];
        let mut c = 0;
        for len in 1..16 {
            c = (c + count[len - 1] * u32::from(len > 1)) << 1;
            next[len] = c;
        }
        lengths
            .iter()
            .map(|&l| {
                let l = usize::from(l);
                next[l] += 1;
                (next[l] - 1, l as u32)
            })
            .collect()
    }
    let code = |value: u32, len: u32| ((value.reverse_bits() >> (32 - len)), len);
    // A last dynamic block: the header for these literal/length and
    // distance code lengths (the code-length code: 0 and 1 of length 1,
    // `prefix` code-length symbols in place of the first `skip` lengths),
    // then `body` (literal/length symbols).
    let dynamic_from = |literal: &[u8], distance: &[u8], prefix: &[(u32, u32)], skip: usize, body: &[u16]| {
        let mut fields = vec![(1, 1), (2, 2), (literal.len() as u32 - 257, 5), (distance.len() as u32 - 1, 5), (15, 4)];
        let mut sizes = [0u8; 19];
        sizes[0] = 1;
        sizes[1] = 1;
        if !prefix.is_empty() {
            sizes = [0; 19];
            sizes[0] = 2;
            sizes[1] = 2;
            sizes[16] = 2;
            sizes[18] = 2;
        }
        fields.extend(CODE_LENGTH_ORDER.iter().map(|&s| (u32::from(sizes[s]), 3)));
        let lengths_code = canonical(&sizes);
        fields.extend(prefix.iter().copied());
        for &l in literal.iter().chain(distance).skip(skip) {
            let (c, n) = lengths_code[usize::from(l)];
            fields.push(code(c, n));
        }
        let literal_code = canonical(literal);
        for &symbol in body {
            let (c, n) = literal_code[usize::from(symbol)];
            fields.push(code(c, n));
        }
        pack(&fields)
    };
    let dynamic = |literal: &[u8], distance: &[u8], prefix: &[(u32, u32)], body: &[u16]| dynamic_from(literal, distance, prefix, 0, body);
    // 'a' and end of block, one bit each; one distance code.
    let mut literal = vec![0u8; 257];
    literal[97] = 1;
    literal[256] = 1;
    let mut literal_286 = literal.clone();
    literal_286.resize(286, 0);
    let mut literal_287 = literal.clone();
    literal_287.resize(287, 0);
    let lengths_code = canonical(&[2, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2, 0, 2]);
    let repeat = |symbol: usize, extra: (u32, u32)| [code(lengths_code[symbol].0, 2), extra];
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("dynamic, good", dynamic(&literal, &[1], &[], &[97, 97, 256])),
        ("dynamic, 286 lengths", dynamic(&literal_286, &[1], &[], &[97, 97, 256])),
        ("dynamic, 287 lengths", dynamic(&literal_287, &[1], &[], &[97, 97, 256])),
        ("dynamic, 31 distances", dynamic(&literal, &(0..31).map(|i| u8::from(i == 0)).collect::<Vec<_>>(), &[], &[97, 256])),
        ("dynamic, 30 distances", dynamic(&literal, &(0..30).map(|i| u8::from(i == 0)).collect::<Vec<_>>(), &[], &[97, 256])),
        // Three zeros as a repeat (16) before any length, and as 18 (the same
        // but allowed); 138 zeros (18) twice then a repeat that runs past the table.
        ("dynamic, repeat first", dynamic_from(&literal, &[1], &repeat(16, (0, 2)), 3, &[97, 256])),
        ("dynamic, zeros first", dynamic_from(&literal, &[1], &repeat(18, (0, 7)), 11, &[97, 256])),
        ("dynamic, repeat past the end", {
            let mut prefix = vec![];
            prefix.extend(repeat(18, (127, 7)));
            prefix.extend(repeat(18, (127, 7)));
            prefix.extend(repeat(16, (0, 2)));
            dynamic(&literal, &[1], &prefix, &[97, 256])
        }),
    ];
    for (name, data) in &cases {
        assert_eq!(inflate(data, 100), reference(data, 100), "{name}");
    }
    let dyn_ok = |name: &str| cases.iter().find(|(n, _)| *n == name).map(|(_, d)| inflate(d, 100)).unwrap();
    assert_eq!(dyn_ok("dynamic, good"), Ok(b"aa".to_vec()));
    assert_eq!(dyn_ok("dynamic, 286 lengths"), Ok(b"aa".to_vec()));
    assert_eq!(dyn_ok("dynamic, zeros first"), Ok(b"a".to_vec()));
    assert_eq!(dyn_ok("dynamic, 30 distances"), Ok(b"a".to_vec()));
    for name in ["dynamic, 287 lengths", "dynamic, 31 distances", "dynamic, repeat first", "dynamic, repeat past the end"] {
        assert_eq!(dyn_ok(name), Err(UnsealError::Inflate), "{name}");
    }
    let cases: Vec<(&str, Vec<u8>)> = old_cases;
    for (name, data) in &cases {
        let ours = inflate(data, 100);
        assert_eq!(ours, reference(data, 100), "{name}");
    }
    let ok = |name: &str| cases.iter().find(|(n, _)| *n == name).map(|(_, d)| inflate(d, 100)).unwrap();
    assert_eq!(ok("stored, good"), Ok(b"abc".to_vec()));
    assert_eq!(ok("fixed, good"), Ok(b"a".to_vec()));
    assert_eq!(ok("fixed, distance 1"), Ok(b"aaaa".to_vec()));
    assert_eq!(ok("trailing bytes ignored"), Ok(b"a".to_vec()));
    for name in
        ["stored, bad length check", "block type 3", "fixed, symbol 286", "fixed, distance 30", "fixed, distance before the start", "dynamic, 287 lengths"]
    {
        assert_eq!(ok(name), Err(UnsealError::Inflate), "{name}");
    }
}

/// Input over many steps, incompressible stretches included (the output
/// grows past its first guess): it inflates back to the same bytes.
#[test]
fn deflate_in_steps_inflates_back() {
    let mut data = Vec::new();
    let mut x: u32 = 7;
    for i in 0..400_000u32 {
        x = x.wrapping_mul(1_103_515_245).wrapping_add(12_345);
        data.push(if i % 3 == 0 { (x >> 16) as u8 } else { b"{\"resourceType\":\"Observation\"}"[(i % 29) as usize] });
    }
    let deflated = crate::source::run_now(deflate_paced(&data, &crate::source::Immediate)).unwrap();
    assert!(deflated.len() < data.len());
    assert_eq!(inflate(&deflated, data.len()).unwrap(), data);
    let empty = crate::source::run_now(deflate_paced(&[], &crate::source::Immediate)).unwrap();
    assert_eq!(inflate(&empty, 0).unwrap(), Vec::<u8>::new());
}
