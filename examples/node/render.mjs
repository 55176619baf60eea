// Pre-renders a chart on the server: `node render.mjs <SMART Health Link> <out.html>`.
// toHtml() is a static chart (no script), its styles scoped to it.
import { readFile, writeFile } from "node:fs/promises";
import { PatientPortal, initSync } from "patient-portal-sdk";

// Until the package's node entry (ready at import) is built: load the wasm by hand.
try { new PatientPortal().free(); } catch { initSync({ module: await readFile(new URL(import.meta.resolve("patient-portal-sdk/patient_portal_sdk_bg.wasm"))) }); }

const [link, out] = process.argv.slice(2);
const record = await new PatientPortal({ locale: "en-US", timeZone: "UTC" }).openLink(link, { recipient: "Example portal (pre-rendered)" });
const page = await readFile(new URL("page.html", import.meta.url), "utf8");
await writeFile(out, page.replace("<!--chart-->", () => record.toHtml()));
record.free();
