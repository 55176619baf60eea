// Types of `patient-portal-sdk/element`: the <patient-chart> custom element.
import type {
  ContentKeyInput,
  ErrorCode,
  FhirOptions,
  LinkOptions,
  OpenOptions,
  PatientPortal,
  PatientPortalError,
  PatientRecord,
  Progress,
} from "./index.js";
import type { WorkerPortal, WorkerRecord } from "./worker-portal.js";

/** The events of `<patient-chart>` (not bubbling: listen on the element). */
export interface PatientChartEventMap {
  /** A stage of opening started (as `onProgress`). */
  progress: CustomEvent<Progress>;
  /** The record is open and its chart on screen. */
  ready: CustomEvent<{ record: PatientRecord | WorkerRecord }>;
  /** Opening or rendering failed (not for passcodes: see `passcoderequired`). */
  error: CustomEvent<{ error: PatientPortalError; code: ErrorCode }>;
  /** The link needs a passcode, or the one given was wrong; `retry(passcode)` opens it again with the same options. */
  passcoderequired: CustomEvent<{
    code: "passcodeRequired" | "passcodeWrong";
    remainingAttempts?: number;
    retry(passcode: string): Promise<PatientRecord | WorkerRecord | null>;
  }>;
}

/**
 * `<patient-chart locale="es-ES" theme="dark" time-zone="America/Chicago">`;
 * with the `worker` attribute, records are opened in worker mode.
 * Each open closes what the element showed before; each resolves to the
 * record, or to null when the element was closed (or opened something
 * else) first, and rejects with a `PatientPortalError` otherwise.
 */
export declare class PatientChartElement extends HTMLElement {
  static readonly observedAttributes: string[];
  /** The portal records are opened with (default: `new PatientPortal()`, or `new WorkerPortal()` with the `worker` attribute, created on first use). */
  portal: PatientPortal | WorkerPortal | null;
  /** The open record, or null. */
  readonly record: PatientRecord | WorkerRecord | null;
  openLink(link: string, options: LinkOptions): Promise<PatientRecord | WorkerRecord | null>;
  openUrl(url: string, key: ContentKeyInput, options?: OpenOptions): Promise<PatientRecord | WorkerRecord | null>;
  openJwe(jwe: string, key: ContentKeyInput, options?: OpenOptions): Promise<PatientRecord | WorkerRecord | null>;
  openFhir(options: FhirOptions): Promise<PatientRecord | WorkerRecord | null>;
  /** Stops an open in progress and frees the record; its chart closes. */
  close(): void;
  addEventListener<K extends keyof PatientChartEventMap>(
    type: K,
    listener: (this: PatientChartElement, event: PatientChartEventMap[K]) => unknown,
    options?: boolean | AddEventListenerOptions,
  ): void;
  addEventListener(type: string, listener: EventListenerOrEventListenerObject, options?: boolean | AddEventListenerOptions): void;
  removeEventListener<K extends keyof PatientChartEventMap>(
    type: K,
    listener: (this: PatientChartElement, event: PatientChartEventMap[K]) => unknown,
    options?: boolean | EventListenerOptions,
  ): void;
  removeEventListener(type: string, listener: EventListenerOrEventListenerObject, options?: boolean | EventListenerOptions): void;
}

declare global {
  interface HTMLElementTagNameMap {
    "patient-chart": PatientChartElement;
  }
}
