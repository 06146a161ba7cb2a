// The host <-> agent protocol, in one place (docs/architecture.md, "Host <-> agent protocol").
// The runner imports the files it needs one by one (wire.ts before zod loads); the host imports this.
export * from "./decoder.js";
export * from "./error-codes.js";
export * from "./frames.js";
export * from "./host-tools.js";
export * from "./wire.js";
