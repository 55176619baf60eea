// Completes pkg/ after wasm-bindgen and wasm-opt: the hand-written entry
// points (js/), types that compile without the DOM library or `esnext`,
// the scoped stylesheet for pages that place `toHtml()` markup, and
// package.json. Usage: node scripts/finish-pkg.mjs <version>
import { copyFileSync, readFileSync, readdirSync, writeFileSync } from "node:fs";
import { join, relative } from "node:path";

const ROOT = new URL("..", import.meta.url).pathname;
const PKG = join(ROOT, "pkg");
const NAME = "patient_portal_sdk";
const version = process.argv[2];
if (!version) throw new Error("usage: node scripts/finish-pkg.mjs <version>");

const read = (path) => readFileSync(path, "utf8");
const write = (path, text) => writeFileSync(path, text);

// The runtime module is a wasm-bindgen snippet (under a hashed directory);
// the entry point re-exports its error class, so it must import that same file.
function find(dir, file) {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) {
      const found = find(path, file);
      if (found) return found;
    } else if (entry.name === file) return path;
  }
  return null;
}
const runtime = find(join(PKG, "snippets"), "runtime.js");
if (!runtime) throw new Error("pkg/snippets has no runtime.js: the wasm module does not import js/runtime.js");
const runtimePath = `./${relative(PKG, runtime)}`;

// The bindings' types: no `[Symbol.dispose]` (esnext only; the runtime still
// has it), and init's types without the DOM library.
const dts = join(PKG, `${NAME}.d.ts`);
let types = read(dts).replace(/^\s*\[Symbol\.dispose\]\(\): void;\n/gm, "");
const tail = types.indexOf("export type InitInput");
if (tail < 0) throw new Error(`${dts}: no InitInput declaration to replace`);
types =
  types.slice(0, tail) +
  `type GlobalClass<K extends string> = typeof globalThis extends { [P in K]: { prototype: infer T } } ? T : never;
type WasmModule = typeof globalThis extends { WebAssembly: { Module: { prototype: infer M } } } ? M : never;

/** Where \`init\` loads the module from: a URL, a Request or Response, the bytes, or a compiled \`WebAssembly.Module\`. */
export type InitInput = string | GlobalClass<"URL"> | GlobalClass<"Request"> | GlobalClass<"Response"> | ArrayBuffer | ArrayBufferView | WasmModule;

/** What \`initSync\` instantiates: the bytes, or a compiled \`WebAssembly.Module\`. */
export type SyncInitInput = ArrayBuffer | ArrayBufferView | WasmModule;

/** The module's raw exports: internal, not part of the SDK's API. */
export interface InitOutput {
  readonly memory: unknown;
}

/** Instantiates the module synchronously (file:// pages, webviews, workers): \`initSync({ module: bytes })\`. */
export function initSync(module: { module: SyncInitInput } | SyncInitInput): InitOutput;

/**
 * Loads and instantiates the module: by default \`${NAME}_bg.wasm\` beside the
 * package's JavaScript (bundlers rewrite that URL). Calling it again does nothing more.
 */
export default function init(module_or_path?: { module_or_path: InitInput | Promise<InitInput> } | InitInput | Promise<InitInput>): Promise<InitOutput>;
`;
write(dts, types);
const wasmDts = join(PKG, `${NAME}_bg.wasm.d.ts`);
write(wasmDts, read(wasmDts).replace(/WebAssembly\.(Memory|Table)/g, "unknown").replace(/\bany\b/g, "unknown"));

// The entry points.
const js = (file) => read(join(ROOT, "js", file));
for (const file of ["index.js", "worker.js", "worker-host.js", "worker-portal.js"]) write(join(PKG, file), js(file).replaceAll('"./runtime.js"', JSON.stringify(runtimePath)));
for (const file of ["index.d.ts", "node.js", "node.d.ts", "element.js", "element.d.ts", "worker-portal.d.ts"]) copyFileSync(join(ROOT, "js", file), join(PKG, file));

// The chart's stylesheet scoped to toHtml()'s wrapper, as the Rust core inlines it.
const css = read(join(ROOT, "src/render/chart.css"));
write(join(PKG, "chart.css"), `@scope (.ppsdk-root) {\n${css.replaceAll(":host", ":scope")}}\n`);

const snippetDir = relative(PKG, runtime).split("/").slice(0, 2).join("/");
const pkg = {
  name: "patient-portal-sdk",
  version,
  description: "Open encrypted FHIR health records (SMART Health Links, sealed files, FHIR servers) in the browser and render a patient chart.",
  license: "Apache-2.0",
  type: "module",
  main: "./index.js",
  module: "./index.js",
  types: "./index.d.ts",
  exports: {
    ".": { types: "./index.d.ts", node: "./node.js", default: "./index.js" },
    "./element": { types: "./element.d.ts", default: "./element.js" },
    "./worker-portal": { types: "./worker-portal.d.ts", default: "./worker-portal.js" },
    "./worker.js": "./worker.js",
    "./chart.css": "./chart.css",
    [`./${NAME}_bg.wasm`]: `./${NAME}_bg.wasm`,
    "./package.json": "./package.json",
  },
  files: [
    "index.js",
    "index.d.ts",
    "node.js",
    "node.d.ts",
    "element.js",
    "element.d.ts",
    "worker.js",
    "worker-host.js",
    "worker-portal.js",
    "worker-portal.d.ts",
    "chart.css",
    `${NAME}.js`,
    `${NAME}.d.ts`,
    `${NAME}_bg.wasm`,
    `${NAME}_bg.wasm.d.ts`,
    `${snippetDir}/`,
    "README.md",
  ],
  // Importing the entry points has effects (init state, prototypes, the custom element).
  sideEffects: ["./index.js", "./node.js", "./element.js", "./worker.js", "./worker-portal.js", "./snippets/*"],
  engines: { node: ">=18" },
};
write(join(PKG, "package.json"), `${JSON.stringify(pkg, null, 2)}\n`);
copyFileSync(join(ROOT, "README.md"), join(PKG, "README.md"));
