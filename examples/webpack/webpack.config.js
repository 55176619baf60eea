// No rule is needed for the wasm: webpack 5 emits `new URL("…", import.meta.url)` targets as asset/resource.
export default {
  mode: "production",
  entry: "./main.js", // output: dist/main.js
  performance: { hints: false }, // the 1 MB wasm is expected
};
