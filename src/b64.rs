//! Base64 (RFC 4648): the URL-safe alphabet without padding (JOSE, SMART
//! Health Links, keys) and the standard one with canonical padding (FHIR
//! `base64Binary`). Strict as JOSE asks: no character outside the alphabet
//! (no whitespace, no padding where there is none), no length of 4n + 1, and
//! the bits after the last byte zero, so one text decodes to one value and
//! one value has one text.

/// The URL-safe alphabet (`-` and `_`).
const URL: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/// A character's six bits in `alphabet`, or `0xFF`; built when compiling.
// Evaluated when compiling: an index out of range fails the build, not a run.
#[allow(clippy::indexing_slicing)]
const fn table(last_two: [u8; 2]) -> [u8; 256] {
    let mut table = [0xFF; 256];
    let mut i = 0;
    while i < 62 {
        table[URL[i] as usize] = i as u8;
        i += 1;
    }
    table[last_two[0] as usize] = 62;
    table[last_two[1] as usize] = 63;
    table
}

static URL_TABLE: [u8; 256] = table([b'-', b'_']);
static STANDARD_TABLE: [u8; 256] = table([b'+', b'/']);

/// The 24 bits of four characters, or `None` if one is outside the table.
#[inline(always)]
fn group(table: &[u8; 256], chars: [u8; 4]) -> Option<u32> {
    let [a, b, c, d] = chars.map(|ch| table.get(usize::from(ch)).copied().unwrap_or(0xFF));
    if (a | b | c | d) & 0x80 != 0 {
        return None;
    }
    Some(u32::from(a) << 18 | u32::from(b) << 12 | u32::from(c) << 6 | u32::from(d))
}

/// The bytes of a last group of two or three characters (`chars` padded
/// with `A`), or `None` if a character is invalid or a bit after the last
/// byte is set.
fn tail(table: &[u8; 256], chars: &[u8]) -> Option<([u8; 3], usize)> {
    let mut padded = [b'A'; 4];
    padded.get_mut(..chars.len())?.copy_from_slice(chars);
    let bits = group(table, padded)?;
    let (len, unused) = match chars.len() {
        2 => (1, 0xFFFF),
        3 => (2, 0xFF),
        _ => return None,
    };
    let [_, x, y, z] = bits.to_be_bytes();
    (bits & unused == 0).then_some(([x, y, z], len))
}

/// Decodes `text` in the URL-safe alphabet without padding, appending to `out`.
pub(crate) fn decode_url_into(text: &[u8], out: &mut Vec<u8>) -> Option<()> {
    decode_into(&URL_TABLE, text, out)
}

/// Decodes `text` in the URL-safe alphabet without padding.
pub(crate) fn decode_url(text: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(text.len() / 4 * 3 + 2);
    decode_into(&URL_TABLE, text, &mut out)?;
    Some(out)
}

/// Decodes `text` in the standard alphabet with canonical padding (`=` or
/// `==` completing the last group of four, and only there).
pub(crate) fn decode_standard(text: &[u8]) -> Option<Vec<u8>> {
    if text.len() % 4 != 0 {
        return None;
    }
    let unpadded = text.strip_suffix(b"==").or_else(|| text.strip_suffix(b"=")).unwrap_or(text);
    let mut out = Vec::with_capacity(text.len() / 4 * 3);
    decode_into(&STANDARD_TABLE, unpadded, &mut out)?;
    Some(out)
}

fn decode_into(table: &[u8; 256], text: &[u8], out: &mut Vec<u8>) -> Option<()> {
    if text.len() % 4 == 1 {
        return None;
    }
    let start = out.len();
    crate::util::zero_extend(out, start + text.len() / 4 * 3);
    let whole = text.len() / 4 * 4;
    decode_groups(table, text.get(..whole)?, out.get_mut(start..)?).ok()?;
    let rest = text.get(whole..)?;
    if !rest.is_empty() {
        let (bytes, len) = tail(table, rest)?;
        out.extend_from_slice(bytes.get(..len)?);
    }
    Some(())
}

