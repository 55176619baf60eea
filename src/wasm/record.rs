//! `PatientRecord`: an opened record, rendered or read as plain objects.

use std::rc::Rc;

use chrono::NaiveDate;
use wasm_bindgen::prelude::*;

use super::bad_input;
use crate::fhir::{Record, Resource};
use crate::render::{build_chart, to_html, RenderOptions};

/// An opened record. Holds decrypted health data in WebAssembly memory:
/// call `free()` when the viewer leaves it (browsers do not reliably run
/// finalizers).
#[wasm_bindgen]
pub struct PatientRecord {
    record: Rc<Record>,
}

impl PatientRecord {
    pub(crate) fn new(record: Record) -> Self {
        Self { record: Rc::new(record) }
    }
}

/// Today in the viewer's local calendar.
fn today() -> NaiveDate {
    let now = js_sys::Date::new_0();
    NaiveDate::from_ymd_opt(now.get_full_year() as i32, now.get_month() + 1, now.get_date()).unwrap_or_default()
}

fn to_plain_object(value: &serde_json::Value) -> JsValue {
    // Through JSON text: numbers keep JSON's meaning and FHIR names stay as they are.
    js_sys::JSON::parse(&value.to_string()).unwrap_or(JsValue::NULL)
}

#[wasm_bindgen]
impl PatientRecord {
    /// Renders the chart into `host`, inside its (open) shadow root, so
    /// portal CSS and SDK CSS stay apart. The chart is built completely
    /// first, then committed in one step. Rendering again replaces it.
    pub fn render(&self, #[wasm_bindgen(unchecked_param_type = "Element")] host: JsValue) -> Result<(), JsValue> {
        let host: web_sys::Element = host.dyn_into().map_err(|_| bad_input("render needs a DOM element to render into"))?;
        let html = self.to_html();
        let root = match host.shadow_root() {
            Some(root) => root,
            None => host
                .attach_shadow(&web_sys::ShadowRootInit::new(web_sys::ShadowRootMode::Open))
                .map_err(|_| bad_input("this element cannot host a shadow root (use a div, section or custom element)"))?,
        };
        root.set_inner_html(&html);
        Ok(())
    }

    /// The chart as an HTML string (stylesheet included), for hosts that
    /// place it themselves. Every value from the record is escaped.
    #[wasm_bindgen(js_name = toHtml)]
    pub fn to_html(&self) -> String {
        to_html(&build_chart(&self.record, &RenderOptions { today: today() }))
    }

    /// The record's resources as plain objects, exactly as received; only
    /// those of `resourceType` when given.
    #[wasm_bindgen(unchecked_return_type = "FhirResource[]")]
    pub fn resources(&self, #[wasm_bindgen(js_name = resourceType)] resource_type: Option<String>) -> js_sys::Array {
        self.record
            .entries
            .iter()
            .filter(|e| resource_type.as_deref().is_none_or(|t| e.resource_type == t))
            .map(|e| to_plain_object(&e.raw))
            .collect()
    }

    /// How many resources of each type the record holds.
    #[wasm_bindgen(js_name = resourceCounts, unchecked_return_type = "Record<string, number>")]
    pub fn resource_counts(&self) -> js_sys::Object {
        let counts = js_sys::Object::new();
        for e in &self.record.entries {
            let key = JsValue::from_str(&e.resource_type);
            let n = js_sys::Reflect::get(&counts, &key).ok().and_then(|v| v.as_f64()).unwrap_or(0.0);
            let _ = js_sys::Reflect::set(&counts, &key, &(n + 1.0).into());
        }
        counts
    }

    /// Number of resources in the record.
    #[wasm_bindgen(getter, js_name = resourceCount)]
    pub fn resource_count(&self) -> usize {
        self.record.entries.len()
    }

    /// `Bundle.type` (`document`, `collection`, …), or undefined when the
    /// record was a single resource.
    #[wasm_bindgen(getter, js_name = bundleType)]
    pub fn bundle_type(&self) -> Option<String> {
        self.record.bundle_type.clone()
    }

    /// The first patient's display name, if the record names one.
    #[wasm_bindgen(getter, js_name = patientName)]
    pub fn patient_name(&self) -> Option<String> {
        self.record.entries.iter().find_map(|e| match &e.resource {
            Resource::Patient(p) => p.display_name(),
            _ => None,
        })
    }
}
