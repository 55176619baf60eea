//! QR codes (ISO/IEC 18004) for shared links: byte mode, error correction
//! level M (as the SMART Health Links guide recommends), the smallest
//! version that holds the text, the mask chosen by the same penalty score
//! the `qrcode` crate computes. The tests check every module against that
//! crate's encoder for the same bits.

/// Error correction codewords per block, versions 1–40, level M.
const ECC_PER_BLOCK: [u8; 40] = [
    10, 16, 26, 18, 24, 16, 18, 22, 22, 26, 30, 22, 22, 24, 24, 28, 28, 26, 26, 26, 26, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28,
    28,
];
/// Error correction blocks, versions 1–40, level M.
const BLOCKS: [u8; 40] =
    [1, 1, 1, 2, 2, 4, 4, 4, 5, 5, 5, 8, 9, 9, 10, 10, 11, 13, 14, 16, 17, 17, 18, 20, 21, 23, 25, 26, 28, 29, 31, 33, 35, 37, 38, 40, 43, 45, 47, 49];

/// A QR code: `size` × `size` modules, row by row, `true` dark.
pub struct QrCode {
    pub size: usize,
    pub modules: Vec<bool>,
}

/// Modules of data and error correction in a symbol of `version`.
fn raw_modules(version: usize) -> usize {
    let mut n = (16 * version + 128) * version + 64;
    if version >= 2 {
        let align = version / 7 + 2;
        n -= (25 * align - 10) * align - 55;
        if version >= 7 {
            n -= 36;
        }
    }
    n
}

/// The version's error correction: codewords per block and blocks.
fn ecc(version: usize) -> (usize, usize) {
    let at = version.saturating_sub(1);
    (ECC_PER_BLOCK.get(at).copied().map_or(0, usize::from), BLOCKS.get(at).copied().map_or(1, usize::from))
}

fn data_codewords(version: usize) -> usize {
    let (per_block, blocks) = ecc(version);
    raw_modules(version) / 8 - per_block * blocks
}

/// GF(2⁸) multiplication modulo x⁸ + x⁴ + x³ + x² + 1.
fn gf_mul(a: u8, b: u8) -> u8 {
    let mut z: u8 = 0;
    for i in (0..8).rev() {
        z = (z << 1) ^ ((z >> 7) * 0x1D);
        z ^= ((b >> i) & 1) * a;
    }
    z
}

/// The Reed–Solomon generator polynomial of `degree` (leading 1 left out).
fn rs_divisor(degree: usize) -> Vec<u8> {
    let mut result = vec![0u8; degree];
    if let Some(last) = result.last_mut() {
        *last = 1;
    }
    let mut root: u8 = 1;
    for _ in 0..degree {
        for j in 0..degree {
            let next = result.get(j + 1).copied().unwrap_or(0);
            if let Some(r) = result.get_mut(j) {
                *r = gf_mul(*r, root) ^ next;
            }
        }
        root = gf_mul(root, 0x02);
    }
    result
}

/// The error correction codewords of `data`.
fn rs_remainder(data: &[u8], divisor: &[u8]) -> Vec<u8> {
    let mut result = vec![0u8; divisor.len()];
    for &b in data {
        let factor = b ^ result.first().copied().unwrap_or(0);
        result.rotate_left(1);
        if let Some(last) = result.last_mut() {
            *last = 0;
        }
        for (r, &d) in result.iter_mut().zip(divisor) {
            *r ^= gf_mul(d, factor);
        }
    }
    result
}

/// The bits of `text` in byte mode, terminated and padded to the version's
/// data codewords; `None` when it does not fit.
fn data_bits(text: &[u8], version: usize) -> Option<Vec<u8>> {
    let capacity = data_codewords(version);
    let count_bits: u32 = if version <= 9 { 8 } else { 16 };
    if text.len() >= 1 << count_bits || 4 + count_bits as usize + 8 * text.len() > capacity * 8 {
        return None;
    }
    let mut bits = Vec::with_capacity(capacity * 8);
    let put = |bits: &mut Vec<bool>, value: u32, width: u32| bits.extend((0..width).rev().map(|i| (value >> i) & 1 == 1));
    put(&mut bits, 0b0100, 4);
    put(&mut bits, text.len() as u32, count_bits);
    for &b in text {
        put(&mut bits, u32::from(b), 8);
    }
    // The terminator (up to four zero bits), then zero bits to a whole byte.
    let terminator = (capacity * 8 - bits.len()).min(4);
    bits.resize(bits.len() + terminator, false);
    bits.resize(bits.len().div_ceil(8) * 8, false);
    let mut out: Vec<u8> = bits.chunks(8).map(|byte| byte.iter().fold(0u8, |acc, &bit| acc << 1 | u8::from(bit))).collect();
    for pad in [0xEC, 0x11].into_iter().cycle() {
        if out.len() >= capacity {
            break;
        }
        out.push(pad);
    }
    Some(out)
}

