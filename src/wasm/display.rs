//! How the chart is shown: `locale`, `timeZone` and `theme`, from the
//! portal's options and each `render`/`toHtml` call; the viewer's time zone
//! through `Temporal` or `Intl.DateTimeFormat`, and its offsets through `Date`.

use std::cell::RefCell;
use std::rc::Rc;

use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;

use super::bad_input;
use super::screening::{absent, member};
use crate::render::{Locale, Theme, TimeZone};

/// Display choices; `None` means "not chosen here".
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Display {
    pub locale: Option<Locale>,
    pub time_zone: Option<String>,
    pub theme: Option<Theme>,
}

impl Display {
    /// Reads `locale`, `timeZone` and `theme` from an options object,
    /// refusing values the SDK cannot honour.
    pub fn from_options(options: &JsValue) -> Result<Display, JsValue> {
        let text = |name: &str| -> Result<Option<String>, JsValue> {
            let value = member(options, name);
            if absent(&value) {
                return Ok(None);
            }
            value.as_string().filter(|s| !s.trim().is_empty()).map(Some).ok_or_else(|| bad_input(&format!("option {name} must be a non-empty string")))
        };
        let locale = match text("locale")? {
            Some(tag) => {
                Some(Locale::from_tag(&tag).ok_or_else(|| bad_input("option locale must be one of en-US, es-ES, fr-FR, de-DE (or the same language)"))?)
            }
            None => None,
        };
        let time_zone = match text("timeZone")? {
            Some(zone) => {
                formatter(&zone).ok_or_else(|| bad_input("option timeZone must be an IANA time zone name such as \"America/Chicago\""))?;
                Some(zone)
            }
            None => None,
        };
        let theme = match text("theme")? {
            Some(name) => Some(Theme::from_name(&name).ok_or_else(|| bad_input("option theme must be \"auto\", \"light\" or \"dark\""))?),
            None => None,
        };
        Ok(Display { locale, time_zone, theme })
    }

    /// `self`, with `other`'s choices where it makes them.
    pub fn overridden_by(&self, other: &Display) -> Display {
        Display {
            locale: other.locale.or(self.locale),
            time_zone: other.time_zone.clone().or_else(|| self.time_zone.clone()),
            theme: other.theme.or(self.theme),
        }
    }

    /// Every choice made: unset ones from the browser (its languages, its
    /// time zone) or the defaults (en-US, following the system theme).
    pub fn resolved(&self) -> Display {
        Display { locale: Some(self.resolved_locale()), time_zone: self.time_zone.clone().or_else(browser_zone), theme: self.theme.or(Some(Theme::Auto)) }
    }

    /// The locale chosen, or the browser's, or en-US (without resolving the time zone).
    pub fn resolved_locale(&self) -> Locale {
        self.locale.or_else(browser_locale).unwrap_or(Locale::EnUs)
    }

    pub fn locale(&self) -> Locale {
        self.locale.unwrap_or_default()
    }

    pub fn theme(&self) -> Theme {
        self.theme.unwrap_or_default()
    }

    /// The time zone for rendering (times as recorded when none is known).
    pub fn zone(&self) -> TimeZone {
        // The browser's own zone is read through `Date`, which needs no formatter.
        let clock = |name: &str| if is_browser_zone(name) { Some(Clock::Local) } else { formatter(name).map(Clock::Intl) };
        match self.time_zone.as_deref().and_then(|name| clock(name).map(|c| (name, c))) {
            Some((name, clock)) => {
                // Each day's offset, kept for the zone across charts.
                let days = OFFSETS.with(|all| {
                    let mut all = all.borrow_mut();
                    if let Some((_, days)) = all.iter().find(|(zone, _)| zone == name) {
                        return Rc::clone(days);
                    }
                    let days = DayOffsets::default();
                    all.push((name.to_string(), Rc::clone(&days)));
                    days
                });
                TimeZone::new(name, move |t| {
                    let day = t.div_euclid(86_400);
                    let key = i32::try_from(day).ok().map(|d| d as u32 as usize);
                    if let Some(offset) = key.and_then(|k| days.borrow().get(&k).copied()) {
                        return Some(offset as u32 as i32);
                    }
                    let (start, end) = (offset_at(&clock, day * 86_400)?, offset_at(&clock, day * 86_400 + 86_399)?);
                    if start == end {
                        if let Some(key) = key {
                            days.borrow_mut().insert(key, start as u32 as usize);
                        }
                        return Some(start);
                    }
                    // A day with a change of offset: this instant's own.
                    offset_at(&clock, t)
                })
            }
            None => TimeZone::recorded(),
        }
    }
}

