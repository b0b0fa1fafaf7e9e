#!/usr/bin/env bash
# Build the npm package into pkg/: release wasm, wasm-bindgen glue, wasm-opt, templates.
# Run scripts/setup.sh first (it installs the wasm target, wasm-bindgen-cli and npm packages).
set -euo pipefail
cd "$(dirname "$0")/.."

out=pkg
cargo build --quiet --release --target wasm32-unknown-unknown --lib
rm -rf "$out"
wasm-bindgen --target web --no-typescript --out-dir "$out" --out-name kinesis_edge \
  target/wasm32-unknown-unknown/release/kinesis_edge.wasm
# The features rustc enables by default for wasm32; wasm-opt must accept the same.
# --low-memory-unused: the lowest 1 KiB is the far end of the 1 MiB stack, never reached (JSON
# nesting is bounded); it lets wasm-opt fold address arithmetic. --converge: repeat until no gain.
# -ocimfs 10: inline a function with one caller only when small; inlining big ones saves raw bytes
# but costs 2.5 KB gzipped, and measured no CPU difference above noise (BENCHMARKS.md).
node_modules/.bin/wasm-opt -ocimfs 10 -Oz --low-memory-unused --converge --strip-debug --strip-producers --strip-target-features \
  --enable-bulk-memory --enable-nontrapping-float-to-int --enable-sign-ext \
  --enable-mutable-globals --enable-reference-types --enable-multivalue \
  "$out/kinesis_edge_bg.wasm" -o "$out/kinesis_edge_bg.wasm"
cp -R pkg-templates/. "$out/"
# The inlined entry (kinesis-edge/inline) carries the optimised wasm as base64.
node -e '
  const fs = require("fs");
  const [entry, wasm] = process.argv.slice(1);
  fs.writeFileSync(entry, fs.readFileSync(entry, "utf8").replace("__KINESIS_EDGE_WASM_BASE64__", fs.readFileSync(wasm).toString("base64")));
' "$out/inline.js" "$out/kinesis_edge_bg.wasm"
# The command (`kinesis-edge setup`) is one file with the Node entry's sources inside, bundled
# before that entry is, so the command's modules and the entry share one wasm instance; no page
# or worker entry imports it.
node_modules/.bin/esbuild "$out/cli.js" --bundle --format=esm --platform=node --log-level=error \
  --outfile="$out/cli.bundle.js" && mv "$out/cli.bundle.js" "$out/cli.js" && rm -r "$out/setup"
# Node loads one file rather than a dozen modules: its entry is bundled (about 7 ms less to import).
node_modules/.bin/esbuild "$out/node.js" --bundle --format=esm --platform=node --log-level=error \
  --outfile="$out/node.bundle.js" && mv "$out/node.bundle.js" "$out/node.js"
echo "built $out/: $(wc -c < "$out/kinesis_edge_bg.wasm") bytes of wasm"
# Let the tests, benchmarks and demo import the built package by its name, through its exports map.
if [ -d node_modules ]; then ln -sfn ../pkg node_modules/kinesis-edge; fi
