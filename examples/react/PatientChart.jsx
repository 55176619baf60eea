import { useEffect, useRef } from "react";
import "patient-portal-sdk/element"; // defines <patient-chart>; it loads the wasm on first use

/** <patient-chart> opening `link`; the record is closed (freed, or its open aborted) on unmount or when `link` changes. */
export function PatientChart({ link, recipient, onReady, onError, onPasscodeRequired }) {
  const ref = useRef(null);
  const handlers = useRef();
  handlers.current = {
    ready: (e) => onReady?.(e.detail.record),
    error: (e) => onError?.(e.detail.error),
    // retry(passcode) opens again; its failure (a wrong passcode) comes back as another passcoderequired event.
    passcoderequired: (e) => onPasscodeRequired?.({ ...e.detail, retry: (passcode) => e.detail.retry(passcode).catch(() => {}) }),
  };

  useEffect(() => {
    const el = ref.current;
    const listen = (e) => handlers.current[e.type](e);
    for (const type of Object.keys(handlers.current)) el.addEventListener(type, listen);
    el.openLink(link, { recipient }).catch(() => {}); // a failure is also reported by the `error` or `passcoderequired` event
    return () => {
      for (const type of Object.keys(handlers.current)) el.removeEventListener(type, listen);
      el.close();
    };
  }, [link, recipient]);

  return <patient-chart ref={ref} />;
}
