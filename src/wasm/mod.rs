//! The JavaScript binding: conversions only. Every decision is made in the
//! core modules; this layer turns JavaScript values into core types, calls
//! the core, and turns results and errors back into JavaScript.

#[allow(unsafe_code)] // the global allocator: the crate's only unsafe code
mod alloc;
mod display;
mod fhir;
mod http;
mod portal;
mod record;
mod screening;
mod share;
pub mod webcrypto;

pub use portal::{parse_link_info, LinkOptionsArg, Portal};
pub use record::PatientRecord;

use wasm_bindgen::prelude::*;

use crate::error::Error;

#[wasm_bindgen(typescript_custom_section)]
const TYPES: &'static str = r#"
/** Stable machine-readable error codes, on `PatientPortalError.code`. */
export type ErrorCode =
  | "badKey"        // the key is not 32 (A256GCM) or 16 (A128GCM) bytes of base64url
  | "malformedJwe"  // not a compact JWE (e.g. a 3-part JWS), bad base64url, bad IV/tag length
  | "unsupported"   // a JWE alg/enc/zip/crit, or a content type, this SDK does not handle; sharing: no crypto.getRandomValues
  | "decrypt"       // wrong key or altered data (one opaque error, no plaintext released)
  | "tooLarge"      // over the download or decrypted-size limit
  | "format"        // decrypted, but not FHIR JSON
  | "network"       // the server could not be reached (or CORS blocked the request)
  | "httpStatus"    // the server answered with a non-2xx status (see `status`)
  | "badInput"      // an argument was unusable (e.g. no element to render into, no recipient)
  | "badLink"       // not a SMART Health Link, or a malformed one (bad key, URL, exp, flags, label)
  | "expired"       // the link's exp has passed (refused before any request)
  | "passcodeRequired" // the link needs a passcode and none was given (see remainingAttempts)
  | "passcodeWrong" // the host refused the passcode (see remainingAttempts)
  | "linkInactive"  // the host answered 404: revoked, expired, or locked after wrong passcodes
  | "unauthorized"  // a FHIR server refused the token, also after one forced refresh (or getAccessToken failed)
  | "fhirError"     // a FHIR server answered an error with an OperationOutcome (see `issues`, `status`)
  | "aborted"       // the host's `signal` aborted the open; nothing was kept
  | "trustedTypes"  // the page enforces Trusted Types and its CSP does not allow the policy "patient-portal-sdk"
  | "notInitialized" // called before `init()` (or `initSync`) finished
  | "freed"         // the portal or record was used after `free()` (or freed twice)
  | "hostError"     // sharing: the link host (ShlHost) failed a call (see `status`, and `cause` for the host's own error)
  | "internal";     // a defect in the SDK; the instance should be dropped and the SDK loaded again

/** The DOM's `Element` where the DOM library is loaded (never in a Node program without DOM types). */
export type HostElement = typeof globalThis extends { Element: { prototype: infer E } } ? E : never;
/** The platform's `AbortSignal` (the DOM's, or Node's). */
export type AbortSignalLike = typeof globalThis extends { AbortSignal: { prototype: infer S } } ? S : never;

/** One issue of a FHIR server's OperationOutcome. */
export interface FhirIssue {
  severity: string;
  code: string;
  /** `details.text`, clipped to 200 characters. */
  details?: string;
}

/** Options for `new PatientPortal(options)`. All optional. */
export interface PortalOptions {
  /** Largest download and largest decrypted record, in bytes (default 64 MiB). */
  maxRecordBytes?: number;
  /** Extra attempts after a network error or a 502/503/504 (default 2). */
  retries?: number;
  /** What each kind of viewer may see; every field has a safe default. */
  policy?: ConsentPolicy;
  /** AES-GCM backend for openUrl/openLink: "auto" (WebCrypto where available, default) or "wasm". */
  crypto?: "auto" | "wasm";
  /** How charts are shown by default; each `render`/`toHtml` call may override it. */
  locale?: LocaleTag;
  /** IANA time zone for times of day (default: the browser's), e.g. "America/Chicago". */
  timeZone?: string;
  /** Colour scheme (default "auto": follows `prefers-color-scheme`). */
  theme?: Theme;
}

