// Compiled with `tsc --noEmit --strict` against the generated .d.ts: the
// package's types are part of the product.
import init, {
  PatientPortal,
  PatientRecord,
  PatientPortalError,
  isPatientPortalError,
  type ErrorCode,
  type CryptoBackend,
  type DisplayOptions,
  type FhirResource,
  type Progress,
  parseLink,
  type Jwks,
  type LinkInfo,
  type LinkOptions,
  type RecordSource,
  type CardVerification,
  type ConsentPolicy,
  type ConsentDecision,
  type Viewer,
  type FhirOptions,
  type FhirIssue,
} from "../../pkg/index.js";
import type { PatientChartElement } from "../../pkg/element.js";

export async function open(url: string, key: string, host: Element): Promise<string | undefined> {
  await init();
  const portal = new PatientPortal({ maxRecordBytes: 16_000_000, retries: 1 });
  const stages: Progress["stage"][] = [];
  try {
    const record: PatientRecord = await portal.openUrl(url, key, { onProgress: (p: Progress) => stages.push(p.stage) });
    const committed: Promise<void> = record.render(host);
    await committed;
    const observations: FhirResource[] = record.resources("Observation");
    const all: FhirResource[] = record.resources();
    const counts: Record<string, number> = record.resourceCounts();
    const n: number = record.resourceCount + observations.length + all.length + Object.keys(counts).length;
    const html: string = record.toHtml();
    const name = record.patientName;
    record.free();
    return `${name ?? ""}${n}${html.length}${record.bundleType ?? ""}`;
  } catch (e) {
    const err = e as PatientPortalError;
    const code: ErrorCode = err.code;
    const status: number | undefined = err.status;
    return `${err.name}:${code}:${status ?? ""}`;
  } finally {
    portal.free();
  }
}

export function openInline(jwe: string, key: Uint8Array): number {
  const portal = new PatientPortal();
  const record = portal.openJwe(jwe, key);
  return record.resourceCount;
}

export async function openShared(text: string, passcode: string | undefined, jwks: Jwks): Promise<string> {
  const info: LinkInfo = parseLink(text);
  const portal = new PatientPortal();
  try {
    const options: LinkOptions = {
      recipient: "Dr. Example",
      passcode: info.passcodeRequired ? passcode : undefined,
      embeddedLengthMax: 10_000,
      issuerKeys: { "https://issuer.example": jwks },
      fetchIssuerKeys: false,
      onProgress: (p: Progress) => void p.stage,
    };
    const record = await portal.openLink(text, options);
    const source: RecordSource | undefined = record.source;
    const link = source?.kind === "link" ? source : undefined;
    const verdicts: CardVerification[] = link?.cards.map((c) => c.verification) ?? [];
    return `${info.label ?? ""}${info.expiresAt ?? ""}${info.flags}${verdicts.join()}${link?.files.length ?? 0}`;
  } catch (e) {
    const err = e as PatientPortalError;
    const left: number | undefined = err.remainingAttempts;
    const wait: number | undefined = err.retryAfter;
    return `${err.code}:${left ?? ""}:${wait ?? ""}`;
  } finally {
    portal.free();
  }
}

export async function openAsProxy(url: string, key: string, consent: FhirResource): Promise<number> {
  const policy: ConsentPolicy = { adolescentAge: 13, restrictedHiddenFrom: ["proxy"] };
  const portal = new PatientPortal({ policy });
  const viewer: Viewer = { role: "proxy", relationship: "parent", actor: "RelatedPerson/mom", at: new Date() };
  const record = await portal.openUrl(url, key, { viewer, consents: [consent] });
  const decisions: ConsentDecision[] = record.decisions();
  const withheld = decisions.filter((d) => d.effect === "withhold").map((d) => `${d.reason}:${d.rule}`);
  const audit: FhirResource = record.auditEvent();
  return withheld.length + record.withheldCount + audit.resourceType.length;
}

export async function openFromServer(baseUrl: string, patient: string, token: () => Promise<string>): Promise<string> {
  const portal = new PatientPortal();
  const controller = new AbortController();
  const options: FhirOptions = {
    baseUrl,
    patient,
    getAccessToken: ({ forceRefresh }) => (forceRefresh ? token() : token()),
    signal: controller.signal,
    maxResources: 50_000,
    onProgress: (p: Progress) => void [p.stage, p.pages, p.resources, p.total],
  };
  try {
    const record = await portal.openFhir(options);
    const source = record.source;
    return source?.kind === "fhirServer" ? `${source.requests}/${source.pages}/${source.everything}` : "";
  } catch (e) {
    const err = e as PatientPortalError;
    const issues: FhirIssue[] = err.issues ?? [];
    return `${err.code}:${issues.map((i) => `${i.severity} ${i.code} ${i.details ?? ""}`).join()}`;
  } finally {
    portal.free();
  }
}

// Mistakes the types catch (each line below must fail to compile).
export function mistakes(portal: PatientPortal, record: PatientRecord): void {
  // @ts-expect-error openLink needs its options, with `recipient`
  void portal.openLink("shlink:/...");
  // @ts-expect-error `recipient` is required
  void portal.openLink("shlink:/...", { passcode: "1234" });
  // @ts-expect-error a misspelt option name
  void portal.openLink("shlink:/...", { recipient: "Dr. Example", passCode: "1234" });
  // @ts-expect-error "en_US" is not a BCP 47 tag
  record.render(document.body, { locale: "en_US" });
  // @ts-expect-error a language the chart does not speak
  record.render(document.body, { locale: "ja-JP" });
  // @ts-expect-error the backend is "webcrypto" or "wasm"
  const backend: "aes" = portal.cryptoBackend;
  void backend;
}

export function rightUses(portal: PatientPortal, record: PatientRecord, e: unknown): string {
  const backend: CryptoBackend = portal.cryptoBackend;
  const display: DisplayOptions = { locale: "es-MX", theme: "dark", timeZone: "America/Chicago" };
  record.render(document.body, display);
  const html: string = record.toHtml({ locale: "de", styles: "none" });
  const chart = document.createElement("patient-chart");
  const element: PatientChartElement = chart;
  element.addEventListener("error", (event) => {
    const code: ErrorCode = event.detail.code;
    void code;
  });
  element.addEventListener("passcoderequired", (event) => void event.detail.retry("1234"));
  if (e instanceof PatientPortalError) return `${e.code}${e.status ?? ""}${backend}${html.length}`;
  if (isPatientPortalError(e)) return e.code;
  return backend;
}

export async function inWorker(link: string, host: Element): Promise<number> {
  const { WorkerPortal } = await import("../../pkg/worker-portal.js");
  const portal = new WorkerPortal({ locale: "en-US", fallback: true, policy: {} });
  const mode: "worker" | "main" = await portal.ready;
  const record = await portal.openLink(link, { recipient: "Dr. Rivera", onProgress: (p: Progress) => void p.stage });
  await record.render(host, { theme: "dark" });
  const observations: FhirResource[] = await record.resources("Observation");
  const decisions: ConsentDecision[] = record.decisions();
  const html: string = await record.toHtml({ styles: "none" });
  const memory: number = await portal.memoryBytes();
  const n = record.resourceCount + observations.length + decisions.length + html.length + memory + record.transfer.ms + mode.length;
  record.free();
  portal.free();
  return n;
}
