// A Node program (pre-rendering) type-checked against the installed package
// without the DOM library (tests/js/package-shape.test.mjs).
import { HttpShlHost, PatientPortal, PatientPortalError, type SharePreview, type SharedLink } from "patient-portal-sdk";

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

export async function shareFromNode(jwe: string, key: Uint8Array, token: string): Promise<string> {
  const portal = new PatientPortal();
  const record = portal.openJwe(jwe, key);
  try {
    const host = new HttpShlHost({ baseUrl: "http://127.0.0.1:8080/api/", token });
    const preview: SharePreview = await record.sharePreview({ audience: { role: "proxy", relationship: "caregiver" } });
    const previewed = preview.record.resourceCount;
    preview.record.free();
    const shared: SharedLink = await record.share({ audience: { role: "proxy", relationship: "caregiver" }, expiresAt: Date.now() + 3_600_000, host });
    return `${shared.link}${shared.resourceCount}${previewed}`;
  } catch (err) {
    return err instanceof PatientPortalError ? `${err.code}${err.status ?? ""}${err.hostCode ?? ""}` : "unknown";
  } finally {
    record.free();
    portal.free();
  }
}
