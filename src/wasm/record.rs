//! `PatientRecord`: an opened record, rendered or read as plain objects.

mod live;

use std::cell::RefCell;
use std::rc::Rc;

use wasm_bindgen::prelude::*;

use super::display::Display;
use super::{adopt_styles, bad_input, commit_chart};
use crate::consent::{audit_event, DecisionReport, Policy, Screened, Viewer};
use crate::fhir::{Date, Record, Resource};
use crate::render::i18n::T;
use crate::render::{build_chart, build_chart_paced, fill_html, filter_status, results_html, to_html_lazy, to_html_styled, Chart, RenderOptions, STYLESHEET};
use crate::shl::{LinkSource, Unverified, Verification};
use live::Live;

/// An opened record. Holds decrypted health data in WebAssembly memory:
/// call `free()` when the viewer leaves it (browsers do not reliably run
/// finalizers).
#[wasm_bindgen]
pub struct PatientRecord {
    /// Only what this viewer may see.
    record: Rc<Record>,
    source: Option<Rc<Origin>>,
    decisions: Rc<Vec<DecisionReport>>,
    viewer: Viewer,
    notice: Option<crate::render::WithheldNotice>,
    /// The portal's display choices (locale, time zone, theme).
    display: Display,
    /// The listeners of a rendered chart (removed on re-render and on free).
    live: RefCell<Option<Live>>,
    /// The chart's view model, built while opening (in slices) for the day
    /// and display it was built for; rebuilt by `render` when either changed.
    chart: RefCell<Option<(Date, Display, Rc<Chart>)>>,
    /// The portal's policy and the open's Consents, which `share` screens with again.
    policy: Rc<Policy>,
    consents: Rc<Vec<serde_json::Value>>,
    /// The portal's AES-GCM backend choice, which `share` seals with.
    backend: super::webcrypto::Backend,
}

/// Where a record came from (for `record.source`).
pub(crate) enum Origin {
    Link(LinkSource),
    Fhir { base_url: String, report: crate::fhir_api::FetchReport },
}

/// `free()` (or the garbage collector) closes the chart on screen.
impl Drop for PatientRecord {
    fn drop(&mut self) {
        self.close_chart();
    }
}

impl PatientRecord {
    /// Builds the chart's view model in slices (while the record opens), so
    /// that `render` only writes markup.
    pub(crate) async fn prepare_chart(&self) {
        let display = self.display.resolved();
        let options = self.render_options(&display);
        let chart = build_chart_paced(&self.record, &options, &super::http::EventLoop).await;
        *self.chart.borrow_mut() = Some((options.today, display, Rc::new(chart)));
    }

    /// The chart for `options` (a `render`/`toHtml` argument) over the portal's choices.
    fn chart_for(&self, options: &JsValue) -> Result<Rc<Chart>, JsValue> {
        let display = self.display.overridden_by(&Display::from_options(options)?).resolved();
        let today = today();
        if let Some((_, _, chart)) = self.chart.borrow().as_ref().filter(|(day, shown, _)| *day == today && *shown == display) {
            return Ok(Rc::clone(chart));
        }
        let chart = Rc::new(build_chart(&self.record, &self.render_options(&display)));
        *self.chart.borrow_mut() = Some((today, display, Rc::clone(&chart)));
        Ok(chart)
    }

    fn render_options(&self, display: &Display) -> RenderOptions {
        let mut options = RenderOptions::new(today());
        options.source = self.source.as_deref().and_then(|s| match s {
            Origin::Link(link) => Some(link.summary()),
            Origin::Fhir { .. } => None,
        });
        options.withheld = self.notice;
        options.locale = display.locale();
        options.time_zone = display.zone();
        options.theme = display.theme();
        options
    }

    pub(crate) fn new(screened: Screened, source: Option<Origin>, display: Display) -> Self {
        Self {
            record: Rc::new(screened.record),
            source: source.map(Rc::new),
            decisions: Rc::new(screened.decisions),
            viewer: screened.viewer,
            notice: screened.notice,
            display,
            live: RefCell::new(None),
            chart: RefCell::new(None),
            policy: Rc::new(Policy::default()),
            consents: Rc::new(Vec::new()),
            backend: super::webcrypto::Backend::Auto,
        }
    }

    /// The policy and Consents the record was screened with, and the
    /// portal's AES-GCM backend (for `share`).
    pub(crate) fn screened_with(mut self, policy: Rc<Policy>, consents: Rc<Vec<serde_json::Value>>, backend: super::webcrypto::Backend) -> Self {
        self.policy = policy;
        self.consents = consents;
        self.backend = backend;
        self
    }

