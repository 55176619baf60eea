// Worker mode's far side: the portals and records of a `WorkerPortal`, kept
// by number, and the operations the page asks of them. It runs in the module
// Worker (worker.js), or on the page itself when no worker could be started
// (the documented fallback); either way the page only commits markup.
//
// What leaves this module for the page is markup the SDK wrote, counts, the
// consent decisions, and what a record method returns; never the record's
// keys.

import { PatientPortalError } from "./runtime.js";

/** The PatientRecord methods the page may call (besides the chart's own operations). */
const RECORD_METHODS = new Set(["toHtml", "resources", "auditEvent", "share", "sharePreview", "__chartMarkup", "__fill", "__filter"]);
const OPENS = new Set(["openUrl", "openLink", "openFhir", "openJwe"]);

/**
 * The operations over `bindings` (the SDK's wasm-bindgen module) and the
 * instance's exports (for its memory size).
 */
export function createHost(bindings, exports) {
  const portals = new Map();
  const records = new Map();
  let next = 1;

  const keep = (record) => {
    const id = next++;
    records.set(id, record);
    return { __record: id, snapshot: snapshot(record) };
  };

  // A returned value with its records swapped for handles (sharePreview's `record`).
  const out = (value) => {
    if (value instanceof bindings.PatientRecord) return keep(value);
    if (Array.isArray(value)) return value.map(out);
    if (value && typeof value === "object" && Object.getPrototypeOf(value) === Object.prototype) {
      const copy = {};
      for (const [k, v] of Object.entries(value)) copy[k] = out(v);
      return copy;
    }
    return value;
  };

  const find = (map, id, what) => {
    const found = map.get(id);
    if (!found) throw new PatientPortalError(`this ${what} was already freed`, "freed");
    return found;
  };

  return {
    async handle(op, args) {
      switch (op) {
        case "portal": {
          const portal = new bindings.PatientPortal(args[0]);
          const id = next++;
          portals.set(id, portal);
          return { id, cryptoBackend: portal.cryptoBackend };
        }
        case "open": {
          const [portalId, method, rest] = args;
          if (!OPENS.has(method)) throw new TypeError(`no such open: ${method}`);
          const portal = find(portals, portalId, "WorkerPortal");
          return keep(await portal[method](...rest));
        }
        case "record": {
          const [recordId, method, rest] = args;
          if (!RECORD_METHODS.has(method)) throw new TypeError(`no such record method: ${method}`);
          const record = find(records, recordId, "record");
          return out(await record[method](...rest));
        }
        case "fills": {
          // The deferred disclosures of a rendered chart, for the page to
          // keep: in `keys`' order, stopping once `budget` characters are
          // given, so that no one answer takes the page long to receive.
          const [recordId, keys, options, budget = Infinity] = args;
          const record = find(records, recordId, "record");
          const out = [];
          let size = 0;
          for (const key of keys) {
            const html = record.__fill(key, options) ?? null;
            out.push([key, html]);
            size += html?.length ?? 0;
            if (size >= budget) break;
          }
          return out;
        }
        case "freeRecord":
          records.get(args[0])?.free();
          records.delete(args[0]);
          return undefined;
        case "freePortal":
          portals.get(args[0])?.free();
          portals.delete(args[0]);
          return undefined;
        case "memory":
          return exports?.memory?.buffer?.byteLength ?? 0;
        default:
          throw new TypeError(`no such operation: ${op}`);
      }
    },
  };
}

/** What the page keeps of a record: its answers that take no arguments, and the chart as the portal shows it. */
function snapshot(record) {
  const [closedNote, stylesheet] = record.__chartTexts();
  return {
    resourceCount: record.resourceCount,
    bundleType: record.bundleType,
    patientName: record.patientName,
    withheldCount: record.withheldCount,
    // As text, parsed on the page only when asked for.
    source: JSON.stringify(record.source ?? null),
    counts: JSON.stringify(record.resourceCounts()),
    decisions: JSON.stringify(record.decisions()),
    closedNote,
    stylesheet,
    markup: record.__chartMarkup(),
  };
}

