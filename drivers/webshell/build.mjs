// Builds the web shell into dist/: one minified bundle (editor, driver, views),
// its stylesheet and the page.  Deterministic for a given lockfile.
import { build } from "esbuild";
import { copyFileSync, mkdirSync, rmSync, statSync } from "node:fs";

const MAX_BUNDLE_BYTES = 1_000_000;
const empty = "./shims/empty.js";

rmSync("dist", { recursive: true, force: true });
mkdirSync("dist");

await build({
  entryPoints: ["src/main.js"],
  outfile: "dist/shell.js",
  bundle: true,
  minify: true,
  keepNames: true, // the driver names its errors after their classes (error.name)
  format: "iife",
  platform: "browser",
  target: "es2020",
  legalComments: "linked",
  // The driver picks its XHR transport when process.browser is set.
  define: { "process.browser": "true", global: "globalThis" },
  inject: ["./shims/buffer-global.js"],
  alias: { net: empty, tls: empty, crypto: empty },
  logLevel: "warning",
});
const size = statSync("dist/shell.js").size;
console.log(`dist/shell.js: ${(size / 1024).toFixed(0)} KiB minified`);
if (size > MAX_BUNDLE_BYTES) {
  console.error(`bundle exceeds ${MAX_BUNDLE_BYTES} bytes`);
  process.exit(1);
}
copyFileSync("src/shell.css", "dist/shell.css");
// Last: the page's presence marks a complete build (make and the server rely on it).
copyFileSync("src/index.html", "dist/index.html");
