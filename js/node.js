// The package in Node (the `node` export condition): the WebAssembly module
// is read from the package's own file and instantiated at import, so
// `import { PatientPortal } from "patient-portal-sdk"` is ready to use and
// `await init()` resolves at once. Node has no DOM: `render()` is refused
// with `badInput`; `toHtml()` gives the chart for pre-rendering.

import { readFileSync } from "node:fs";
import { initSync } from "./index.js";

initSync({ module: readFileSync(new URL("./patient_portal_sdk_bg.wasm", import.meta.url)) });

export * from "./index.js";
export { default } from "./index.js";
