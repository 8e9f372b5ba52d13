#!/usr/bin/env bash
# Sets everything up, then runs the end-to-end demo on a sled database in a
# temporary directory (removed afterwards).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
cargo run --locked --quiet -p planasonix-core --example story