/** The languages of the chart's own labels, dates and numbers. Other tags
 *  of the same language ("es-MX", "de-AT") use these; the default is the
 *  first of the browser's languages the chart speaks, else "en-US". */
export type ChartLocale = "en-US" | "es-ES" | "fr-FR" | "de-DE";

/** A BCP 47 tag in a language the chart speaks: a `ChartLocale`, the bare language, or another region of it ("es-MX"). */
export type LocaleTag = ChartLocale | "en" | "es" | "fr" | "de" | `${"en" | "es" | "fr" | "de"}-${string}`;

/** The AES-GCM implementation in use: hardware AES through `crypto.subtle`, or the portable one in WebAssembly. */
export type CryptoBackend = "webcrypto" | "wasm";

/** The chart's colour scheme. */
export type Theme = "auto" | "light" | "dark";

/** Options for `render` and `toHtml`, over the portal's. */
export interface DisplayOptions {
  locale?: LocaleTag;
  /** IANA time zone name; a result at 23:30-05:00 shows on that day for a viewer at -05:00. */
  timeZone?: string;
  theme?: Theme;
}

/** Options for `toHtml`. */
export interface HtmlOptions extends DisplayOptions {
  /** "inline" (default): a `<style>` element scoped to the chart; "none": link the package's `chart.css` instead. */
  styles?: "inline" | "none";
}

/** Who is viewing. */
export type ViewerRole = "patient" | "proxy" | "clinician";

/** The viewing context, given per open (default: the patient, now). */
export interface Viewer {
  role: ViewerRole;
  /** For proxies: "parent", "guardian", "caregiver", … */
  relationship?: string;
  /** The viewer as a FHIR reference: "RelatedPerson/…", "Practitioner/…", "Organization/…". */
  actor?: string;
  /** Purpose of use, a v3-ActReason code ("TREAT", "ETREAT", …). */
  purpose?: string;
  /** When the decision is made (default: now): a Date, milliseconds, or RFC 3339 text. */
  at?: Date | number | string;
}

/** The host's consent policy. Defaults in brackets. */
export interface ConsentPolicy {
  /** Sensitivity codes (v3-ActCode) a proxy sees only when a Consent naming them permits it
   *  [PSY, MH, SUD, ETH, ETHUD, OPIOIDUD, HIV, STD, SDV, SEX, GDIS, PSYTHPN, TBOO]. */
  proxySensitive?: string[];
  /** Codes a clinician sees only with such a Consent [SUD, ETHUD, OPIOIDUD, PSYTHPN]. */
  clinicianSensitive?: string[];
  /** From this age a parent's or guardian's access narrows [12]; an unknown age counts as reached. */
  adolescentAge?: number;
  /** Resource types a parent or guardian still sees after that age [Patient, Immunization, AllergyIntolerance]. */
  adolescentVisible?: string[];
  /** Roles that do not see confidentiality R data without a Consent [proxy]. */
  restrictedHiddenFrom?: ViewerRole[];
  /** Roles that do not see confidentiality V data without a Consent [proxy, clinician]. */
  veryRestrictedHiddenFrom?: ViewerRole[];
}

/** The decision on one resource. */
export interface ConsentDecision {
  resourceType: string;
  id?: string;
  fullUrl?: string;
  effect: "permit" | "withhold";
  reason:
    | "patientAccess" | "default" | "consentPermit" | "consentDeny" | "unevaluable"
    | "sensitive" | "confidentiality" | "adolescent" | "consentResource";
  /** The rule that decided, e.g. "Consent/x provision.provision[1]", "policy.proxySensitive: PSY". */
  rule: string;
}