    /// The AES-GCM backend `share` seals with.
    pub(crate) fn backend(&self) -> super::webcrypto::Backend {
        self.backend
    }

    /// What `share` builds from: the record as its viewer sees it, the policy, the Consents.
    pub(crate) fn share_source(&self) -> (Rc<Record>, Rc<Policy>, Rc<Vec<serde_json::Value>>, Display) {
        (Rc::clone(&self.record), Rc::clone(&self.policy), Rc::clone(&self.consents), self.display.clone())
    }

    /// The sections of the chart as its table of contents lists them.
    pub(crate) fn section_counts(&self) -> Result<Vec<(&'static str, String, usize)>, JsValue> {
        Ok(crate::share::section_counts(&*self.chart_for(&JsValue::UNDEFINED)?))
    }
}

fn set(object: &js_sys::Object, name: &str, value: JsValue) {
    let _ = js_sys::Reflect::set(object, &name.into(), &value);
}

fn fhir_object(base_url: &str, report: &crate::fhir_api::FetchReport) -> JsValue {
    let out = js_sys::Object::new();
    set(&out, "kind", "fhirServer".into());
    set(&out, "baseUrl", base_url.into());
    set(&out, "everything", report.everything.into());
    set(&out, "requests", (report.requests as f64).into());
    set(&out, "pages", (report.pages as f64).into());
    set(&out, "resources", (report.resources as f64).into());
    set(&out, "bytes", (report.bytes as f64).into());
    let skipped: js_sys::Array = report
        .skipped
        .iter()
        .map(|(resource_type, status)| {
            let o = js_sys::Object::new();
            set(&o, "resourceType", resource_type.as_str().into());
            set(&o, "status", (*status).into());
            JsValue::from(o)
        })
        .collect();
    set(&out, "skipped", skipped.into());
    out.into()
}

