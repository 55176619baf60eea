// The package in Node: the same API, ready at import.
export * from "./index.js";
export { default } from "./index.js";
