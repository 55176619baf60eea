//! Lab trends: an inline SVG line chart of one test's numeric results.
//!
//! The markup is static apart from numbers (at most one decimal place) and
//! text, which passes through [`escape`]. It carries no ids, styles or scripts:
//! colours come from the host stylesheet through the classes `band`, `axis`,
//! `grid`, `line`, `point`, `point flagged` and `tick`.

use std::fmt::Write;

use crate::render::escape;

/// One result of the test.
#[derive(Debug, Clone, PartialEq)]
pub struct TrendPoint {
    /// When (seconds since 1970, UTC).
    pub at: i64,
    pub value: f64,
    /// Whether the result is flagged outside its range (drawn as a distinct marker).
    pub flagged: bool,
}

/// The reference range drawn as a band: low and/or high.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Band {
    pub low: Option<f64>,
    pub high: Option<f64>,
}

/// Everything the chart needs, with the text already localised by the caller.
pub struct TrendChart<'a> {
    /// Points, any order (the function sorts by time).
    pub points: &'a [TrendPoint],
    pub band: Option<Band>,
    /// Formats a value for an axis label (localised number, e.g. "7,2").
    pub format_value: &'a dyn Fn(f64) -> String,
    /// Formats a time for an axis label (localised short date).
    pub format_time: &'a dyn Fn(i64) -> String,
    /// The accessible name of the image, e.g. "Glucose, 12 results from Jan 3, 2015 to May 1, 2020".
    pub label: &'a str,
}

/// viewBox size in user units (readable at 320 CSS px wide).
const WIDTH: f64 = 320.0;
const HEIGHT: f64 = 140.0;
/// Plot margins other than the left one, which depends on the y labels.
const TOP: f64 = 8.0;
const RIGHT: f64 = 8.0;
const BOTTOM: f64 = 22.0;
/// Label size in viewBox units: 12 CSS px or more once the chart is at
/// least 274 px wide (the stylesheet caps its width at 30rem).
const FONT_SIZE: f64 = 14.0;
/// Above this many points only flagged results and the latest get a marker.
const MAX_MARKERS: usize = 400;

