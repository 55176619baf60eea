#!/usr/bin/env bash
# Builds the npm package into pkg/: cargo (wasm32, release profile) →
# wasm-bindgen (ES module, `--target web`) → wasm-opt -Os → package.json and
# README → tsc --noEmit over the generated .d.ts and a typed usage file.
set -euo pipefail
cd "$(dirname "$0")/.."

name=patient_portal_sdk
version=$(sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -n1)

cargo build --lib --release --target wasm32-unknown-unknown
rm -rf pkg
wasm-bindgen --target web --out-dir pkg --out-name "$name" "target/wasm32-unknown-unknown/release/$name.wasm"
tools/node_modules/.bin/wasm-opt "${WASM_OPT_LEVEL:--Os}" --strip-debug --strip-producers \
  --enable-bulk-memory --enable-nontrapping-float-to-int --enable-sign-ext --enable-mutable-globals \
  --enable-reference-types --enable-multivalue \
  "pkg/${name}_bg.wasm" -o "pkg/${name}_bg.wasm"

# The raw exports in InitOutput are typed `any` by wasm-bindgen; `unknown`
# is the honest type for them and keeps `any` out of the public surface.
sed -i '/^export interface InitOutput/,/^}/ s/\bany\b/unknown/g' "pkg/${name}.d.ts"
sed -i 's/\bany\b/unknown/g' "pkg/${name}_bg.wasm.d.ts"

cat > pkg/package.json <<JSON
{
  "name": "patient-portal-sdk",
  "version": "$version",
  "description": "Open encrypted FHIR health records (JWE, SMART Health Links) in the browser and render a patient chart.",
  "license": "Apache-2.0",
  "type": "module",
  "main": "./${name}.js",
  "module": "./${name}.js",
  "types": "./${name}.d.ts",
  "exports": {
    ".": { "types": "./${name}.d.ts", "default": "./${name}.js" },
    "./${name}_bg.wasm": "./${name}_bg.wasm"
  },
  "files": ["${name}.js", "${name}.d.ts", "${name}_bg.wasm", "${name}_bg.wasm.d.ts", "README.md"],
  "sideEffects": ["./snippets/*"]
}
JSON
cp README.md pkg/README.md

tools/node_modules/.bin/tsc --noEmit --strict --target es2020 --module es2020 --moduleResolution bundler \
  --lib esnext,dom pkg/${name}.d.ts tests/js/types-check.ts

raw=$(stat -c %s "pkg/${name}_bg.wasm")
gz=$(gzip -9 -c "pkg/${name}_bg.wasm" | wc -c)
glue=$(stat -c %s "pkg/${name}.js")
gluegz=$(gzip -9 -c "pkg/${name}.js" | wc -c)
echo "pkg/: ${name}_bg.wasm ${raw} bytes (${gz} gzip), ${name}.js ${glue} bytes (${gluegz} gzip)"
