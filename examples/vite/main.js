// The page's URL carries the SMART Health Link (…#shlink:/…).
import init, { PatientPortal } from "patient-portal-sdk";

await init(); // fetches patient_portal_sdk_bg.wasm, which Vite serves and emits as an asset
const record = await new PatientPortal().openLink(location.href, { recipient: "Example portal" });
record.render(document.getElementById("chart"));
