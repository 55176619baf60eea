#!/usr/bin/env bash
# Builds the npm package into pkg/: cargo (wasm32, release profile) →
# wasm-bindgen (ES module, `--target web`) → wasm-opt -Os → package.json and
# README (scripts/finish-pkg.mjs) → tsc --noEmit over the types and a typed usage file.
set -euo pipefail
cd "$(dirname "$0")/.."

name=patient_portal_sdk
version=$(sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -n1)

cargo build --lib --release --target wasm32-unknown-unknown
rm -rf pkg
wasm-bindgen --target web --out-dir pkg --out-name "$name" "target/wasm32-unknown-unknown/release/$name.wasm"
tools/node_modules/.bin/wasm-opt --merge-similar-functions "${WASM_OPT_LEVEL:--Os}" --strip-debug --strip-producers \
  --enable-bulk-memory --enable-nontrapping-float-to-int --enable-sign-ext --enable-mutable-globals \
  --enable-reference-types --enable-multivalue \
  "pkg/${name}_bg.wasm" -o "pkg/${name}_bg.wasm"

# Entry points (js/), DOM-free types, the scoped stylesheet, package.json.
node scripts/finish-pkg.mjs "$version"

tools/node_modules/.bin/tsc --noEmit --strict --skipLibCheck false --target es2020 --module es2020 --moduleResolution bundler \
  --lib es2020,dom pkg/index.d.ts pkg/element.d.ts pkg/worker-portal.d.ts tests/js/types-check.ts

# Sizes as `make size` and the budget test measure them (zlib, level 9).
node --input-type=module -e '
import { shippedSizes, totals } from "./scripts/size.mjs";
const { wasm, js } = totals(shippedSizes());
console.log(`pkg/: patient_portal_sdk_bg.wasm ${wasm} bytes gzip, JavaScript ${js} bytes gzip`);
'
