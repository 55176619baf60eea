// The page's URL carries the SMART Health Link (…#shlink:/…).
import init, { PatientPortal } from "patient-portal-sdk";
import wasmUrl from "patient-portal-sdk/patient_portal_sdk_bg.wasm"; // --loader:.wasm=file: emitted to dist/, its path relative to dist/

await init({ module_or_path: new URL(wasmUrl, import.meta.url) });
const record = await new PatientPortal().openLink(location.href, { recipient: "Example portal" });
record.render(document.getElementById("chart"));
