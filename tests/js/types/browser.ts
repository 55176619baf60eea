// A portal's browser code, type-checked against the installed package under
// several compiler settings (tests/js/package-shape.test.mjs).
import init, { PatientPortal, PatientPortalError, isPatientPortalError, type ErrorCode, type LinkOptions, type PatientRecord } from "patient-portal-sdk";
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
}
