// `make size`: what the package weighs and what in the WebAssembly module
// weighs most. Reads the release build before wasm-opt (it still has its
// name section) for the code size of every function, grouped by crate and
// by module path, and pkg/ for the shipped sizes against the committed
// budget (size-budget.json).
//
// Usage: node scripts/size.mjs [--top N]
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { gzipSync } from "node:zlib";

const ROOT = new URL("..", import.meta.url).pathname;
const TOP = Number(process.argv[process.argv.indexOf("--top") + 1]) || 20;
const RAW = join(ROOT, "target/wasm32-unknown-unknown/release/patient_portal_sdk.wasm");

/** The shipped files and their gzip sizes (level 9, as a server would send them at best). */
export function shippedSizes(pkg = join(ROOT, "pkg")) {
  const manifest = JSON.parse(readFileSync(join(pkg, "package.json"), "utf8"));
  const files = manifest.files.filter((f) => /\.(js|wasm|css)$/.test(f) || f.endsWith("/"));
  const sizes = {};
  const add = (rel) => {
    const bytes = readFileSync(join(pkg, rel));
    sizes[rel] = { raw: bytes.length, gzip: gzipSync(bytes, { level: 9 }).length };
  };
  for (const f of files) {
    if (f.endsWith("/")) {
      const runtime = join(f, "js/runtime.js");
      add(runtime);
    } else add(f);
  }
  return sizes;
}

/** The two figures the budget holds: the .wasm and all the JavaScript, gzip. */
export function totals(sizes) {
  const js = Object.entries(sizes).filter(([f]) => f.endsWith(".js")).reduce((a, [, s]) => a + s.gzip, 0);
  return { wasm: sizes["patient_portal_sdk_bg.wasm"].gzip, js };
}

// --- A WebAssembly reader: just enough for code sizes and function names.

function reader(bytes) {
  let at = 0;
  const u32 = () => {
    let result = 0;
    let shift = 0;
    for (;;) {
      const b = bytes[at++];
      result |= (b & 0x7f) << shift;
      if ((b & 0x80) === 0) return result >>> 0;
      shift += 7;
    }
  };
  return {
    u32,
    byte: () => bytes[at++],
    name: () => {
      const n = u32();
      const s = new TextDecoder().decode(bytes.subarray(at, at + n));
      at += n;
      return s;
    },
    skip: (n) => (at += n),
    get at() {
      return at;
    },
    set at(v) {
      at = v;
    },
  };
}

export function functionSizes(bytes) {
  const r = reader(bytes);
  r.skip(8);
  let imported = 0;
  const bodies = [];
  const names = new Map();
  let data = 0;
  while (r.at < bytes.length) {
    const id = r.byte();
    const size = r.u32();
    const end = r.at + size;
    if (id === 2) {
      for (let n = r.u32(); n > 0; n--) {
        r.name();
        r.name();
        const kind = r.byte();
        if (kind === 0) {
          r.u32();
          imported++;
        } else if (kind === 1) {
          r.byte();
          const flags = r.u32();
          r.u32();
          if (flags & 1) r.u32();
        } else if (kind === 2) {
          const flags = r.u32();
          r.u32();
          if (flags & 1) r.u32();
        } else if (kind === 3) {
          r.byte();
          r.byte();
        }
      }
    } else if (id === 10) {
      for (let n = r.u32(); n > 0; n--) {
        const len = r.u32();
        bodies.push(len);
        r.skip(len);
      }
    } else if (id === 11) {
      data += size;
    } else if (id === 0) {
      const name = r.name();
      if (name === "name") {
        while (r.at < end) {
          const sub = r.byte();
          const subSize = r.u32();
          const subEnd = r.at + subSize;
          if (sub === 1) {
            for (let n = r.u32(); n > 0; n--) {
              const index = r.u32();
              names.set(index, r.name());
            }
          }
          r.at = subEnd;
        }
      }
    }
    r.at = end;
  }
  return { functions: bodies.map((size, i) => ({ size, name: names.get(i + imported) ?? `func[${i + imported}]` })), data, named: names.size };
}

