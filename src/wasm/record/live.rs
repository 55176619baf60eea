//! A rendered chart's life on the page: the listeners that fill its
//! disclosures, run its section toggles, table of contents and results
//! filter, and complete it before printing; and closing it when the record
//! is freed or rendered elsewhere.

use std::cell::RefCell;
use std::rc::Rc;

use wasm_bindgen::prelude::*;

use super::PatientRecord;
use crate::render::i18n::T;
use crate::render::{fill_html, filter_status, results_html, Chart};
use crate::wasm::{append_html, set_html};

/// A rendered chart's shadow root and the listeners that make it live.
pub(super) struct Live {
    root: web_sys::ShadowRoot,
    /// Marks this rendering's `<article>` (`data-ppsdk-render`): a root
    /// rendered into again by another record is no longer this one's.
    token: String,
    toggle: Closure<dyn FnMut(web_sys::Event)>,
    click: Closure<dyn FnMut(web_sys::Event)>,
    input: Closure<dyn FnMut(web_sys::Event)>,
    before_print: Closure<dyn FnMut(web_sys::Event)>,
}

impl PatientRecord {
    /// Closes the live chart, if its root still shows it: its content is
    /// removed, and a short note says the record is closed, so that no
    /// disclosure is left that can no longer open.
    pub(super) fn close_chart(&self) {
        if let Some(live) = self.live.borrow().as_ref().filter(|live| is_current(&live.root, &live.token)) {
            let note = self.display.resolved_locale().t(T::RecordClosed);
            if let Some(document) = live.root.owner_document() {
                if let Ok(p) = document.create_element("p") {
                    p.set_text_content(Some(note));
                    let _ = p.set_attribute("role", "status");
                    let _ = p.set_attribute("class", "closed");
                    live.root.set_text_content(None);
                    let _ = live.root.append_child(&p);
                }
            }
        }
        self.detach();
    }

    /// Stops committing the chart and removes its listeners (its markup stays).
    fn detach(&self) {
        if let Some(live) = self.live.borrow_mut().take() {
            crate::wasm::stop_chart(&live.root);
            let _ = live.root.remove_event_listener_with_callback_and_bool("toggle", live.toggle.as_ref().unchecked_ref(), true);
            let _ = live.root.remove_event_listener_with_callback("click", live.click.as_ref().unchecked_ref());
            let _ = live.root.remove_event_listener_with_callback("input", live.input.as_ref().unchecked_ref());
            if let Some(window) = web_sys::window() {
                let _ = window.remove_event_listener_with_callback("beforeprint", live.before_print.as_ref().unchecked_ref());
            }
        }
    }

    /// Before rendering into `root`: one live chart per record, so a chart
    /// in another element closes rather than stay on screen without
    /// listeners; one in `root` itself only loses its listeners.
    pub(super) fn leave_for(&self, root: &web_sys::ShadowRoot) {
        let elsewhere = self.live.borrow().as_ref().is_some_and(|live| !live.root.is_same_node(Some(root.as_ref())));
        if elsewhere {
            self.close_chart();
        } else {
            self.detach();
        }
    }

    /// Marks the chart just committed to `root` as this record's rendering
    /// and makes it live: its listeners, removed again by `detach`.
    pub(super) fn go_live(&self, root: web_sys::ShadowRoot, chart: Rc<Chart>) {
        let token = RENDERINGS.with(|n| {
            n.set(n.get() + 1);
            n.get().to_string()
        });
        if let Ok(Some(article)) = root.query_selector("article.chart") {
            let _ = article.set_attribute("data-ppsdk-render", &token);
        }
        // Each listener acts only while the root still shows this rendering.
        let toggle = {
            let (root, token, chart) = (root.clone(), token.clone(), Rc::clone(&chart));
            Closure::<dyn FnMut(web_sys::Event)>::new(move |event: web_sys::Event| {
                if is_current(&root, &token) {
                    on_toggle(&chart, &event)
                }
            })
        };
        let click = {
            let (root, token) = (root.clone(), token.clone());
            Closure::<dyn FnMut(web_sys::Event)>::new(move |event: web_sys::Event| {
                if is_current(&root, &token) {
                    on_click(&root, &event)
                }
            })
        };
        let input = {
            let (root, token, chart, first) = (root.clone(), token.clone(), Rc::clone(&chart), RefCell::new(None));
            Closure::<dyn FnMut(web_sys::Event)>::new(move |event: web_sys::Event| {
                if is_current(&root, &token) {
                    on_input(&root, &chart, &first, &event)
                }
            })
        };
        let print = {
            let (root, token, chart) = (root.clone(), token.clone(), Rc::clone(&chart));
            Closure::<dyn FnMut(web_sys::Event)>::new(move |_: web_sys::Event| {
                if is_current(&root, &token) {
                    before_print(&root, &chart)
                }
            })
        };
        // `toggle` does not bubble: listen in the capture phase.
        let _ = root.add_event_listener_with_callback_and_bool("toggle", toggle.as_ref().unchecked_ref(), true);
        let _ = root.add_event_listener_with_callback("click", click.as_ref().unchecked_ref());
        let _ = root.add_event_listener_with_callback("input", input.as_ref().unchecked_ref());
        if let Some(window) = web_sys::window() {
            let _ = window.add_event_listener_with_callback("beforeprint", print.as_ref().unchecked_ref());
        }
        *self.live.borrow_mut() = Some(Live { root, token, toggle, click, input, before_print: print });
    }
}

