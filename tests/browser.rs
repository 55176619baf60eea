//! The binding layer in headless Chromium: the exported API, real `Error`
//! objects, the shadow-root render, `fetch` through `js/runtime.js`, hostile
//! strings that must never execute, and SMART Health Links refused by the
//! SDK before any request.
#![cfg(target_arch = "wasm32")]

use patient_portal_sdk::unseal::{seal, ContentKey, SealOptions};
use patient_portal_sdk::wasm::{PatientRecord, Portal};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

const IPS_JWE: &str = include_str!("../../shared/data/shl/hl7-ig/IPS_IG-bundle-01-enc.txt");
const IPS_PLAIN: &str = include_str!("../../shared/data/shl/hl7-ig/IPS_IG-bundle-01.json");
const IPS_KEY: &str = "rxTgYlOaKJPFtcEd0qcceN8wEU4p94SqAwIWQe6uX7Q";
const CARIN_JWS: &str = include_str!("../../shared/data/shl/hl7-ig/CARIN_INS_CD-bundle-01-enc.txt");

fn document() -> web_sys::Document {
    web_sys::window().unwrap().document().unwrap()
}

fn host() -> web_sys::Element {
    let div = document().create_element("div").unwrap();
    document().body().unwrap().append_child(&div).unwrap();
    div
}

fn open(jwe: &str, key: &str) -> Result<PatientRecord, JsValue> {
    Portal::new(None)?.open_jwe(JsValue::from_str(jwe), JsValue::from_str(key), None)
}

fn error_fields(err: &JsValue) -> (String, String, String) {
    let e: &js_sys::Error = err.dyn_ref().expect("a real Error object");
    let code = js_sys::Reflect::get(err, &"code".into()).unwrap().as_string().unwrap();
    (String::from(e.name()), code, String::from(e.message()))
}

#[wasm_bindgen_test]
async fn opens_the_hl7_ips_file_and_renders_into_a_shadow_root() {
    let record = open(IPS_JWE, IPS_KEY).unwrap();
    assert_eq!(record.resource_count(), 20);
    assert_eq!(record.bundle_type().as_deref(), Some("document"));
    let host = host();
    let committed = record.render(host.clone().into(), None).unwrap();
    let root = host.shadow_root().expect("an open shadow root");
    // The banner and the first section are on the page when render returns;
    // the later sections follow, `aria-busy` on the chart until the last.
    let article = root.query_selector("article.chart").unwrap().unwrap();
    assert_eq!(article.get_attribute("aria-busy").as_deref(), Some("true"));
    assert_eq!(root.query_selector_all("article.chart > section").unwrap().length(), 1);
    wasm_bindgen_futures::JsFuture::from(committed).await.unwrap();
    assert!(!article.has_attribute("aria-busy"));
    // The same sections, in the same order, as the chart written at once.
    let ids = |all: web_sys::NodeList| (0..all.length()).map(|i| all.item(i).unwrap().dyn_into::<web_sys::Element>().unwrap().id()).collect::<Vec<_>>();
    let whole = document().create_element("div").unwrap();
    whole.set_inner_html(&record.to_html(None).unwrap());
    let expected = ids(whole.query_selector_all("article.chart > section").unwrap());
    assert!(expected.len() > 3, "{expected:?}");
    assert_eq!(ids(root.query_selector_all("article.chart > section").unwrap()), expected);
    let name = root.query_selector(".patient-name").unwrap().unwrap().text_content().unwrap();
    assert_eq!(Some(name.clone()), record.patient_name());
    assert!(!name.is_empty());
    // Nothing leaks into the light DOM.
    assert_eq!(host.inner_html(), "");
    // Styles stay inside the shadow root: one adopted stylesheet, no
    // <style> element (a strict CSP blocks those), nothing in the page's head.
    assert!(root.query_selector("style").unwrap().is_none());
    let adopted = js_sys::Reflect::get(&root, &"adoptedStyleSheets".into()).unwrap();
    assert_eq!(js_sys::Array::from(&adopted).length(), 1);
    assert!(document().head().unwrap().query_selector("style").unwrap().is_none());
    // Rendering again replaces the chart.
    let _ = record.render(host.clone().into(), None).unwrap();
    assert_eq!(root.query_selector_all(".patient-name").unwrap().length(), 1);
}

