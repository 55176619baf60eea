#!/usr/bin/env bash
# Builds every example in examples/ against the packed package
# (target/npm/patient-portal-sdk-*.tgz, from `make test-js`), as a portal
# installs it: one `npm ci` for all examples (npm workspaces, one hoisted
# node_modules; skipped while the lock file is unchanged), the tarball
# installed over it, then each example's `build` script.
set -euo pipefail
cd "$(dirname "$0")/../examples"

tgz=(../target/npm/patient-portal-sdk-*.tgz)
[ -f "${tgz[0]}" ] || { echo "no packed package in target/npm: run make test-js (or npm pack in pkg/)" >&2; exit 1; }

export PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1
if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund
fi
rm -rf node_modules/patient-portal-sdk # the package as packed now, whatever was installed before
npm install --no-save --no-audit --no-fund "${tgz[@]}"
rm -rf ./*/dist
npm run build --workspaces --if-present --silent