thread_local! {
    static RENDERINGS: std::cell::Cell<u64> = const { std::cell::Cell::new(0) };
}

/// Whether the chart in `root` is still the rendering marked `token`.
fn is_current(root: &web_sys::ShadowRoot, token: &str) -> bool {
    root.query_selector(&format!("article[data-ppsdk-render=\"{token}\"]")).ok().flatten().is_some()
}

fn element(target: Option<web_sys::EventTarget>) -> Option<web_sys::Element> {
    target.and_then(|t| t.dyn_into::<web_sys::Element>().ok())
}

/// Fills a disclosure of the chart (`data-fill`) once.
fn fill_details(chart: &Chart, details: &web_sys::Element) {
    let Some(key) = details.get_attribute("data-fill") else {
        return;
    };
    if details.has_attribute("data-filled") {
        return;
    }
    let Some(html) = fill_html(chart, &key) else {
        return;
    };
    if let Ok(Some(target)) = details.query_selector("[data-fill-here]") {
        if append_html(&target, &html).is_ok() {
            let _ = details.set_attribute("data-filled", "");
        }
    }
}

/// Fills a disclosure the first time it opens.
fn on_toggle(chart: &Chart, event: &web_sys::Event) {
    let Some(details) = element(event.target()) else {
        return;
    };
    let open = js_sys::Reflect::get(&details, &"open".into()).ok().and_then(|o| o.as_bool()).unwrap_or(false);
    if open {
        fill_details(chart, &details);
    }
}

/// Section collapse buttons, and the table of contents (fragment links do
/// not reach into a shadow root: the chart scrolls to the section itself).
fn on_click(root: &web_sys::ShadowRoot, event: &web_sys::Event) {
    let Some(target) = element(event.target()) else {
        return;
    };
    if let Ok(Some(button)) = target.closest("button.toggle") {
        let expanded = button.get_attribute("aria-expanded").as_deref() == Some("true");
        let _ = button.set_attribute("aria-expanded", if expanded { "false" } else { "true" });
        if let Some(body) = button.get_attribute("aria-controls").and_then(|id| root.get_element_by_id(&id)) {
            let _ = body.toggle_attribute_with_force("hidden", expanded);
        }
        return;
    }
    let Ok(Some(link)) = target.closest("a[href^=\"#ppsdk-\"]") else {
        return;
    };
    let Some(id) = link.get_attribute("href").and_then(|h| h.strip_prefix('#').map(str::to_string)) else {
        return;
    };
    event.prevent_default();
    if let Some(button) = root.get_element_by_id(&format!("{id}-h")).and_then(|h| h.query_selector("button.toggle").ok().flatten()) {
        if button.get_attribute("aria-expanded").as_deref() == Some("false") {
            if let Some(b) = button.dyn_ref::<web_sys::HtmlElement>() {
                b.click();
            }
        }
    }
    if let Some(heading) = root.get_element_by_id(&format!("{id}-h")) {
        heading.scroll_into_view();
        if let Some(h) = heading.dyn_ref::<web_sys::HtmlElement>() {
            let _ = h.focus();
        }
    }
}

/// The results filter: all results whose name matches, or the first ones
/// again (as first rendered) when the filter is emptied.
fn on_input(root: &web_sys::ShadowRoot, chart: &Chart, first: &RefCell<Option<String>>, event: &web_sys::Event) {
    let Some(input) = element(event.target()).and_then(|t| t.dyn_into::<web_sys::HtmlInputElement>().ok()) else {
        return;
    };
    if input.id() != "ppsdk-results-filter" {
        return;
    }
    let (Ok(Some(list)), Ok(Some(status))) = (root.query_selector(".results-list"), root.query_selector(".filter-status")) else {
        return;
    };
    let filter = input.value();
    if filter.trim().is_empty() {
        if let Some(markup) = first.borrow_mut().take() {
            let _ = set_html(&list, &markup);
        }
        status.set_text_content(None);
        return;
    }
    if first.borrow().is_none() {
        *first.borrow_mut() = Some(list.inner_html());
    }
    let (markup, count) = results_html(chart, &filter);
    let _ = set_html(&list, &markup);
    status.set_text_content(Some(&filter_status(chart, count)));
}

/// Before printing: every disclosure filled and open, so that the paper
/// copy is complete.
fn before_print(root: &web_sys::ShadowRoot, chart: &Chart) {
    crate::wasm::finish_chart(root);
    let Ok(all) = root.query_selector_all("details") else {
        return;
    };
    for i in 0..all.length() {
        if let Some(details) = all.item(i).and_then(|n| n.dyn_into::<web_sys::Element>().ok()) {
            fill_details(chart, &details);
            let _ = details.set_attribute("open", "");
        }
    }
}