/// The data split into blocks, each with its error correction, interleaved.
fn codewords(data: &[u8], version: usize) -> Vec<u8> {
    let (per_block, blocks) = ecc(version);
    let raw = raw_modules(version) / 8;
    let short_blocks = blocks - raw % blocks;
    let short_data = raw / blocks - per_block;
    let divisor = rs_divisor(per_block);
    let mut parts = Vec::with_capacity(blocks);
    let mut rest = data;
    for i in 0..blocks {
        let (block, tail) = rest.split_at((short_data + usize::from(i >= short_blocks)).min(rest.len()));
        rest = tail;
        parts.push((block, rs_remainder(block, &divisor)));
    }
    let mut out = Vec::with_capacity(raw);
    for i in 0..=short_data {
        out.extend(parts.iter().filter_map(|(block, _)| block.get(i)));
    }
    for i in 0..per_block {
        out.extend(parts.iter().filter_map(|(_, ecc)| ecc.get(i)));
    }
    out
}

/// The alignment patterns' centre coordinates.
fn alignment_positions(version: usize, size: usize) -> Vec<usize> {
    if version == 1 {
        return Vec::new();
    }
    let count = version / 7 + 2;
    let step = (version * 8 + count * 3 + 5) / (count * 4 - 4) * 2;
    let mut out: Vec<usize> = (0..count - 1).map(|i| size - 7 - i * step).collect();
    out.push(6);
    out.reverse();
    out
}

/// A symbol being drawn: module colours and which modules are function patterns.
struct Grid {
    size: usize,
    dark: Vec<bool>,
    function: Vec<bool>,
}

impl Grid {
    fn set(&mut self, x: usize, y: usize, dark: bool) {
        let at = y * self.size + x;
        if let (Some(d), Some(f)) = (self.dark.get_mut(at), self.function.get_mut(at)) {
            *d = dark;
            *f = true;
        }
    }

    fn get(&self, x: usize, y: usize) -> bool {
        self.dark.get(y * self.size + x).copied().unwrap_or(false)
    }

    fn is_function(&self, x: usize, y: usize) -> bool {
        self.function.get(y * self.size + x).copied().unwrap_or(true)
    }

    /// Finder pattern with its separator, centred at (x, y).
    fn finder(&mut self, x: usize, y: usize) {
        for dy in -4i32..=4 {
            for dx in -4i32..=4 {
                let (xx, yy) = (x as i32 + dx, y as i32 + dy);
                if (0..self.size as i32).contains(&xx) && (0..self.size as i32).contains(&yy) {
                    let d = dx.abs().max(dy.abs());
                    self.set(xx as usize, yy as usize, d != 2 && d != 4);
                }
            }
        }
    }

    fn alignment(&mut self, x: usize, y: usize) {
        for dy in -2i32..=2 {
            for dx in -2i32..=2 {
                self.set((x as i32 + dx) as usize, (y as i32 + dy) as usize, dx.abs().max(dy.abs()) != 1);
            }
        }
    }

    /// Format information (level M, `mask`) in both copies, and the dark module.
    fn format(&mut self, mask: usize) {
        let data = mask as u32; // level M's two bits are 00
        let mut rem = data;
        for _ in 0..10 {
            rem = (rem << 1) ^ ((rem >> 9) * 0x537);
        }
        let bits = (data << 10 | rem) ^ 0x5412;
        let bit = |i: usize| (bits >> i) & 1 == 1;
        let s = self.size;
        for i in 0..=5 {
            self.set(8, i, bit(i));
        }
        self.set(8, 7, bit(6));
        self.set(8, 8, bit(7));
        self.set(7, 8, bit(8));
        for i in 9..15 {
            self.set(14 - i, 8, bit(i));
        }
        for i in 0..8 {
            self.set(s - 1 - i, 8, bit(i));
        }
        for i in 8..15 {
            self.set(8, s - 15 + i, bit(i));
        }
        self.set(8, s - 8, true);
    }

