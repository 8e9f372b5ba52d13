#!/usr/bin/env bash
# Sets everything up, then runs the end-to-end demo on sled databases in
# temporary directories (removed afterwards): the whole story through the core,
# then the identity-provider door through the WebAssembly component.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
cargo run --locked --quiet -p planasonix-core --example story
cargo run --locked --quiet -p planasonix-host --example idp_story
scripts/demo-login.sh
