// Builds the web shell into the Python package (or the directory given as the
// first argument): one minified bundle (editor, driver, views), its stylesheet
// and the page.  Deterministic for a given lockfile.
import { build } from "esbuild";
import { copyFileSync, mkdirSync, rmSync, statSync } from "node:fs";
import { join } from "node:path";

const MAX_BUNDLE_BYTES = 1_000_000;
const empty = "./shims/empty.js";
const out = process.argv[2] ?? "../../systables/web/shell";

rmSync(out, { recursive: true, force: true });
mkdirSync(out, { recursive: true });

await build({
  entryPoints: ["src/main.js"],
  outfile: join(out, "shell.js"),
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
const size = statSync(join(out, "shell.js")).size;
console.log(`${join(out, "shell.js")}: ${(size / 1024).toFixed(0)} KiB minified`);
if (size > MAX_BUNDLE_BYTES) {
  console.error(`bundle exceeds ${MAX_BUNDLE_BYTES} bytes`);
  process.exit(1);
}
copyFileSync("src/shell.css", join(out, "shell.css"));
// Last: the page's presence marks a complete build (the server relies on it).
copyFileSync("src/index.html", join(out, "index.html"));
