//! GHASH (NIST SP 800-38D, section 6.4) in constant time, for the portable
//! AES-GCM and for chaining the platform's pieces (`pieced`).
//!
//! The field multiplication is BearSSL's `ghash_ctmul64` (Thomas Pornin):
//! carry-less 64×64 products from integer multiplications with the bits
//! spread four apart (no table, no branch, no index on secret data),
//! Karatsuba over the two halves, the high halves of the products from the
//! bit-reversed operands. What differs is for speed in WebAssembly, which
//! has no bit-reversal instruction:
//!
//! - `H`'s halves, their reversals and their masked parts are computed once
//!   per key, not once per block;
//! - four blocks are hashed together with `H⁴, H³, H², H`
//!   (`Y·H⁴ ⊕ B₂·H³ ⊕ B₃·H² ⊕ B₄·H` for `((((Y ⊕ B₁)·H ⊕ B₂)·H ⊕ B₃)·H ⊕ B₄)·H`,
//!   with `B₁` folded into `Y`): the products are linear, so their
//!   unreduced parts are summed and reversed and reduced once per four
//!   blocks.
//!
//! Every key-dependent value is wiped when dropped.

use zeroize::Zeroize;

/// A block of 16 bytes.
pub type Block = [u8; 16];

/// Masks that keep every fourth bit, from bit 0, 1, 2 and 3.
const M: [u64; 4] = [0x1111_1111_1111_1111, 0x2222_2222_2222_2222, 0x4444_4444_4444_4444, 0x8888_8888_8888_8888];

/// One operand's bits spread four apart: `x & M[i]`.
#[inline(always)]
fn spread(x: u64) -> [u64; 4] {
    [x & M[0], x & M[1], x & M[2], x & M[3]]
}

/// The low 64 bits of the carry-less product of `x` and `y` (`y` spread).
/// Each integer product sums at most 16 one-bit terms per output bit
/// position class, four bits apart, so no carry reaches the next bit kept.
#[inline(always)]
fn bmul64(x: u64, y: &[u64; 4]) -> u64 {
    let [x0, x1, x2, x3] = spread(x);
    let [y0, y1, y2, y3] = *y;
    let m = |a: u64, b: u64| a.wrapping_mul(b);
    let z0 = m(x0, y0) ^ m(x1, y3) ^ m(x2, y2) ^ m(x3, y1);
    let z1 = m(x0, y1) ^ m(x1, y0) ^ m(x2, y3) ^ m(x3, y2);
    let z2 = m(x0, y2) ^ m(x1, y1) ^ m(x2, y0) ^ m(x3, y3);
    let z3 = m(x0, y3) ^ m(x1, y2) ^ m(x2, y1) ^ m(x3, y0);
    (z0 & M[0]) | (z1 & M[1]) | (z2 & M[2]) | (z3 & M[3])
}

/// A multiplier: the Karatsuba operands of a field element (its low and
/// high halves, their sum, and the bit reversals of the three), each spread.
#[derive(Clone, Default)]
struct Factor([[u64; 4]; 6]);

impl Factor {
    /// From the element `(hi, lo)` (the block's first and last eight bytes,
    /// big-endian). Once per key and per power of it (and once per
    /// [`mul`]): not inlined, since WebAssembly has no bit reversal and each
    /// copy is long.
    #[inline(never)]
    fn new(hi: u64, lo: u64) -> Factor {
        let (lo_r, hi_r) = (lo.reverse_bits(), hi.reverse_bits());
        Factor([spread(lo), spread(hi), spread(lo ^ hi), spread(lo_r), spread(hi_r), spread(lo_r ^ hi_r)])
    }
}

impl Drop for Factor {
    fn drop(&mut self) {
        self.0.zeroize();
    }
}

/// The six unreduced partial products of one or more multiplications, summed.
#[derive(Default)]
struct Partial([u64; 6]);

impl Partial {
    /// Adds `(hi, lo)·f`, unreduced (one function, its six products inlined:
    /// a call per block costs less than the code of 24 products inlined).
    #[inline(never)]
    fn add(&mut self, hi: u64, lo: u64, f: &Factor) {
        let (lo_r, hi_r) = (lo.reverse_bits(), hi.reverse_bits());
        let [f0, f1, f2, f0r, f1r, f2r] = &f.0;
        let p = &mut self.0;
        p[0] ^= bmul64(lo, f0);
        p[1] ^= bmul64(hi, f1);
        p[2] ^= bmul64(lo ^ hi, f2);
        p[3] ^= bmul64(lo_r, f0r);
        p[4] ^= bmul64(hi_r, f1r);
        p[5] ^= bmul64(lo_r ^ hi_r, f2r);
    }

