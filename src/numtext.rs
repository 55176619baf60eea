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
        if limbs > 0 {
            self.0.splice(0..0, std::iter::repeat_n(0, limbs));
        }
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

    fn bits(&self) -> u32 {
        self.0.iter().rposition(|l| *l != 0).map_or(0, |i| i as u32 * 32 + 32 - self.0.get(i).map_or(0, |l| l.leading_zeros()))
    }

    fn low_u64(&self) -> u64 {
        self.0.iter().take(2).rev().fold(0, |acc, l| acc << 32 | u64::from(*l))
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

/// A number as `str::parse::<f64>` reads it (`-12.5`, `.5`, `1.`, `6.02e23`,
/// `inf`, `NaN`; nothing else, no white space), correctly rounded.
pub fn parse_f64(text: &str) -> Option<f64> {
    let (negative, body) = match text.as_bytes().first() {
        Some(b'-') => (true, text.get(1..)?),
        Some(b'+') => (false, text.get(1..)?),
        _ => (false, text),
    };
    let sign = |v: f64| if negative { -v } else { v };
    if ["inf", "infinity"].iter().any(|w| body.eq_ignore_ascii_case(w)) {
        return Some(sign(f64::INFINITY));
    }
    if body.eq_ignore_ascii_case("nan") {
        return Some(sign(f64::NAN));
    }
    let (mantissa, exponent) = match body.find(['e', 'E']) {
        Some(at) => (body.get(..at)?, Some(body.get(at + 1..)?)),
        None => (body, None),
    };
    let (whole, fraction) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    let digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    if (whole.is_empty() && fraction.is_empty()) || !digits(whole) || !digits(fraction) {
        return None;
    }
    // The exponent, saturated far beyond any value's range.
    let mut e10: i64 = match exponent {
        None => 0,
        Some(e) => {
            let (minus, e) = match e.as_bytes().first() {
                Some(b'-') => (true, e.get(1..)?),
                Some(b'+') => (false, e.get(1..)?),
                _ => (false, e),
            };
            if e.is_empty() || !digits(e) {
                return None;
            }
            let value = e.bytes().fold(0i64, |acc, b| (acc * 10 + i64::from(b - b'0')).min(1 << 40));
            if minus {
                -value
            } else {
                value
            }
        }
    };
    // Significant digits (the first 800: beyond, only whether any is non-zero matters).
    let mut w = Big(Vec::new());
    let (mut kept, mut dropped_nonzero) = (0usize, false);
    for (i, b) in whole.bytes().chain(fraction.bytes()).enumerate() {
        let in_fraction = i >= whole.len();
        if kept == 0 && b == b'0' {
            e10 -= i64::from(in_fraction);
        } else if kept < 800 {
            w.mul_add(10, u32::from(b - b'0'));
            kept += 1;
            e10 -= i64::from(in_fraction);
        } else {
            dropped_nonzero |= b != b'0';
            e10 += i64::from(!in_fraction);
        }
    }
    if dropped_nonzero {
        w.mul_add(10, 1);
        e10 -= 1;
        kept += 1;
    }
    if kept == 0 {
        return Some(sign(0.0));
    }
    let magnitude = kept as i64 + e10;
    if magnitude > 310 {
        return Some(sign(f64::INFINITY));
    }
    if magnitude < -330 {
        return Some(sign(0.0));
    }
    // value = n × 2^-s, `sticky` when a remainder below n's last bit is left.
    let (n, s, sticky) = if e10 >= 0 {
        for _ in 0..e10 {
            w.mul_add(10, 0);
        }
        (w, 0, false)
    } else {
        let mut d = Big(vec![1]);
        for _ in 0..-e10 {
            d.mul_add(10, 0);
        }
        let s = (d.bits() + 56).saturating_sub(w.bits());
        // Divided by 10^k nine digits at a time: the same quotient as one
        // division (floor of floors), a remainder left if any step leaves one.
        w.shl(s);
        let (mut k, mut rest) = (-e10, false);
        while k > 0 {
            let step = k.min(9);
            rest |= w.div_rem(10u32.pow(step as u32)) != 0;
            k -= step;
        }
        (w, s, rest)
    };
    let bits = n.bits() as i64;
    let s = i64::from(s);
    let shift = (bits - 53).max(s - 1074);
    let mut m = if shift > 0 {
        let mut m = Big(n.0.clone());
        m.shr(shift as u32);
        let (half, rest) = (n.bit(shift as u32 - 1), sticky || n.any_below(shift as u32 - 1));
        let mut m = m.low_u64();
        if half && (rest || m & 1 == 1) {
            m += 1;
        }
        m
    } else {
        n.low_u64() << -shift
    };
    let mut e2 = shift - s;
    if m == 1 << 53 {
        m >>= 1;
        e2 += 1;
    }
    let value = if m < 1 << 52 {
        f64::from_bits(m)
    } else {
        let biased = e2 + 52 + 1023;
        if biased >= 2047 {
            f64::INFINITY
        } else {
            f64::from_bits((biased as u64) << 52 | (m & ((1 << 52) - 1)))
        }
    };
    Some(sign(value))
}

/// A FHIR decimal's value, as `Decimal::to_f64` reads it.
pub fn decimal_f64(d: &crate::fhir::Decimal) -> Option<f64> {
    parse_f64(d.as_str())
}

/// A JSON number's value when finite, as `serde_json::Number::as_f64` reads it.
pub fn json_f64(n: &serde_json::Number) -> Option<f64> {
    parse_f64(n.as_str()).filter(|f| f.is_finite())
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
    fn parse_matches_core() {
        let mut texts: Vec<String> = [
            "0",
            "-0",
            "+1",
            "1.",
            ".5",
            ".",
            "",
            "-",
            "+",
            "e5",
            "1e",
            "1e+",
            "1e-5",
            "1E5",
            "1.5e-3",
            "9.995",
            "-12.50",
            "2.675",
            "0.1",
            "inf",
            "-Infinity",
            "NaN",
            "nan ",
            " 1",
            "1 ",
            "1_000",
            "0x10",
            "1.2.3",
            "--1",
            "1e400",
            "-1e-400",
            "4.9406564584124654e-324",
            "2.4703282292062327e-324",
            "2.4703282292062328e-324",
            "2.2250738585072011e-308",
            "1.7976931348623157e308",
            "1.7976931348623159e308",
            "9007199254740993",
            "9007199254740992.5",
            "139.28477650494352",
            "0.000123456",
            "00012.5000",
            "1e99999999999999999999",
            "0e999999",
            "0.0000e-5",
            "٣",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        texts.push(format!("0.{}1", "0".repeat(900)));
        texts.push(format!("1{}e-900", "0".repeat(900)));
        texts.push(format!("2.4703282292062327208828439643411068618252990130716238221279284125033775363510437593264991818081799618989828234772285886546332835517796989819938739800539093906315035659515570226392290858392449105184435931802849936536152500319370457678249219365623669863658480757001585769269903706311928279558551332927834338409351978015531246597263579574622766465272827220056374006485499977096599470454020828166226237857393450736339007967761930577506740176324673600968951340535537458516661134223766678604162159680461914467291840300530057530849048765391711386591646239524912623653881879636239373280423891018672348497668235089863388587925628302755995657524455507255189313690836254779186948667994968324049705821028513185451396213837722826145437693412532098591327667236328125{}e-324", "0".repeat(50)));
        let mut state = 0x1234_5678_9abc_def0u64;
        for i in 0..60_000 {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            let v = f64::from_bits(state);
            texts.push(match i % 4 {
                0 => format!("{v:e}"),
                1 => format!("{v:.20e}"),
                2 => format!("{}.{}", state % 100_000, state % 1_000_000_007),
                _ => format!("{}e{}", state % 10_000_000_000_000_000_000, (state >> 40) as i64 % 700 - 350),
            });
        }
        for text in &texts {
            let core = text.parse::<f64>().ok();
            let ours = parse_f64(text);
            assert_eq!(ours.map(f64::to_bits), core.map(f64::to_bits), "{text}");
        }
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
