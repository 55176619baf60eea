// Pre-renders a chart on the server: `node render.mjs <SMART Health Link> <out.html>`.
// toHtml() is a static chart (no script), its styles scoped to it.
import { readFile, writeFile } from "node:fs/promises";
import { PatientPortal } from "patient-portal-sdk"; // in Node, ready at import (it reads the wasm file itself)

const [link, out] = process.argv.slice(2);
const record = await new PatientPortal({ locale: "en-US", timeZone: "UTC" }).openLink(link, { recipient: "Example portal (pre-rendered)" });
const page = await readFile(new URL("page.html", import.meta.url), "utf8");
await writeFile(out, page.replace("<!--chart-->", () => record.toHtml()));
record.free();
