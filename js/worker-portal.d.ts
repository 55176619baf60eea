// Types of worker mode (`patient-portal-sdk/worker-portal`).
import type {
  ConsentDecision,
  ContentKeyInput,
  CryptoBackend,
  DisplayOptions,
  FhirOptions,
  FhirResource,
  HostElement,
  HtmlOptions,
  InitInput,
  LinkOptions,
  OpenOptions,
  PortalOptions,
  RecordSource,
  SharedLink,
  SharePreview,
  SharePreviewOptions,
  ShareRequest,
} from "./patient_portal_sdk.js";

/** Options of `new WorkerPortal(options)`: those of `PatientPortal`, and where the work runs. */
export interface WorkerPortalOptions extends PortalOptions {
  /**
   * The worker: by default the package's `worker.js` started as a module
   * Worker; a `Worker` the page started from that file (for bundlers and
   * CSPs that need it), its URL, or `false` to open on the page's main
   * thread (the paced path) behind the same API.
   */
  worker?: boolean | string | { postMessage(message: unknown): void; terminate(): void };
  /** What the worker instantiates the WebAssembly module from (as `init` takes it); default: the package's `.wasm`. */
  module?: InitInput;
  /** Where no worker can be started: open on the main thread (default `true`), or reject with `unsupported` (`false`). */
  fallback?: boolean;
}

/** The cost of bringing an open's answer from the worker to the page. */
export interface WorkerTransfer {
  /** Characters of markup and JSON text the answer carried. */
  readonly characters: number;
  /** From the worker's post to its delivery on the page, in ms. */
  readonly ms: number;
}

/**
 * A record opened by a `WorkerPortal`: the data stays in the worker. Getters,
 * `resourceCounts()` and `decisions()` answer at once; the methods that need
 * the record's content resolve from the worker.
 */
export declare class WorkerRecord {
  private constructor();
  readonly resourceCount: number;
  readonly bundleType: string | undefined;
  readonly patientName: string | undefined;
  readonly withheldCount: number;
  readonly source: RecordSource | undefined;
  readonly transfer: WorkerTransfer;
  resourceCounts(): Record<string, number>;
  decisions(): ConsentDecision[];
  /** Renders as `PatientRecord.render`; resolves once committed (before it returns for the portal's display options). */
  render(host: HostElement, options?: DisplayOptions): Promise<void>;
  toHtml(options?: HtmlOptions): Promise<string>;
  resources(resourceType?: string): Promise<FhirResource[]>;
  auditEvent(): Promise<FhirResource>;
  share(options: ShareRequest): Promise<SharedLink>;
  sharePreview(options: SharePreviewOptions): Promise<Omit<SharePreview, "record"> & { record: WorkerRecord }>;
  /** Frees the record in the worker; its chart on screen closes. */
  free(): void;
}

/**
 * Opens records in a module Worker: decrypting, reading, consent and the
 * chart's view model run off the main thread, which only commits markup.
 * Falls back to the main thread where no worker starts (see `ready`).
 */
export declare class WorkerPortal {
  constructor(options?: WorkerPortalOptions);
  /** `"worker"`, or `"main"` after the fallback; rejects when the options are unusable. */
  readonly ready: Promise<"worker" | "main">;
  /** `"worker"` or `"main"` once ready, else undefined. */
  readonly mode: "worker" | "main" | undefined;
  /** The AES-GCM backend, once ready. */
  readonly cryptoBackend: CryptoBackend | undefined;
  openUrl(url: string, key: ContentKeyInput, options?: OpenOptions): Promise<WorkerRecord>;
  openLink(linkOrViewerUrl: string, options: LinkOptions): Promise<WorkerRecord>;
  openFhir(options: FhirOptions): Promise<WorkerRecord>;
  openJwe(jwe: string, key: ContentKeyInput, options?: OpenOptions): Promise<WorkerRecord>;
  /** The size of the WebAssembly memory the records are opened in (the worker's, or the page's after the fallback), in bytes. */
  memoryBytes(): Promise<number>;
  /** Frees the portal; the worker stops once its records are freed too. */
  free(): void;
}