/** A stage of opening a record. */
export type Stage = "fetch" | "decrypt" | "parse" | "verify" | "consent" | "chart" | "ready";

/** Reported to `onProgress`. */
export interface Progress {
  stage: Stage;
  /** `openFhir`, during "fetch": pages received so far. */
  pages?: number;
  /** `openFhir`, during "fetch": distinct resources received so far. */
  resources?: number;
  /** `openFhir`, during "fetch": the servers' `Bundle.total`s, when every search in flight gave one. */
  total?: number;
}

/** Options for `openUrl`, `openJwe` and `openLink`. */
export interface OpenOptions {
  /** Called as each stage starts. */
  onProgress?: (progress: Progress) => void;
  /** Who is viewing (default: the patient). What they may not see never leaves WebAssembly. */
  viewer?: Viewer;
  /** Consent resources from the host, evaluated with those in the record. */
  consents?: FhirResource[];
  /** Cancels the open (`openUrl`, `openLink`, `openFhir`): it rejects with code "aborted". */
  signal?: AbortSignalLike;
}

/** Options for `openFhir`. */
export interface FhirOptions extends OpenOptions {
  /** The FHIR R4 server's base URL: https (http only on loopback), e.g. "https://ehr.example/fhir/r4". */
  baseUrl: string;
  /** The patient's logical id on that server. */
  patient: string;
  /**
   * A bearer token for each request; `forceRefresh` is true once after the server answered 401.
   * The host owns OAuth (SMART App Launch, refresh, storage); the SDK never keeps the token and
   * sends it only to URLs under `baseUrl`. Omit for an open server.
   */
  getAccessToken?: (request: { forceRefresh: boolean }) => string | Promise<string>;
  /** Largest number of distinct resources (default 100,000). */
  maxResources?: number;
  /** Largest number of bytes over all answers (default: the portal's maxRecordBytes). */
  maxRecordBytes?: number;
  /** Largest number of pages over all searches (default 2,000). */
  maxPages?: number;
  /** `_count` asked per page (default 200). */
  pageSize?: number;
}

/** Where a record opened from a FHIR server came from, and what reading it took. */
export interface FhirServerSource {
  kind: "fhirServer";
  baseUrl: string;
  /** Whether `Patient/$everything` was used (else searches per type). */
  everything: boolean;
  /** Requests sent, retries and token refreshes included. */
  requests: number;
  pages: number;
  resources: number;
  bytes: number;
  /** Optional searches the server refused, skipped. */
  skipped: Array<{ resourceType: string; status: number }>;
}

/** A JSON Web Key Set, as an issuer publishes at `<iss>/.well-known/jwks.json`. */
export interface Jwks {
  keys: Array<{ kty: string; kid?: string; crv?: string; x?: string; y?: string; [member: string]: unknown }>;
}

/** Options for `openLink`. */
export interface LinkOptions extends OpenOptions {
  /** Who is viewing, as the sharer will see it (required by the SMART Health Links protocol). */
  recipient: string;
  /** The passcode, for links with the `P` flag. Never logged or kept. */
  passcode?: string;
  /** Ask the host to embed files up to this many characters in the manifest. */
  embeddedLengthMax?: number;
  /** Issuer keys the host trusts, by issuer URL (`iss`), for SMART Health Card signatures. */
  issuerKeys?: Record<string, Jwks>;
  /** Fetch `<iss>/.well-known/jwks.json` for issuers not in `issuerKeys` (default false). */
  fetchIssuerKeys?: boolean;
}

/** What `parseLink` tells about a link without contacting its host. The key is not included. */
export interface LinkInfo {
  /** The manifest URL (with `direct`, the file URL). */
  url: string;
  label?: string;
  /** Expiry, in seconds since 1970, when the link has one. */
  expiresAt?: number;
  /** Whether `expiresAt` has passed, by this device's clock. */
  expired: boolean;
  /** The flags as in the link, e.g. "LP". */
  flags: string;
  passcodeRequired: boolean;
  longTerm: boolean;
  direct: boolean;
  version: number;
}