    /// Version information (versions 7 and up), both copies.
    fn version(&mut self, version: usize) {
        if version < 7 {
            return;
        }
        let mut rem = version as u32;
        for _ in 0..12 {
            rem = (rem << 1) ^ ((rem >> 11) * 0x1F25);
        }
        let bits = (version as u32) << 12 | rem;
        for i in 0..18 {
            let dark = (bits >> i) & 1 == 1;
            let (a, b) = (self.size - 11 + i % 3, i / 3);
            self.set(a, b, dark);
            self.set(b, a, dark);
        }
    }

    /// The codewords along the two-column zigzag, right to left.
    fn place(&mut self, words: &[u8]) {
        let mut i = 0;
        let mut right = self.size - 1;
        while right >= 1 {
            if right == 6 {
                right = 5;
            }
            for vert in 0..self.size {
                for j in 0..2 {
                    let x = right - j;
                    let y = if (right + 1) & 2 == 0 { self.size - 1 - vert } else { vert };
                    if !self.is_function(x, y) && i < words.len() * 8 {
                        let dark = words.get(i >> 3).is_some_and(|w| (w >> (7 - (i & 7))) & 1 == 1);
                        if let Some(d) = self.dark.get_mut(y * self.size + x) {
                            *d = dark;
                        }
                        i += 1;
                    }
                }
            }
            if right < 2 {
                break;
            }
            right -= 2;
        }
    }

    /// Flips the data modules where mask pattern `mask` says so.
    fn apply_mask(&mut self, mask: usize) {
        for y in 0..self.size {
            for x in 0..self.size {
                let flip = match mask {
                    0 => (x + y) % 2 == 0,
                    1 => y % 2 == 0,
                    2 => x % 3 == 0,
                    3 => (x + y) % 3 == 0,
                    4 => (x / 3 + y / 2) % 2 == 0,
                    5 => x * y % 2 + x * y % 3 == 0,
                    6 => (x * y % 2 + x * y % 3) % 2 == 0,
                    _ => ((x + y) % 2 + x * y % 3) % 2 == 0,
                };
                if flip && !self.is_function(x, y) {
                    if let Some(d) = self.dark.get_mut(y * self.size + x) {
                        *d = !*d;
                    }
                }
            }
        }
    }

    /// The penalty score, computed as the `qrcode` crate computes it: runs
    /// of five or more (length − 2), 2 × 2 blocks (3 each), finder-like
    /// patterns with four light modules on either side (40 each, less the
    /// finders' own 360 per direction) and |200 × dark / all − 100|.
    fn penalty(&self) -> usize {
        let s = self.size;
        let mut score = 0;
        for horizontal in [true, false] {
            let at = |i: usize, j: usize| if horizontal { self.get(j, i) } else { self.get(i, j) };
            for i in 0..s {
                let mut run = 1;
                for j in 1..=s {
                    if j < s && at(i, j) == at(i, j - 1) {
                        run += 1;
                    } else {
                        if run >= 5 {
                            score += run - 2;
                        }
                        run = 1;
                    }
                }
                for j in 0..s - 6 {
                    let pattern = [true, false, true, true, true, false, true];
                    if pattern.iter().enumerate().any(|(k, &p)| at(i, j + k) != p) {
                        continue;
                    }
                    let dark = |k: i32| k >= 0 && (k as usize) < s && at(i, k as usize);
                    let j = j as i32;
                    if !(j - 4..j).any(dark) || !(j + 7..j + 11).any(dark) {
                        score += 40;
                    }
                }
            }
            score -= 360;
        }
        for y in 0..s - 1 {
            for x in 0..s - 1 {
                let c = self.get(x, y);
                if c == self.get(x + 1, y) && c == self.get(x, y + 1) && c == self.get(x + 1, y + 1) {
                    score += 3;
                }
            }
        }
        let dark = self.dark.iter().filter(|&&d| d).count();
        score + (dark * 200 / (s * s)).abs_diff(100)
    }
}

impl QrCode {
    /// `text` in byte mode at level M; `None` when it is over 2,331 bytes
    /// (the capacity of version 40).
    pub fn new(text: &[u8]) -> Option<QrCode> {
        let (version, data) = (1..=40).find_map(|v| data_bits(text, v).map(|d| (v, d)))?;
        Some(QrCode::with_data(version, &data, None))
    }

