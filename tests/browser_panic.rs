//! A panic in the binding reaches JavaScript as a `PatientPortalError` with
//! code `internal`, not as a trap. Its own wasm instance: after the first
//! panic an instance is not used again (a second panic traps).
#![cfg(target_arch = "wasm32")]

use patient_portal_sdk::wasm::install_panic_hook;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

#[wasm_bindgen_test]
fn a_panic_throws_an_internal_patient_portal_error_without_its_text() {
    // The test harness installs its own hook; the SDK's is the one under test.
    install_panic_hook();
    // The multibyte-date defect as it was: slicing a record's text at a byte that is not a character boundary.
    let date = Closure::<dyn Fn() -> JsValue>::new(|| {
        let text = String::from("202é-1");
        JsValue::from_str(&text[..4])
    });
    let catcher = js_sys::Function::new_with_args("f", "try { return { returned: f() } } catch (e) { return { thrown: e } }");
    let outcome = catcher.call1(&JsValue::NULL, date.as_ref().unchecked_ref()).unwrap();
    let thrown = js_sys::Reflect::get(&outcome, &"thrown".into()).unwrap();
    let error: &js_sys::Error = thrown.dyn_ref().expect("a real Error object, not a RuntimeError trap");
    assert!(!thrown.is_instance_of::<js_sys::WebAssembly::RuntimeError>());
    assert_eq!(String::from(error.name()), "PatientPortalError");
    assert_eq!(js_sys::Reflect::get(&thrown, &"code".into()).unwrap().as_string().as_deref(), Some("internal"));
    let message = String::from(error.message());
    assert!(message.contains("load the SDK again"), "{message}");
    assert!(!message.contains("202") && !message.contains("char boundary"), "the panic's text stays out: {message}");
}