/** A SMART Health Card's signature check. */
/**
 * "verified": the signature checks with keys the host trusts (`issuerKeys`).
 * "untrustedIssuer": it checks with keys fetched from the card's own `iss`
 * (`fetchIssuerKeys`), but the issuer is not in the host's trust list.
 * "unverified": not checked (see `reason`). "invalid": keys were available
 * and the signature does not match them.
 */
export type CardVerification = "verified" | "untrustedIssuer" | "unverified" | "invalid";

/** Where a record came from: a SMART Health Link, or a FHIR server. */
export type RecordSource = LinkSource | FhirServerSource;

/** Where a record opened from a link came from. */
export interface LinkSource {
  kind: "link";
  label?: string;
  files: Array<{ contentType: string; delivery: "embedded" | "location" | "direct" }>;
  skipped: Array<{ contentType: string; reason: "noLongerValid" | "apiAccessNotFollowed" | "unsupportedType" }>;
  cards: Array<{
    issuer: string;
    /** `nbf`, seconds since 1970. */
    issuedAt?: number;
    types: string[];
    verification: CardVerification;
    /** For "unverified": "noKeys" (none supplied, fetching not allowed) or "keysUnavailable" (the fetch failed). */
    reason?: "noKeys" | "keysUnavailable";
    /** Resources the card added to the record. */
    resources: number;
  }>;
}

/** The chart sections a share may be narrowed to (`include`); "other" is the chart's "Other records". */
export type SectionKey =
  | "allergies" | "problems" | "medications" | "results" | "vitals" | "immunizations"
  | "procedures" | "encounters" | "documents" | "care-plans" | "other";

/** What to share (`record.sharePreview`, `record.share`). */
export interface ShareOptions {
  /** Who the link is for: screened by the consent engine over what this record's viewer sees. Required. */
  audience: Viewer;
  /** Chart sections to share (default: all). The Patient is always shared, and the supporting resources
   *  ("Other records": practitioners, medications, …) that a shared resource refers to. */
  include?: SectionKey[] | string[];
  /** The link's label, shown to the recipient (at most 80 characters). */
  label?: string;
  /** A passcode the recipient must enter (1 to 256 characters): the link gets the "P" flag. */
  passcode?: string;
  /** When the link stops working: a Date or epoch milliseconds, in the future. */
  expiresAt?: Date | number;
  /** The viewer page the link opens in (`<viewerUrl>#shlink:/…`); default: the host's, else the bare link. */
  viewerUrl?: string;
}

/** A stage of `share`, reported to `onProgress`. */
export type ShareStage = "bundle" | "seal" | "upload" | "done";

/** Options of `record.share`: what to share, and the host to upload it to. */
export interface ShareRequest extends ShareOptions {
  /** Where the ciphertext goes (e.g. `new HttpShlHost({ baseUrl, token })`). Never sees the key or the record. */
  host: ShlHost;
  onProgress?: (progress: { stage: ShareStage }) => void;
  /** Cancels the share: it rejects with "aborted" (a link already created is revoked). */
  signal?: AbortSignalLike;
}

/** Options of `record.sharePreview`: what to share, and a signal to cancel the preview. */
export interface SharePreviewOptions extends ShareOptions {
  /** Cancels the preview: it rejects with "aborted". */
  signal?: AbortSignalLike;
}

/** One section of a share preview, as the recipient's chart lists it. */
export interface SharePreviewSection {
  section: SectionKey;
  title: string;
  /** Resources listed in it. */
  count: number;
}

/** What `sharePreview` shows: the recipient's chart before anything is uploaded. */
export interface SharePreview {
  /** The shared Bundle opened as the recipient's SDK opens it: render it; `free()` it when done. */
  record: PatientRecord;
  sections: SharePreviewSection[];
  /** Resources shared (the Patient included). */
  resourceCount: number;
  /** Resources of this record not shared (by consent for the audience, or by `include`). */
  withheldCount: number;
  /** Size of the Bundle's JSON, before compression and encryption. */
  bytes: number;
}