#[wasm_bindgen_test]
fn resources_are_plain_objects_exactly_as_received() {
    let record = open(IPS_JWE, IPS_KEY).unwrap();
    let all = record.resources(JsValue::UNDEFINED).unwrap();
    let expected: serde_json::Value = serde_json::from_str(IPS_PLAIN).unwrap();
    assert_eq!(all.length(), 20);
    for (i, entry) in expected["entry"].as_array().unwrap().iter().enumerate() {
        let got = js_sys::JSON::stringify(&all.get(i as u32)).unwrap().as_string().unwrap();
        let got: serde_json::Value = serde_json::from_str(&got).unwrap();
        assert_eq!(got, entry["resource"]);
    }
    assert_eq!(record.resources("Observation".into()).unwrap().length(), 7);
    let counts = record.resource_counts();
    assert_eq!(js_sys::Reflect::get(&counts, &"Observation".into()).unwrap().as_f64(), Some(7.0));
}

#[wasm_bindgen_test]
fn errors_are_real_error_objects_with_stable_codes() {
    let wrong_key = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";
    let (name, code, message) = error_fields(&open(IPS_JWE, wrong_key).err().unwrap());
    assert_eq!((name.as_str(), code.as_str()), ("PatientPortalError", "decrypt"));
    assert!(!message.contains("Patient"));
    assert_eq!(error_fields(&open(CARIN_JWS, IPS_KEY).err().unwrap()).1, "malformedJwe");
    assert_eq!(error_fields(&open(IPS_JWE, "c2hvcnQ").err().unwrap()).1, "badKey");
    let portal = Portal::new(None).unwrap();
    let not_a_key = portal.open_jwe(IPS_JWE.into(), JsValue::from_f64(3.0), None).err().unwrap();
    assert_eq!(error_fields(&not_a_key).1, "badInput");
    // Tampered ciphertext: one character of segment 4 changed.
    let mut parts: Vec<String> = IPS_JWE.trim().split('.').map(str::to_string).collect();
    let c = parts[3].remove(10);
    parts[3].insert(10, if c == 'A' { 'B' } else { 'A' });
    assert_eq!(error_fields(&open(&parts.join("."), IPS_KEY).err().unwrap()).1, "decrypt");
    // Rendering into something that is not an element.
    let record = open(IPS_JWE, IPS_KEY).unwrap();
    assert_eq!(error_fields(&record.render(JsValue::NULL, None).err().unwrap()).1, "badInput");
}

#[wasm_bindgen_test]
fn key_as_bytes_and_progress_callback() {
    let key = js_sys::Uint8Array::from(ContentKey::from_base64url(IPS_KEY).unwrap().as_bytes());
    let stages = js_sys::Array::new();
    let options = js_sys::Object::new();
    let push = js_sys::Function::new_with_args("p", "this.push(p.stage)").bind0(&stages);
    js_sys::Reflect::set(&options, &"onProgress".into(), &push).unwrap();
    let record = Portal::new(None).unwrap().open_jwe(IPS_JWE.into(), key.into(), Some(options.unchecked_into())).unwrap();
    assert_eq!(record.resource_count(), 20);
    let stages: Vec<String> = stages.iter().map(|s| s.as_string().unwrap()).collect();
    assert_eq!(stages, ["decrypt", "parse", "consent", "ready"]);
}

