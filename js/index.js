// The package's entry point: the WebAssembly module's bindings with the
// SDK's error class, and lifetimes that cannot surprise: a call before
// `init()` or on a freed object throws a `PatientPortalError` with its own
// code (`notInitialized`, `freed`) instead of a bare TypeError.

import initModule, * as bindings from "./patient_portal_sdk.js";
import { PatientPortalError, isPatientPortalError } from "./runtime.js";

export { PatientPortalError, isPatientPortalError };
export { PatientRecord } from "./patient_portal_sdk.js";

let ready = false;

/**
 * Loads and instantiates the WebAssembly module: by default
 * `patient_portal_sdk_bg.wasm` beside this file (bundlers rewrite that URL),
 * else the URL, Response, bytes or `WebAssembly.Module` given. Calling it
 * again (or after `initSync`) does nothing more.
 */
export default async function init(input) {
  const output = await initModule(input);
  ready = true;
  return output;
}

/** Instantiates the module synchronously from its bytes or a compiled `WebAssembly.Module`. */
export function initSync(input) {
  const output = bindings.initSync(input);
  ready = true;
  return output;
}

function requireInit(what) {
  if (!ready) {
    throw new PatientPortalError(`${what} was called before the SDK was initialised: await init() (or call initSync) first`, "notInitialized");
  }
}

/** Opens records; see the README. */
export class PatientPortal extends bindings.PatientPortal {
  constructor(options) {
    requireInit("new PatientPortal()");
    super(options);
  }
}

/** What a link says about itself, without the key and without contacting its host. */
export function parseLink(linkOrViewerUrl) {
  requireInit("parseLink()");
  return bindings.parseLink(linkOrViewerUrl);
}

// Charts on screen keep their record alive: a record is freed only by its
// `free()`, or collected when neither it nor an element showing it is
// reachable (its chart then closes with it).
const shownBy = new WeakMap();

function freed(what, name) {
  const message = name === "free" ? `this ${what} was already freed` : `${what}.${name} was used after free()`;
  return new PatientPortalError(message, "freed");
}

/** Every method and getter of `Class` checks first that the object was not freed. */
function guard(Class, what, asyncMethods) {
  const proto = Class.prototype;
  for (const name of Object.getOwnPropertyNames(proto)) {
    if (name === "constructor" || name.startsWith("__")) continue;
    const descriptor = Object.getOwnPropertyDescriptor(proto, name);
    if (typeof descriptor.value === "function") {
      const method = descriptor.value;
      const rejects = asyncMethods.includes(name);
      descriptor.value = {
        [name](...args) {
          if (!this.__wbg_ptr) {
            if (rejects) return Promise.reject(freed(what, name));
            throw freed(what, name);
          }
          return method.apply(this, args);
        },
      }[name];
    } else if (descriptor.get) {
      const get = descriptor.get;
      descriptor.get = function () {
        if (!this.__wbg_ptr) throw freed(what, name);
        return get.call(this);
      };
    } else {
      continue;
    }
    Object.defineProperty(proto, name, descriptor);
  }
  // `using` disposes once; a disposal after an explicit free() does nothing.
  if (typeof Symbol.dispose === "symbol") {
    Object.defineProperty(proto, Symbol.dispose, {
      configurable: true,
      writable: true,
      value() {
        if (this.__wbg_ptr) this.free();
      },
    });
  }
}

guard(bindings.PatientPortal, "PatientPortal", ["openUrl", "openLink", "openFhir"]);
guard(bindings.PatientRecord, "PatientRecord", ["share"]);

const render = bindings.PatientRecord.prototype.render;
bindings.PatientRecord.prototype.render = function (host, options) {
  const committed = render.call(this, host, options);
  shownBy.set(host, this);
  return committed;
};

// ---------------------------------------------------------------------------
// Sharing: a link host over the development backend's API.

/** Text of a host's error code, clipped: the host's own words are not repeated. */
const clip = (text) => String(text).replace(/[^\w.-]/g, "").slice(0, 40);

/**
 * A `ShlHost` over the link host API (`POST /api/links`, `POST
 * /api/links/{id}/files`, `GET /api/links`, `DELETE /api/links/{id}`, `GET
 * /api/links/{id}/accesses`) with a bearer token. Failures reject with a
 * `PatientPortalError`: `network`, `unauthorized` (401), else `hostError`
 * with `status` (and `retryAfter` for 429). Messages never include the
 * token, the passcode or link ids.
 */
