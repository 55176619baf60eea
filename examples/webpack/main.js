// The page's URL carries the SMART Health Link (…#shlink:/…).
import init, { PatientPortal } from "patient-portal-sdk";

await init(); // webpack emits patient_portal_sdk_bg.wasm (asset/resource, from new URL(…, import.meta.url)) and rewrites the URL
const record = await new PatientPortal().openLink(location.href, { recipient: "Example portal" });
record.render(document.getElementById("chart"));
