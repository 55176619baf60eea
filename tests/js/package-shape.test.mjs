// The npm package as a package: what `npm pack` ships, `npm publish
// --dry-run`, its export map as Node resolves it, the Node entry (ready at
// import, no DOM), errors with their own codes, unknown option names
// refused, and its types compiled by `tsc` under a matrix of settings
// (`--strict`, `skipLibCheck: false`, ES2020 with and without the DOM
// library, bundler and node16 resolution) against the installed package.

import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";

import { CompactEncrypt } from "jose";

const run = promisify(execFile);
const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const PKG = join(ROOT, "pkg");
const TSC = join(ROOT, "tools/node_modules/.bin/tsc");
const HERE = fileURLToPath(new URL(".", import.meta.url));

describe("the package as npm sees it", () => {
  test("npm pack ships the entry points, types, stylesheet, wasm and runtime snippet, and nothing else", async () => {
    const { stdout } = await run("npm", ["pack", "--dry-run", "--json", "--ignore-scripts"], { cwd: PKG });
    const files = JSON.parse(stdout)[0].files.map((f) => f.path.replace(/snippets\/[^/]+\//, "snippets/<crate>/")).sort();
    assert.deepEqual(files, [
      "README.md",
      "chart.css",
      "element.d.ts",
      "element.js",
      "index.d.ts",
      "index.js",
      "node.d.ts",
      "node.js",
      "package.json",
      "patient_portal_sdk.d.ts",
      "patient_portal_sdk.js",
      "patient_portal_sdk_bg.wasm",
      "patient_portal_sdk_bg.wasm.d.ts",
      "snippets/<crate>/js/runtime.js",
      "worker-host.js",
      "worker-portal.d.ts",
      "worker-portal.js",
      "worker.js",
    ]);
  });

  test("npm publish --dry-run is clean (no warning)", async () => {
    const { stdout, stderr } = await run("npm", ["publish", "--dry-run", "--ignore-scripts", "--registry", "https://registry.npmjs.org/"], { cwd: PKG });
    // Publishing itself needs an npm login; a dry run only says so. Any other warning is the package's.
    const warnings = stderr.split("\n").filter((l) => /warn|error/i.test(l) && !/requires you to be logged in/.test(l));
    assert.deepEqual(warnings, [], `publish warnings:\n${stderr}`);
    assert.match(stderr + stdout, /patient-portal-sdk@/);
  });

  test("every export resolves to a shipped file; `node` picks the Node entry", async () => {
    const pkg = JSON.parse(await readFile(join(PKG, "package.json"), "utf8"));
    assert.equal(pkg.exports["."].node, "./node.js");
    assert.equal(pkg.exports["."].default, "./index.js");
    assert.equal(pkg.exports["./element"].default, "./element.js");
    assert.ok(pkg.sideEffects.includes("./element.js"), "the element module defines <patient-chart> when imported");
    assert.match(import.meta.resolve("patient-portal-sdk"), /patient-portal-sdk\/node\.js$/);
    assert.match(import.meta.resolve("patient-portal-sdk/element"), /patient-portal-sdk\/element\.js$/);
    assert.match(import.meta.resolve("patient-portal-sdk/chart.css"), /chart\.css$/);
    assert.equal(pkg.exports["./worker-portal"].default, "./worker-portal.js");
    assert.match(import.meta.resolve("patient-portal-sdk/worker-portal"), /patient-portal-sdk\/worker-portal\.js$/);
  });
});

describe("size budget", () => {
  test("the shipped .wasm and JavaScript stay within size-budget.json (gzip -9)", async () => {
    const { shippedSizes, totals, demangle, crateOf } = await import(join(ROOT, "scripts/size.mjs"));
    const budget = JSON.parse(await readFile(join(ROOT, "size-budget.json"), "utf8"));
    const sizes = shippedSizes(PKG);
    const { wasm, js } = totals(sizes);
    assert.ok(Object.keys(sizes).some((f) => f.endsWith("runtime.js")), "the runtime snippet is counted");
    assert.ok(wasm <= budget.wasmGzipBytes, `.wasm is ${wasm} bytes gzip, over the budget of ${budget.wasmGzipBytes}: shrink it, or raise the budget in the same change`);
    assert.ok(js <= budget.jsGzipBytes, `the JavaScript is ${js} bytes gzip, over the budget of ${budget.jsGzipBytes}`);
    // The report's name reading (make size).
    assert.equal(demangle("_ZN4core3fmt5write17h0123456789abcdefE"), "core::fmt::write");
    assert.equal(demangle("_RNvNtNtCsgXGp5Oqx2Ny_4core3num7flt2dec"), "core::num::flt2dec");
    assert.equal(crateOf(demangle("_ZN50_$LT$serde_json..de..Foo$u20$as$u20$core..Bar$GT$3baz17h0123456789abcdefE")), "serde_json");
  });
});

describe("the Node entry", () => {
  test("ready at import: a sealed record pre-rendered with toHtml(); render() refused without a DOM", async () => {
    const sdk = await import("patient-portal-sdk");
    await sdk.default(); // resolves at once: already initialised
    const bundle = await readFile(join(ROOT, "../shared/data/shl/hl7-ig/IPS_IG-bundle-01.json"), "utf8");
    const key = crypto.getRandomValues(new Uint8Array(32));
    const jwe = await new CompactEncrypt(new TextEncoder().encode(bundle)).setProtectedHeader({ alg: "dir", enc: "A256GCM" }).encrypt(key);
    const portal = new sdk.PatientPortal({ locale: "en-US", timeZone: "UTC" });
    const record = portal.openJwe(jwe, key);
    const html = record.toHtml();
    assert.match(html, /^<div class="ppsdk-root"><style>@scope \(\.ppsdk-root\) \{/);
    assert.equal(html.match(/<style>([\s\S]*?)<\/style>/)[1], await readFile(join(PKG, "chart.css"), "utf8"), "the inline stylesheet is the shipped chart.css");
    assert.ok(!record.toHtml({ styles: "none" }).includes("<style>"));
    assert.throws(() => record.render({}), (e) => e instanceof sdk.PatientPortalError && e.code === "badInput");
    record.free();
    portal.free();
  });

  test("errors are PatientPortalError instances with their own codes: freed, badInput for unknown options and non-string arguments", async () => {
    const { PatientPortal, PatientPortalError, isPatientPortalError, parseLink } = await import("patient-portal-sdk");
    const code = (fn) => {
      try {
        fn();
      } catch (e) {
        assert.ok(e instanceof PatientPortalError && isPatientPortalError(e), `a PatientPortalError: ${e}`);
        return [e.code, e.message];
      }
      return null;
    };
    const [c1, m1] = code(() => new PatientPortal({ maxRecordByte: 10 }));
    assert.equal(c1, "badInput");
    assert.match(m1, /unknown option "maxRecordByte"/);
    const portal = new PatientPortal();
    assert.match(code(() => portal.openJwe("a.b.c.d.e", new Uint8Array(32), { veiwer: { role: "patient" } }))[1], /openJwe: unknown option "veiwer"/);
    assert.match(code(() => portal.openJwe("a.b.c.d.e", new Uint8Array(32), { viewer: { role: "proxy", relation: "parent" } }))[1], /viewer: unknown option "relation"/);
    assert.match(code(() => new PatientPortal({ policy: { proxySensitiv: [] } }))[1], /policy: unknown option "proxySensitiv"/);
    const rejected = await portal.openLink("shlink:/x", { recipient: "r", passCode: "1" }).catch((e) => e);
    assert.equal(rejected.code, "badInput");
    assert.match(rejected.message, /openLink: unknown option "passCode"/);
    assert.equal((await portal.openLink(undefined, { recipient: "r" }).catch((e) => e)).code, "badInput");
    assert.equal((await portal.openUrl(42, new Uint8Array(32)).catch((e) => e)).code, "badInput");
    assert.equal(code(() => parseLink(null))[0], "badInput");
    portal.free();
    assert.equal(code(() => portal.free())[0], "freed");
    assert.equal(code(() => portal.cryptoBackend)[0], "freed");
    assert.equal((await portal.openFhir({ baseUrl: "https://x.example", patient: "1" }).catch((e) => e)).code, "freed");
  });
});

describe("arguments of every wrong type", () => {
  test("every method, given values of every JavaScript type: a PatientPortalError or a result, never a trap or a bare TypeError", async () => {
    const { PatientPortal, isPatientPortalError } = await import("patient-portal-sdk");
    const bundle = await readFile(join(ROOT, "../shared/data/shl/hl7-ig/IPS_IG-bundle-01.json"), "utf8");
    const key = crypto.getRandomValues(new Uint8Array(32));
    const jwe = await new CompactEncrypt(new TextEncoder().encode(bundle)).setProtectedHeader({ alg: "dir", enc: "A256GCM" }).encrypt(key);
    const VALUES = [undefined, null, 0, -1, 1e308, NaN, "", "x", true, {}, [], [1], { toString: () => "x" }, () => 1, 10n, Symbol("s"), new Uint8Array(3), new Date(0)];
    const portal = new PatientPortal();
    const record = portal.openJwe(jwe, key);
    const calls = [];
    for (const [target, names] of [
      [portal, ["openJwe", "openUrl", "openLink", "openFhir"]],
      [record, ["render", "toHtml", "resources", "resourceCounts", "decisions", "auditEvent", "sharePreview", "share"]],
    ]) {
      for (const name of names) {
        for (const a of VALUES) {
          for (const args of [[a], [a, a], [jwe, key, a], [a, { recipient: "r" }]]) calls.push([target, name, args]);
        }
      }
    }
    // These return a promise: a refusal is a rejection, never a synchronous throw.
    const ASYNC = new Set(["openUrl", "openLink", "openFhir", "sharePreview", "share"]);
    let refused = 0;
    for (const [target, name, args] of calls) {
      let outcome;
      try {
        let returned;
        try {
          returned = target[name](...args);
        } catch (err) {
          assert.ok(!ASYNC.has(name), `${name}(${args.map((v) => typeof v).join(", ")}) threw synchronously (${err?.code}): it must reject`);
          throw err;
        }
        if (ASYNC.has(name)) assert.ok(returned instanceof Promise, `${name} returns a promise`);
        outcome = await returned;
      } catch (err) {
        if (err instanceof assert.AssertionError) throw err;
        assert.ok(isPatientPortalError(err), `${name}(${args.map((v) => typeof v).join(", ")}) threw ${err?.name}: ${err?.message}`);
        assert.notEqual(err.code, "internal", `${name}: ${err.message}`);
        refused++;
        continue;
      }
      if (outcome && typeof outcome.free === "function" && outcome !== record) outcome.free();
      if (outcome && typeof outcome.record?.free === "function") outcome.record.free();
    }
    // The instance is whole after all of it.
    assert.equal(record.resourceCount, 20);
    assert.ok(record.toHtml().includes("ppsdk-root"));
    assert.ok(refused > calls.length / 2, `${refused} of ${calls.length} calls refused`);
    record.free();
    portal.free();
  });
});

describe("tsc matrix", () => {
  // [name, files, compilerOptions]
  const MATRIX = [
    ["browser, ES2020 + DOM, bundler resolution", "browser.ts", { lib: ["ES2020", "DOM"], module: "ESNext", moduleResolution: "Bundler" }],
    ["browser, ESNext + DOM, bundler resolution", "browser.ts", { lib: ["ESNext", "DOM"], module: "ESNext", moduleResolution: "Bundler" }],
    ["browser, ES2022 + DOM, node16 resolution", "browser.ts", { lib: ["ES2022", "DOM"], module: "Node16", moduleResolution: "Node16" }],
    ["Node, ES2020 without DOM, node16 resolution", "node.ts", { lib: ["ES2020"], module: "Node16", moduleResolution: "Node16" }],
    ["Node, ES2020 without DOM, bundler resolution", "node.ts", { lib: ["ES2020"], module: "ESNext", moduleResolution: "Bundler" }],
  ];
  for (const [name, file, options] of MATRIX) {
    test(`${name}: --strict, skipLibCheck false`, async () => {
      const dir = await mkdtemp(join(tmpdir(), "ppsdk-tsc-"));
      try {
        const config = {
          compilerOptions: { ...options, target: "ES2020", strict: true, skipLibCheck: false, noEmit: true, types: [], exactOptionalPropertyTypes: false },
          files: [join(HERE, "types", file)],
        };
        await writeFile(join(dir, "tsconfig.json"), JSON.stringify(config));
        const result = await run(TSC, ["-p", join(dir, "tsconfig.json")]).catch((e) => e);
        assert.equal(result.code ?? 0, 0, `tsc failed:\n${result.stdout ?? ""}${result.stderr ?? ""}`);
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    });
  }
});
