# The two commands: `make demo` and `make test`. Both install what is missing.
SHELL := /bin/bash
export CHROMEDRIVER ?= /usr/bin/chromedriver
export WASM_BINDGEN_TEST_TIMEOUT ?= 120

.PHONY: demo test bench size fuzz pkg tools tools-browser tools-postgres test-native test-browser test-js clean

## Build the SDK into pkg/, start the development backend, print the demo URLs.
demo: pkg
	cargo run --example dev_server -- $(DEMO_ARGS)

## Every test: native, wasm-bindgen-test in headless Chromium, the built npm
## package from Node, the end-to-end browser test of the demo, and the link
## host against SQLite and a throwaway PostgreSQL on loopback.
test: tools-browser tools-postgres test-native pkg test-browser test-js

## The SDK against two JavaScript peers (jose + JSON.parse + a table; fhir-react) in
## headless Chromium, per stage, unthrottled and at 4x CPU slowdown, page loads and
## WebAssembly memory, over loopback; writes bench/results.md and bench/results.json.
bench: tools-browser pkg
	cd bench && npm ci --no-audit --no-fund
	cd bench && node run.mjs

## The package's gzip sizes against size-budget.json, and what weighs most
## in the WebAssembly module: by crate, by module of this crate, by function.
size: pkg
	node scripts/size.mjs --top 20

## Every fuzz target in fuzz/ for FUZZ_SECONDS (default 60) each; not part of `make test`.
fuzz:
	scripts/fuzz.sh

tools:
	scripts/ensure-tools.sh

tools-browser:
	scripts/ensure-tools.sh --browser

## PostgreSQL's server programs for tests/js/host.test.mjs (Debian's
## `postgresql`; where it cannot be installed those tests skip, saying why).
tools-postgres:
	scripts/ensure-postgres.sh

pkg: tools
	scripts/build-pkg.sh

test-native:
	cargo test --all-targets

test-browser:
	cargo test --target wasm32-unknown-unknown --test browser --test browser_panic

## The packed npm package is installed into tests/js and examples/ as a portal
## would install it; scripts/build-examples.sh builds each example.
test-js:
	cargo build --example dev_server
	mkdir -p target/npm && rm -f target/npm/*.tgz
	cd pkg && npm pack --silent --pack-destination ../target/npm >/dev/null
	cd tests/js && npm install --no-save --no-audit --no-fund ../../target/npm/patient-portal-sdk-*.tgz
	scripts/build-examples.sh
	cd tests/js && node --test --test-reporter=spec --test-reporter-destination=stdout

clean:
	rm -rf pkg target tools/node_modules tests/js/node_modules bench/node_modules examples/node_modules examples/*/dist