#[wasm_bindgen_test]
async fn open_url_fetches_through_the_browser() {
    let key = ContentKey::from_bytes(&[11; 32]).unwrap();
    let jwe = seal(IPS_PLAIN.as_bytes(), &key, [1; 12], &SealOptions { deflate: true, content_type: None }).unwrap();
    let url = format!("data:application/jose,{jwe}");
    let promise = Portal::new(None).unwrap().open_url(url.into(), JsValue::from_str(&key.to_base64url()), None);
    let value = wasm_bindgen_futures::JsFuture::from(promise).await.unwrap();
    // The promise resolves to a PatientRecord; read it through its JS API.
    let count = js_sys::Reflect::get(&value, &"resourceCount".into()).unwrap();
    assert_eq!(count.as_f64(), Some(20.0));
    let name = js_sys::Reflect::get(&value, &"patientName".into()).unwrap();
    assert_eq!(name.as_string(), open(IPS_JWE, IPS_KEY).unwrap().patient_name());
    // An unreachable URL: a network error, after the bounded retries.
    let portal = Portal::new(Some(js_sys::JSON::parse(r#"{"retries":0}"#).unwrap().unchecked_into())).unwrap();
    let promise = portal.open_url("http://127.0.0.1:9/none.jwe".into(), JsValue::from_str(IPS_KEY), None);
    let err = wasm_bindgen_futures::JsFuture::from(promise).await.err().unwrap();
    assert_eq!(error_fields(&err).1, "network");
}

#[wasm_bindgen_test]
async fn hostile_strings_never_execute() {
    let payloads = [
        "<script>window.__pwned = 1</script>",
        "<img src=x onerror=\"window.__pwned = 2\">",
        "\"><svg onload=\"window.__pwned = 3\">",
        "</style><img src=x onerror=\"window.__pwned = 4\">",
    ];
    let key = ContentKey::from_bytes(&[12; 32]).unwrap();
    for p in payloads {
        let j = serde_json::to_string(p).unwrap();
        let bundle = format!(
            r#"{{"resourceType":"Bundle","type":"collection","entry":[
            {{"resource":{{"resourceType":"Patient","name":[{{"text":{j}}}],"identifier":[{{"type":{{"text":{j}}},"value":{j}}}]}}}},
            {{"resource":{{"resourceType":"Observation","code":{{"text":{j}}},"valueQuantity":{{"value":1,"unit":{j}}},"referenceRange":[{{"text":{j}}}]}}}},
            {{"resource":{{"resourceType":"Condition","code":{{"text":{j}}},"onsetString":{j}}}}},
            {{"resource":{{"resourceType":{j},"title":{j}}}}}]}}"#
        );
        let jwe = seal(bundle.as_bytes(), &key, [2; 12], &SealOptions::default()).unwrap();
        let record = Portal::new(None).unwrap().open_jwe(JsValue::from_str(&jwe), JsValue::from_str(&key.to_base64url()), None).unwrap();
        let host = host();
        wasm_bindgen_futures::JsFuture::from(record.render(host.clone().into(), None).unwrap()).await.unwrap();
        let root = host.shadow_root().unwrap();
        for tag in ["script", "img", "svg", "iframe"] {
            assert!(root.query_selector(tag).unwrap().is_none(), "<{tag}> created for {p}");
        }
        assert_eq!(root.query_selector(".patient-name").unwrap().unwrap().text_content().unwrap(), p);
    }
    let pwned = js_sys::Reflect::get(&js_sys::global(), &"__pwned".into()).unwrap();
    assert!(pwned.is_undefined(), "a payload ran");
}

const SPEC_VECTOR: &str = include_str!("../../shared/data/shl/spec-example/spec_example_vector.json");

fn link_options(fields: &[(&str, JsValue)]) -> patient_portal_sdk::wasm::LinkOptionsArg {
    let options = js_sys::Object::new();
    for (name, value) in fields {
        js_sys::Reflect::set(&options, &(*name).into(), value).unwrap();
    }
    options.unchecked_into()
}

async fn link_error(link: &str, fields: &[(&str, JsValue)]) -> (String, String, String) {
    let promise = Portal::new(None).unwrap().open_link(JsValue::from_str(link), link_options(fields).into());
    let err = wasm_bindgen_futures::JsFuture::from(promise).await.expect_err("the link must not open");
    error_fields(&err)
}