/// Decodes whole groups of four characters into `bytes` (three per group);
/// `Err(n)`: the `n`th group is not base64. The loop has no branch on the
/// text: invalid characters are noted in one flag, checked at the end (and
/// only then is the first bad group looked for).
#[inline(never)]
fn decode_groups(table: &[u8; 256], chars: &[u8], bytes: &mut [u8]) -> Result<(), usize> {
    let six = |ch: u8| table.get(usize::from(ch)).copied().unwrap_or(0xFF);
    let mut bad = 0;
    // Two groups at a time: 48 bits, written as one 8-byte store where the
    // bytes go on (the next pair overwrites the two extra), else as six.
    let pairs = chars.chunks_exact(8);
    let last = pairs.remainder();
    let whole = bytes.len() / 6 * 6;
    for (i, chars) in pairs.enumerate() {
        if let [c0, c1, c2, c3, c4, c5, c6, c7] = *chars {
            let (v0, v1, v2, v3) = (six(c0), six(c1), six(c2), six(c3));
            let (v4, v5, v6, v7) = (six(c4), six(c5), six(c6), six(c7));
            bad |= v0 | v1 | v2 | v3 | v4 | v5 | v6 | v7;
            let high = u64::from(v0) << 58 | u64::from(v1) << 52 | u64::from(v2) << 46 | u64::from(v3) << 40;
            let low = u64::from(v4) << 34 | u64::from(v5) << 28 | u64::from(v6) << 22 | u64::from(v7) << 16;
            let word = (high | low).to_be_bytes();
            match bytes.get_mut(6 * i..6 * i + 8) {
                Some(to) => to.copy_from_slice(&word),
                None => {
                    if let (Some(to), [a, b, c, d, e, f, _, _]) = (bytes.get_mut(6 * i..6 * i + 6), word) {
                        to.copy_from_slice(&[a, b, c, d, e, f]);
                    }
                }
            }
        }
    }
    let out = bytes.get_mut(whole..).unwrap_or_default();
    if let ([a, b, c, d], [x, y, z, ..]) = (last, out) {
        let (a, b, c, d) = (six(*a), six(*b), six(*c), six(*d));
        bad |= a | b | c | d;
        let bits = u32::from(a) << 18 | u32::from(b) << 12 | u32::from(c) << 6 | u32::from(d);
        *x = (bits >> 16) as u8;
        *y = (bits >> 8) as u8;
        *z = bits as u8;
    }
    if bad & 0x80 == 0 {
        return Ok(());
    }
    Err(chars.chunks_exact(4).position(|group| group.iter().any(|&ch| six(ch) & 0x80 != 0)).unwrap_or(0))
}

/// Groups decoded into a buffer on the stack before being copied in place.
const IN_PLACE_GROUPS: usize = 128;

/// Decodes the URL-safe base64 (no padding) at `buffer[text]` into the same
/// buffer from `to` (at most `text.start`: each group's bytes are written
/// behind the characters still to read). Returns the number of bytes, or
/// where the first group that did not decode starts: the text from there
/// on is as it was (every group before it was valid and is overwritten).
pub(crate) fn decode_url_in_place(buffer: &mut [u8], text: std::ops::Range<usize>, to: usize) -> Result<usize, usize> {
    if to > text.start || text.len() % 4 == 1 || text.end > buffer.len() {
        return Err(text.start);
    }
    let whole = text.len() / 4;
    if to + 3 * whole <= text.start {
        // The bytes end before the text starts: decoded straight there.
        let (head, tail) = buffer.split_at_mut(text.start);
        let bytes = head.get_mut(to..to + 3 * whole).ok_or(text.start)?;
        decode_groups(&URL_TABLE, tail.get(..4 * whole).ok_or(text.start)?, bytes).map_err(|n| text.start + 4 * n)?;
    } else {
        // They overlap: each run of groups goes through the stack.
        let mut staged = [0; 3 * IN_PLACE_GROUPS];
        for first in (0..whole).step_by(IN_PLACE_GROUPS) {
            let groups = IN_PLACE_GROUPS.min(whole - first);
            let at = text.start + 4 * first;
            let chars = buffer.get(at..at + 4 * groups).ok_or(at)?;
            let staged = staged.get_mut(..3 * groups).ok_or(at)?;
            decode_groups(&URL_TABLE, chars, staged).map_err(|n| at + 4 * n)?;
            buffer.get_mut(to + 3 * first..to + 3 * (first + groups)).ok_or(at)?.copy_from_slice(staged);
        }
    }
    let mut written = 3 * whole;
    let rest = text.start + 4 * whole..text.end;
    if !rest.is_empty() {
        let mut chars = [0; 3];
        chars.get_mut(..rest.len()).ok_or(rest.start)?.copy_from_slice(buffer.get(rest.clone()).ok_or(rest.start)?);
        let (bytes, len) = chars.get(..rest.len()).and_then(|chars| tail(&URL_TABLE, chars)).ok_or(rest.start)?;
        buffer.get_mut(to + written..to + written + len).ok_or(rest.start)?.copy_from_slice(bytes.get(..len).ok_or(rest.start)?);
        written += len;
    }
    Ok(written)
}

