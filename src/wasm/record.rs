//! `PatientRecord`: an opened record, rendered or read as plain objects.

use std::cell::RefCell;
use std::rc::Rc;

use chrono::NaiveDate;
use wasm_bindgen::prelude::*;

use super::bad_input;
use crate::consent::{audit_event, DecisionReport, Screened, Viewer};
use crate::fhir::{Record, Resource};
use crate::render::{build_chart, build_chart_paced, fill_html, to_html, to_html_lazy, Chart, RenderOptions};
use crate::shl::{LinkSource, Unverified, Verification};

/// An opened record. Holds decrypted health data in WebAssembly memory:
/// call `free()` when the viewer leaves it (browsers do not reliably run
/// finalizers).
#[wasm_bindgen]
pub struct PatientRecord {
    /// Only what this viewer may see.
    record: Rc<Record>,
    source: Option<Rc<LinkSource>>,
    decisions: Rc<Vec<DecisionReport>>,
    viewer: Viewer,
    notice: Option<crate::render::WithheldNotice>,
    /// The listener that fills a rendered chart's disclosures when opened,
    /// and the shadow root it listens on (removed on re-render and on free).
    filler: RefCell<Option<Filler>>,
    /// The chart's view model, built while opening (in slices) for the day
    /// it was built; rebuilt by `render` if the viewer's date has changed.
    chart: RefCell<Option<(NaiveDate, Rc<Chart>)>>,
}

/// A rendered chart's shadow root and its `toggle` listener.
type Filler = (web_sys::ShadowRoot, Closure<dyn FnMut(web_sys::Event)>);

impl Drop for PatientRecord {
    fn drop(&mut self) {
        self.detach();
    }
}

/// Fills a disclosure of the chart (`data-fill`) the first time it opens.
fn fill(chart: &Chart, event: &web_sys::Event) {
    let Some(details) = event.target().and_then(|t| t.dyn_into::<web_sys::Element>().ok()) else { return };
    let Some(key) = details.get_attribute("data-fill") else { return };
    let open = js_sys::Reflect::get(&details, &"open".into()).ok().and_then(|o| o.as_bool()).unwrap_or(false);
    if !open || details.has_attribute("data-filled") {
        return;
    }
    let Some(html) = fill_html(chart, &key) else { return };
    if let Ok(Some(target)) = details.query_selector("tbody, ul") {
        let _ = target.insert_adjacent_html("beforeend", &html);
        let _ = details.set_attribute("data-filled", "");
    }
}

impl PatientRecord {
    fn detach(&self) {
        if let Some((root, listener)) = self.filler.borrow_mut().take() {
            let _ = root.remove_event_listener_with_callback_and_bool("toggle", listener.as_ref().unchecked_ref(), true);
        }
    }

    /// Builds the chart's view model in slices (while the record opens), so
    /// that `render` only writes markup.
    pub(crate) async fn prepare_chart(&self) {
        let options = self.render_options();
        let chart = build_chart_paced(&self.record, &options, &super::http::BrowserHttp).await;
        *self.chart.borrow_mut() = Some((options.today, Rc::new(chart)));
    }

    fn chart(&self) -> Rc<Chart> {
        let today = today();
        if let Some((_, chart)) = self.chart.borrow().as_ref().filter(|(day, _)| *day == today) {
            return Rc::clone(chart);
        }
        let chart = Rc::new(build_chart(&self.record, &self.render_options()));
        *self.chart.borrow_mut() = Some((today, Rc::clone(&chart)));
        chart
    }

    fn render_options(&self) -> RenderOptions {
        let mut options = RenderOptions::new(today());
        options.source = self.source.as_ref().map(|s| s.summary());
        options.withheld = self.notice;
        options
    }

    pub(crate) fn new(screened: Screened, source: Option<LinkSource>) -> Self {
        Self {
            record: Rc::new(screened.record),
            source: source.map(Rc::new),
            decisions: Rc::new(screened.decisions),
            viewer: screened.viewer,
            notice: screened.notice,
            filler: RefCell::new(None),
            chart: RefCell::new(None),
        }
    }
}

fn set(object: &js_sys::Object, name: &str, value: JsValue) {
    let _ = js_sys::Reflect::set(object, &name.into(), &value);
}

