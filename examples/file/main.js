// The page's URL carries the SMART Health Link (file:///…/index.html#shlink:/…).
import { initSync, PatientPortal } from "patient-portal-sdk";
import wasm from "patient-portal-sdk/patient_portal_sdk_bg.wasm"; // --loader:.wasm=binary: the bytes, inlined in the bundle

initSync({ module: wasm });
new PatientPortal()
  .openLink(location.href, { recipient: "Example portal" })
  .then((record) => record.render(document.getElementById("chart")));
