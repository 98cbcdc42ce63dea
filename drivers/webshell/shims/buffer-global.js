// The driver uses Node's global `Buffer`; esbuild injects this wherever it is referenced.
export { Buffer } from "buffer";
