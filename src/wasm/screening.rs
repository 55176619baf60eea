//! Consent options from JavaScript: the portal's `policy` and each open's
//! `viewer` and `consents`, into the core's types.

use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;

use super::bad_input;
use crate::consent::{Policy, Role, Viewer};

pub(crate) fn member(options: &JsValue, name: &str) -> JsValue {
    if options.is_object() {
        js_sys::Reflect::get(options, &name.into()).unwrap_or(JsValue::UNDEFINED)
    } else {
        JsValue::UNDEFINED
    }
}

pub(crate) fn absent(value: &JsValue) -> bool {
    value.is_undefined() || value.is_null()
}

/// Options every open takes (`OpenOptions`).
pub(crate) const OPEN_OPTIONS: &[&str] = &["onProgress", "viewer", "consents", "signal"];
/// `DisplayOptions`, for the portal, `render` and `toHtml`.
pub(crate) const DISPLAY_OPTIONS: &[&str] = &["locale", "timeZone", "theme"];

/// Refuses option names the SDK does not know (a misspelt `passCode` is
/// otherwise silently ignored), naming them: `badInput`.
/// Options given as something other than an object (or undefined/null) are
/// refused too.
pub(crate) fn known_only(options: &JsValue, what: &str, known: &[&[&str]]) -> Result<(), JsValue> {
    if absent(options) {
        return Ok(());
    }
    let Some(object) = options.dyn_ref::<js_sys::Object>().filter(|_| options.is_object() && !options.is_function() && !js_sys::Array::is_array(options))
    else {
        return Err(bad_input(&format!("{what}: options must be an object")));
    };
    let unknown: Vec<String> =
        js_sys::Object::keys(object).iter().filter_map(|k| k.as_string()).filter(|k| !known.iter().any(|list| list.contains(&k.as_str()))).collect();
    if unknown.is_empty() {
        return Ok(());
    }
    let names: Vec<String> = unknown.iter().take(5).map(|k| crate::fhir::value::quoted(&k.chars().take(40).collect::<String>())).collect();
    let all: Vec<&str> = known.iter().flat_map(|list| list.iter().copied()).collect();
    Err(bad_input(&format!("{what}: unknown option{} {} (known: {})", if unknown.len() == 1 { "" } else { "s" }, names.join(", "), all.join(", "))))
}

fn optional_string(options: &JsValue, name: &str, what: &str) -> Result<Option<String>, JsValue> {
    let value = member(options, name);
    if absent(&value) {
        return Ok(None);
    }
    value.as_string().filter(|s| !s.trim().is_empty()).map(Some).ok_or_else(|| bad_input(&format!("{what} must be a non-empty string")))
}

fn string_list(options: &JsValue, name: &str) -> Result<Option<Vec<String>>, JsValue> {
    let value = member(options, name);
    if absent(&value) {
        return Ok(None);
    }
    let array: &js_sys::Array = value.dyn_ref().ok_or_else(|| bad_input(&format!("policy.{name} must be an array of strings")))?;
    array.iter().map(|v| v.as_string().ok_or_else(|| bad_input(&format!("policy.{name} must be an array of strings")))).collect::<Result<_, _>>().map(Some)
}

fn role_list(options: &JsValue, name: &str) -> Result<Option<Vec<Role>>, JsValue> {
    string_list(options, name)?
        .map(|l| l.iter().map(|r| Role::parse(r).ok_or_else(|| bad_input(&format!("policy.{name}: unknown role {}", crate::fhir::value::quoted(r))))).collect())
        .transpose()
}

/// Seconds since 1970, by this device's clock.
/// The `onProgress` option as a reporter of stage names: each call passes
/// `{ stage }`; a throwing callback stops nothing.
pub(crate) fn stage_reporter(options: &JsValue) -> Result<impl Fn(&str), JsValue> {
    let callback = member(options, "onProgress");
    let callback = match callback {
        f if f.is_function() => Some(f.unchecked_into::<js_sys::Function>()),
        f if absent(&f) => None,
        _ => return Err(bad_input("onProgress must be a function")),
    };
    Ok(move |stage: &str| {
        if let Some(f) = &callback {
            let event = js_sys::Object::new();
            let _ = js_sys::Reflect::set(&event, &"stage".into(), &stage.into());
            let _ = f.call1(&JsValue::NULL, &event);
        }
    })
}

pub(crate) fn now_seconds() -> i64 {
    (js_sys::Date::now() / 1000.0).floor() as i64
}