/** `_ZN4core3fmt5write17h…E` → `core::fmt::write` (legacy Rust mangling; other names as they are). */
export function demangle(name) {
  if (name.startsWith("_R")) {
    // v0 mangling (the standard library's): the length-prefixed names after the crate's disambiguator.
    const start = name.search(/C(s[0-9A-Za-z]*_)?\d/);
    const parts = [];
    let i = start < 0 ? name.length : name.indexOf("_", start) + 1 || start + 1;
    if (start >= 0 && !/^Cs/.test(name.slice(start))) i = start + 1;
    while (i < name.length) {
      const m = /^(\d+)_?/.exec(name.slice(i));
      if (!m) {
        i++;
        continue;
      }
      const n = Number(m[1]);
      i += m[0].length;
      parts.push(name.slice(i, i + n));
      i += n;
    }
    return parts.length ? parts.join("::") : name;
  }
  if (!name.startsWith("_ZN")) return name;
  const parts = [];
  let i = 3;
  while (i < name.length && name[i] !== "E") {
    let digits = "";
    while (/[0-9]/.test(name[i])) digits += name[i++];
    if (!digits) break;
    parts.push(name.slice(i, i + Number(digits)));
    i += Number(digits);
  }
  if (parts.length && /^h[0-9a-f]{16}$/.test(parts.at(-1))) parts.pop();
  return parts
    .join("::")
    .replace(/\$LT\$/g, "<")
    .replace(/\$GT\$/g, ">")
    .replace(/\$u20\$/g, " ")
    .replace(/\$u7b\$/g, "{")
    .replace(/\$u7d\$/g, "}")
    .replace(/\$RF\$/g, "&")
    .replace(/\$BP\$/g, "*")
    .replace(/\$C\$/g, ",")
    .replace(/\.\./g, "::")
    .replace(/^_</, "<");
}

/** The crate a function's code belongs to: for `<A as B>::f`, A's crate. */
export function crateOf(name) {
  const path = name.replace(/^<+/, "").replace(/^(&|\*const |\*mut |mut |dyn )+/, "");
  const first = path.split(/::|[ <>,]/)[0];
  return /^[A-Za-z_][A-Za-z0-9_]*$/.test(first) ? first : "(other)";
}

const kb = (n) => `${(n / 1000).toFixed(1)} KB`;
const pct = (n, total) => `${((100 * n) / total).toFixed(1)} %`;

function table(rows, header) {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => String(r[i]).length)));
  const line = (cells) => `| ${cells.map((c, i) => String(c).padEnd(widths[i])).join(" | ")} |`;
  return [line(header), `|${widths.map((w) => "-".repeat(w + 2)).join("|")}|`, ...rows.map(line)].join("\n");
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const budget = JSON.parse(readFileSync(join(ROOT, "size-budget.json"), "utf8"));
  const shipped = shippedSizes();
  const { wasm, js } = totals(shipped);
  console.log("## Shipped (gzip -9)\n");
  console.log(table(Object.entries(shipped).map(([f, s]) => [f, kb(s.raw), kb(s.gzip)]), ["file", "raw", "gzip"]));
  console.log(`\n.wasm ${kb(wasm)} (budget ${kb(budget.wasmGzipBytes)}), JavaScript ${kb(js)} (budget ${kb(budget.jsGzipBytes)}); goal for both: ${kb(budget.goalGzipBytes)}.\n`);

  const { functions, data, named } = functionSizes(readFileSync(RAW));
  const code = functions.reduce((a, f) => a + f.size, 0);
  console.log(`## Code of the release build before wasm-opt: ${kb(code)} in ${functions.length} functions (${named} named), data ${kb(data)}\n`);
  const byCrate = new Map();
  for (const f of functions) {
    const crate = crateOf(demangle(f.name));
    byCrate.set(crate, (byCrate.get(crate) ?? 0) + f.size);
  }
  const crates = [...byCrate].sort((a, b) => b[1] - a[1]).slice(0, TOP);
  console.log(table(crates.map(([c, n]) => [c, kb(n), pct(n, code)]), ["crate", "code", "share"]));
  const byModule = new Map();
  for (const f of functions) {
    const name = demangle(f.name);
    if (crateOf(name) !== "patient_portal_sdk") continue;
    const module = name.replace(/^<+/, "").split("::").slice(0, 3).join("::").split(/[ <>]/)[0];
    byModule.set(module, (byModule.get(module) ?? 0) + f.size);
  }
  console.log(`\n### This crate, by module\n`);
  console.log(table([...byModule].sort((a, b) => b[1] - a[1]).slice(0, TOP).map(([m, n]) => [m, kb(n), pct(n, code)]), ["module", "code", "share"]));
  console.log(`\n### Largest functions\n`);
  const largest = [...functions].sort((a, b) => b.size - a.size).slice(0, TOP);
  console.log(table(largest.map((f) => [demangle(f.name).slice(0, 110), kb(f.size)]), ["function", "code"]));
}
