// Worker mode: the record is opened in a module Worker that Vite bundles
// from the package's worker.js (`?worker`); the page commits the chart.
import { WorkerPortal } from "patient-portal-sdk/worker-portal";
import SdkWorker from "patient-portal-sdk/worker.js?worker";

const portal = new WorkerPortal({ worker: new SdkWorker() });
const record = await portal.openLink(location.href, { recipient: "Example portal" });
await record.render(document.getElementById("chart"));
document.body.dataset.mode = portal.mode; // "worker" ("main" if no worker could start)
