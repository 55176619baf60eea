//! Small shared helpers that keep the WebAssembly module small.
//!
//! The standard library's slice sorts are fast but large, and every element
//! type or comparison closure gets its own copy. Sorting here goes through one
//! non-generic stable merge sort over positions (compared through a
//! `&mut dyn FnMut`), then moves the elements into place with swaps: per
//! element type only a few closures remain.

use std::cmp::Ordering;

/// Runs shorter than this are sorted by binary insertion before merging.
const RUN: usize = 16;

/// Sorts `v` by `cmp`, stably (equal elements keep their order), like
/// `slice::sort_by`. O(n log n) comparisons.
pub(crate) fn sort_by<T>(v: &mut [T], mut cmp: impl FnMut(&T, &T) -> Ordering) {
    if v.len() < 2 {
        return;
    }
    let order = {
        let s: &[T] = v;
        sorted_order(s.len(), &mut |a, b| match (s.get(a), s.get(b)) {
            (Some(x), Some(y)) => cmp(x, y),
            _ => Ordering::Equal,
        })
    };
    permute(order, &mut |a, b| v.swap(a, b));
}

/// Sorts `v` by the key `key` gives, stably, like `slice::sort_by_key`.
pub(crate) fn sort_by_key<T, K: Ord>(v: &mut [T], mut key: impl FnMut(&T) -> K) {
    sort_by(v, |a, b| key(a).cmp(&key(b)));
}

/// The positions `0..n` in stable sorted order: entry `i` is the position of
/// the element that belongs at `i`.
fn sorted_order(n: usize, cmp: &mut dyn FnMut(usize, usize) -> Ordering) -> Vec<usize> {
    let mut order: Vec<usize> = (0..n).collect();
    for run in order.chunks_mut(RUN) {
        insertion_sort(run, cmp);
    }
    let mut other = vec![0; n];
    let mut width = RUN;
    while width < n {
        for (src, dst) in order.chunks(2 * width).zip(other.chunks_mut(2 * width)) {
            let (left, right) = src.split_at(width.min(src.len()));
            match (left.last(), right.first()) {
                // Already in order (common: records are often sorted already).
                (Some(&l), Some(&r)) if cmp(l, r) != Ordering::Greater => dst.copy_from_slice(src),
                (Some(_), Some(_)) => merge(left, right, dst, cmp),
                _ => dst.copy_from_slice(src),
            }
        }
        std::mem::swap(&mut order, &mut other);
        width = width.saturating_mul(2);
    }
    order
}

/// Stable binary insertion sort of a short run.
fn insertion_sort(run: &mut [usize], cmp: &mut dyn FnMut(usize, usize) -> Ordering) {
    for end in 2..=run.len() {
        let Some(s) = run.get_mut(..end) else { break };
        let Some((&x, head)) = s.split_last() else { break };
        // After every equal element: stable.
        let pos = head.partition_point(|&y| cmp(y, x) != Ordering::Greater);
        if let Some(tail) = s.get_mut(pos..) {
            tail.rotate_right(1);
        }
    }
}

/// Merges the sorted `left` and `right` into `out`, taking from `left` on ties.
fn merge(left: &[usize], right: &[usize], out: &mut [usize], cmp: &mut dyn FnMut(usize, usize) -> Ordering) {
    let (mut l, mut r) = (left.iter().copied().peekable(), right.iter().copied().peekable());
    for slot in out {
        let from_left = match (l.peek(), r.peek()) {
            (Some(&a), Some(&b)) => cmp(a, b) != Ordering::Greater,
            (Some(_), None) => true,
            _ => false,
        };
        *slot = if from_left { l.next() } else { r.next() }.unwrap_or_default();
    }
}

/// Applies `order` (from [`sorted_order`]) with `swap`, following each cycle.
fn permute(mut order: Vec<usize>, swap: &mut dyn FnMut(usize, usize)) {
    for start in 0..order.len() {
        let mut at = start;
        while let Some(slot) = order.get_mut(at) {
            let from = std::mem::replace(slot, usize::MAX);
            if from == usize::MAX || from == start {
                break;
            }
            swap(at, from);
            at = from;
        }
    }
}