/** What `share` made. `link`, `viewerUrl` and `qrSvg` carry the key: give them only to the recipient. */
export interface SharedLink {
  /** `shlink:/…` */
  link: string;
  /** The viewer page with the link in its fragment (`…#shlink:/…`), or the bare link without a viewer. */
  viewerUrl: string;
  /** A QR code of `viewerUrl` (error correction M) as an inline SVG element. */
  qrSvg: string;
  /** The host's id of the link (for `revoke`, `accesses`). */
  id: string;
  expiresAt?: Date;
  resourceCount: number;
  bytes: { plaintext: number; ciphertext: number };
}

/** What the SDK asks of a link host to create a link. `expiresAt` is in epoch seconds. */
export interface ShlHostLinkRequest {
  label?: string;
  passcode?: string;
  expiresAt?: number;
  /** SMART Health Link flags, e.g. "P"; "" for none. */
  flag: string;
}

/** A link as its host lists it. */
export interface HostedLink {
  id: string;
  /** The manifest URL. */
  url: string;
  label?: string;
  flag: string;
  /** Epoch seconds. */
  expiresAt?: number | null;
  /** Epoch seconds. */
  createdAt: number;
  revoked: boolean;
  files: number;
  attemptsLeft: number | null;
  accesses: number;
}

/** One request for a link, as its host recorded it. */
export interface LinkAccess {
  recipient: string;
  /** RFC 3339. */
  at: string;
  outcome: "served" | "wrongPasscode" | "noPasscode" | "expired" | "revoked" | "locked" | "rateLimited";
}

/**
 * Where shared links live: creates links, stores their (encrypted) files, serves the SMART Health Links
 * manifest protocol to recipients. The SDK calls `createLink`, `addFile` and (when an upload fails)
 * `revoke`; the portal calls `list` and `accesses`. Hosts never receive the key or plaintext.
 */