fn source_object(source: &LinkSource) -> JsValue {
    let out = js_sys::Object::new();
    set(&out, "kind", "link".into());
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
fn today() -> Date {
    let now = js_sys::Date::new_0();
    Date::from_ymd(now.get_full_year() as i32, now.get_month() + 1, now.get_date()).unwrap_or_default()
}

fn to_plain_object(value: &serde_json::Value) -> JsValue {
    plain_object(&crate::fhir::value::write(value))
}

/// A plain object from JSON text: numbers keep JSON's meaning and FHIR names stay as they are.
fn plain_object(text: &str) -> JsValue {
    js_sys::JSON::parse(text).unwrap_or(JsValue::NULL)
}

#[wasm_bindgen]
impl PatientRecord {
    /// Renders the chart into `host`, inside its (open) shadow root, so
    /// portal CSS and SDK CSS stay apart. `options` may choose `locale`,
    /// `timeZone` and `theme` for this rendering (over the portal's). The
    /// banner, the table of contents and the first section are on the page
    /// when `render` returns, the first section's body shown after the next
    /// frame or with the last step, whichever comes first (so that no frame
    /// lays out the whole first screen); the later sections follow in slices
    /// of about 12 ms (short sections together, a long one a few thousand
    /// characters at a time), with `aria-busy` on the chart until the last,
    /// so that no step holds the page's thread long. The Promise resolves
    /// once the whole chart is committed and shown (at once when it has one
    /// section; also when the chart is rendered again or closed before then). The older rows of long
    /// sections, closed trends and the "Other records" lists are added when
    /// their disclosure is first opened (and all of them, with any section
    /// not yet committed, before printing). Rendering again replaces it;
    /// rendering into another element closes the chart in the first (one
    /// live chart per record; `toHtml` gives static copies).
    #[wasm_bindgen(unchecked_return_type = "Promise<void>")]
    pub fn render(
        &self,
        #[wasm_bindgen(unchecked_param_type = "HostElement")] host: JsValue,
        #[wasm_bindgen(unchecked_optional_param_type = "DisplayOptions")] options: Option<JsValue>,
    ) -> Result<js_sys::Promise, JsValue> {
        let host: web_sys::Element = host.dyn_into().map_err(|_| bad_input("render needs a DOM element to render into"))?;
        if let Some(options) = &options {
            super::screening::known_only(options, "render", &[super::screening::DISPLAY_OPTIONS])?;
        }
        let chart = self.chart_for(options.as_ref().unwrap_or(&JsValue::UNDEFINED))?;
        let html = to_html_lazy(&chart);
        let root = match host.shadow_root() {
            Some(root) => root,
            None => host
                .attach_shadow(&web_sys::ShadowRootInit::new(web_sys::ShadowRootMode::Open))
                .map_err(|_| bad_input("this element cannot host a shadow root (use a div, section or custom element)"))?,
        };
        self.leave_for(&root);
        let committed = commit_chart(&root, &html)?;
        adopt_styles(&root, STYLESHEET)?;
        self.go_live(root, chart);
        Ok(committed)
    }

    /// The chart as an HTML string, complete and working without script,
    /// for hosts that place it themselves (server-side rendering, print,
    /// e-mail): a `<div class="ppsdk-root">` holding the chart and its
    /// stylesheet, every rule scoped to that element with CSS `@scope`, so
    /// it is safe to insert anywhere in a page without restyling it. With
    /// `styles: "none"` the `<style>` element is left out, for pages under a
    /// strict CSP that link the package's `chart.css` instead. `options`
    /// otherwise as for `render`. Every value from the record is escaped.
    #[wasm_bindgen(js_name = toHtml)]
    pub fn to_html(&self, #[wasm_bindgen(unchecked_optional_param_type = "HtmlOptions")] options: Option<JsValue>) -> Result<String, JsValue> {
        let options = options.unwrap_or(JsValue::UNDEFINED);
        super::screening::known_only(&options, "toHtml", &[super::screening::DISPLAY_OPTIONS, &["styles"]])?;
        let styles = super::screening::member(&options, "styles");
        let inline = match styles.as_string().as_deref() {
            _ if super::screening::absent(&styles) => true,
            Some("inline") => true,
            Some("none") => false,
            _ => return Err(bad_input("option styles must be \"inline\" or \"none\"")),
        };
        Ok(to_html_styled(&*self.chart_for(&options)?, inline))
    }

    /// Worker mode: the chart's markup as `render` commits it (disclosures
    /// filled later), for the page to commit.
    #[wasm_bindgen(js_name = __chartMarkup, skip_typescript)]
    pub fn chart_markup(&self, options: Option<JsValue>) -> Result<String, JsValue> {
        if let Some(options) = &options {
            super::screening::known_only(options, "render", &[super::screening::DISPLAY_OPTIONS])?;
        }
        Ok(to_html_lazy(&*self.chart_for(options.as_ref().unwrap_or(&JsValue::UNDEFINED))?))
    }

    /// Worker mode: the markup that fills the disclosure `data-fill="key"`
    /// of the chart for `options`.
    #[wasm_bindgen(js_name = __fill, skip_typescript)]
    pub fn fill(&self, key: String, options: Option<JsValue>) -> Result<Option<String>, JsValue> {
        Ok(fill_html(&*self.chart_for(options.as_ref().unwrap_or(&JsValue::UNDEFINED))?, &key))
    }

    /// Worker mode: the results list for `filter` and its status line.
    #[wasm_bindgen(js_name = __filter, skip_typescript)]
    pub fn filter(&self, filter: String, options: Option<JsValue>) -> Result<js_sys::Array, JsValue> {
        let chart = self.chart_for(options.as_ref().unwrap_or(&JsValue::UNDEFINED))?;
        let (markup, count) = results_html(&chart, &filter);
        Ok(js_sys::Array::of2(&markup.into(), &filter_status(&chart, count).into()))
    }

    /// Worker mode: the note a closed chart shows, and the chart's stylesheet.
    #[wasm_bindgen(js_name = __chartTexts, skip_typescript)]
    pub fn chart_texts(&self) -> js_sys::Array {
        js_sys::Array::of2(&self.display.resolved_locale().t(T::RecordClosed).into(), &STYLESHEET.into())
    }

    /// The record's resources as plain objects, exactly as received; only
    /// those of `resourceType` when given.
    #[wasm_bindgen(unchecked_return_type = "FhirResource[]")]
    pub fn resources(
        &self,
        #[wasm_bindgen(js_name = resourceType, unchecked_optional_param_type = "string")] resource_type: JsValue,
    ) -> Result<js_sys::Array, JsValue> {
        let resource_type = match resource_type.as_string() {
            Some(t) => Some(t),
            None if super::screening::absent(&resource_type) => None,
            None => return Err(bad_input("resources takes a resource type as a string, e.g. \"Observation\"")),
        };
        Ok(self.record.entries.iter().filter(|e| resource_type.as_deref().is_none_or(|t| e.resource_type == t)).map(|e| plain_object(e.raw.text())).collect())
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
        match self.source.as_deref() {
            None => JsValue::UNDEFINED,
            Some(Origin::Link(link)) => source_object(link),
            Some(Origin::Fhir { base_url, report }) => fhir_object(base_url, report),
        }
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