fn source_object(source: &LinkSource) -> JsValue {
    let out = js_sys::Object::new();
    if let Some(label) = &source.label {
        set(&out, "label", label.as_str().into());
    }
    let files: js_sys::Array = source
        .files
        .iter()
        .map(|f| {
            let o = js_sys::Object::new();
            set(&o, "contentType", f.content_type.as_str().into());
            set(&o, "delivery", f.delivery.name().into());
            JsValue::from(o)
        })
        .collect();
    set(&out, "files", files.into());
    let skipped: js_sys::Array = source
        .skipped
        .iter()
        .map(|f| {
            let o = js_sys::Object::new();
            set(&o, "contentType", f.content_type.as_str().into());
            set(&o, "reason", f.reason.name().into());
            JsValue::from(o)
        })
        .collect();
    set(&out, "skipped", skipped.into());
    let cards: js_sys::Array = source
        .cards
        .iter()
        .map(|c| {
            let o = js_sys::Object::new();
            set(&o, "issuer", c.issuer.as_str().into());
            if let Some(at) = c.issued_at {
                set(&o, "issuedAt", (at as f64).into());
            }
            set(&o, "types", c.types.iter().map(|t| JsValue::from_str(t)).collect::<js_sys::Array>().into());
            set(&o, "verification", c.verification.name().into());
            if let Verification::Unverified(why) = c.verification {
                set(&o, "reason", if why == Unverified::NoKeys { "noKeys" } else { "keysUnavailable" }.into());
            }
            set(&o, "resources", (c.resources as f64).into());
            JsValue::from(o)
        })
        .collect();
    set(&out, "cards", cards.into());
    out.into()
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
    /// first, then committed in one step; the older rows of long sections
    /// and the "Other records" lists are added when their disclosure is
    /// first opened. Rendering again replaces it.
    pub fn render(&self, #[wasm_bindgen(unchecked_param_type = "Element")] host: JsValue) -> Result<(), JsValue> {
        let host: web_sys::Element = host.dyn_into().map_err(|_| bad_input("render needs a DOM element to render into"))?;
        let chart = self.chart();
        let html = to_html_lazy(&chart);
        let root = match host.shadow_root() {
            Some(root) => root,
            None => host
                .attach_shadow(&web_sys::ShadowRootInit::new(web_sys::ShadowRootMode::Open))
                .map_err(|_| bad_input("this element cannot host a shadow root (use a div, section or custom element)"))?,
        };
        self.detach();
        root.set_inner_html(&html);
        let listener = Closure::<dyn FnMut(web_sys::Event)>::new(move |event: web_sys::Event| fill(&chart, &event));
        // `toggle` does not bubble: listen in the capture phase.
        let _ = root.add_event_listener_with_callback_and_bool("toggle", listener.as_ref().unchecked_ref(), true);
        *self.filler.borrow_mut() = Some((root, listener));
        Ok(())
    }

    /// The chart as an HTML string (stylesheet included), for hosts that
    /// place it themselves. Every value from the record is escaped.
    #[wasm_bindgen(js_name = toHtml)]
    pub fn to_html(&self) -> String {
        to_html(&self.chart())
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

    /// The consent decision on every resource of the record as received,
    /// withheld ones included (for the host, never rendered): type, id,
    /// `fullUrl`, `effect` (`permit` or `withhold`), `reason` and `rule`.
    #[wasm_bindgen(unchecked_return_type = "ConsentDecision[]")]
    pub fn decisions(&self) -> js_sys::Array {
        self.decisions
            .iter()
            .map(|d| {
                let o = js_sys::Object::new();
                set(&o, "resourceType", d.resource_type.as_str().into());
                if let Some(id) = &d.id {
                    set(&o, "id", id.as_str().into());
                }
                if let Some(url) = &d.full_url {
                    set(&o, "fullUrl", url.as_str().into());
                }
                set(&o, "effect", if d.permit { "permit" } else { "withhold" }.into());
                set(&o, "reason", d.reason.name().into());
                set(&o, "rule", d.rule.as_str().into());
                JsValue::from(o)
            })
            .collect()
    }

    /// The audit trail of this viewing as a FHIR R4 `AuditEvent`: the viewer
    /// (agent), purpose, time, and one entity per resource with its decision.
    #[wasm_bindgen(js_name = auditEvent, unchecked_return_type = "FhirResource")]
    pub fn audit_event(&self) -> JsValue {
        to_plain_object(&audit_event(&self.viewer, &self.decisions))
    }

    /// How many resources were withheld from this viewer.
    #[wasm_bindgen(getter, js_name = withheldCount)]
    pub fn withheld_count(&self) -> usize {
        self.record.withheld_count()
    }

    /// Where a record opened with `openLink` came from: the link's label, its
    /// files, files not opened, and each health card's signature check.
    /// Undefined for records opened with `openJwe` or `openUrl`.
    #[wasm_bindgen(getter, unchecked_return_type = "RecordSource | undefined")]
    pub fn source(&self) -> JsValue {
        self.source.as_deref().map_or(JsValue::UNDEFINED, source_object)
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