/// The first of the browser's languages the chart speaks (`navigator` of
/// the page, or of the worker, which has the same languages).
fn browser_locale() -> Option<Locale> {
    let navigator = js_sys::Reflect::get(&js_sys::global(), &"navigator".into()).ok().filter(JsValue::is_object)?;
    let languages: js_sys::Array = js_sys::Reflect::get(&navigator, &"languages".into()).ok()?.dyn_into().ok()?;
    languages.iter().filter_map(|l| l.as_string()).find_map(|tag| Locale::from_tag(&tag))
}

/// The browser's time zone: `Temporal.Now.timeZoneId()` where the browser
/// has Temporal, else a new `Intl.DateTimeFormat`'s (the first of a page
/// takes 15 to 50 ms, loading the locale's data, where Temporal takes
/// microseconds). The name is kept with the zone's offsets at two instants
/// then; while `Date` gives the same offsets at those instants the name is
/// taken as still true (a system whose zone changes to another with the
/// same offsets in January and July 2026 keeps the first name until the
/// page reloads; its times are the same throughout those offsets' rules).
fn browser_zone() -> Option<String> {
    let now = probe();
    if let Some(name) = BROWSER_ZONE.with(|zone| zone.borrow().as_ref().filter(|(_, at)| *at == now).map(|(name, _)| name.clone())) {
        return Some(name);
    }
    let name = temporal_zone().or_else(|| {
        let format = js_sys::Intl::DateTimeFormat::new(&js_sys::Array::new(), &js_sys::Object::new());
        js_sys::Reflect::get(&format.resolved_options(), &"timeZone".into()).ok()?.as_string()
    })?;
    BROWSER_ZONE.with(|zone| *zone.borrow_mut() = Some((name.clone(), now)));
    Some(name)
}

/// `Temporal.Now.timeZoneId()`, where the browser has it.
fn temporal_zone() -> Option<String> {
    let get = |object: &JsValue, key: &str| js_sys::Reflect::get(object, &key.into()).ok().filter(JsValue::is_object);
    let now = get(&get(&js_sys::global(), "Temporal")?, "Now")?;
    let zone_id: js_sys::Function = js_sys::Reflect::get(&now, &"timeZoneId".into()).ok()?.dyn_into().ok()?;
    zone_id.call0(&now).ok()?.as_string().filter(|name| !name.is_empty())
}

/// Whether `name` is the browser's own zone, as last read and still in force.
fn is_browser_zone(name: &str) -> bool {
    BROWSER_ZONE.with(|zone| zone.borrow().as_ref().is_some_and(|(own, at)| own == name && *at == probe()))
}

/// The browser zone's offsets (`getTimezoneOffset`, minutes west of UTC) on
/// 2026-01-15 and 2026-07-15, noon UTC.
fn probe() -> [f64; 2] {
    [1_768_478_400_000.0, 1_784_116_800_000.0].map(|ms: f64| js_sys::Date::new(&JsValue::from_f64(ms)).get_timezone_offset())
}

/// How a zone's offset at an instant is read: a formatter for the zone, or
/// `Date` for the browser's own.
enum Clock {
    Intl(js_sys::Intl::DateTimeFormat),
    Local,
}

