// A portal's browser code, type-checked against the installed package under
// several compiler settings (tests/js/package-shape.test.mjs).
import init, {
  HttpShlHost,
  PatientPortal,
  PatientPortalError,
  isPatientPortalError,
  type ErrorCode,
  type HostedLink,
  type LinkAccess,
  type LinkOptions,
  type PatientRecord,
  type ShareOptions,
  type SharePreview,
  type SharePreviewOptions,
  type SharedLink,
  type ShlHost,
} from "patient-portal-sdk";
import { PatientChartElement } from "patient-portal-sdk/element";

export async function show(link: string, host: HTMLElement): Promise<string> {
  await init();
  const portal = new PatientPortal({ locale: "es-MX", theme: "auto", crypto: "auto" });
  const options: LinkOptions = { recipient: "Dr. Example", onProgress: (p) => void p.stage, signal: new AbortController().signal };
  try {
    const record: PatientRecord = await portal.openLink(link, options);
    record.render(host, { locale: "de", timeZone: "Europe/Berlin" });
    return record.toHtml({ styles: "none" });
  } catch (err) {
    if (err instanceof PatientPortalError) {
      const code: ErrorCode = err.code;
      return `${code}${err.status ?? ""}${err.remainingAttempts ?? ""}`;
    }
    return isPatientPortalError(err) ? err.code : "unknown";
  } finally {
    portal.free();
  }
}

export function element(link: string): PatientChartElement {
  const chart = document.createElement("patient-chart");
  chart.setAttribute("locale", "fr-FR");
  chart.addEventListener("ready", (event) => void event.detail.record.resourceCount);
  chart.addEventListener("error", (event) => void event.detail.code);
  chart.addEventListener("passcoderequired", (event) => void event.detail.retry("1234"));
  void chart.openLink(link, { recipient: "Dr. Example" });
  return chart;
}

export async function share(record: PatientRecord, token: string, qr: HTMLElement): Promise<string> {
  const host: ShlHost = new HttpShlHost({ baseUrl: "https://links.example/api/", token });
  const options: ShareOptions = { audience: { role: "clinician", purpose: "TREAT" }, include: ["allergies", "medications"], label: "For my doctor", passcode: "1234", expiresAt: new Date(Date.now() + 86_400_000) };
  const previewOptions: SharePreviewOptions = { ...options, signal: new AbortController().signal };
  const preview: SharePreview = await record.sharePreview(previewOptions);
  preview.record.render(qr);
  const counts = preview.sections.map((s) => `${s.section}:${s.title}:${s.count}`).join();
  preview.record.free();
  const shared: SharedLink = await record.share({ ...options, host, onProgress: (p) => void p.stage, signal: new AbortController().signal });
  qr.innerHTML = shared.qrSvg;
  const links: HostedLink[] = await host.list();
  const trail: LinkAccess[] = await host.accesses(shared.id);
  const outcomes = trail.map((a) => a.outcome).join();
  return `${counts}${shared.link}${shared.viewerUrl}${shared.expiresAt?.getTime() ?? ""}${shared.bytes.ciphertext}${links.length}${outcomes}${preview.withheldCount}`;
}

// Mistakes the types must catch: each line below fails to compile.
export function mistakes(portal: PatientPortal, record: PatientRecord): void {
  // @ts-expect-error openLink needs its options, with `recipient`
  void portal.openLink("shlink:/...");
  // @ts-expect-error `recipient` is required
  void portal.openLink("shlink:/...", { passcode: "1234" });
  // @ts-expect-error a misspelt option
  void portal.openLink("shlink:/...", { recipient: "Dr. Example", passCode: "1234" });
  // @ts-expect-error "en_US" is not a BCP 47 tag
  record.render(document.body, { locale: "en_US" });
  // @ts-expect-error the backend is "webcrypto" or "wasm"
  const backend: "aes" = portal.cryptoBackend;
  void backend;
  // @ts-expect-error the crypto option is "auto" or "wasm"
  void new PatientPortal({ crypto: "openssl" });
  // @ts-expect-error share needs an audience
  void record.sharePreview({ label: "x" });
  // @ts-expect-error share needs a host
  void record.share({ audience: { role: "clinician" } });
  // @ts-expect-error a misspelt share option
  void record.sharePreview({ audience: { role: "clinician" }, passCode: "1" });
  // @ts-expect-error sharePreview resolves to the preview: it must be awaited
  const unawaited: SharePreview = record.sharePreview({ audience: { role: "clinician" } });
  void unawaited;
  // @ts-expect-error the signal is an AbortSignal
  void record.sharePreview({ audience: { role: "clinician" }, signal: "stop" });
}
