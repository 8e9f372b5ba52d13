#!/usr/bin/env bash
# Installs what the demo needs (scripts/setup.sh demo: no lint, package or
# fuzz tools), then runs the end-to-end demo on sled databases in temporary
# directories (removed afterwards): the whole story through the engine on
# sled, the identity-provider door through the WebAssembly component, and a
# Linux login through real libpam; then, where PostgreSQL is installed, two
# hosts and the identity provider on one shared store.
#   scripts/demo.sh [--no-setup]   (--no-setup: what scripts/test.sh runs, after its own setup)
set -euo pipefail
cd "$(dirname "$0")/.."
[ "${1:-}" = "--no-setup" ] || scripts/setup.sh demo
cargo run --locked --quiet -p planasonix-native --example story
cargo run --locked --quiet -p planasonix-host --example idp_story
scripts/demo-login.sh
scripts/demo-fleet.sh