    /// The symbol of `version` for these data codewords, with `mask` or
    /// the one of least penalty.
    fn with_data(version: usize, data: &[u8], mask: Option<usize>) -> QrCode {
        let size = version * 4 + 17;
        let mut grid = Grid { size, dark: vec![false; size * size], function: vec![false; size * size] };
        for i in 0..size {
            grid.set(6, i, i % 2 == 0);
            grid.set(i, 6, i % 2 == 0);
        }
        grid.finder(3, 3);
        grid.finder(size - 4, 3);
        grid.finder(3, size - 4);
        let positions = alignment_positions(version, size);
        let last = positions.len().saturating_sub(1);
        for (i, &x) in positions.iter().enumerate() {
            for (j, &y) in positions.iter().enumerate() {
                if (i, j) != (0, 0) && (i, j) != (0, last) && (i, j) != (last, 0) {
                    grid.alignment(x, y);
                }
            }
        }
        // Reserved until the mask is known.
        grid.format(0);
        grid.version(version);
        grid.place(&codewords(data, version));
        let chosen = mask.unwrap_or_else(|| {
            let mut best = (usize::MAX, 0);
            for m in 0..8 {
                grid.apply_mask(m);
                grid.format(m);
                let score = grid.penalty();
                if score < best.0 {
                    best = (score, m);
                }
                grid.apply_mask(m);
            }
            best.1
        });
        grid.apply_mask(chosen);
        grid.format(chosen);
        QrCode { size, modules: grid.dark }
    }