#[wasm_bindgen_test]
async fn smart_health_links_parse_and_refuse_before_any_request() {
    let vector: serde_json::Value = serde_json::from_str(SPEC_VECTOR).unwrap();
    let viewer_url = vector["shlink_viewer_url"].as_str().unwrap();
    let info = patient_portal_sdk::wasm::parse_link_info(JsValue::from_str(viewer_url)).unwrap();
    let get = |name: &str| js_sys::Reflect::get(&info, &name.into()).unwrap();
    assert_eq!(get("label").as_string().as_deref(), Some("Back-to-school immunizations for Oliver Brown"));
    assert_eq!(get("flags").as_string().as_deref(), Some("LP"));
    assert_eq!(get("passcodeRequired").as_bool(), Some(true));
    assert_eq!(get("expired").as_bool(), Some(false));
    assert!(get("key").is_undefined(), "the key is never handed out");
    let bad = patient_portal_sdk::wasm::parse_link_info("shlink:/bm90IGpzb24".into()).unwrap_err();
    assert_eq!(error_fields(&bad).1, "badLink");

    // Each of these is refused by the SDK itself: ehr.example.org does not
    // resolve here, so any request would have ended as a network error.
    let recipient = ("recipient", JsValue::from_str("Browser test"));
    assert_eq!(link_error(viewer_url, std::slice::from_ref(&recipient)).await.1, "passcodeRequired");
    assert_eq!(link_error(viewer_url, &[]).await.1, "badInput");
    let mut payload = vector["decoded_payload"].clone();
    payload["exp"] = serde_json::json!(1_000_000_000);
    let encoded = base64::Engine::encode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, payload.to_string());
    let (name, code, message) = link_error(&format!("shlink:/{encoded}"), &[recipient]).await;
    assert_eq!((name.as_str(), code.as_str()), ("PatientPortalError", "expired"));
    assert!(!message.contains("rxTgYlOa"), "no key in the message");
}

const WYCHEPROOF_GCM: &str = include_str!("../../shared/data/wycheproof/aes_gcm_test.json");

fn unhex(s: &str) -> Vec<u8> {
    (0..s.len()).step_by(2).map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap()).collect()
}

/// The WebCrypto fast path and the portable backend, on every Wycheproof
/// AES-GCM vector the JWE layer can meet (128- and 256-bit keys, 96-bit IV,
/// 128-bit tag), in the same browser: same plaintext, same refusals.
#[wasm_bindgen_test]
async fn webcrypto_and_wasm_backends_agree_on_the_wycheproof_vectors() {
    use patient_portal_sdk::unseal::{AeadFailure, ContentCipher, GcmSeal, RustCryptoCipher};
    use patient_portal_sdk::wasm::webcrypto::{subtle, webcrypto_decrypt, webcrypto_decrypt_pieced};
    let subtle = subtle().expect("crypto.subtle in the test page (a secure context)");
    let doc: serde_json::Value = serde_json::from_str(WYCHEPROOF_GCM).unwrap();
    let (mut valid, mut invalid) = (0, 0);
    for group in doc["testGroups"].as_array().unwrap() {
        if !(group["keySize"] == 256 || group["keySize"] == 128) || group["ivSize"] != 96 || group["tagSize"] != 128 {
            continue;
        }
        for t in group["tests"].as_array().unwrap() {
            let field = |name: &str| unhex(t[name].as_str().unwrap());
            let key = ContentKey::from_bytes(&field("key")).unwrap();
            let iv: [u8; 12] = field("iv").try_into().unwrap();
            let tag: [u8; 16] = field("tag").try_into().unwrap();
            let (aad, ct) = (field("aad"), field("ct"));
            let gcm = &GcmSeal { key: &key, iv: &iv, tag: &tag };
            let web = webcrypto_decrypt(&subtle, gcm, &aad, &ct).await;
            let wasm = RustCryptoCipher.decrypt(gcm, &aad, &ct);
            // WebCrypto in pieces (as over a megabyte), here of one and two blocks.
            let (one, two) = (webcrypto_decrypt_pieced(&subtle, gcm, &aad, &ct, 16).await, webcrypto_decrypt_pieced(&subtle, gcm, &aad, &ct, 32).await);
            let id = &t["tcId"];
            if t["result"] == "invalid" {
                assert_eq!((web, wasm), (Err(AeadFailure), Err(AeadFailure)), "tcId {id} must be refused by both");
                assert_eq!((one, two), (Err(AeadFailure), Err(AeadFailure)), "tcId {id} must be refused in pieces");
                invalid += 1;
            } else {
                let msg = field("msg");
                assert_eq!(web.as_ref(), Ok(&msg), "tcId {id}: WebCrypto");
                assert_eq!(wasm.as_ref(), Ok(&msg), "tcId {id}: wasm");
                assert_eq!((one.as_ref(), two.as_ref()), (Ok(&msg), Ok(&msg)), "tcId {id}: WebCrypto in pieces");
                valid += 1;
            }
        }
    }
    assert_eq!((valid, invalid), (79, 54), "the 128- and 256-bit key, 96-bit IV subset");
}

