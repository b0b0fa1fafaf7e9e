#!/usr/bin/env bash
# The demo: simulated devices stream readings through the built package into a local
# Kinesis-compatible endpoint (kinesalite on 127.0.0.1) that it starts itself. Arguments go to
# examples/demo.mjs (try --help).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
bash scripts/build.sh
exec node examples/demo.mjs "$@"