// ---------------------------------------------------------------------------
// The wire between the page and the worker: values cross by structured
// clone; functions, objects with methods (a `ShlHost`) and `AbortSignal`s
// stay on the page and cross as references the worker calls back through.

const ERROR_FIELDS = ["status", "remainingAttempts", "retryAfter", "issues", "hostCode"];

/** An error as data: a `PatientPortalError` with its fields, any other error by name and message. */
export function errorOut(error) {
  const isSdk = error instanceof Error && error.name === "PatientPortalError" && typeof error.code === "string";
  const data = isSdk ? { sdk: true, message: error.message, code: error.code } : { sdk: false, name: String(error?.name ?? "Error"), message: String(error?.message ?? error) };
  if (isSdk) for (const field of ERROR_FIELDS) if (error[field] !== undefined) data[field] = error[field];
  if (error?.cause instanceof Error) data.cause = errorOut(error.cause);
  return data;
}

/** The error `errorOut` described; a foreign error from the far side stays a plain `Error`, unless `sdkOnly`. */
export function errorIn(data, sdkOnly) {
  let error;
  if (data?.sdk) {
    error = new PatientPortalError(data.message, data.code);
    for (const field of ERROR_FIELDS) if (data[field] !== undefined) error[field] = data[field];
  } else if (sdkOnly) {
    error = new PatientPortalError("the SDK failed in its worker; load it again", "internal");
  } else {
    error = new Error(data?.message);
    error.name = data?.name ?? "Error";
  }
  if (data?.cause) error.cause = errorIn(data.cause, false);
  return error;
}

const plain = (value) => {
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
};

const CLONED = [globalThis.ArrayBuffer, globalThis.Date, globalThis.RegExp, globalThis.Blob, globalThis.Map, globalThis.Set].filter(Boolean);

/** The methods of an object (own and inherited, up to Object.prototype). */
function methods(object) {
  const names = new Set();
  for (let o = object; o && o !== Object.prototype; o = Object.getPrototypeOf(o)) {
    for (const name of Object.getOwnPropertyNames(o)) {
      if (name === "constructor") continue;
      const d = Object.getOwnPropertyDescriptor(o, name);
      if (typeof d?.value === "function") names.add(name);
    }
  }
  return [...names];
}

/**
 * `value` ready to cross to the worker: `refs.add(x)` numbers a function,
 * object with methods, or signal, which stays on the page.
 */
export function marshal(value, refs) {
  if (typeof value === "function") return { __ref: refs.add(value), kind: "function" };
  if (value === null || typeof value !== "object") return value;
  if (Array.isArray(value)) return value.map((v) => marshal(v, refs));
  if (globalThis.AbortSignal && value instanceof AbortSignal) return { __ref: refs.add(value), kind: "signal", aborted: value.aborted };
  if (ArrayBuffer.isView(value) || CLONED.some((C) => value instanceof C)) return value;
  if (plain(value)) {
    const copy = {};
    for (const [k, v] of Object.entries(value)) copy[k] = marshal(v, refs);
    return copy;
  }
  return { __ref: refs.add(value), kind: "object", methods: methods(value) };
}

/** The worker's side of `marshal`: references become functions, objects and signals that reach the page. */
export function revive(value, call, signal) {
  if (value === null || typeof value !== "object") return value;
  if (Array.isArray(value)) return value.map((v) => revive(v, call, signal));
  if (!plain(value)) return value;
  if (typeof value.__ref === "number") {
    const ref = value.__ref;
    if (value.kind === "function") return (...args) => call(ref, null, args);
    if (value.kind === "signal") return signal(ref, value.aborted);
    if (value.kind === "object") return Object.fromEntries(value.methods.map((m) => [m, (...args) => call(ref, m, args)]));
  }
  const copy = {};
  for (const [k, v] of Object.entries(value)) copy[k] = revive(v, call, signal);
  return copy;
}
