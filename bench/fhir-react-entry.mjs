// The fhir-react side of make bench, bundled by run.mjs with esbuild
// (production React, minified) to bench/out/fhir-react.js: every entry's
// resource rendered with fhir-react's FhirResource (FHIR R4) into a React
// root, committed synchronously so the caller can time the commit.

import { createElement, Fragment } from "react";
import { flushSync } from "react-dom";
import { createRoot } from "react-dom/client";
import { FhirResource, fhirVersions } from "fhir-react";

/** A React root in `container`. */
export function mount(container) {
  return createRoot(container);
}

/** Renders every entry of `bundle` and returns once React has committed it to the DOM. */
export function renderBundle(root, bundle) {
  const items = bundle.entry.map((entry, i) => createElement(FhirResource, { key: entry.fullUrl ?? i, fhirResource: entry.resource, fhirVersion: fhirVersions.R4 }));
  flushSync(() => root.render(createElement(Fragment, null, items)));
}

/** Unmounts the root (between runs). */
export function unmount(root) {
  root.unmount();
}