export class HttpShlHost {
  #base;
  #token;
  #fetch;

  constructor({ baseUrl, token, fetch: fetchImpl } = {}) {
    let base;
    try {
      base = new URL(String(baseUrl ?? ""));
    } catch {
      throw new PatientPortalError("HttpShlHost needs baseUrl: the host API's absolute URL, e.g. https://links.example/api/", "badInput");
    }
    if (base.protocol !== "https:" && base.protocol !== "http:") throw new PatientPortalError("HttpShlHost baseUrl must be an http or https URL", "badInput");
    if (typeof token !== "string" || token.length === 0) throw new PatientPortalError("HttpShlHost needs token: the account's bearer token", "badInput");
    if (fetchImpl !== undefined && typeof fetchImpl !== "function") throw new PatientPortalError("HttpShlHost fetch must be a function", "badInput");
    base.hash = "";
    base.search = "";
    if (!base.pathname.endsWith("/")) base.pathname += "/";
    this.#base = base.href;
    this.#token = token;
    this.#fetch = fetchImpl ?? globalThis.fetch.bind(globalThis);
  }

  async #request(method, path, route, { json, body, contentType } = {}) {
    const headers = { Authorization: `Bearer ${this.#token}` };
    if (json !== undefined) {
      headers["Content-Type"] = "application/json";
      body = JSON.stringify(json);
    } else if (contentType) headers["Content-Type"] = contentType;
    let response;
    try {
      response = await this.#fetch(new URL(path, this.#base).href, { method, headers, body, credentials: "omit", cache: "no-store" });
    } catch (err) {
      if (err?.name === "AbortError") throw new PatientPortalError(`${method} ${route} was aborted`, "aborted");
      throw new PatientPortalError(`the link host could not be reached (${method} ${route})`, "network");
    }
    if (response.ok) {
      if (response.status === 204) return undefined;
      const text = await response.text();
      if (!text) return undefined;
      try {
        return JSON.parse(text);
      } catch {
        throw Object.assign(new PatientPortalError(`the link host answered ${method} ${route} with something other than JSON`, "hostError"), { status: response.status });
      }
    }
    let code = "";
    try {
      code = clip((await response.json())?.error ?? "");
    } catch {
      // no JSON error body
    }
    const detail = code ? ` (${code})` : "";
    if (response.status === 401) throw Object.assign(new PatientPortalError(`the link host refused the token${detail}`, "unauthorized"), { status: 401 });
    const error = new PatientPortalError(`the link host answered ${response.status} to ${method} ${route}${detail}`, "hostError");
    error.status = response.status;
    if (code) error.hostCode = code;
    const retry = Number(response.headers.get("retry-after"));
    if (response.status === 429 && Number.isFinite(retry) && retry >= 0) error.retryAfter = retry;
    throw error;
  }

  static #id(id) {
    if (typeof id !== "string" || id.length === 0) throw new PatientPortalError("a link id must be a non-empty string", "badInput");
    return encodeURIComponent(id);
  }

  /** Creates a link: `{ id, url, viewerUrl?, ... }`. `expiresAt` in epoch seconds. */
  async createLink({ label, passcode, expiresAt, flag } = {}) {
    const json = {};
    if (label !== undefined) json.label = label;
    if (passcode !== undefined) json.passcode = passcode;
    if (expiresAt !== undefined) json.expiresAt = expiresAt;
    if (flag !== undefined) json.flag = flag;
    return this.#request("POST", "links", "links", { json });
  }

  /** Adds an encrypted file (a compact JWE) to a link. */
  async addFile(id, { contentType = "application/fhir+json", jwe } = {}) {
    if (typeof jwe !== "string") throw new PatientPortalError("addFile needs the file as compact JWE text", "badInput");
    const query = `?contentType=${encodeURIComponent(contentType)}`;
    await this.#request("POST", `links/${HttpShlHost.#id(id)}/files${query}`, "links/{id}/files", { body: jwe, contentType: "application/jose" });
  }

  /** Revokes a link: its manifest is no longer served. */
  async revoke(id) {
    await this.#request("DELETE", `links/${HttpShlHost.#id(id)}`, "links/{id}");
  }

  /** This account's links, newest first. */
  async list() {
    return (await this.#request("GET", "links", "links"))?.links ?? [];
  }

  /** Every request for a link, oldest first. */
  async accesses(id) {
    return (await this.#request("GET", `links/${HttpShlHost.#id(id)}/accesses`, "links/{id}/accesses"))?.accesses ?? [];
  }
}
