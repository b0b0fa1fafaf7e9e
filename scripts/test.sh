#!/usr/bin/env bash
# Every test: formatting and lints, native core tests, boundary tests in wasm under Node and in
# headless Chromium, then the built npm package against kinesalite, workerd and Chromium. Installs what it needs first (scripts/setup.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
# The AWS SDK (an independent reader in the tests) warns on Node 20 about its 2027 plans.
export AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED=true

bash scripts/setup.sh --tests

echo "== format and lints"
cargo fmt --check
# Both builds: the default entries' and the metrics entries' (`--features metrics`).
for features in "" "--features=metrics"; do
  cargo clippy --quiet --all-targets $features -- -D warnings
  cargo clippy --quiet --target wasm32-unknown-unknown --all-targets $features -- -D warnings
done

echo "== native tests (core), without and with the metrics feature"
cargo test
cargo test --features metrics

echo "== wasm-bindgen tests (boundary): the metrics build in Node, the default one in headless Chromium"
CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUNNER=wasm-bindgen-test-runner \
  cargo test --target wasm32-unknown-unknown --lib --features metrics
# Chromium's options (Debian's binary, headless, no background networking) are in webdriver.json.
WASM_BINDGEN_USE_BROWSER=1 CHROMEDRIVER=/usr/bin/chromedriver \
  CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUNNER=wasm-bindgen-test-runner \
  cargo test --target wasm32-unknown-unknown --lib

echo "== package: types, then tests in Node against kinesalite"
bash scripts/build.sh
node_modules/.bin/tsc -p tests/types/tsconfig.json
node --test --test-concurrency=1 tests/js/
