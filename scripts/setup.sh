#!/usr/bin/env bash
# Install what building and testing need, idempotently: the wasm target, wasm-bindgen-cli at
# exactly the version Cargo.toml pins, the npm packages of package-lock.json (workerd, Deno and
# Bun among them), moto's server (PyPI) and Debian's Chromium for the browser tests.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
  rustup target add wasm32-unknown-unknown
fi

pinned=$(sed -n 's/^wasm-bindgen = "=\([0-9.]*\)"/\1/p' Cargo.toml)
if [ -z "$pinned" ]; then
  echo "setup: wasm-bindgen is not pinned with = in Cargo.toml" >&2
  exit 1
fi
if [ "$(wasm-bindgen --version 2>/dev/null | cut -d' ' -f2)" != "$pinned" ]; then
  # --locked fails against this registry mirror (a locked dependency is missing): install without it.
  cargo install wasm-bindgen-cli --version "$pinned"
fi

if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund
fi

# The rest only the tests need (`setup.sh --tests`).
[ "${1:-}" = "--tests" ] || exit 0

# moto's server stands in for Cognito identity pools, IAM, STS and Kinesis in the credentials
# and setup tests, at the version they are tested with: any other installed one is replaced.
moto_pin=5.2.5
if [ "$(python3 -c 'import moto; print(moto.__version__)' 2>/dev/null)" != "$moto_pin" ] || ! command -v moto_server >/dev/null 2>&1; then
  python3 -m pip install --quiet "moto[server]==$moto_pin"
fi

# The ingest worker's test signs its device requests with the Standard Webhooks reference library.
if [ "$(python3 -c 'import importlib.metadata as m; print(m.version("standardwebhooks"))' 2>/dev/null)" != 1.1.0 ]; then
  python3 -m pip install --quiet 'standardwebhooks==1.1.0'
fi

# The browser tests drive Debian's Chromium (never a browser a tool downloads).
if ! command -v chromium >/dev/null 2>&1 || ! command -v chromedriver >/dev/null 2>&1; then
  sudo=$([ "$(id -u)" -eq 0 ] || echo sudo)
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq chromium chromium-driver
fi