/// `text` in lower case by Unicode's default case mapping, as
/// `str::to_lowercase` gives it. ASCII text is mapped here; in WebAssembly
/// any other text goes to JavaScript's `toLowerCase`, which applies the same
/// mapping (final sigma included), so the module carries none of `core`'s
/// case tables (24 KB of data).
pub fn lowercase(text: &str) -> String {
    if text.is_ascii() {
        return text.to_ascii_lowercase();
    }
    #[cfg(target_arch = "wasm32")]
    return String::from(js_sys::JsString::from(text).to_lower_case());
    #[cfg(not(target_arch = "wasm32"))]
    text.to_lowercase()
}

/// `text` with its first character in upper case (Unicode's default case
/// mapping, as `char::to_uppercase`), the rest as it is.
pub fn capitalize(text: &str) -> String {
    let mut chars = text.chars();
    let Some(first) = chars.next() else { return String::new() };
    let rest = chars.as_str();
    if first.is_ascii() {
        return format!("{}{rest}", first.to_ascii_uppercase());
    }
    #[cfg(target_arch = "wasm32")]
    let first = String::from(js_sys::JsString::from(first).to_upper_case());
    #[cfg(not(target_arch = "wasm32"))]
    let first: String = first.to_uppercase().collect();
    first + rest
}

/// The module's two map types. Each `HashMap<K, V>` type is its own copy of
/// the hash table's code in the WebAssembly module (about 2.5 KB a type), so
/// every map in the crate is one of these: other values live in a `Vec` the
/// map indexes ([`ListMap`], the chart's groups), and a pair key is written
/// as text ([`pair_key`]).
pub type TextMap = std::collections::HashMap<String, usize>;
/// See [`TextMap`].
pub type NumMap = std::collections::HashMap<usize, usize>;

/// Lengthens `bytes` to `len` with zeros (nothing when it is that long
/// already), a block of zeros copied at a time: `Vec::resize` fills a byte
/// at a time in the size-optimised build (ARCHITECTURE "Build").
pub(crate) fn zero_extend(bytes: &mut Vec<u8>, len: usize) {
    static ZEROS: [u8; 4096] = [0; 4096];
    bytes.reserve(len.saturating_sub(bytes.len()));
    while let Some(more) = len.checked_sub(bytes.len()).filter(|&more| more > 0) {
        bytes.extend_from_slice(ZEROS.get(..more.min(ZEROS.len())).unwrap_or_default());
    }
}

/// The [`TextMap`] key of a pair (a number and a text): `"<n> <text>"`.
pub(crate) fn pair_key(n: usize, text: &str) -> String {
    let mut key = n.to_string();
    key.push(' ');
    key.push_str(text);
    key
}

/// Text → a list of positions, in the order they were added.
#[derive(Debug, Clone, Default)]
pub struct ListMap {
    index: TextMap,
    lists: Vec<Vec<usize>>,
}

impl ListMap {
    /// The list under `key`.
    pub fn get(&self, key: &str) -> Option<&[usize]> {
        self.index.get(key).and_then(|&i| self.lists.get(i)).map(Vec::as_slice)
    }

    /// Adds `value` to the list under `key` unless it is there already.
    pub fn add(&mut self, key: String, value: usize) {
        match self.index.get(&key).and_then(|&i| self.lists.get_mut(i)) {
            Some(list) if list.contains(&value) => {}
            Some(list) => list.push(value),
            None => {
                self.index.insert(key, self.lists.len());
                self.lists.push(vec![value]);
            }
        }
    }
}

/// A set of texts, kept as a [`TextMap`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TextSet(TextMap);

impl TextSet {
    /// Adds `text`: whether it was new.
    pub fn insert(&mut self, text: String) -> bool {
        self.0.insert(text, 0).is_none()
    }

