// The module Worker of worker mode (`WorkerPortal`): the SDK's WebAssembly
// module runs here, so decrypting, reading, consent and the chart's view
// model happen off the page's main thread; the page commits the markup.
// Started by worker-portal.js; not an entry point of its own.

import init, * as bindings from "./patient_portal_sdk.js";
import { createHost, errorIn, errorOut, revive } from "./worker-host.js";

let host = null;
const calls = new Map();
let nextCall = 1;
/** The page's signals, by reference: the controllers that abort their copies here. */
const controllers = new Map();

const now = () => performance.timeOrigin + performance.now();

/** Calls a function (or an object's method) that stays on the page. */
function callPage(ref, method, args) {
  return new Promise((resolve, reject) => {
    const n = nextCall++;
    calls.set(n, { resolve, reject });
    try {
      postMessage({ call: n, ref, method, args });
    } catch (error) {
      calls.delete(n);
      reject(error);
    }
  });
}

function signalFor(owned) {
  return (ref, aborted) => {
    let controller = controllers.get(ref);
    if (!controller) {
      controller = new AbortController();
      controllers.set(ref, controller);
      owned.push(ref);
    }
    if (aborted) controller.abort();
    return controller.signal;
  };
}

self.onmessage = async ({ data }) => {
  if ("init" in data) {
    try {
      const exports = await init(data.init ? { module_or_path: data.init } : undefined);
      host = createHost(bindings, exports);
      postMessage({ ready: true });
    } catch (error) {
      postMessage({ ready: false, error: errorOut(error) });
    }
    return;
  }
  if ("callReply" in data) {
    const pending = calls.get(data.callReply);
    calls.delete(data.callReply);
    if (!pending) return;
    if ("error" in data) pending.reject(errorIn(data.error, false));
    else pending.resolve(data.ok);
    return;
  }
  if ("abort" in data) {
    controllers.get(data.abort)?.abort();
    return;
  }
  const { id, op, args } = data;
  const owned = [];
  try {
    const value = await host.handle(op, revive(args, callPage, signalFor(owned)));
    postMessage({ id, ok: value, sentAt: now() });
  } catch (error) {
    postMessage({ id, error: errorOut(error) });
  } finally {
    for (const ref of owned) controllers.delete(ref);
  }
};