/// `PortalOptions.policy` over the safe defaults.
pub(crate) fn policy(options: &JsValue) -> Result<Policy, JsValue> {
    let p = member(options, "policy");
    let mut policy = Policy::default();
    if absent(&p) {
        return Ok(policy);
    }
    if !p.is_object() {
        return Err(bad_input("policy must be an object"));
    }
    known_only(
        &p,
        "policy",
        &[&["proxySensitive", "clinicianSensitive", "adolescentAge", "adolescentVisible", "restrictedHiddenFrom", "veryRestrictedHiddenFrom"]],
    )?;
    if let Some(l) = string_list(&p, "proxySensitive")? {
        policy.proxy_sensitive = l;
    }
    if let Some(l) = string_list(&p, "clinicianSensitive")? {
        policy.clinician_sensitive = l;
    }
    if let Some(l) = string_list(&p, "adolescentVisible")? {
        policy.adolescent_visible = l;
    }
    if let Some(l) = role_list(&p, "restrictedHiddenFrom")? {
        policy.restricted_hidden_from = l;
    }
    if let Some(l) = role_list(&p, "veryRestrictedHiddenFrom")? {
        policy.very_restricted_hidden_from = l;
    }
    let age = member(&p, "adolescentAge");
    if !absent(&age) {
        match age.as_f64() {
            Some(a) if a.is_finite() && (0.0..=150.0).contains(&a) => policy.adolescent_age = a as u32,
            _ => return Err(bad_input("policy.adolescentAge must be a number of years")),
        }
    }
    Ok(policy)
}

/// `OpenOptions.viewer`; the patient, now, when absent.
pub(crate) fn viewer(options: &JsValue) -> Result<Viewer, JsValue> {
    let v = member(options, "viewer");
    if absent(&v) {
        return Ok(Viewer::patient(now_seconds()));
    }
    viewer_profile(&v, "viewer")
}

/// A viewing context given as an object (`viewer` of an open, `audience`
/// of a share); `what` names it in messages.
pub(crate) fn viewer_profile(v: &JsValue, what: &str) -> Result<Viewer, JsValue> {
    if !v.is_object() || v.is_function() || js_sys::Array::is_array(v) {
        return Err(bad_input(&format!("{what} must be an object with a role")));
    }
    known_only(v, what, &[&["role", "relationship", "actor", "purpose", "at"]])?;
    let role = member(v, "role")
        .as_string()
        .and_then(|r| Role::parse(&r))
        .ok_or_else(|| bad_input(&format!("{what}.role must be \"patient\", \"proxy\" or \"clinician\"")))?;
    let at = member(v, "at");
    let at = if absent(&at) {
        now_seconds()
    } else if let Some(date) = at.dyn_ref::<js_sys::Date>() {
        let ms = date.get_time();
        if !ms.is_finite() {
            return Err(bad_input(&format!("{what}.at is an invalid Date")));
        }
        (ms / 1000.0).floor() as i64
    } else if let Some(ms) = at.as_f64().filter(|m| m.is_finite()) {
        (ms / 1000.0).floor() as i64
    } else if let Some(text) = at.as_string() {
        crate::fhir::OffsetDateTime::parse_rfc3339(&text)
            .ok_or_else(|| bad_input(&format!("{what}.at must be a Date, milliseconds, or RFC 3339 text")))?
            .timestamp()
    } else {
        return Err(bad_input(&format!("{what}.at must be a Date, milliseconds, or RFC 3339 text")));
    };
    Ok(Viewer {
        role,
        relationship: optional_string(v, "relationship", &format!("{what}.relationship"))?.map(|r| crate::util::lowercase(&r)),
        actor: optional_string(v, "actor", &format!("{what}.actor"))?,
        purpose: optional_string(v, "purpose", &format!("{what}.purpose"))?,
        at,
    })
}

/// `OpenOptions.consents`: Consent resources from the host.
pub(crate) fn consents(options: &JsValue) -> Result<Vec<serde_json::Value>, JsValue> {
    let c = member(options, "consents");
    if absent(&c) {
        return Ok(Vec::new());
    }
    if !js_sys::Array::is_array(&c) {
        return Err(bad_input("consents must be an array of FHIR Consent resources"));
    }
    let text = js_sys::JSON::stringify(&c).ok().and_then(|t| t.as_string()).ok_or_else(|| bad_input("consents must be JSON"))?;
    match crate::fhir::value::parse(text.as_bytes()) {
        Ok(serde_json::Value::Array(items)) => Ok(items),
        _ => Err(bad_input("consents must be an array of FHIR Consent resources")),
    }
}