/// A long section shows its newest rows; the older ones are added when
/// their disclosure first opens, and a dropped record stops listening.
#[wasm_bindgen_test]
async fn older_rows_arrive_when_their_disclosure_opens() {
    let observations: Vec<serde_json::Value> = (0..45)
        .map(|i| {
            serde_json::json!({"resource": {"resourceType": "Observation", "id": format!("o{i}"), "status": "final",
                "code": {"text": format!("Test number {i}")}, "valueString": "ok", "effectiveDateTime": format!("2020-01-{:02}", 1 + i % 28)}})
        })
        .collect();
    let bundle = serde_json::json!({"resourceType": "Bundle", "type": "collection", "entry": observations});
    let key = ContentKey::from_bytes(&[5; 32]).unwrap();
    let jwe = seal(bundle.to_string().as_bytes(), &key, [1; 12], &SealOptions::default()).unwrap();
    let record = Portal::new(None).unwrap().open_jwe(JsValue::from_str(&jwe), JsValue::from(js_sys::Uint8Array::from(&[5u8; 32][..])), None).unwrap();
    let host = host();
    let _ = record.render(host.clone().into(), None).unwrap();
    let root = host.shadow_root().unwrap();
    assert_eq!(root.query_selector_all("#ppsdk-results tbody tr").unwrap().length(), 10);
    let details = root.query_selector("details[data-fill]").unwrap().unwrap();
    assert!(details.text_content().unwrap().contains("Show 35 older"));
    js_sys::Reflect::set(&details, &"open".into(), &JsValue::TRUE).unwrap();
    // `toggle` is dispatched as a task: wait a turn.
    let tick = js_sys::Promise::new(&mut |resolve, _| {
        web_sys::window().unwrap().set_timeout_with_callback_and_timeout_and_arguments_0(&resolve, 20).unwrap();
    });
    wasm_bindgen_futures::JsFuture::from(tick).await.unwrap();
    assert_eq!(root.query_selector_all("#ppsdk-results tbody tr").unwrap().length(), 45);
    assert!(details.has_attribute("data-filled"));
    // The eager string form has every row at once.
    assert_eq!(record.to_html(None).unwrap().matches("Test number").count(), 45);
    drop(record);
    js_sys::Reflect::set(&details, &"open".into(), &JsValue::FALSE).unwrap();
}

type Tick = wasm_bindgen::closure::Closure<dyn FnMut()>;

/// Runs `record.sharePreview(options)` as JavaScript would, counting the
/// turns the event loop had (a `setTimeout(0)` chain) until it settles.
async fn share_preview_counting_turns(record: &PatientRecord, options: JsValue) -> (Result<JsValue, JsValue>, u32) {
    let turns = std::rc::Rc::new(std::cell::Cell::new(0u32));
    let done = std::rc::Rc::new(std::cell::Cell::new(false));
    let tick: std::rc::Rc<std::cell::RefCell<Option<Tick>>> = Default::default();
    let again = tick.clone();
    let (counted, stop) = (turns.clone(), done.clone());
    *tick.borrow_mut() = Some(wasm_bindgen::closure::Closure::new(move || {
        if stop.get() {
            return;
        }
        counted.set(counted.get() + 1);
        if let Some(f) = again.borrow().as_ref() {
            web_sys::window().unwrap().set_timeout_with_callback_and_timeout_and_arguments_0(f.as_ref().unchecked_ref(), 0).unwrap();
        }
    }));
    web_sys::window().unwrap().set_timeout_with_callback_and_timeout_and_arguments_0(tick.borrow().as_ref().unwrap().as_ref().unchecked_ref(), 0).unwrap();
    let promise: js_sys::Promise = record.share_preview(options.unchecked_into());
    let outcome = wasm_bindgen_futures::JsFuture::from(promise).await;
    done.set(true);
    (outcome, turns.get())
}

