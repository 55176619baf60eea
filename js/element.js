// <patient-chart>: the chart as a custom element. Importing this module
// defines it. The element opens a record (a SMART Health Link, a sealed
// file, a FHIR server), renders it into its own shadow root, reports
// progress, readiness and errors as events, and frees the record when it is
// closed or leaves the page. With the `worker` attribute (and no `portal`
// set), records are opened in worker mode (`WorkerPortal`).

import init, { PatientPortal, isPatientPortalError } from "./index.js";

const DISPLAY = { locale: "locale", theme: "theme", "time-zone": "timeZone" };

const Base = globalThis.HTMLElement ?? class {};

export class PatientChartElement extends Base {
  static get observedAttributes() {
    return Object.keys(DISPLAY);
  }

  #portal = null;
  #record = null;
  /** The open in progress: its AbortController. */
  #opening = null;

  /** The portal records are opened with (default: `new PatientPortal()`, or `new WorkerPortal()` with the `worker` attribute, created on first use). */
  get portal() {
    return this.#portal;
  }

  set portal(portal) {
    this.#portal = portal ?? null;
  }

  /** The open record, or null. */
  get record() {
    return this.#record;
  }

  /** Opens a SMART Health Link (`options.recipient` required). */
  openLink(link, options) {
    return this.#open((portal, opts) => portal.openLink(link, opts), options, (passcode) => this.openLink(link, { ...options, passcode }));
  }

  /** Fetches and opens a sealed file (compact JWE) with its key. */
  openUrl(url, key, options) {
    return this.#open((portal, opts) => portal.openUrl(url, key, opts), options);
  }

  /** Opens a compact JWE given as text. */
  openJwe(jwe, key, options) {
    return this.#open((portal, { signal: _signal, ...opts }) => portal.openJwe(jwe, key, opts), options);
  }

  /** Reads the patient's records from a FHIR R4 server. */
  openFhir(options) {
    return this.#open((portal, opts) => portal.openFhir(opts), options);
  }

  /** Stops an open in progress and frees the record (its chart closes). */
  close() {
    const opening = this.#opening;
    this.#opening = null;
    if (opening) {
      opening.closed = true;
      opening.controller.abort();
    }
    this.removeAttribute("aria-busy");
    const record = this.#record;
    this.#record = null;
    if (record) {
      try {
        record.free();
      } catch (err) {
        // Already freed by the host: nothing is left to free.
        if (!isPatientPortalError(err) || err.code !== "freed") throw err;
      }
    }
  }

  connectedCallback() {}

  disconnectedCallback() {
    // A move within the page reconnects in the same task: keep the record then.
    queueMicrotask(() => {
      if (!this.isConnected) this.close();
    });
  }

  attributeChangedCallback(_name, before, after) {
    if (before !== after && this.#record) this.#render();
  }

  /** The display options from the attributes. */
  #display() {
    const options = {};
    for (const [attribute, option] of Object.entries(DISPLAY)) {
      const value = this.getAttribute(attribute);
      if (value !== null && value !== "") options[option] = value;
    }
    return options;
  }

  /** Renders the record; true when it is on screen (a Promise of it for a worker's record). */
  #render() {
    const failed = (error) => {
      this.#emit("error", { error, code: error?.code ?? "internal" });
      return false;
    };
    try {
      const done = this.#record.render(this, this.#display());
      return done && typeof done.then === "function" ? done.then(() => true, failed) : true;
    } catch (error) {
      return failed(error);
    }
  }

  /** The portal of the first open: worker mode with the `worker` attribute, else the main thread's. */
  async #defaultPortal() {
    if (this.hasAttribute("worker")) {
      const { WorkerPortal } = await import("./worker-portal.js");
      return new WorkerPortal();
    }
    await init();
    return new PatientPortal();
  }

  #emit(type, detail) {
    this.dispatchEvent(new CustomEvent(type, { detail }));
  }

  async #open(start, options = {}, retry) {
    this.close();
    const opening = { controller: new AbortController(), closed: false };
    this.#opening = opening;
    const { signal: hostSignal, onProgress, ...rest } = options ?? {};
    if (hostSignal) {
      if (hostSignal.aborted) opening.controller.abort();
      else hostSignal.addEventListener("abort", () => opening.controller.abort(), { once: true });
    }
    this.setAttribute("aria-busy", "true");
    try {
      const portal = this.#portal ?? (this.#portal = await this.#defaultPortal());
      const progress = (p) => {
        if (this.#opening !== opening) return;
        if (onProgress) onProgress(p);
        this.#emit("progress", p);
      };
      const record = await start(portal, { ...rest, onProgress: progress, signal: opening.controller.signal });
      if (this.#opening !== opening) {
        // Closed, or replaced by another open, while this one finished.
        record.free();
        return null;
      }
      this.#opening = null;
      this.removeAttribute("aria-busy");
      this.#record = record;
      if ((await this.#render()) && this.#record === record) this.#emit("ready", { record });
      return record;
    } catch (error) {
      if (opening.closed) return null;
      if (this.#opening === opening) {
        this.#opening = null;
        this.removeAttribute("aria-busy");
      }
      const code = error?.code ?? "internal";
      if (retry && (code === "passcodeRequired" || code === "passcodeWrong")) {
        this.#emit("passcoderequired", { code, remainingAttempts: error.remainingAttempts, retry });
      } else {
        this.#emit("error", { error, code });
      }
      throw error;
    }
  }
}

if (globalThis.customElements && !globalThis.customElements.get("patient-chart")) {
  globalThis.customElements.define("patient-chart", PatientChartElement);
}