    /// The sum as a field element `(hi, lo)`: Karatsuba's recombination, the
    /// high halves reversed back, the product shifted for GHASH's reflected
    /// bit order and reduced modulo `x¹²⁸ + x⁷ + x² + x + 1`.
    #[inline(never)]
    fn reduce(&self) -> (u64, u64) {
        let [z0, z1, z2, z0h, z1h, z2h] = self.0;
        let z2 = z2 ^ z0 ^ z1;
        let z2h = z2h ^ z0h ^ z1h;
        let (z0h, z1h, z2h) = (z0h.reverse_bits() >> 1, z1h.reverse_bits() >> 1, z2h.reverse_bits() >> 1);
        let (v0, v1, v2, v3) = (z0, z0h ^ z2, z1 ^ z2h, z1h);
        let v3 = (v3 << 1) | (v2 >> 63);
        let mut v2 = (v2 << 1) | (v1 >> 63);
        let mut v1 = (v1 << 1) | (v0 >> 63);
        let v0 = v0 << 1;
        v2 ^= v0 ^ (v0 >> 1) ^ (v0 >> 2) ^ (v0 >> 7);
        v1 ^= (v0 << 63) ^ (v0 << 62) ^ (v0 << 57);
        let v3 = v3 ^ v1 ^ (v1 >> 1) ^ (v1 >> 2) ^ (v1 >> 7);
        v2 ^= (v1 << 63) ^ (v1 << 62) ^ (v1 << 57);
        (v3, v2)
    }
}

impl Drop for Partial {
    fn drop(&mut self) {
        self.0.zeroize();
    }
}

/// A block as `(hi, lo)`: its first and last eight bytes, big-endian; a
/// shorter one padded with zeros.
#[inline(always)]
fn halves(block: &[u8]) -> (u64, u64) {
    let mut padded = [0; 16];
    let whole = match block.first_chunk::<16>() {
        Some(whole) => whole,
        None => {
            if let Some(start) = padded.get_mut(..block.len()) {
                start.copy_from_slice(block);
            }
            &padded
        }
    };
    let x = u128::from_be_bytes(*whole);
    ((x >> 64) as u64, x as u64)
}

fn to_block((hi, lo): (u64, u64)) -> Block {
    (u128::from(hi) << 64 | u128::from(lo)).to_be_bytes()
}

/// `x·y` in GHASH's field.
pub fn mul(x: &Block, y: &Block) -> Block {
    let (yh, yl) = halves(y);
    let (xh, xl) = halves(x);
    let mut partial = Partial::default();
    partial.add(xh, xl, &Factor::new(yh, yl));
    to_block(partial.reduce())
}

/// GHASH under a hash subkey `H`, taking its input a slice at a time.
#[derive(Clone)]
pub struct Ghash {
    /// `H`, `H²`, `H³`, `H⁴`.
    powers: [Factor; 4],
    /// The running value `Y` as `(hi, lo)`.
    y: (u64, u64),
}

impl Drop for Ghash {
    fn drop(&mut self) {
        self.y.0.zeroize();
        self.y.1.zeroize();
    }
}

impl Ghash {
    pub fn new(h: &Block) -> Ghash {
        let h1 = halves(h);
        let one = Factor::new(h1.0, h1.1);
        let power = |x: (u64, u64)| {
            let mut partial = Partial::default();
            partial.add(x.0, x.1, &one);
            partial.reduce()
        };
        let h2 = power(h1);
        let h3 = power(h2);
        let h4 = power(h3);
        let powers = [Factor::new(h1.0, h1.1), Factor::new(h2.0, h2.1), Factor::new(h3.0, h3.1), Factor::new(h4.0, h4.1)];
        Ghash { powers, y: (0, 0) }
    }

    /// Hashes `data`, its last partial block (if any) padded with zeros:
    /// padding each slice is padding the whole only when every slice but
    /// the last is whole blocks.
    pub fn update_padded(&mut self, data: &[u8]) {
        let [h1, h2, h3, h4] = &self.powers;
        let mut fours = data.chunks_exact(64);
        for four in &mut fours {
            let (b1, rest) = four.split_at(16);
            let (b2, rest) = rest.split_at(16);
            let (b3, b4) = rest.split_at(16);
            let mut partial = Partial::default();
            let (hi, lo) = halves(b1);
            partial.add(self.y.0 ^ hi, self.y.1 ^ lo, h4);
            let (hi, lo) = halves(b2);
            partial.add(hi, lo, h3);
            let (hi, lo) = halves(b3);
            partial.add(hi, lo, h2);
            let (hi, lo) = halves(b4);
            partial.add(hi, lo, h1);
            self.y = partial.reduce();
        }
        for block in fours.remainder().chunks(16) {
            let (hi, lo) = halves(block);
            let mut partial = Partial::default();
            partial.add(self.y.0 ^ hi, self.y.1 ^ lo, h1);
            self.y = partial.reduce();
        }
    }

    /// The hash so far.
    pub fn finalize(&self) -> Block {
        to_block(self.y)
    }
}
