#!/usr/bin/env bash
# The benchmark: PAM login latency against pam_permit, google-authenticator
# and pam_oath (1 and 10,000 users, sequential and 32 parallel), the component
# (wasmtime warm and fresh, native core, the bare cryptography, jco), the
# store against database size, pam_planasonix on a shared PostgreSQL (two
# hosts), and sign-ins through the reference identity provider. Every goal is a
# ratio to a baseline measured in the same run. Prints a table and writes
# bench/latest.json. Takes ~12 minutes.
#   scripts/bench.sh [--quick]      (--quick: 200 users, fewer runs; for a smoke test)
set -euo pipefail
cd "$(dirname "$0")/.."
root="$(pwd)"
scripts/setup.sh
missing=()
for p in libpam-oath libnss-wrapper libfaketime; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "[bench] installing ${missing[*]}"
  if [ "$(id -u)" -eq 0 ]; then apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  else sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null; fi
fi

large=10000 runs=100 bursts=10
if [ "${1:-}" = "--quick" ]; then large=200 runs=20 bursts=3; fi

target="${CARGO_TARGET_DIR:-$root/target}"
export CARGO_TARGET_DIR="$target"
echo "[bench] release builds"
cargo build --locked --release -p pam_planasonix -p planasonix
cargo build --locked --release -p planasonix-wasm -p planasonix-crypto-floor --target wasm32-wasip2
cargo build --locked --release -p planasonix-host --example bench
cargo build --locked --release -p planasonix-native --example store_bench
cargo build --locked --release -p planasonix-testkit --example postgres_server
cargo build --locked --release -p planasonix-core --example webauthn_bench

work="$(mktemp -d /var/tmp/planasonix-bench.XXXXXX)"
trap 'rm -rf "$work"' EXIT
wasm="$target/wasm32-wasip2/release/planasonix_wasm.wasm"

echo "[bench] component under wasmtime"
PLANASONIX_WASM="$wasm" PLANASONIX_FLOOR_WASM="$target/wasm32-wasip2/release/planasonix_crypto_floor.wasm" "$target/release/examples/bench" "$work/component.json" >/dev/null
echo "[bench] component under Node.js (jco)"
(cd tests/jco && ./node_modules/.bin/jco transpile "$wasm" --name plugin --quiet -o out-release \
   --map "planasonix:mfa/store=$PWD/imports.mjs#store" \
   --map "planasonix:mfa/delivery=$PWD/imports.mjs#delivery" \
 && node ../../scripts/jco-lean.mjs out-release/plugin.js \
 && node bench.mjs out-release/plugin.js 20000) > "$work/jco.json"
echo "[bench] the reference identity provider: sign-ins with and without the MFA step"
idp/build.sh "$wasm" >/dev/null
bench/idp_bench.sh "$target" "$work/idp.json" 100 >/dev/null
echo "[bench] store against database size"
"$target/release/examples/store_bench" "$work/store.json" >/dev/null
echo "[bench] PAM modules ($large users; importing them takes a few minutes)"
python3 bench/pam_bench.py --module "$target/release/libpam_planasonix.so" --cli "$target/release/planasonix" \
  --out "$work/pam.json" --runs "$runs" --large "$large" --bursts "$bursts" \
  --postgres "$target/release/examples/postgres_server"

out=bench/latest.json
[ "${1:-}" = "--quick" ] && out="$work/latest.json"
python3 bench/report.py "$out" "$work/pam.json" "$work/component.json" "$work/jco.json" "$work/store.json" "$work/idp.json" | tee "${out%.json}.md"
echo "[bench] passkeys: a full assertion check against the bare cryptography (goal <= 2)"
"$target/release/examples/webauthn_bench" "$([ "${1:-}" = "--quick" ] && echo 5 || echo 20)"
echo "[bench] written: $out"