/// The chart as one `<svg>` element string; empty with fewer than two finite
/// points (NaN and infinite values are skipped) or an unrepresentable scale.
pub fn trend_svg(chart: &TrendChart<'_>) -> String {
    let mut pts: Vec<&TrendPoint> = chart.points.iter().filter(|p| p.value.is_finite()).collect();
    if pts.len() < 2 {
        return String::new();
    }
    crate::util::sort_by_key(&mut pts, |p| p.at);
    let band = chart.band.map(|b| (b.low.filter(|v| v.is_finite()), b.high.filter(|v| v.is_finite())));
    let (low, high) = match band {
        Some((Some(a), Some(b))) => (Some(a.min(b)), Some(a.max(b))),
        Some((a, b)) => (a, b),
        None => (None, None),
    };
    let bounds = pts.iter().map(|p| p.value).chain(low).chain(high);
    let (min, max) = bounds.fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| (lo.min(v), hi.max(v)));
    let Some((y0, y1)) = nice_bounds(min, max) else {
        return String::new();
    };

    let ticks = [y1, (y0 + y1) / 2.0, y0].map(|v| escape(&(chart.format_value)(v)));
    let widest = ticks.iter().map(|t| t.chars().count()).max().unwrap_or(0) as f64;
    let left = (widest * FONT_SIZE * 0.6 + 8.0).clamp(24.0, WIDTH / 3.0);
    let (bottom, right) = (HEIGHT - BOTTOM, WIDTH - RIGHT);
    let y = |v: f64| bottom - (v - y0) / (y1 - y0) * (bottom - TOP);
    let (Some(first_point), Some(last_point)) = (pts.first(), pts.last()) else {
        return String::new();
    };
    let (t0, t1) = (first_point.at as f64, last_point.at as f64);
    let last = pts.len() - 1;
    let x = |i: usize, t: i64| {
        let f = if t1 > t0 { (t as f64 - t0) / (t1 - t0) } else { i as f64 / last as f64 };
        left + f * (right - left)
    };

    let label = escape(chart.label);
    let mut s = format!(r#"<svg class="trend" viewBox="0 0 {} {}" role="img" aria-label="{label}"><title>{label}</title>"#, num(WIDTH), num(HEIGHT));
    if low.is_some() || high.is_some() {
        let top = high.map_or(TOP, y);
        let bot = low.map_or(bottom, y);
        let _ = write!(s, r#"<rect class="band" x="{}" y="{}" width="{}" height="{}"/>"#, num(left), num(top), num(right - left), num(bot - top));
    }
    for (i, tick) in ticks.iter().enumerate() {
        let ty = TOP + i as f64 * (bottom - TOP) / 2.0;
        let _ = write!(s, r#"<line class="grid" x1="{}" y1="{ty}" x2="{}" y2="{ty}"/>"#, num(left), num(right), ty = num(ty));
        let _ = write!(
            s,
            r#"<text class="tick" x="{}" y="{}" text-anchor="end" font-size="{}">{tick}</text>"#,
            num(left - 4.0),
            num(ty + FONT_SIZE * 0.35),
            num(FONT_SIZE)
        );
    }
    let _ = write!(
        s,
        r#"<line class="axis" x1="{l}" y1="{t}" x2="{l}" y2="{b}"/><line class="axis" x1="{l}" y1="{b}" x2="{r}" y2="{b}"/>"#,
        l = num(left),
        t = num(TOP),
        b = num(bottom),
        r = num(right)
    );

    let coords: Vec<(f64, f64)> = pts.iter().enumerate().map(|(i, p)| (x(i, p.at), y(p.value))).collect();
    let line: Vec<String> = coords.iter().map(|&(cx, cy)| format!("{},{}", num(cx), num(cy))).collect();
    let _ = write!(s, r#"<polyline class="line" fill="none" points="{}"/>"#, line.join(" "));
    for (i, (p, &(cx, cy))) in pts.iter().zip(&coords).enumerate() {
        if pts.len() > MAX_MARKERS && !p.flagged && i != last {
            continue;
        }
        let (class, r) = if p.flagged { ("point flagged", 4.5) } else { ("point", 2.5) };
        let _ = write!(s, r#"<circle class="{class}" cx="{}" cy="{}" r="{}"/>"#, num(cx), num(cy), num(r));
    }

    let text_y = num(HEIGHT - 5.0);
    let first = escape(&(chart.format_time)(first_point.at));
    let _ = write!(s, r#"<text class="tick" x="{}" y="{text_y}" text-anchor="start" font-size="{}">{first}</text>"#, num(left), num(FONT_SIZE));
    let end = escape(&(chart.format_time)(last_point.at));
    if end != first {
        let _ = write!(s, r#"<text class="tick" x="{}" y="{text_y}" text-anchor="end" font-size="{}">{end}</text>"#, num(right), num(FONT_SIZE));
    }
    s.push_str("</svg>");
    s
}

/// Rounded y bounds covering `min..=max` with some padding: ±10% (or ±1 at
/// zero) when all values are equal, else 5% of the span, then widened to
/// multiples of a 1/2/5 step. `None` when the result would not be finite.
fn nice_bounds(min: f64, max: f64) -> Option<(f64, f64)> {
    let pad = if max > min {
        (max - min) * 0.05
    } else if min != 0.0 {
        min.abs() * 0.1
    } else {
        1.0
    };
    let (lo, hi) = (min - pad, max + pad);
    let raw = (hi - lo) / 4.0;
    let mag = 10f64.powf(raw.log10().floor());
    let step = [1.0, 2.0, 5.0, 10.0].into_iter().find(|&n| raw / mag <= n).unwrap_or(10.0) * mag;
    let (lo, hi) = ((lo / step).floor() * step, (hi / step).ceil() * step);
    (lo.is_finite() && hi.is_finite() && hi > lo).then_some((lo, hi))
}

/// A coordinate with at most one decimal place (and no "-0").
fn num(v: f64) -> String {
    crate::numtext::tenths(v)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pt(at: i64, value: f64) -> TrendPoint {
        TrendPoint { at, value, flagged: false }
    }

    fn svg(points: &[TrendPoint], band: Option<Band>, label: &str) -> String {
        let chart = TrendChart { points, band, format_value: &|v| format!("{v:.1}"), format_time: &|t| format!("day {}", t / 86_400), label };
        trend_svg(&chart)
    }

    /// The value of attribute `name` in each `<tag …>` element.
    fn attrs(s: &str, tag: &str, name: &str) -> Vec<String> {
        s.split(&format!("<{tag} "))
            .skip(1)
            .map(|el| {
                let el = &el[..el.find('>').unwrap()];
                let start = el.find(&format!(" {name}=\"")).or_else(|| el.starts_with(&format!("{name}=\"")).then_some(0)).unwrap();
                let v = &el[start..];
                let v = &v[v.find('"').unwrap() + 1..];
                v[..v.find('"').unwrap()].to_string()
            })
            .collect()
    }

    fn f(s: &str) -> f64 {
        s.parse().unwrap()
    }

    #[test]
    fn well_formed_with_one_line_and_a_marker_per_point() {
        let points: Vec<_> = (0..10).map(|i| TrendPoint { at: i * 86_400, value: 5.0 + (i % 3) as f64, flagged: i == 4 }).collect();
        let s = svg(&points, None, "Glucose");
        assert!(s.starts_with(r#"<svg class="trend" viewBox="0 0 320 140" role="img" aria-label="Glucose"><title>Glucose</title>"#), "{s}");
        assert!(s.ends_with("</svg>"));
        assert_eq!(s.matches("<polyline").count(), 1);
        assert_eq!(attrs(&s, "polyline", "points")[0].split(' ').count(), 10);
        assert_eq!(s.matches("<circle").count(), 10);
        assert_eq!(s.matches(r#"class="point flagged""#).count(), 1);
        for bad in ["id=", "style", "<script", "href", "on", "NaN", "inf"] {
            assert!(!s.contains(&format!(" {bad}")) && !s.contains(&format!("<{bad}")), "{bad} in {s}");
        }
        // Every number has at most one decimal place.
        assert!(s.split(|c: char| !(c.is_ascii_digit() || c == '.')).all(|n| n.split('.').nth(1).is_none_or(|d| d.len() <= 1)), "{s}");
    }

    #[test]
    fn many_points_mark_only_flagged_and_last() {
        let points: Vec<_> = (0..500).map(|i| TrendPoint { at: i, value: i as f64, flagged: i % 100 == 0 }).collect();
        let s = svg(&points, None, "x");
        assert_eq!(attrs(&s, "polyline", "points")[0].split(' ').count(), 500);
        assert_eq!(s.matches("<circle").count(), 6);
    }

    #[test]
    fn band_lies_between_low_and_high() {
        let points = [pt(0, 3.9), pt(100, 7.8), pt(200, 5.0)];
        let s = svg(&points, Some(Band { low: Some(3.9), high: Some(7.8) }), "x");
        let cy: Vec<f64> = attrs(&s, "circle", "cy").iter().map(|v| f(v)).collect();
        let (top, height) = (f(&attrs(&s, "rect", "y")[0]), f(&attrs(&s, "rect", "height")[0]));
        assert!((top - cy[1]).abs() < 0.11 && (top + height - cy[0]).abs() < 0.11, "{s}");
        assert!(height > 0.0);
    }

    #[test]
    fn one_sided_band_reaches_the_plot_edge() {
        let points = [pt(0, 2.0), pt(100, 9.0)];
        let s = svg(&points, Some(Band { low: Some(4.0), high: None }), "x");
        let (top, height) = (f(&attrs(&s, "rect", "y")[0]), f(&attrs(&s, "rect", "height")[0]));
        assert_eq!(top, TOP);
        assert_eq!(attrs(&s, "line", "y1").iter().filter(|&v| f(v) == TOP).count(), 2, "top grid line and y axis");
        let cy_low = f(&attrs(&s, "circle", "cy")[0]);
        assert!(top + height < cy_low, "the band ends above the value 2");
    }

    #[test]
    fn hostile_text_is_escaped() {
        let points = [pt(0, 1.0), pt(1, 2.0)];
        let chart =
            TrendChart { points: &points, band: None, format_value: &|_| "<b>".into(), format_time: &|_| "\"&".into(), label: "<script>alert(1)</script>" };
        let s = trend_svg(&chart);
        assert!(!s.contains("<script") && !s.contains("<b>") && !s.contains("\"&\""));
        assert_eq!(s.matches("&lt;script&gt;alert(1)&lt;/script&gt;").count(), 2);
        assert!(s.contains(">&lt;b&gt;</text>") && s.contains(">&quot;&amp;</text>"));
    }

    #[test]
    fn equal_values_and_times_stay_finite() {
        let s = svg(&[pt(5, 4.0), pt(5, 4.0), pt(5, 4.0)], None, "x");
        assert!(!s.is_empty() && !s.contains("NaN") && !s.contains("inf"), "{s}");
        let xs: Vec<f64> = attrs(&s, "circle", "cx").iter().map(|v| f(v)).collect();
        assert!(xs[0] < xs[1] && xs[1] < xs[2], "spread by index");
        assert!(!svg(&[pt(0, 0.0), pt(9, 0.0)], None, "x").contains("NaN"));
    }

    #[test]
    fn fewer_than_two_finite_points_is_empty() {
        assert_eq!(svg(&[], None, "x"), "");
        assert_eq!(svg(&[pt(0, 1.0)], None, "x"), "");
        assert_eq!(svg(&[pt(0, 1.0), pt(1, f64::NAN), pt(2, f64::INFINITY)], None, "x"), "");
    }

    #[test]
    fn points_are_drawn_left_to_right_by_time() {
        let s = svg(&[pt(300, 9.0), pt(100, 1.0), pt(200, 5.0)], None, "x");
        let line: Vec<(f64, f64)> = attrs(&s, "polyline", "points")[0]
            .split(' ')
            .map(|p| {
                let (x, y) = p.split_once(',').unwrap();
                (f(x), f(y))
            })
            .collect();
        assert!(line[0].0 < line[1].0 && line[1].0 < line[2].0);
        assert!(line[0].1 > line[1].1 && line[1].1 > line[2].1, "values rise with time");
        assert!(s.contains(r#"text-anchor="start" font-size="14">day 0</text>"#));
    }
}