/// A zone's offsets by day (`i32` day → `i32` offset, as their bits).
type DayOffsets = Rc<RefCell<crate::util::NumMap>>;

thread_local! {
    /// The browser's zone name as last read, and its offsets then (see `browser_zone`).
    static BROWSER_ZONE: RefCell<Option<(String, [f64; 2])>> = const { RefCell::new(None) };
    /// Formatters by zone name (building one costs a good part of a millisecond).
    static FORMATTERS: RefCell<Vec<(String, js_sys::Intl::DateTimeFormat)>> = const { RefCell::new(Vec::new()) };
    /// Offsets by zone name and day (days since 1970, UTC), for days without a change of offset.
    static OFFSETS: RefCell<Vec<(String, DayOffsets)>> = const { RefCell::new(Vec::new()) };
    /// The member names of `formatToParts`'s parts, made once.
    static PART_KEYS: (JsValue, JsValue) = (JsValue::from_str("type"), JsValue::from_str("value"));
}

/// An `Intl.DateTimeFormat` giving a zone's wall-clock fields, or `None`
/// when the browser does not know the zone (it throws a RangeError).
fn formatter(zone: &str) -> Option<js_sys::Intl::DateTimeFormat> {
    if let Some(format) = FORMATTERS.with(|all| all.borrow().iter().find(|(name, _)| name == zone).map(|(_, f)| f.clone())) {
        return Some(format);
    }
    let format = new_formatter(zone)?;
    FORMATTERS.with(|all| all.borrow_mut().push((zone.to_string(), format.clone())));
    Some(format)
}

fn new_formatter(zone: &str) -> Option<js_sys::Intl::DateTimeFormat> {
    let options = js_sys::Object::new();
    let set = |k: &str, v: &str| js_sys::Reflect::set(&options, &k.into(), &v.into()).ok();
    set("timeZone", zone)?;
    set("hourCycle", "h23")?;
    for field in ["year", "month", "day", "hour", "minute", "second"] {
        set(field, "numeric")?;
    }
    let intl = js_sys::Reflect::get(&js_sys::global(), &"Intl".into()).ok()?;
    let constructor: js_sys::Function = js_sys::Reflect::get(&intl, &"DateTimeFormat".into()).ok()?.dyn_into().ok()?;
    let args = js_sys::Array::of2(&"en-US".into(), &options);
    js_sys::Reflect::construct(&constructor, &args).ok().map(JsCast::unchecked_into)
}

/// The zone's offset from UTC (seconds east) at `t` (seconds since 1970).
fn offset_at(clock: &Clock, t: i64) -> Option<i32> {
    let date = js_sys::Date::new(&JsValue::from_f64(t as f64 * 1000.0));
    let format = match clock {
        Clock::Intl(format) => format,
        Clock::Local => {
            let west = date.get_timezone_offset();
            // NaN (an instant `Date` cannot hold) casts to 0: refuse it instead.
            return west.is_finite().then(|| (-(west * 60.0)).round() as i32);
        }
    };
    let mut fields = [0i64; 6];
    for part in format.format_to_parts(&date).iter() {
        let (kind, value) = PART_KEYS.with(|(kind, value)| (js_sys::Reflect::get(&part, kind), js_sys::Reflect::get(&part, value)));
        let (kind, value) = (kind.ok()?.as_string()?, value.ok()?.as_string()?);
        let slot = ["year", "month", "day", "hour", "minute", "second"].iter().position(|k| *k == kind);
        if let Some(field) = slot.and_then(|i| fields.get_mut(i)) {
            *field = value.parse().ok()?;
        }
    }
    let date = crate::fhir::Date::from_ymd(fields[0] as i32, fields[1] as u32, fields[2] as u32)?;
    let local = crate::fhir::LocalDateTime::new(date, fields[3] as u32, fields[4] as u32, fields[5] as u32, 0)?;
    i32::try_from(local.timestamp() - t).ok()
}