    pub fn contains(&self, text: &str) -> bool {
        self.0.contains_key(text)
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// Deterministic bytes for tests (xorshift), different for each seed.
#[cfg(test)]
pub(crate) fn test_bytes(seed: u64, len: usize) -> Vec<u8> {
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect()
}

/// Every `.json` file of the reference data (`../shared/data/fhir`, at any depth).
#[cfg(test)]
pub(crate) fn reference_json_files() -> Vec<std::path::PathBuf> {
    fn walk(dir: &std::path::Path, out: &mut Vec<std::path::PathBuf>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                walk(&path, out);
            } else if path.extension().is_some_and(|e| e == "json") {
                out.push(path);
            }
        }
    }
    let mut out = Vec::new();
    walk(std::path::Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/data/fhir")), &mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zero_extend_is_resize_with_zeros() {
        for start in [0, 1, 7, 4096] {
            for len in [0, 1, 5, 4095, 4096, 4097, 8192, 8193, 10_000] {
                let mut ours = test_bytes(start as u64, start);
                let mut reference = ours.clone();
                zero_extend(&mut ours, len);
                reference.resize(len.max(start), 0);
                assert_eq!(ours, reference, "from {start} to {len}");
            }
        }
    }

    /// Deterministic pseudo-random numbers (xorshift).
    fn numbers(n: usize, seed: u64, modulo: u64) -> Vec<u64> {
        let mut x = seed | 1;
        (0..n)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                x % modulo
            })
            .collect()
    }

    #[test]
    fn sorts_like_the_standard_stable_sort() {
        for n in [0, 1, 2, 3, 15, 16, 17, 31, 32, 33, 100, 1000, 4097, 10_000] {
            for modulo in [2, 10, 1_000_000] {
                // Pairs (key, original position): equal keys must keep their order.
                let keys = numbers(n, n as u64 + modulo, modulo);
                let mut ours: Vec<(u64, usize)> = keys.iter().copied().zip(0..).collect();
                let mut std = ours.clone();
                sort_by_key(&mut ours, |p| p.0);
                std.sort_by_key(|p| p.0);
                assert_eq!(ours, std, "n {n}, modulo {modulo}");
            }
        }
    }

    #[test]
    fn keeps_sorted_reversed_and_equal_inputs_right() {
        let sorted: Vec<usize> = (0..5000).collect();
        let mut v = sorted.clone();
        sort_by(&mut v, |a, b| a.cmp(b));
        assert_eq!(v, sorted);
        let mut v: Vec<usize> = sorted.iter().rev().copied().collect();
        sort_by(&mut v, |a, b| a.cmp(b));
        assert_eq!(v, sorted);
        let mut v: Vec<(u8, usize)> = (0..5000).map(|i| (0, i)).collect();
        sort_by_key(&mut v, |p| p.0);
        assert!(v.iter().enumerate().all(|(i, p)| p.1 == i));
        // Descending with a stable tie order, as the chart sorts rows.
        let mut v: Vec<(Option<i64>, usize)> = numbers(3000, 7, 50).into_iter().map(|k| (k.checked_sub(5).map(|k| k as i64), 0)).collect();
        for (i, p) in v.iter_mut().enumerate() {
            p.1 = i;
        }
        let mut std = v.clone();
        sort_by_key(&mut v, |p| std::cmp::Reverse(p.0));
        std.sort_by_key(|p| std::cmp::Reverse(p.0));
        assert_eq!(v, std);
    }

    #[test]
    fn moves_owned_elements_without_losing_any() {
        let words = numbers(777, 3, 40);
        let mut v: Vec<String> = words.iter().map(|w| format!("w{w:02}")).collect();
        let mut std = v.clone();
        sort_by(&mut v, |a, b| a.cmp(b));
        std.sort();
        assert_eq!(v, std);
    }

    #[test]
    fn uses_n_log_n_comparisons() {
        let n = 10_000;
        let keys = numbers(n, 11, u64::MAX);
        let mut v = keys.clone();
        let mut count = 0usize;
        sort_by(&mut v, |a, b| {
            count += 1;
            a.cmp(b)
        });
        assert!(v.windows(2).all(|w| w[0] <= w[1]));
        // n log2 n is about 133,000 for 10,000.
        assert!(count < 160_000, "{count} comparisons");
    }
}