#[wasm_bindgen_test]
async fn share_preview_resolves_after_turns_of_the_event_loop_and_rejects_bad_options() {
    let record = open(IPS_JWE, IPS_KEY).unwrap();
    let options = js_sys::JSON::parse(r#"{"audience":{"role":"clinician"}}"#).unwrap();
    let (preview, turns) = share_preview_counting_turns(&record, options.clone()).await;
    let preview = preview.unwrap();
    // Built in steps, each after a turn: a synchronous build would give none.
    assert!(turns >= 3, "the event loop had {turns} turns while the preview was built");
    let count = |name: &str| js_sys::Reflect::get(&preview, &name.into()).unwrap().as_f64().unwrap();
    assert_eq!(count("resourceCount") + count("withheldCount"), record.resource_count() as f64);
    assert!(js_sys::Array::from(&js_sys::Reflect::get(&preview, &"sections".into()).unwrap()).length() > 0);
    let inner = js_sys::Reflect::get(&preview, &"record".into()).unwrap();
    let call = |name: &str| js_sys::Reflect::get(&inner, &name.into()).unwrap().unchecked_into::<js_sys::Function>().call0(&inner).unwrap();
    assert!(call("toHtml").as_string().unwrap().contains("ppsdk-root"));
    call("free");

    // Unusable options and a cancelled signal reject (a promise is always returned).
    let (refused, _) = share_preview_counting_turns(&record, JsValue::from_str("clinician")).await;
    assert_eq!(error_fields(&refused.unwrap_err()).1, "badInput");
    let aborted_signal = js_sys::Function::new_no_args("const c = new AbortController(); c.abort(); return c.signal;").call0(&JsValue::NULL).unwrap();
    js_sys::Reflect::set(&options, &"signal".into(), &aborted_signal).unwrap();
    let (aborted, _) = share_preview_counting_turns(&record, options).await;
    assert_eq!(error_fields(&aborted.unwrap_err()).1, "aborted");
}

const CARD_FILES: [&str; 2] = [
    include_str!("../../shared/data/shl/hl7-ig/example-00-e-file.smart-health-card"),
    include_str!("../../shared/data/shl/hl7-ig/example-02-e-file.smart-health-card"),
];
const CARD_JWS: &str = include_str!("../../shared/data/shl/hl7-ig/example-00-d-jws.txt");
const ISSUER_JWKS: &str = include_str!("../../shared/data/shl/spec-example/shc_issuer_jwks.json");

/// Runs `body` (JavaScript) with `globalThis[name]` hidden, then puts it back
/// as it was.
async fn without_global<F: std::future::Future>(name: &str, body: F) -> F::Output {
    let global = js_sys::global();
    let hide = js_sys::Function::new_with_args(
        "name",
        "const own = Object.getOwnPropertyDescriptor(globalThis, name);
         Object.defineProperty(globalThis, name, { value: undefined, configurable: true, writable: true });
         return () => { if (own) Object.defineProperty(globalThis, name, own); else delete globalThis[name]; };",
    );
    let restore: js_sys::Function = hide.call1(&JsValue::NULL, &name.into()).unwrap().unchecked_into();
    assert!(js_sys::Reflect::get(&global, &name.into()).unwrap().is_undefined());
    let out = body.await;
    restore.call0(&JsValue::NULL).unwrap();
    assert!(!js_sys::Reflect::get(&global, &name.into()).unwrap().is_undefined());
    out
}

#[wasm_bindgen_test]
async fn health_card_signatures_check_through_webcrypto() {
    use patient_portal_sdk::shl::{decode_jws, read_card_file, verify_with, Es256Verifier, Unverified, Verification};
    use patient_portal_sdk::wasm::webcrypto::WebCryptoEs256;
    let jwks: serde_json::Value = serde_json::from_str(ISSUER_JWKS).unwrap();
    assert!(WebCryptoEs256.available());
    for file in CARD_FILES {
        let credentials = read_card_file(file.as_bytes(), 1 << 20).unwrap();
        assert_eq!(credentials.len(), 1);
        assert_eq!(verify_with(&WebCryptoEs256, &credentials[0], &jwks).await, Verification::Verified);
    }
    let credential = decode_jws(CARD_JWS, 1 << 20).unwrap();
    assert_eq!(verify_with(&WebCryptoEs256, &credential, &jwks).await, Verification::Verified);
    // One changed character in the signature, or in the payload, fails.
    let parts: Vec<&str> = CARD_JWS.trim().split('.').collect();
    let flip = |s: &str| {
        let mut b = s.as_bytes().to_vec();
        let i = b.len() / 2;
        b[i] = if b[i] == b'A' { b'B' } else { b'A' };
        String::from_utf8(b).unwrap()
    };
    let bad_signature = decode_jws(&format!("{}.{}.{}", parts[0], parts[1], flip(parts[2])), 1 << 20).unwrap();
    assert_eq!(verify_with(&WebCryptoEs256, &bad_signature, &jwks).await, Verification::Invalid);
    match decode_jws(&format!("{}.{}.{}", parts[0], flip(parts[1]), parts[2]), 1 << 20) {
        Ok(bad_payload) => assert_eq!(verify_with(&WebCryptoEs256, &bad_payload, &jwks).await, Verification::Invalid),
        Err(e) => assert_eq!(e, patient_portal_sdk::shl::CardError::Payload),
    }
    // Another issuer's key, a key that is not a point of the curve, a key
    // set without the card's kid: invalid.
    let mut other = jwks.clone();
    other["keys"][0]["x"] = other["keys"][1]["x"].clone();
    other["keys"][0]["y"] = other["keys"][1]["y"].clone();
    assert_eq!(verify_with(&WebCryptoEs256, &credential, &other).await, Verification::Invalid);
    let mut off_curve = jwks.clone();
    off_curve["keys"][0]["x"] = off_curve["keys"][0]["y"].clone();
    assert_eq!(verify_with(&WebCryptoEs256, &credential, &off_curve).await, Verification::Invalid);
    let mut no_kid = jwks.clone();
    no_kid["keys"].as_array_mut().unwrap().remove(0);
    assert_eq!(verify_with(&WebCryptoEs256, &credential, &no_kid).await, Verification::Invalid);
    // Without WebCrypto (a page over plain http) the card is unverified,
    // as when no keys are at hand; never verified, never invalid.
    let outcome = without_global("crypto", async {
        assert!(!WebCryptoEs256.available());
        (verify_with(&WebCryptoEs256, &credential, &jwks).await, verify_with(&WebCryptoEs256, &bad_signature, &jwks).await)
    })
    .await;
    assert_eq!(outcome, (Verification::Unverified(Unverified::NoKeys), Verification::Unverified(Unverified::NoKeys)));
    assert_eq!(verify_with(&WebCryptoEs256, &credential, &jwks).await, Verification::Verified);
}

/// `record.share` with an in-memory link host: the link, and the one file
/// the host received.
async fn share_to_memory(record: &PatientRecord) -> (String, String) {
    let host = js_sys::Function::new_no_args(
        "const files = [];
         return { files,
           createLink: async () => ({ id: 'l1', url: 'https://shl.example.org/manifest/l1' }),
           addFile: async (id, file) => { files.push(file); },
           revoke: async () => {} };",
    )
    .call0(&JsValue::NULL)
    .unwrap();
    let options = js_sys::JSON::parse(r#"{"audience":{"role":"clinician"}}"#).unwrap();
    js_sys::Reflect::set(&options, &"host".into(), &host).unwrap();
    let shared = wasm_bindgen_futures::JsFuture::from(record.share(options.unchecked_into())).await.unwrap();
    let link = js_sys::Reflect::get(&shared, &"link".into()).unwrap().as_string().unwrap();
    let files = js_sys::Array::from(&js_sys::Reflect::get(&host, &"files".into()).unwrap());
    assert_eq!(files.length(), 1);
    let jwe = js_sys::Reflect::get(&files.get(0), &"jwe".into()).unwrap().as_string().unwrap();
    (link, jwe)
}

#[wasm_bindgen_test]
async fn shares_compress_with_compression_stream_and_open_back() {
    use patient_portal_sdk::shl::parse_link;
    use patient_portal_sdk::unseal::{parse, unseal, UnsealOptions};
    let record = open(IPS_JWE, IPS_KEY).unwrap();
    let read_back = |link: &str, jwe: &str| {
        let link = parse_link(link).unwrap();
        let (header, plain) = unseal(jwe, &link.key, &UnsealOptions::default()).unwrap();
        let bundle: serde_json::Value = serde_json::from_slice(&plain).unwrap();
        (header.deflated, plain.len(), bundle)
    };
    let header_json = |jwe: &str| -> serde_json::Value {
        use base64::Engine as _;
        let header = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(jwe.split('.').next().unwrap()).unwrap();
        serde_json::from_slice(&header).unwrap()
    };

    // Chromium has CompressionStream("deflate-raw"): `zip: "DEF"`, smaller.
    let (link, jwe) = share_to_memory(&record).await;
    assert_eq!(header_json(&jwe)["zip"], "DEF");
    let (deflated, plain_len, bundle) = read_back(&link, &jwe);
    assert!(deflated);
    assert_eq!(bundle["resourceType"], "Bundle");
    assert_eq!(bundle["entry"].as_array().unwrap().len(), record.resource_count());
    let ciphertext_len = parse(&jwe).unwrap().ciphertext.len();
    assert!(ciphertext_len * 2 < plain_len, "{ciphertext_len} bytes of ciphertext for {plain_len} of plaintext");
    // The SDK opens it too.
    let reopened = open(&jwe, &parse_link(&link).unwrap().key.to_base64url()).unwrap();
    assert_eq!(reopened.resource_count(), record.resource_count());

    // Without CompressionStream: sealed as it is, with no `zip` header.
    let (link, jwe) = without_global("CompressionStream", share_to_memory(&record)).await;
    assert!(header_json(&jwe).get("zip").is_none());
    let (deflated, plain_len, uncompressed) = read_back(&link, &jwe);
    assert!(!deflated);
    assert_eq!(parse(&jwe).unwrap().ciphertext.len(), plain_len);
    assert_eq!(uncompressed, bundle);
}

/// The case mappings the chart and consent use (`lowercase`, `capitalize`:
/// JavaScript's `toLowerCase`/`toUpperCase` for text that is not ASCII, in
/// WebAssembly) agree with the standard library's on every scalar value
/// (lower case: in words of 512, each character at a word's end and
/// inside it; capitalized: every character that has an upper case of its
/// own, and every 61st other one), and on Greek's final sigma.
#[wasm_bindgen_test]
fn case_mappings_agree_with_the_standard_library() {
    use patient_portal_sdk::{capitalize, lowercase};
    let all: Vec<char> = (0..=0x10FFFFu32).filter_map(char::from_u32).collect();
    let mut differ = Vec::new();
    for (n, chunk) in all.chunks(512).enumerate() {
        for text in [chunk.iter().flat_map(|&c| [c, 'x']).collect::<String>(), chunk.iter().flat_map(|&c| [c, ' ']).collect::<String>()] {
            if lowercase(&text) != text.to_lowercase() {
                differ.push(format!("lower, words from U+{:04X}", chunk[0] as u32));
            }
        }
        for (i, &c) in chunk.iter().enumerate() {
            if c.to_uppercase().ne([c]) || (n * 512 + i) % 61 == 0 {
                let upper: String = c.to_uppercase().chain("bC".chars()).collect();
                if capitalize(&format!("{c}bC")) != upper {
                    differ.push(format!("upper U+{:04X}", c as u32));
                }
            }
        }
    }
    for text in ["ΟΔΟΣ", "ΟΔΟΣ ΣΑΣ", "Σ", "AΣ.", "ǅungla", "İstanbul", "straße", "Ǉ", ""] {
        if lowercase(text) != text.to_lowercase()
            || capitalize(text) != text.chars().take(1).flat_map(char::to_uppercase).chain(text.chars().skip(1)).collect::<String>()
        {
            differ.push(format!("text {text}"));
        }
    }
    assert!(differ.is_empty(), "{} differ: {:?}", differ.len(), &differ[..differ.len().min(20)]);
}
