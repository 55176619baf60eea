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
guard(bindings.PatientRecord, "PatientRecord", []);

const render = bindings.PatientRecord.prototype.render;
bindings.PatientRecord.prototype.render = function (host, options) {
  render.call(this, host, options);
  shownBy.set(host, this);
};