export interface ShlHost {
  createLink(request: ShlHostLinkRequest): Promise<{ id: string; url: string; viewerUrl?: string }>;
  addFile(id: string, file: { contentType: string; jwe: string }): Promise<void>;
  revoke(id: string): Promise<void>;
  list(): Promise<HostedLink[]>;
  accesses(id: string): Promise<LinkAccess[]>;
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

#[wasm_bindgen(module = "/js/runtime.js")]
extern "C" {
    /// The SDK's error class (`js/runtime.js`), exported by the package.
    #[wasm_bindgen(extends = js_sys::Error)]
    type PatientPortalError;
    #[wasm_bindgen(constructor)]
    fn new(message: &str, code: &str) -> PatientPortalError;

    /// `node.innerHTML = html`, through the Trusted Types policy `patient-portal-sdk` where the page has Trusted Types.
    #[wasm_bindgen(js_name = setHtml, catch)]
    pub(crate) fn set_html(node: &web_sys::Node, html: &str) -> Result<(), JsValue>;
    /// Appends `html` inside `element`, through the same policy.
    #[wasm_bindgen(js_name = appendHtml, catch)]
    pub(crate) fn append_html(element: &web_sys::Element, html: &str) -> Result<(), JsValue>;
    /// Commits a chart's markup into a shadow root: the banner, the contents and the first section now, the later
    /// sections in later tasks; resolves once all of it is committed or the chart no longer shows.
    #[wasm_bindgen(js_name = commitChart, catch)]
    pub(crate) fn commit_chart(root: &web_sys::ShadowRoot, html: &str) -> Result<js_sys::Promise, JsValue>;
    /// Commits at once what is left of the chart in `root` (before printing).
    #[wasm_bindgen(js_name = finishChart)]
    pub(crate) fn finish_chart(root: &web_sys::ShadowRoot);
    /// Stops committing the chart in `root` (closed, or rendered again).
    #[wasm_bindgen(js_name = stopChart)]
    pub(crate) fn stop_chart(root: &web_sys::ShadowRoot);
    /// Adopts the chart's stylesheet into a shadow root (a `<style>` element where constructable stylesheets are missing).
    #[wasm_bindgen(js_name = adoptStyles, catch)]
    pub(crate) fn adopt_styles(root: &web_sys::ShadowRoot, css: &str) -> Result<bool, JsValue>;
    /// Parses the page's copy of the chart's stylesheet ahead of its first chart (nothing without a document).
    #[wasm_bindgen(js_name = prepareStyles, catch)]
    pub(crate) fn prepare_styles(css: &str) -> Result<(), JsValue>;
    /// A turn of the event loop without a timer's clamp (a message to a port of its own).
    #[wasm_bindgen(js_name = yieldTurn)]
    pub(crate) fn yield_turn() -> js_sys::Promise;
    /// One `fetch` (a GET, or a POST of JSON): `[status, contentType, retryAfter, chunks]`, the body's chunks read with a
    /// running byte count (`null` once they pass `max_bytes`, `false` when the connection ended early); rejects when the
    /// request fails or is aborted.
    #[wasm_bindgen(js_name = request)]
    pub(crate) fn request(
        url: &str,
        accept: &str,
        authorization: Option<&str>,
        body: Option<js_sys::Uint8Array>,
        signal: Option<&web_sys::AbortSignal>,
        max_bytes: f64,
    ) -> js_sys::Promise;
}

/// Turns a core error into a `PatientPortalError` with a stable `code`.
pub(crate) fn to_js_error(error: &Error) -> JsValue {
    let js = PatientPortalError::new(&error.to_string(), error.code());
    if let Some(status) = error.status() {
        let _ = js_sys::Reflect::set(&js, &"status".into(), &status.into());
    }
    if let Some(remaining) = error.remaining_attempts() {
        let _ = js_sys::Reflect::set(&js, &"remainingAttempts".into(), &remaining.into());
    }
    if let Some(seconds) = error.retry_after() {
        let _ = js_sys::Reflect::set(&js, &"retryAfter".into(), &(seconds as f64).into());
    }
    let issues = error.issues();
    if !issues.is_empty() {
        let list: js_sys::Array = issues
            .iter()
            .map(|issue| {
                let o = js_sys::Object::new();
                let _ = js_sys::Reflect::set(&o, &"severity".into(), &issue.severity.as_str().into());
                let _ = js_sys::Reflect::set(&o, &"code".into(), &issue.code.as_str().into());
                if let Some(details) = &issue.details {
                    let _ = js_sys::Reflect::set(&o, &"details".into(), &details.as_str().into());
                }
                JsValue::from(o)
            })
            .collect();
        let _ = js_sys::Reflect::set(&js, &"issues".into(), &list.into());
    }
    js.into()
}

/// Installed when the module starts: see [`install_panic_hook`].
#[wasm_bindgen(start)]
fn start() {
    install_panic_hook();
}

/// Makes a panic throw a `PatientPortalError` with code `internal` instead of
/// trapping (the release build has `panic = "abort"`, and a trap reaches
/// JavaScript as an untyped `RuntimeError`). The exception unwinds the
/// WebAssembly frames without running destructors, so the instance is left
/// as it was mid-call: the message says to load the SDK again, and a second
/// panic in the same instance traps (Rust counts the first as still
/// running). The message is fixed: a panic's own text can quote record content.
pub fn install_panic_hook() {
    std::panic::set_hook(Box::new(|_| {
        let js = PatientPortalError::new("internal error in the Patient Portal SDK; load the SDK again before further use", "internal");
        wasm_bindgen::throw_val(js.into())
    }));
}

pub(crate) fn bad_input(message: &str) -> JsValue {
    to_js_error(&Error::BadInput(message.to_string()))
}
