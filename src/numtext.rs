//! Numbers as text with integer arithmetic only, so that the WebAssembly
//! module carries no general float printing.

/// An unsigned integer of any size, 32-bit limbs, least significant first.
struct Big(Vec<u32>);

impl Big {
    fn mul_add(&mut self, factor: u32, add: u32) {
        let mut carry = u64::from(add);
        for limb in &mut self.0 {
            let v = u64::from(*limb) * u64::from(factor) + carry;
            *limb = v as u32;
            carry = v >> 32;
        }
        if carry > 0 {
            self.0.push(carry as u32);
        }
    }

    fn shl(&mut self, bits: u32) {
        let (limbs, bits) = ((bits / 32) as usize, bits % 32);
        if bits > 0 {
            let mut carry = 0;
            for limb in &mut self.0 {
                let v = (u64::from(*limb) << bits) | carry;
                *limb = v as u32;
                carry = v >> 32;
            }
            if carry > 0 {
                self.0.push(carry as u32);
            }
        }
        self.0.splice(0..0, std::iter::repeat_n(0, limbs));
    }

    fn bit(&self, i: u32) -> bool {
        self.0.get((i / 32) as usize).is_some_and(|l| l >> (i % 32) & 1 == 1)
    }

    /// Whether any bit below `i` is set.
    fn any_below(&self, i: u32) -> bool {
        self.0.iter().enumerate().any(|(n, l)| {
            let start = n as u64 * 32;
            let i = u64::from(i);
            i > start && (if i - start >= 32 { *l != 0 } else { *l & ((1u32 << (i - start)) - 1) != 0 })
        })
    }

    fn shr(&mut self, bits: u32) {
        let limbs = ((bits / 32) as usize).min(self.0.len());
        self.0.drain(..limbs);
        let bits = bits % 32;
        if bits > 0 {
            let mut carry = 0u32;
            for limb in self.0.iter_mut().rev() {
                let v = *limb;
                *limb = (v >> bits) | carry;
                carry = v << (32 - bits);
            }
        }
    }

    /// Divides by `d`, returning the remainder.
    fn div_rem(&mut self, d: u32) -> u32 {
        let mut rem = 0u64;
        for limb in self.0.iter_mut().rev() {
            let v = (rem << 32) | u64::from(*limb);
            *limb = (v / u64::from(d)) as u32;
            rem = v % u64::from(d);
        }
        while self.0.last() == Some(&0) {
            self.0.pop();
        }
        rem as u32
    }

    /// Decimal digits (`0` for zero).
    fn digits(mut self) -> String {
        let mut chunks = Vec::new();
        while !self.0.is_empty() {
            chunks.push(self.div_rem(1_000_000_000));
        }
        let mut out = chunks.pop().unwrap_or(0).to_string();
        for chunk in chunks.iter().rev() {
            let text = chunk.to_string();
            out.extend(std::iter::repeat_n('0', 9 - text.len()));
            out.push_str(&text);
        }
        out
    }
}

/// `v` with exactly `decimals` digits after the point, as
/// `format!("{v:.decimals$}")` writes it: the exact binary value rounded
/// half to even, `-` kept on negative values that round to zero, `NaN`,
/// `inf`, `-inf`.
pub fn fixed(v: f64, decimals: usize) -> String {
    if v.is_nan() {
        return "NaN".into();
    }
    let mut out = String::from(if v.is_sign_negative() { "-" } else { "" });
    if v.is_infinite() {
        out.push_str("inf");
        return out;
    }
    let bits = v.to_bits();
    let (exponent, fraction) = (((bits >> 52) & 0x7ff) as i32, bits & ((1 << 52) - 1));
    let (mantissa, exponent) = if exponent == 0 { (fraction, -1074) } else { (fraction | 1 << 52, exponent - 1075) };
    // round(mantissa × 2^exponent × 10^decimals)
    let mut n = Big(vec![mantissa as u32, (mantissa >> 32) as u32]);
    for _ in 0..decimals {
        n.mul_add(10, 0);
    }
    if exponent >= 0 {
        n.shl(exponent as u32);
    } else {
        let shift = exponent.unsigned_abs();
        let (half, rest) = (n.bit(shift - 1), n.any_below(shift - 1));
        n.shr(shift);
        if half && (rest || n.bit(0)) {
            n.mul_add(1, 1);
        }
    }
    let digits = n.digits();
    if decimals == 0 {
        out.push_str(&digits);
        return out;
    }
    let padded = if digits.len() <= decimals { "0".repeat(decimals + 1 - digits.len()) + &digits } else { digits };
    let (whole, fraction) = padded.split_at(padded.len() - decimals);
    out.push_str(whole);
    out.push('.');
    out.push_str(fraction);
    out
}