/// `bytes` in the URL-safe alphabet, without padding.
pub(crate) fn encode_url(bytes: &[u8]) -> String {
    let char_of = |bits: u32| char::from(URL.get((bits & 63) as usize).copied().unwrap_or(b'A'));
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let mut group = [0; 4];
        group.get_mut(1..1 + chunk.len()).unwrap_or_default().copy_from_slice(chunk);
        let bits = u32::from_be_bytes(group);
        for (i, shift) in [18, 12, 6, 0].into_iter().enumerate() {
            if i <= chunk.len() {
                out.push(char_of(bits >> shift));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
    use base64::Engine as _;

    use crate::util::test_bytes as bytes;

    #[test]
    fn round_trips_and_matches_the_base64_crate() {
        for len in 0..300 {
            let data = bytes(len as u64, len);
            let text = encode_url(&data);
            assert_eq!(text, URL_SAFE_NO_PAD.encode(&data));
            assert_eq!(decode_url(text.as_bytes()), Some(data.clone()));
            let padded = STANDARD.encode(&data);
            assert_eq!(decode_standard(padded.as_bytes()), Some(data.clone()));
            let mut buffer = text.clone().into_bytes();
            let n = buffer.len();
            assert_eq!(decode_url_in_place(&mut buffer, 0..n, 0), Ok(len));
            assert_eq!(&buffer[..len], &data[..]);
        }
    }

    #[test]
    fn refuses_what_the_base64_crate_refuses() {
        // Every text of up to 3 characters from a set with the edge cases
        // (padding, whitespace, both alphabets' last two, bits after the end).
        let set = b"AQgw-_+/=. \n\x80z9";
        let mut texts: Vec<Vec<u8>> = vec![vec![]];
        for _ in 0..4 {
            let longer: Vec<Vec<u8>> = texts.iter().flat_map(|t| set.iter().map(move |&c| [t.as_slice(), &[c]].concat())).collect();
            texts.extend(longer.into_iter().filter(|t| t.len() <= 4));
            texts.sort();
            texts.dedup();
        }
        for body in &texts {
            for prefix in [&b""[..], b"QUJD", b"AAAAAAAA"] {
                let text = [prefix, body.as_slice()].concat();
                assert_eq!(decode_url(&text), URL_SAFE_NO_PAD.decode(&text).ok(), "url {:?}", String::from_utf8_lossy(&text));
                assert_eq!(decode_standard(&text), STANDARD.decode(&text).ok(), "standard {:?}", String::from_utf8_lossy(&text));
                let mut buffer = text.clone();
                let n = buffer.len();
                let expected = URL_SAFE_NO_PAD.decode(&text).ok();
                let got = decode_url_in_place(&mut buffer, 0..n, 0);
                assert_eq!(got.ok().map(|len| buffer[..len].to_vec()), expected, "in place {:?}", String::from_utf8_lossy(&text));
                if let Err(at) = got {
                    // Where it stopped, the text is intact, and everything before was valid.
                    assert_eq!(&buffer[at..], &text[at..]);
                    assert!(URL_SAFE_NO_PAD.decode(&text[..at]).is_ok() && at % 4 == 0);
                }
            }
        }
    }

    #[test]
    fn in_place_writes_behind_what_it_reads() {
        let data = bytes(9, 1000);
        let text = encode_url(&data);
        // The text after a header, decoded to the buffer's start and to where the text starts.
        for to in [0, 5, 16] {
            let mut buffer = [vec![b'.'; 16], text.clone().into_bytes()].concat();
            let n = buffer.len();
            assert_eq!(decode_url_in_place(&mut buffer, 16..n, to), Ok(1000));
            assert_eq!(&buffer[to..to + 1000], &data[..]);
        }
        let mut buffer = text.clone().into_bytes();
        let n = buffer.len();
        assert_eq!(decode_url_in_place(&mut buffer, 4..n, 5), Err(4), "never ahead of the text");
        let mut out = b"xy".to_vec();
        assert_eq!(decode_url_into(text.as_bytes(), &mut out), Some(()));
        assert_eq!(&out[2..], &data[..]);
    }
}
