#!/usr/bin/env bash
# Build the npm package into pkg/: release wasm, wasm-bindgen glue, wasm-opt, templates.
# Run scripts/setup.sh first (it installs the wasm target, wasm-bindgen-cli and npm packages).
set -euo pipefail
cd "$(dirname "$0")/.."

out=pkg
wasm=target/wasm32-unknown-unknown/release/kinesis_edge.wasm
# Two builds: the default entries' wasm, and the `kinesis-edge/metrics` entries' with the
# CloudWatch metrics (`--features metrics`), so that pages without metrics carry none of their
# code. Both share the metrics build's JS glue: it differs from the default's only by the metrics'
# free functions (checked below), which bundlers drop from pages that do not import them.
cargo build --quiet --release --target wasm32-unknown-unknown --lib --features metrics
rm -rf "$out" target/metrics-bindgen
wasm-bindgen --target web --no-typescript --out-dir target/metrics-bindgen --out-name kinesis_edge "$wasm"
cargo build --quiet --release --target wasm32-unknown-unknown --lib
wasm-bindgen --target web --no-typescript --out-dir "$out" --out-name kinesis_edge "$wasm"
if diff "$out/kinesis_edge.js" target/metrics-bindgen/kinesis_edge.js | grep -q '^<'; then
  echo "build: the default build's glue is not a part of the metrics build's; they cannot share it" >&2
  exit 1
fi
# Every entry names its wasm; the glue's own fallback (the default build's file) would make
# bundlers emit that file for metrics pages too, and is dropped.
node -e '
  const fs = require("fs");
  const [from, to] = process.argv.slice(1);
  const fallback = "    if (module_or_path === undefined) {\n        module_or_path = new URL(\x27kinesis_edge_bg.wasm\x27, import.meta.url);\n    }\n";
  const glue = fs.readFileSync(from, "utf8");
  if (!glue.includes(fallback)) throw new Error("the glue has no default wasm URL where it is expected");
  fs.writeFileSync(to, glue.replace(fallback, ""));
' target/metrics-bindgen/kinesis_edge.js "$out/kinesis_edge.js"
cp target/metrics-bindgen/kinesis_edge_bg.wasm "$out/kinesis_edge_metrics_bg.wasm"
# The features rustc enables by default for wasm32; wasm-opt must accept the same.
# --low-memory-unused: the lowest 1 KiB is the far end of the 1 MiB stack, never reached (JSON
# nesting is bounded); it lets wasm-opt fold address arithmetic. --converge: repeat until no gain.
# -ocimfs 10: inline a function with one caller only when small; inlining big ones saves raw bytes
# but costs 2.5 KB gzipped, and measured no CPU difference above noise (BENCHMARKS.md).
for built in "$out/kinesis_edge_bg.wasm" "$out/kinesis_edge_metrics_bg.wasm"; do
  node_modules/.bin/wasm-opt -ocimfs 10 -Oz --low-memory-unused --converge --strip-debug --strip-producers --strip-target-features \
    --enable-bulk-memory --enable-nontrapping-float-to-int --enable-sign-ext \
    --enable-mutable-globals --enable-reference-types --enable-multivalue \
    "$built" -o "$built"
done
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
# Each Node entry is a bundle of its own, with its own copy of the glue and its own instance.
for entry in node metrics-node; do
  node_modules/.bin/esbuild "$out/$entry.js" --bundle --format=esm --platform=node --log-level=error \
    --outfile="$out/$entry.bundle.js" && mv "$out/$entry.bundle.js" "$out/$entry.js"
done
rm "$out/node-host.js"
echo "built $out/: $(wc -c < "$out/kinesis_edge_bg.wasm") bytes of wasm, $(wc -c < "$out/kinesis_edge_metrics_bg.wasm") with metrics"
# Let the tests, benchmarks and demo import the built package by its name, through its exports map.
if [ -d node_modules ]; then ln -sfn ../pkg node_modules/kinesis-edge; fi