    /// The code as an SVG image with a four-module quiet zone, at least
    /// `min_px` pixels wide, one path of the dark modules' runs.
    pub fn svg(&self, min_px: usize, attributes: &str) -> String {
        use std::fmt::Write as _;
        let n = self.size + 8;
        // A whole number of pixels a module.
        let width = min_px.div_ceil(n) * n;
        let mut out = format!(
            "<svg {attributes}xmlns=\"http://www.w3.org/2000/svg\" version=\"1.1\" width=\"{width}\" height=\"{width}\" viewBox=\"0 0 {n} {n}\" shape-rendering=\"crispEdges\"><path fill=\"#fff\" d=\"M0 0h{n}v{n}H0z\"/><path fill=\"#000\" d=\""
        );
        for (y, row) in self.modules.chunks(self.size).enumerate() {
            let mut x = 0;
            while x < row.len() {
                if row.get(x) == Some(&true) {
                    let run = row.get(x..).unwrap_or_default().iter().take_while(|&&d| d).count();
                    let _ = write!(out, "M{} {}h{run}v1h-{run}z", x + 4, y + 4);
                    x += run;
                } else {
                    x += 1;
                }
            }
        }
        out.push_str("\"/></svg>");
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::util::test_bytes;
    use qrcode::bits::Bits;
    use qrcode::{EcLevel, Version};

    /// The `qrcode` crate's symbol for `text` in byte mode at `version`, level M.
    fn reference(text: &[u8], version: usize) -> Option<Vec<bool>> {
        let mut bits = Bits::new(Version::Normal(version as i16));
        bits.push_byte_data(text).ok()?;
        bits.push_terminator(EcLevel::M).ok()?;
        let code = qrcode::QrCode::with_bits(bits, EcLevel::M).ok()?;
        Some(code.to_colors().into_iter().map(|c| c == qrcode::Color::Dark).collect())
    }

    fn check(text: &[u8]) {
        let ours = QrCode::new(text).unwrap();
        let version = (ours.size - 17) / 4;
        assert!(Some(&ours.modules) == reference(text, version).as_ref(), "{} bytes, version {version}", text.len());
        // The smallest version that holds it.
        if version > 1 {
            assert!(reference(text, version - 1).is_none(), "{} bytes fit version {}", text.len(), version - 1);
        }
    }

    #[test]
    fn every_module_is_the_reference_encoders() {
        // Every length to 300 bytes, then the edges of every version's capacity.
        let alphabet = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
        for len in 0..=300 {
            let text: Vec<u8> = test_bytes(len as u64, len).iter().map(|b| alphabet[usize::from(b % 64)]).collect();
            check(&text);
        }
        for version in 1..=40 {
            let fits = data_codewords(version) - if version <= 9 { 2 } else { 3 };
            for len in [fits - 1, fits, fits + 1] {
                if len <= 2331 {
                    check(&test_bytes(version as u64 * 7 + len as u64, len));
                }
            }
        }
    }

    #[test]
    fn a_health_link_is_readable_at_every_mask() {
        let link = b"shlink:/eyJ1cmwiOiJodHRwczovL2V4YW1wbGUub3JnL3NobC9hYmMiLCJmbGFnIjoiUCIsImtleSI6IkFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQSJ9";
        let version = QrCode::new(link).map(|c| (c.size - 17) / 4).unwrap();
        let data = data_bits(link, version).unwrap();
        for (mask, &pattern) in MASKS.iter().enumerate() {
            let mut bits = Bits::new(Version::Normal(version as i16));
            bits.push_byte_data(link).unwrap();
            bits.push_terminator(EcLevel::M).unwrap();
            let (data_ref, ecc_ref) = qrcode::ec::construct_codewords(&bits.into_bytes(), Version::Normal(version as i16), EcLevel::M).unwrap();
            let mut canvas = qrcode::canvas::Canvas::new(Version::Normal(version as i16), EcLevel::M);
            canvas.draw_all_functional_patterns();
            canvas.draw_data(&data_ref, &ecc_ref);
            canvas.apply_mask(pattern);
            let theirs: Vec<bool> = canvas.into_colors().into_iter().map(|c| c == qrcode::Color::Dark).collect();
            assert!(QrCode::with_data(version, &data, Some(mask)).modules == theirs, "mask {mask}");
        }
    }

    /// Byte mode against the crate's mixed segments (digits and capitals
    /// packed tighter, its version searched in three ranges): on links as
    /// the SDK writes them, at most one version larger, and no larger for most.
    #[test]
    fn links_are_at_most_one_version_larger_than_with_mixed_segments() {
        let alphabet = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
        let mut count = [0; 3];
        for i in 0..200u64 {
            let payload: String = test_bytes(i, 120 + (i as usize * 7) % 500).iter().map(|b| char::from(alphabet[usize::from(b % 64)])).collect();
            let link = if i % 2 == 0 { format!("shlink:/{payload}") } else { format!("https://viewer.example.org/#shlink:/{payload}") };
            let ours = (QrCode::new(link.as_bytes()).unwrap().size - 17) / 4;
            let theirs = match qrcode::QrCode::with_error_correction_level(link.as_bytes(), EcLevel::M).unwrap().version() {
                Version::Normal(v) => v as usize,
                Version::Micro(_) => unreachable!(),
            };
            assert!(ours <= theirs + 1, "{link}: version {ours} against {theirs}");
            count[ours + 1 - theirs] += 1;
        }
        eprintln!("byte mode against mixed segments, 200 links: {} a version smaller, {} the same, {} one larger", count[0], count[1], count[2]);
        assert!(count[0] + count[1] >= 150, "{count:?}");
    }

    const MASKS: [qrcode::canvas::MaskPattern; 8] = {
        use qrcode::canvas::MaskPattern::*;
        [Checkerboard, HorizontalLines, VerticalLines, DiagonalLines, LargeCheckerboard, Fields, Diamonds, Meadow]
    };

    #[test]
    fn too_long_is_none_and_the_svg_has_a_quiet_zone() {
        assert!(QrCode::new(&[b'a'; 2331]).is_some());
        assert!(QrCode::new(&[b'a'; 2332]).is_none());
        let code = QrCode::new(b"hello").unwrap();
        assert_eq!(code.size, 21);
        let svg = code.svg(232, "role=\"img\" ");
        assert!(
            svg.starts_with("<svg role=\"img\" xmlns=\"http://www.w3.org/2000/svg\" version=\"1.1\" width=\"232\" height=\"232\" viewBox=\"0 0 29 29\""),
            "{svg}"
        );
        // Each dark module drawn once, inside the quiet zone.
        let mut drawn = vec![false; 29 * 29];
        let path = svg.split("fill=\"#000\" d=\"").nth(1).unwrap().split('"').next().unwrap();
        for run in path.split('M').skip(1) {
            let (xy, rest) = run.split_once('h').unwrap();
            let (x, y) = xy.split_once(' ').unwrap();
            let len: usize = rest.split('v').next().unwrap().parse().unwrap();
            let (x, y): (usize, usize) = (x.parse().unwrap(), y.parse().unwrap());
            for k in 0..len {
                assert!(!drawn[y * 29 + x + k]);
                drawn[y * 29 + x + k] = true;
            }
        }
        for y in 0..29 {
            for x in 0..29 {
                let inside = (4..25).contains(&x) && (4..25).contains(&y);
                assert_eq!(drawn[y * 29 + x], inside && code.modules[(y - 4) * 21 + (x - 4)], "({x}, {y})");
            }
        }
    }
}
