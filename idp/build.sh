#!/usr/bin/env bash
# Builds the component (release, as packaged) and transpiles it with jco into
# idp/gen/, its `store` and `delivery` imports bound to the provider's own
# (src/mfa/bridge.mjs, src/mfa/delivery.mjs). Installs the Node packages first
# if they are missing. Safe to run again. OUT (a directory name under idp/,
# default gen) lets a test transpile another build beside the shipped one.
#   idp/build.sh [COMPONENT.wasm [OUT]]
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(dirname "$here")"
if [ ! -x "$here/node_modules/.bin/jco" ]; then
  (cd "$here" && npm ci --no-audit --no-fund --loglevel=error)
fi
wasm="${1:-}"
out="${2:-gen}"
case "$out" in *[!a-z0-9-]*|'') echo "idp/build.sh: OUT must be a plain directory name" >&2; exit 2 ;; esac
if [ -z "$wasm" ]; then
  target="${CARGO_TARGET_DIR:-$root/target}"
  (cd "$root" && cargo build --locked --quiet --release -p planasonix-wasm --target wasm32-wasip2)
  wasm="$target/wasm32-wasip2/release/planasonix_wasm.wasm"
fi
rm -rf "$here/$out.new"
"$here/node_modules/.bin/jco" transpile "$wasm" --name plugin --quiet -o "$here/$out.new" \
  --map 'planasonix:mfa/store=../src/mfa/bridge.mjs#store' \
  --map 'planasonix:mfa/delivery=../src/mfa/delivery.mjs#delivery'
node "$root/scripts/jco-lean.mjs" "$here/$out.new/plugin.js"
rm -rf "${here:?}/$out" && mv "$here/$out.new" "$here/$out"
echo "idp/build.sh: transpiled $wasm into $here/$out"