/// `v` rounded to one decimal place, as `{}` writes that value: `12.5`,
/// `12` (no `.0`), `0` (never `-0`). Exact for |v| below 10^14 (the values
/// drawn: SVG coordinates).
pub fn tenths(v: f64) -> String {
    let tenths = (v * 10.0).round();
    if tenths == 0.0 || !tenths.is_finite() {
        return if tenths.is_finite() { "0".into() } else { fixed(tenths, 0) };
    }
    let text = fixed(tenths, 0);
    let (sign, digits) = text.split_at(usize::from(tenths < 0.0));
    let (whole, tenth) = digits.split_at(digits.len() - 1);
    let whole = if whole.is_empty() { "0" } else { whole };
    if tenth == "0" {
        format!("{sign}{whole}")
    } else {
        format!("{sign}{whole}.{tenth}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fixed_matches_core_formatting() {
        let mut values = vec![
            0.0,
            -0.0,
            9.995,
            10.0,
            0.5,
            1.5,
            2.5,
            -0.5,
            -0.04,
            0.125,
            0.375,
            2.675,
            1e-7,
            123.456,
            -987.654321,
            1e21,
            1.7976931348623157e308,
            5e-324,
            2.2250738585072014e-308,
            0.1,
            0.2,
            0.3,
            139.28477650494352,
            0.000123456,
            4503599627370496.5,
            9007199254740993.0,
        ];
        let mut state = 0x2545_f491_4f6c_dd1du64;
        for _ in 0..20_000 {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            let v = f64::from_bits(state);
            values.push(v);
            values.push((state % 2_000_000) as f64 / 1000.0 - 1000.0);
            values.push((state % 100_000) as f64 / 8.0);
        }
        for v in values {
            for decimals in [0, 1, 2, 3, 5, 7, 17, 30] {
                assert_eq!(fixed(v, decimals), format!("{v:.decimals$}"), "{v:e} {decimals}");
            }
        }
        assert_eq!(fixed(9.995, 2), "9.99"); // 9.9949999… in binary
        assert_eq!(fixed(9.9951, 2), "10.00");
        assert_eq!(fixed(-0.04, 1), "-0.0");
        assert_eq!(fixed(f64::NAN, 2), "NaN");
        assert_eq!(fixed(f64::NEG_INFINITY, 2), "-inf");
    }

    #[test]
    fn tenths_match_core_formatting() {
        let core = |v: f64| {
            let r = (v * 10.0).round() / 10.0;
            format!("{}", if r == 0.0 { 0.0 } else { r })
        };
        let mut state = 0x9e37_79b9_7f4a_7c15u64;
        for i in 0..100_000 {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            let v = match i % 3 {
                0 => (state % 10_000_000) as f64 / 1e4 - 500.0,
                1 => f64::from_bits(state) % 1e13,
                _ => (state % 4000) as f64 / 40.0 - 50.0,
            };
            if v.is_finite() {
                assert_eq!(tenths(v), core(v), "{v:e}");
            }
        }
        for (v, text) in [(0.0, "0"), (-0.04, "0"), (-0.05, "-0.1"), (12.0, "12"), (12.25, "12.3"), (-7.96, "-8"), (0.06, "0.1"), (320.0, "320")] {
            assert_eq!(tenths(v), text, "{v}");
        }
    }
}
