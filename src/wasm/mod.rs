//! The JavaScript binding: conversions only. Every decision is made in the
//! core modules; this layer turns JavaScript values into core types, calls
//! the core, and turns results and errors back into JavaScript.

mod http;
mod portal;
mod record;

pub use portal::Portal;
pub use record::PatientRecord;

use wasm_bindgen::prelude::*;

use crate::error::Error;

#[wasm_bindgen(typescript_custom_section)]
const TYPES: &'static str = r#"
/** Stable machine-readable error codes, on `PatientPortalError.code`. */
export type ErrorCode =
  | "badKey"        // the key is not 32 (A256GCM) or 16 (A128GCM) bytes of base64url
  | "malformedJwe"  // not a compact JWE (e.g. a 3-part JWS), bad base64url, bad IV/tag length
  | "unsupported"   // a JWE alg/enc/zip/crit, or a content type, this SDK does not handle
  | "decrypt"       // wrong key or altered data (one opaque error, no plaintext released)
  | "tooLarge"      // over the download or decrypted-size limit
  | "format"        // decrypted, but not FHIR JSON
  | "network"       // the server could not be reached (or CORS blocked the request)
  | "httpStatus"    // the server answered with a non-2xx status (see `status`)
  | "badInput";     // an argument was unusable (e.g. no element to render into)

/** Every error the SDK throws or rejects with. */
export interface PatientPortalError extends Error {
  name: "PatientPortalError";
  code: ErrorCode;
  /** The HTTP status, for `code === "httpStatus"`. */
  status?: number;
}

/** Options for `new PatientPortal(options)`. All optional. */
export interface PortalOptions {
  /** Largest download and largest decrypted record, in bytes (default 64 MiB). */
  maxRecordBytes?: number;
  /** Extra attempts after a network error or a 502/503/504 (default 2). */
  retries?: number;
}

/** A stage of opening a record. */
export type Stage = "fetch" | "decrypt" | "parse" | "ready";

/** Reported to `onProgress`. */
export interface Progress {
  stage: Stage;
}

/** Options for `openUrl` and `openJwe`. */
export interface OpenOptions {
  /** Called as each stage starts. */
  onProgress?: (progress: Progress) => void;
}

/** A key: unpadded base64url text (43 characters for 32 bytes), or the raw bytes. */
export type ContentKeyInput = string | Uint8Array;

/** A FHIR resource exactly as received (FHIR's own JSON names). */
export interface FhirResource {
  resourceType: string;
  id?: string;
  [element: string]: unknown;
}
"#;

/// Turns a core error into a real `Error` with a stable `name` and `code`.
pub(crate) fn to_js_error(error: &Error) -> JsValue {
    let js = js_sys::Error::new(&error.to_string());
    js.set_name("PatientPortalError");
    let _ = js_sys::Reflect::set(&js, &"code".into(), &error.code().into());
    if let Some(status) = error.status() {
        let _ = js_sys::Reflect::set(&js, &"status".into(), &status.into());
    }
    js.into()
}

pub(crate) fn bad_input(message: &str) -> JsValue {
    to_js_error(&Error::BadInput(message.to_string()))
}
