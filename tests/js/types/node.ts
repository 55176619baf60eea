// A Node program (pre-rendering) type-checked against the installed package
// without the DOM library (tests/js/package-shape.test.mjs).
import { PatientPortal, PatientPortalError } from "patient-portal-sdk";

export function prerender(jwe: string, key: Uint8Array): string {
  const portal = new PatientPortal({ locale: "en-US", timeZone: "UTC" });
  try {
    const record = portal.openJwe(jwe, key);
    const html: string = record.toHtml({ theme: "light" });
    const counts: Record<string, number> = record.resourceCounts();
    record.free();
    return `${html}${Object.keys(counts).length}`;
  } catch (err) {
    return err instanceof PatientPortalError ? err.code : "unknown";
  } finally {
    portal.free();
  }
}
